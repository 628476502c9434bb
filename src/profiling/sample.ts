// Reads one Sample message: its location ids, resolved to location indices, and its values.
// The hot loop of every decode (a large profile has millions of location ids), shared by the
// decoder of the whole model (decode.ts) and the one-pass top (stream-top.ts).
import { ProfileFormatError } from "./errors.js";
import type { IdIndex } from "./ids.js";
import { WIRE_LEN, type ProtoReader } from "./proto.js";

export class SampleReader {
  /** How many values the last sample read had (a well-formed one has one per sample type). */
  values = 0;
  /** The location id the last sample refers to that `locations` lacks, when read returned -1. */
  missing: number | bigint = 0;

  constructor(private readonly r: ProtoReader) {}

  /**
   * Reads the sample in [start, end) of r's bytes: its stack, leaf first, into `stack` from `at`
   * (as indices from `locations`), its first `types` values into `values` from `valuesAt`.
   * Returns where the stack ends in `stack`, or -1 at the first location id `locations` lacks.
   * `stack` must have room for (end - start) entries past `at`: every id takes a byte at least.
   */
  read(
    start: number,
    end: number,
    locations: IdIndex,
    stack: Int32Array,
    at: number,
    values: Float64Array,
    valuesAt: number,
    types: number,
  ): number {
    const r = this.r;
    const buf = r.buf;
    let pos = start;
    let nValues = 0;
    // Positions in a local, and the one- and two-byte varints that almost every id and value
    // is, read inline; anything longer goes through the reader's general ones.
    while (pos < end) {
      let tag = buf[pos] ?? 0;
      if (tag < 0x80) pos++;
      else {
        r.pos = pos;
        tag = r.varint();
        pos = r.pos;
      }
      const packed = tag === 0x0a || tag === 0x12;
      if (!packed && tag !== 0x08 && tag !== 0x10) {
        r.pos = pos;
        r.skip(tag & 7);
        pos = r.pos;
        continue;
      }
      let stop = pos + 1;
      if (packed) {
        r.pos = pos;
        const len = r.varint();
        pos = r.pos;
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
          r.pos = pos;
          v = isStack ? r.id() : r.int64();
          pos = r.pos;
        }
        if (isStack) {
          const index = locations.get(v);
          if (index === undefined) {
            this.missing = v;
            return -1;
          }
          stack[at++] = index;
        } else {
          if (nValues < types) values[valuesAt + nValues] = Number(v);
          nValues++;
        }
      }
    }
    this.values = nValues;
    return at;
  }
}

/** Field 2 (samples), length-delimited. */
export const SAMPLE_TAG = (2 << 3) | WIRE_LEN;

export function undefinedLocation(sample: number, id: number | bigint): ProfileFormatError {
  return new ProfileFormatError(
    `corrupt profile: sample ${sample} refers to location ${id}, which is not defined`,
  );
}

export function valueCount(sample: number, values: number, types: number): ProfileFormatError {
  return new ProfileFormatError(
    `corrupt profile: sample ${sample} has ${values} values for ${types} sample types`,
  );
}
