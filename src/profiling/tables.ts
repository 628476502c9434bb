// Everything in a profile but its samples: sample types, strings, mappings, functions, locations
// and the header fields, read field by field in whatever order the writer chose, then resolved
// into the model's frames once all have arrived (Go writes the strings and mappings last).
// The decoder of the whole model (decode.ts) and the one-pass top (stream-top.ts) share it.
import { ProfileFormatError } from "./errors.js";
import { LocationFrames } from "./graph.js";
import { IdIndex } from "./ids.js";
import type { ProfileInfo, ValueType } from "./model.js";
import { WIRE_LEN, WIRE_VARINT, type ProtoReader } from "./proto.js";

/**
 * The locations as read, in columns: no object per location (a large profile has tens of
 * thousands, which as objects outlived enough young-generation GCs to make V8 grow it to 16 MB).
 */
export class RawLocations {
  readonly ids: (number | bigint)[] = [];
  readonly mappings: (number | bigint)[] = [];
  /** Function id of each line, leaf-most first, 0 where a line names none: location i's are functions[start[i] .. start[i + 1]). */
  readonly functions: (number | bigint)[] = [];
  readonly start: number[] = [0];

  get count(): number {
    return this.ids.length;
  }
}

interface RawMapping {
  readonly id: number | bigint;
  readonly file: number;
  readonly buildId: number;
}

/** The tables resolved: what the model holds besides its samples. */
export interface ResolvedTables {
  readonly sampleTypes: ValueType[];
  readonly defaultSampleType: number;
  /** Distinct frame names; a frame id is an index into this. */
  readonly frameNames: string[];
  /** Frame ids of each location (in order of arrival), leaf-most first: made when first read. */
  readonly locations: Int32Array[];
  /** The same frames in one table. */
  readonly locationFrames: LocationFrames;
  /** Location id to its index in `locations`. */
  readonly locationIndex: IdIndex;
  readonly info: ProfileInfo;
  /** The frame a function id resolves to: its name, or undefined when it has none (or no function has the id). */
  functionName(id: number | bigint): string | undefined;
  /** The frame of a line without a function name in mapping `id`. */
  unnamedFrame(mapping: number | bigint): string;
}

export class ProfileTables {
  readonly strings: string[] = [];
  readonly locations = new RawLocations();
  /** Location id to index in `locations`, as locations arrive: the last of equal ids wins. */
  readonly locationIndex = new IdIndex();
  /** Some location id came twice: which one a sample between them meant depends on when it is read. */
  duplicateLocationIds = false;
  private readonly sampleTypeRefs: [number, number][] = [];
  private readonly mappings: RawMapping[] = [];
  private readonly functionIds: (number | bigint)[] = [];
  private readonly functionNameRefs: number[] = [];
  private readonly commentRefs: number[] = [];
  private defaultSampleType = 0;
  private docUrl = 0;
  private timeNanos = 0;
  private durationNanos = 0;

  /** Sample types read so far. */
  get sampleTypeCount(): number {
    return this.sampleTypeRefs.length;
  }

  /** True when the profile names its default sample type (field 14), which Go never writes. */
  get namesDefaultSampleType(): boolean {
    return this.defaultSampleType !== 0;
  }

  /**
   * Reads top-level field `field` (not a sample: field 2 is the caller's) whose tag `r` has just
   * read; leaves `r` after it.
   */
  read(r: ProtoReader, field: number, wire: number): void {
    if (wire === WIRE_LEN) {
      const len = r.varint();
      const start = r.pos;
      const end = start + len;
      switch (field) {
        case 1:
          this.sampleTypeRefs.push(valueType(r, start, end));
          break;
        case 3:
          this.mappings.push(mapping(r, start, end));
          break;
        case 4:
          this.location(r, start, end);
          break;
        case 5:
          this.function(r, start, end);
          break;
        case 6:
          this.strings.push(r.string(start, end));
          break;
        case 13:
          r.packed(start, end, (v) => this.commentRefs.push(v));
          break;
        // 7, 8 (drop/keep frames), 11 (period type) and unknown fields: not used here
      }
      r.pos = end;
    } else if (wire === WIRE_VARINT) {
      const v = r.int64();
      if (field === 9) this.timeNanos = v;
      else if (field === 10) this.durationNanos = v;
      else if (field === 13) this.commentRefs.push(v);
      else if (field === 14) this.defaultSampleType = v;
      else if (field === 15) this.docUrl = v;
    } else r.skip(wire);
  }

