// Decodes a pprof profile (gzip-compressed or raw protobuf) into the model in model.ts.
// A hand-written reader of profile.proto over the raw bytes: it reads only the fields memlens
// uses and writes samples straight into typed arrays, with no object per sample, line or id.
// Profiles of real services hold hundreds of thousands of samples; a general protobuf decode
// of them costs seconds and hundreds of MiB, this one a fraction of both.
import { gunzipSync } from "node:zlib";
import { ProfileFormatError } from "./errors.js";
import type { Profile, ProfileSamples, ValueType } from "./model.js";
import { checkWireFormat } from "./wire.js";

/** Decodes gzip-compressed or raw pprof bytes. Throws ProfileFormatError when they are not a valid profile. */
export function decodeProfile(data: Uint8Array): Profile {
  const raw = isGzip(data) ? gunzip(data) : data;
  if (raw.length === 0) throw new ProfileFormatError("empty file, not a pprof profile");
  try {
    checkWireFormat(raw);
  } catch (err) {
    throw new ProfileFormatError(`not a pprof profile (${messageOf(err)})`);
  }
  return new Decoder(raw).profile();
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

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

/**
 * Id to value. Writers number ids densely from 1 (Go does), so an array indexed by id serves
 * almost every lookup; a Map takes the rest (ids past 2^53 stay exact as bigints).
 */
class IdIndex {
  private readonly dense: number[] = [];
  private readonly sparse = new Map<number | bigint, number>();

  set(id: number | bigint, value: number): void {
    if (typeof id === "number" && id < DENSE_LIMIT) this.dense[id] = value;
    else this.sparse.set(id, value);
  }

  get(id: number | bigint): number | undefined {
    if (typeof id === "number" && id < DENSE_LIMIT) return this.dense[id];
    return this.sparse.get(id);
  }
}

const DENSE_LIMIT = 1 << 24;

/** Byte ranges of one repeated message field, collected in the first pass. */
class Ranges {
  starts: Int32Array = new Int32Array(64);
  ends: Int32Array = new Int32Array(64);
  count = 0;

  push(start: number, end: number): void {
    if (this.count === this.starts.length) {
      const grow = (a: Int32Array): Int32Array => {
        const b = new Int32Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.starts = grow(this.starts);
      this.ends = grow(this.ends);
    }
    this.starts[this.count] = start;
    this.ends[this.count] = end;
    this.count++;
  }
}

class Decoder {
  private pos = 0;
  private readonly text: Buffer;
  private readonly strings: string[] = [];
  private readonly frameIds = new Map<string, number>();
  private readonly frameNames: string[] = [];

  constructor(private readonly buf: Uint8Array) {
    this.text = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  profile(): Profile {
    const samples = new Ranges();
    const mappings = new Ranges();
    const locations = new Ranges();
    const functions = new Ranges();
    const sampleTypeRefs: [number, number][] = [];
    const commentRefs: number[] = [];
    let defaultSampleType = 0;
    let docUrl = 0;
    let timeNanos = 0;
    let durationNanos = 0;

    // Pass 1: strings and scalars now, the ranges of the messages that refer to others for later
    // (Go writes samples before locations, and locations before functions and strings).
    const end = this.buf.length;
    this.pos = 0;
    while (this.pos < end) {
      const tag = this.varint();
      const field = tag >>> 3;
      const wire = tag & 7;
      if (wire === WIRE_LEN) {
        const len = this.varint();
        const start = this.pos;
        this.pos += len;
        switch (field) {
          case 1:
            sampleTypeRefs.push(this.valueType(start, this.pos));
            break;
          case 2:
            samples.push(start, this.pos);
            break;
          case 3:
            mappings.push(start, this.pos);
            break;
          case 4:
            locations.push(start, this.pos);
            break;
          case 5:
            functions.push(start, this.pos);
            break;
          case 6:
            this.strings.push(this.text.toString("utf8", start, this.pos));
            break;
          case 13:
            this.packed(start, this.pos, (v) => commentRefs.push(v));
            break;
          // 7, 8 (drop/keep frames), 11 (period type) and unknown fields: not used here
        }
      } else if (wire === WIRE_VARINT) {
        const v = this.int64();
        if (field === 9) timeNanos = v;
        else if (field === 10) durationNanos = v;
        else if (field === 13) commentRefs.push(v);
        else if (field === 14) defaultSampleType = v;
        else if (field === 15) docUrl = v;
      } else this.skip(wire);
    }

    if (this.strings.length === 0) {
      throw new ProfileFormatError("not a pprof profile, or a truncated one (it has no string table)");
    }
    if (this.strings[0] !== "") {
      throw new ProfileFormatError(
        "not a pprof profile (its string table does not start with the empty string)",
      );
    }
    const sampleTypes: ValueType[] = sampleTypeRefs.map(([type, unit], i) => ({
      type: this.str(type, `sample type ${i}`),
      unit: this.str(unit, `sample type ${i}`),
    }));
    if (sampleTypes.length === 0)
      throw new ProfileFormatError("not a pprof profile (it has no sample types)");

    const mappingFiles = new Map<number | bigint, string>();
    let mainBinary = "";
    let buildId = "";
    for (let i = 0; i < mappings.count; i++) {
      const m = this.mapping(mappings.starts[i] ?? 0, mappings.ends[i] ?? 0);
      mappingFiles.set(m.id, m.file);
      if (i === 0) {
        mainBinary = m.file;
        buildId = m.buildId;
      }
    }
    const functionIndex = new IdIndex();
    const names: string[] = [];
    for (let i = 0; i < functions.count; i++) {
      const [id, name] = this.function(functions.starts[i] ?? 0, functions.ends[i] ?? 0);
      if (id === 0) throw new ProfileFormatError("corrupt profile: a function has id 0");
      functionIndex.set(id, names.push(name) - 1);
    }
    const locationIndex = new IdIndex();
    const locationFrames: Int32Array[] = [];
    for (let i = 0; i < locations.count; i++) {
      const id = this.location(
        locations.starts[i] ?? 0,
        locations.ends[i] ?? 0,
        functionIndex,
        names,
        mappingFiles,
        locationFrames,
      );
      locationIndex.set(id, i);
    }

    const defaultName = this.str(defaultSampleType, "default sample type");
    const named = defaultName === "" ? -1 : sampleTypes.findIndex((t) => t.type === defaultName);
    return {
      sampleTypes,
      defaultSampleType: named >= 0 ? named : sampleTypes.length - 1,
      frameNames: this.frameNames,
      locations: locationFrames,
      samples: this.samples(samples, sampleTypes.length, locationIndex),
      info: {
        mainBinary,
        buildId,
        comments: commentRefs.map((c) => this.str(c, "comment")),
        docUrl: this.str(docUrl, "doc url"),
        timeNanos,
        durationNanos,
      },
    };
  }

  /** Pass 2 over the samples: the stacks' total length first, so every array is allocated once. */
  private samples(ranges: Ranges, types: number, locationIndex: IdIndex): ProfileSamples {
    const buf = this.buf;
    let total = 0;
    for (let i = 0; i < ranges.count; i++) {
      this.pos = ranges.starts[i] ?? 0;
      const end = ranges.ends[i] ?? 0;
      while (this.pos < end) {
        const tag = this.varint();
        if (tag === 0x0a) {
          // packed location ids: one varint ends at each byte below 0x80
          const len = this.varint();
          const stop = this.pos + len;
          for (let j = this.pos; j < stop; j++) if ((buf[j] ?? 0) < 0x80) total++;
          this.pos = stop;
        } else if (tag === 0x08) {
          this.varint();
          total++;
        } else this.skip(tag & 7);
      }
    }

    const count = ranges.count;
    const stackStart = new Int32Array(count + 1);
    const stacks = new Int32Array(total);
    const values = new Float64Array(count * types);
    // The hot loop: positions in a local, and the one- to three-byte varints that almost every id
    // and value is, read inline; anything longer goes through the general readers.
    let at = 0;
    for (let i = 0; i < count; i++) {
      stackStart[i] = at;
      let pos = ranges.starts[i] ?? 0;
      const end = ranges.ends[i] ?? 0;
      let nValues = 0;
      while (pos < end) {
        let tag = buf[pos] ?? 0;
        if (tag < 0x80) pos++;
        else {
          this.pos = pos;
          tag = this.varint();
          pos = this.pos;
        }
        const packed = tag === 0x0a || tag === 0x12;
        if (!packed && tag !== 0x08 && tag !== 0x10) {
          this.pos = pos;
          this.skip(tag & 7);
          pos = this.pos;
          continue;
        }
        let stop = pos + 1;
        if (packed) {
          this.pos = pos;
          const len = this.varint();
          pos = this.pos;
          stop = pos + len;
        }
        const isStack = tag === 0x0a || tag === 0x08;
        while (pos < stop) {
          const b0 = buf[pos] ?? 0;
          const b1 = buf[pos + 1] ?? 0;
          let v: number | bigint;
          if (b0 < 0x80) {
            v = b0;
            pos++;
          } else if (b1 < 0x80) {
            v = (b0 & 0x7f) | (b1 << 7);
            pos += 2;
          } else {
            this.pos = pos;
            v = isStack ? this.id() : this.int64();
            pos = this.pos;
          }
          if (isStack) {
            const index = locationIndex.get(v);
            if (index === undefined) {
              throw new ProfileFormatError(
                `corrupt profile: sample ${i} refers to location ${v}, which is not defined`,
              );
            }
            stacks[at++] = index;
          } else {
            if (nValues < types) values[i * types + nValues] = Number(v);
            nValues++;
          }
        }
      }
      if (nValues !== types) {
        throw new ProfileFormatError(
          `corrupt profile: sample ${i} has ${nValues} values for ${types} sample types`,
        );
      }
    }
    stackStart[count] = at;
    return { count, stackStart, stacks, values, baseFrom: count };
  }

  private valueType(start: number, end: number): [number, number] {
    let type = 0;
    let unit = 0;
    this.fields(start, end, (field, wire) => {
      if (wire !== WIRE_VARINT) return false;
      if (field === 1) type = this.int64();
      else if (field === 2) unit = this.int64();
      else return false;
      return true;
    });
    return [type, unit];
  }

  private mapping(start: number, end: number): { id: number | bigint; file: string; buildId: string } {
    let id: number | bigint = 0;
    let file = 0;
    let buildId = 0;
    this.fields(start, end, (field, wire) => {
      if (wire !== WIRE_VARINT) return false;
      if (field === 1) id = this.id();
      else if (field === 5) file = this.int64();
      else if (field === 6) buildId = this.int64();
      else return false;
      return true;
    });
    return { id, file: this.str(file, "mapping"), buildId: this.str(buildId, "mapping") };
  }

  private function(start: number, end: number): [number | bigint, string] {
    let id: number | bigint = 0;
    let name = 0;
    this.fields(start, end, (field, wire) => {
      if (wire !== WIRE_VARINT) return false;
      if (field === 1) id = this.id();
      else if (field === 2) name = this.int64();
      else return false;
      return true;
    });
    return [id, this.str(name, "function")];
  }

  /** Reads one Location into `out` (its frames) and returns its id. */
  private location(
    start: number,
    end: number,
    functionIndex: IdIndex,
    names: readonly string[],
    mappingFiles: Map<number | bigint, string>,
    out: Int32Array[],
  ): number | bigint {
    let id: number | bigint = 0;
    let mappingId: number | bigint = 0;
    const lineFunctions: (number | bigint)[] = [];
    this.fields(start, end, (field, wire) => {
      if (field === 1 && wire === WIRE_VARINT) id = this.id();
      else if (field === 2 && wire === WIRE_VARINT) mappingId = this.id();
      else if (field === 4 && wire === WIRE_LEN) {
        const stop = this.varint() + this.pos;
        let fn: number | bigint = 0;
        this.fields(this.pos, stop, (f, w) => {
          if (f !== 1 || w !== WIRE_VARINT) return false;
          fn = this.id();
          return true;
        });
        lineFunctions.push(fn);
      } else return false;
      return true;
    });
    if (id === 0) throw new ProfileFormatError("corrupt profile: a location has id 0");
    const objfile = mappingFiles.get(mappingId) ?? "";
    if (lineFunctions.length === 0) {
      out.push(Int32Array.of(this.frame(unnamedFrame(objfile))));
      return id;
    }
    const frames = new Int32Array(lineFunctions.length);
    lineFunctions.forEach((fnId, i) => {
      let name = "";
      if (fnId !== 0) {
        const index = functionIndex.get(fnId);
        if (index === undefined) {
          throw new ProfileFormatError(
            `corrupt profile: location ${id} refers to function ${fnId}, which is not defined`,
          );
        }
        name = names[index] ?? "";
      }
      frames[i] = this.frame(name === "" ? unnamedFrame(objfile) : name);
    });
    out.push(frames);
    return id;
  }

  /**
   * Walks the fields of a message in [start, end): `read` consumes a field's value and returns
   * true, or returns false to have it skipped. Leaves pos at end.
   */
  private fields(start: number, end: number, read: (field: number, wire: number) => boolean): void {
    this.pos = start;
    while (this.pos < end) {
      const tag = this.varint();
      const wire = tag & 7;
      if (!read(tag >>> 3, wire)) this.skip(wire);
    }
    this.pos = end;
  }

  /** Applies `each` to every varint of a packed field's body. */
  private packed(start: number, end: number, each: (v: number) => void): void {
    const saved = this.pos;
    this.pos = start;
    while (this.pos < end) each(this.int64());
    this.pos = saved;
  }

  private skip(wire: number): void {
    if (wire === WIRE_VARINT) this.varint();
    else if (wire === WIRE_LEN) {
      const len = this.varint(); // before reading pos: `pos += varint()` would read pos first
      this.pos += len;
    } else if (wire === WIRE_I64) this.pos += 8;
    else if (wire === WIRE_I32) this.pos += 4;
    else throw new ProfileFormatError(`not a pprof profile (unsupported protobuf wire type ${wire})`);
  }

  /** A varint known to be small (tags, lengths): up to 2^53. */
  private varint(): number {
    const buf = this.buf;
    let b = buf[this.pos++] ?? 0;
    if (b < 0x80) return b;
    let value = b & 0x7f;
    let scale = 0x80;
    for (let i = 1; i < 8; i++) {
      b = buf[this.pos++] ?? 0;
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 0x80;
    }
    this.pos -= 8;
    return Number(this.bigVarint());
  }

  /** An int64 field as a number (negative ones arrive as ten-byte two's complement). */
  private int64(): number {
    const start = this.pos;
    const v = this.varint();
    if (this.pos - start < 8) return v;
    this.pos = start;
    return Number(BigInt.asIntN(64, this.bigVarint()));
  }

  /** A uint64 id: a number up to 2^53, a bigint past it (so that distinct ids stay distinct). */
  private id(): number | bigint {
    const start = this.pos;
    const v = this.varint();
    if (v <= Number.MAX_SAFE_INTEGER && this.pos - start < 8) return v;
    this.pos = start;
    const big = this.bigVarint();
    return big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
  }

  private bigVarint(): bigint {
    const buf = this.buf;
    let value = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      const b = buf[this.pos++] ?? 0;
      value |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) break;
      shift += 7n;
    }
    return BigInt.asUintN(64, value);
  }

  private frame(name: string): number {
    let id = this.frameIds.get(name);
    if (id === undefined) {
      id = this.frameNames.push(name) - 1;
      this.frameIds.set(name, id);
    }
    return id;
  }

  private str(index: number, what: string): string {
    const s = this.strings[index];
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
