// Decodes a pprof profile (gzip-compressed or raw protobuf) into the model in model.ts.
import { gunzipSync } from "node:zlib";
import { Profile as PprofMessage, type Location } from "pprof-format";
import { ProfileFormatError } from "./errors.js";
import type { Profile, ProfileSample, ValueType } from "./model.js";
import { checkWireFormat } from "./wire.js";

type Numeric = number | bigint;

/** Decodes gzip-compressed or raw pprof bytes. Throws ProfileFormatError when they are not a valid profile. */
export function decodeProfile(data: Uint8Array): Profile {
  const raw = isGzip(data) ? gunzip(data) : data;
  if (raw.length === 0) throw new ProfileFormatError("empty file, not a pprof profile");
  try {
    checkWireFormat(raw);
  } catch (err) {
    throw new ProfileFormatError(`not a pprof profile (${messageOf(err)})`);
  }
  let message: PprofMessage;
  try {
    message = PprofMessage.decode(raw);
  } catch (err) {
    throw new ProfileFormatError(`not a pprof profile (${messageOf(err)})`);
  }
  return new Normaliser(message).profile();
}

function isGzip(data: Uint8Array): boolean {
  return data.length >= 2 && data[0] === 0x1f && data[1] === 0x8b;
}

function gunzip(data: Uint8Array): Uint8Array {
  try {
    return gunzipSync(data);
  } catch (err) {
    throw new ProfileFormatError(`truncated or corrupt gzip data (${messageOf(err)})`);
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** pprof-format gives small varints as numbers, larger ones as bigints: one key space for both. */
function idKey(id: Numeric): number | bigint {
  return typeof id === "bigint" && id <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(id) : id;
}

/**
 * Id to value. Writers number ids densely from 1 (Go does), so an array indexed by id serves
 * almost every lookup; a Map takes the rest. Profiles hold millions of location references.
 */
class IdIndex<T> {
  private readonly dense: (T | undefined)[] = [];
  private readonly sparse = new Map<number | bigint, T>();

  set(id: Numeric, value: T): void {
    if (typeof id === "number" && id < DENSE_LIMIT) this.dense[id] = value;
    else this.sparse.set(idKey(id), value);
  }

  get(id: Numeric): T | undefined {
    if (typeof id === "number" && id < DENSE_LIMIT) return this.dense[id];
    return this.sparse.get(idKey(id));
  }
}

const DENSE_LIMIT = 1 << 24;

/** int64 fields arrive as unsigned 64-bit bigints when negative (two's complement). */
function int64(v: Numeric): number {
  return typeof v === "bigint" ? Number(BigInt.asIntN(64, v)) : v;
}

class Normaliser {
  private readonly strings: readonly string[];
  private readonly frameIds = new Map<string, number>();
  private readonly frameNames: string[] = [];

  constructor(private readonly msg: PprofMessage) {
    this.strings = msg.stringTable.strings;
  }

  profile(): Profile {
    const msg = this.msg;
    if (this.strings.length === 0) {
      throw new ProfileFormatError("not a pprof profile, or a truncated one (it has no string table)");
    }
    if (this.strings[0] !== "") {
      throw new ProfileFormatError(
        "not a pprof profile (its string table does not start with the empty string)",
      );
    }
    const sampleTypes: ValueType[] = msg.sampleType.map((vt, i) => ({
      type: this.str(vt.type, `sample type ${i}`),
      unit: this.str(vt.unit, `sample type ${i}`),
    }));
    if (sampleTypes.length === 0)
      throw new ProfileFormatError("not a pprof profile (it has no sample types)");

    const mappingFiles = new IdIndex<string>();
    for (const m of msg.mapping) mappingFiles.set(m.id, this.str(m.filename, "mapping"));
    const functionNames = new IdIndex<string>();
    for (const f of msg.function) {
      if (f.id === 0) throw new ProfileFormatError("corrupt profile: a function has id 0");
      functionNames.set(f.id, this.str(f.name, "function"));
    }

    const locationIndex = new IdIndex<number>();
    const locations = msg.location.map((loc, i) => {
      if (loc.id === 0) throw new ProfileFormatError("corrupt profile: a location has id 0");
      locationIndex.set(loc.id, i);
      return this.locationFrames(loc, functionNames, mappingFiles);
    });

    const samples = msg.sample.map((s, i): ProfileSample => {
      if (s.value.length !== sampleTypes.length) {
        throw new ProfileFormatError(
          `corrupt profile: sample ${i} has ${s.value.length} values for ${sampleTypes.length} sample types`,
        );
      }
      const stack = new Int32Array(s.locationId.length);
      s.locationId.forEach((id, j) => {
        const index = locationIndex.get(id);
        if (index === undefined) {
          throw new ProfileFormatError(
            `corrupt profile: sample ${i} refers to location ${id}, which is not defined`,
          );
        }
        stack[j] = index;
      });
      return { locations: stack, values: s.value.map(int64), base: false };
    });

    const defaultName = this.str(msg.defaultSampleType, "default sample type");
    const named = defaultName === "" ? -1 : sampleTypes.findIndex((t) => t.type === defaultName);
    const first = msg.mapping[0];
    return {
      sampleTypes,
      defaultSampleType: named >= 0 ? named : sampleTypes.length - 1,
      frameNames: this.frameNames,
      locations,
      samples,
      info: {
        mainBinary: first ? this.str(first.filename, "mapping") : "",
        buildId: first ? this.str(first.buildId, "mapping") : "",
        comments: msg.comment.map((c) => this.str(c, "comment")),
        docUrl: this.str(msg.docUrl, "doc url"),
        timeNanos: int64(msg.timeNanos),
        durationNanos: int64(msg.durationNanos),
      },
    };
  }

  private locationFrames(
    loc: Location,
    functionNames: IdIndex<string>,
    mappingFiles: IdIndex<string>,
  ): Int32Array {
    const objfile = mappingFiles.get(loc.mappingId) ?? "";
    if (loc.line.length === 0) return Int32Array.of(this.frame(unnamedFrame(objfile)));
    const frames = new Int32Array(loc.line.length);
    loc.line.forEach((line, i) => {
      let name = "";
      if (line.functionId !== 0) {
        const fn = functionNames.get(line.functionId);
        if (fn === undefined) {
          throw new ProfileFormatError(
            `corrupt profile: location ${loc.id} refers to function ${line.functionId}, which is not defined`,
          );
        }
        name = fn;
      }
      frames[i] = this.frame(name === "" ? unnamedFrame(objfile) : name);
    });
    return frames;
  }

  private frame(name: string): number {
    let id = this.frameIds.get(name);
    if (id === undefined) {
      id = this.frameNames.push(name) - 1;
      this.frameIds.set(name, id);
    }
    return id;
  }

  private str(index: Numeric, what: string): string {
    const s = this.strings[Number(index)];
    if (s === undefined) {
      throw new ProfileFormatError(
        `corrupt or truncated profile: ${what} refers to string ${index}, but the string table has ${this.strings.length} entries`,
      );
    }
    return s;
  }
}

/** pprof's name for a frame without a function name (graph.NodeInfo.NameComponents). */
function unnamedFrame(objfile: string): string {
  if (objfile === "") return "<unknown>";
  return `[${objfile.slice(objfile.lastIndexOf("/") + 1)}]`;
}