  private function(r: ProtoReader, start: number, end: number): void {
    let id: number | bigint = 0;
    let name = 0;
    // A loop, not varintFields: no closures for each of a large profile's thousands.
    r.pos = start;
    while (r.pos < end) {
      const tag = r.varint();
      if (tag === ((1 << 3) | WIRE_VARINT)) id = r.id();
      else if (tag === ((2 << 3) | WIRE_VARINT)) name = r.int64();
      else r.skip(tag & 7);
    }
    r.pos = end;
    this.functionIds.push(id);
    this.functionNameRefs.push(name);
  }

  private location(r: ProtoReader, start: number, end: number): void {
    let id: number | bigint = 0;
    let mappingId: number | bigint = 0;
    const locations = this.locations;
    const functions = locations.functions;
    // Loops, not r.fields with a closure each: a large profile has tens of thousands of these.
    r.pos = start;
    while (r.pos < end) {
      const tag = r.varint();
      if (tag === ((1 << 3) | WIRE_VARINT)) id = r.id();
      else if (tag === ((2 << 3) | WIRE_VARINT)) mappingId = r.id();
      else if (tag === ((4 << 3) | WIRE_LEN)) functions.push(lineFunction(r));
      else r.skip(tag & 7);
    }
    r.pos = end;
    if (this.locationIndex.get(id) !== undefined) this.duplicateLocationIds = true;
    locations.start.push(functions.length);
    locations.mappings.push(mappingId);
    this.locationIndex.set(id, locations.ids.push(id) - 1);
  }

  /** The tables resolved once every field has been read. Throws ProfileFormatError where they do not hold together. */
  resolve(): ResolvedTables {
    const strings = this.strings;
    if (strings.length === 0) {
      throw new ProfileFormatError("not a pprof profile, or a truncated one (it has no string table)");
    }
    if (strings[0] !== "") {
      throw new ProfileFormatError(
        "not a pprof profile (its string table does not start with the empty string)",
      );
    }
    const str = (index: number, what: string): string => {
      const s = strings[index];
      if (s === undefined) {
        throw new ProfileFormatError(
          `corrupt or truncated profile: ${what} refers to string ${index}, but the string table has ${strings.length} entries`,
        );
      }
      return s;
    };
    const sampleTypes: ValueType[] = this.sampleTypeRefs.map(([type, unit], i) => ({
      type: str(type, `sample type ${i}`),
      unit: str(unit, `sample type ${i}`),
    }));
    if (sampleTypes.length === 0)
      throw new ProfileFormatError("not a pprof profile (it has no sample types)");

    const mappingFiles = new Map<number | bigint, string>();
    for (const m of this.mappings) {
      mappingFiles.set(m.id, str(m.file, "mapping"));
      str(m.buildId, "mapping");
    }
    const functionIndex = new IdIndex();
    const names: string[] = [];
    this.functionIds.forEach((id, i) => {
      if (id === 0) throw new ProfileFormatError("corrupt profile: a function has id 0");
      functionIndex.set(id, names.push(str(this.functionNameRefs[i] ?? 0, "function")) - 1);
    });
    const functionName = (id: number | bigint): string | undefined => {
      const index = id === 0 ? undefined : functionIndex.get(id);
      const name = index === undefined ? "" : (names[index] ?? "");
      return name === "" ? undefined : name;
    };
    const unnamed = (mapping: number | bigint): string => unnamedFrame(mappingFiles.get(mapping) ?? "");

    const frameIds = new Map<string, number>();
    const frameNames: string[] = [];
    const frame = (name: string): number => {
      let id = frameIds.get(name);
      if (id === undefined) {
        id = frameNames.push(name) - 1;
        frameIds.set(name, id);
      }
      return id;
    };
    // Each function's frame once, by its index: locations are many, their functions few.
    const functionFrames = new Int32Array(names.length).fill(-1);
    const { ids, mappings, functions, start } = this.locations;
    const frames = new LocationFrames();
    let lineFrames = new Int32Array(16);
    for (let loc = 0; loc < ids.length; loc++) {
      const id = ids[loc] ?? 0;
      if (id === 0) throw new ProfileFormatError("corrupt profile: a location has id 0");
      const mapping = mappings[loc] ?? 0;
      const first = start[loc] ?? 0;
      const end = start[loc + 1] ?? 0;
      if (end - first > lineFrames.length) lineFrames = new Int32Array(2 * (end - first));
      if (first === end) lineFrames[0] = frame(unnamed(mapping));
      for (let line = first; line < end; line++) {
        const fnId = functions[line] ?? 0;
        const index = fnId === 0 ? undefined : functionIndex.get(fnId);
        if (index === undefined) {
          if (fnId !== 0) {
            throw new ProfileFormatError(
              `corrupt profile: location ${id} refers to function ${fnId}, which is not defined`,
            );
          }
          lineFrames[line - first] = frame(unnamed(mapping));
          continue;
        }
        let f = functionFrames[index] ?? -1;
        if (f < 0) {
          const name = functionName(fnId);
          f = frame(name ?? unnamed(mapping));
          // A function without a name takes each location's mapping: not the same frame each time.
          if (name !== undefined) functionFrames[index] = f;
        }
        lineFrames[line - first] = f;
      }
      frames.push(lineFrames, Math.max(end - first, 1));
    }
    // An array per location only when asked for (the model's): the one-pass top reads the table.
    let locations: Int32Array[] | undefined;
    const perLocation = (): Int32Array[] =>
      (locations ??= Array.from({ length: frames.count }, (_, i) =>
        frames.frames.slice(frames.start[i] ?? 0, frames.start[i + 1] ?? 0),
      ));

    const defaultName = str(this.defaultSampleType, "default sample type");
    const named = defaultName === "" ? -1 : sampleTypes.findIndex((t) => t.type === defaultName);
    const first = this.mappings[0];
    return {
      sampleTypes,
      defaultSampleType: named >= 0 ? named : sampleTypes.length - 1,
      frameNames,
      get locations() {
        return perLocation();
      },
      locationFrames: frames,
      locationIndex: this.locationIndex,
      info: {
        mainBinary: first ? str(first.file, "mapping") : "",
        buildId: first ? str(first.buildId, "mapping") : "",
        comments: this.commentRefs.map((c) => str(c, "comment")),
        docUrl: str(this.docUrl, "doc url"),
        timeNanos: this.timeNanos,
        durationNanos: this.durationNanos,
      },
      functionName,
      unnamedFrame: unnamed,
    };
  }
}

/** The function id of the Line at r.pos (0 where it names none); leaves r after it. */
function lineFunction(r: ProtoReader): number | bigint {
  const stop = r.varint() + r.pos;
  let fn: number | bigint = 0;
  while (r.pos < stop) {
    const tag = r.varint();
    if (tag === ((1 << 3) | WIRE_VARINT)) fn = r.id();
    else r.skip(tag & 7);
  }
  r.pos = stop;
  return fn;
}

/** Reads the varint fields of a message in [start, end) that `read` has a reader for; skips the rest. */
function varintFields(r: ProtoReader, start: number, end: number, read: Record<number, () => unknown>): void {
  r.fields(start, end, (field, wire) => {
    const reader = wire === WIRE_VARINT ? read[field] : undefined;
    reader?.();
    return reader !== undefined;
  });
}

function valueType(r: ProtoReader, start: number, end: number): [number, number] {
  let type = 0;
  let unit = 0;
  varintFields(r, start, end, { 1: () => (type = r.int64()), 2: () => (unit = r.int64()) });
  return [type, unit];
}

function mapping(r: ProtoReader, start: number, end: number): RawMapping {
  let id: number | bigint = 0;
  let file = 0;
  let buildId = 0;
  varintFields(r, start, end, {
    1: () => (id = r.id()),
    5: () => (file = r.int64()),
    6: () => (buildId = r.int64()),
  });
  return { id, file, buildId };
}

/** pprof's name for a frame without a function name (graph.NodeInfo.NameComponents). */
function unnamedFrame(objfile: string): string {
  if (objfile === "") return "<unknown>";
  return `[${objfile.slice(objfile.lastIndexOf("/") + 1)}]`;
}
