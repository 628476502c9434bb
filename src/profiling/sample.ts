// Reads one Sample message: its location ids, resolved to location indices, and its values.
// The hot loop of every decode (a large profile has millions of location ids), shared by the
// decoder of the whole model (decode.ts) and the one-pass top (stream-top.ts). It also checks
// the message's wire format as it goes (what wire.ts checks, in the same pass over the bytes):
// the one-pass top does not walk its samples twice.
import { ProfileFormatError } from "./errors.js";
import type { IdIndex } from "./ids.js";
import { WIRE_LEN, WIRE_VARINT, type ProtoReader } from "./proto.js";

/** What read returns for a sample that refers to a location id `locations` lacks. */
export const MISSING_LOCATION = -1;
/** What read returns for bytes that are not a well-formed Sample (wire.ts says why). */
export const MALFORMED = -2;

export class SampleReader {
  /** How many values the last sample read had (a well-formed one has one per sample type). */
  values = 0;
  /** The location id the last sample refers to that `locations` lacks, when read returned MISSING_LOCATION. */
  missing: number | bigint = 0;

  constructor(private readonly r: ProtoReader) {}

  /**
   * Reads the sample in [start, end) of r's bytes: its stack, leaf first, into `stack` from `at`
   * (as indices from `locations`), its first `types` values into `values` from `valuesAt`.
   * Returns where the stack ends in `stack`; MALFORMED for bytes wire.ts would reject, else
   * MISSING_LOCATION for a location id `locations` lacks. `stack` must have room for
   * (end - start) entries past `at`: every id takes a byte at least.
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
    let missing = false;
    // Positions in a local, and the one- and two-byte varints that almost every id and value
    // is, read inline; anything longer goes through the reader's general ones.
    while (pos < end) {
      let tag = buf[pos] ?? 0;
      if (tag < 0x80) pos++;
      else {
        tag = this.varint(pos, end);
        pos = r.pos;
        if (tag < 0) return MALFORMED;
      }
      // Field numbers 1..15 (profile.proto has no other), varint or length-delimited.
      const wire = tag & 7;
      if (tag < 8 || tag > 127 || (wire !== WIRE_VARINT && wire !== WIRE_LEN)) return MALFORMED;
      let stop: number;
      if (wire === WIRE_LEN) {
        const len = this.varint(pos, end);
        pos = r.pos;
        if (len < 0 || pos + len > end) return MALFORMED;
        stop = pos + len;
      } else {
        // One value, not packed: where it ends, for the loop below to stop there.
        if (this.varint(pos, end) < 0) return MALFORMED;
        stop = r.pos;
      }
      const isStack = tag === 0x0a || tag === 0x08;
      if (!isStack && tag !== 0x12 && tag !== 0x10) {
        // Labels (field 3) are messages of their own; other fields are skipped unread.
        if (tag === 0x1a && !flatMessage(buf, pos, stop)) return MALFORMED;
        pos = stop;
        continue;
      }
      while (pos < stop) {
        const b0 = buf[pos] ?? 0;
        const b1 = buf[pos + 1] ?? 0;
        let v: number;
        if (b0 < 0x80) {
          v = b0;
          pos++;
        } else if (b1 < 0x80) {
          v = (b0 & 0x7f) | (b1 << 7);
          pos += 2;
        } else {
          if (!isStack) {
            // int64: negative values take ten bytes; a varint longer than that is malformed.
            r.pos = pos;
            v = r.int64();
            pos = r.pos;
            if ((buf[pos - 1] ?? 0) >= 0x80) return MALFORMED;
          } else {
            r.pos = pos;
            const id = r.id();
            pos = r.pos;
            if ((buf[pos - 1] ?? 0) >= 0x80) return MALFORMED;
            if (typeof id === "bigint") {
              const index = locations.get(id);
              if (index === undefined) {
                if (!missing) this.missing = id;
                missing = true;
              } else stack[at++] = index;
              continue;
            }
            v = id;
          }
        }
        if (isStack) {
          const index = locations.indexOf(v);
          if (index < 0) {
            if (!missing) this.missing = v;
            missing = true;
          } else stack[at++] = index;
        } else {
          if (nValues < types) values[valuesAt + nValues] = v;
          nValues++;
        }
      }
      // A varint cut off by the field's end ran past it.
      if (pos !== stop) return MALFORMED;
    }
    this.values = nValues;
    return missing ? MISSING_LOCATION : at;
  }

  /** A varint (a tag or a length) that must end by `end`, r.pos after it; -1 where it does not. */
  private varint(pos: number, end: number): number {
    const r = this.r;
    r.pos = pos;
    const v = r.varint();
    return r.pos > end || (r.buf[r.pos - 1] ?? 0) >= 0x80 ? -1 : v;
  }
}

/**
 * True when [start, end) of `buf` is a well-formed message of varint and length-delimited fields
 * numbered 1..15, nested ones unread: what wire.ts requires of a label.
 */
function flatMessage(buf: Uint8Array, start: number, end: number): boolean {
  let pos = start;
  /** The varint at pos, pos moved past it; -1 where it runs past `end` or ten bytes. */
  const varint = (): number => {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10 && pos < end; i++) {
      const b = buf[pos++] ?? 0;
      value += (b & 0x7f) * scale;
      scale *= 128;
      if (b < 0x80) return value;
    }
    return -1;
  };
  while (pos < end) {
    const tag = varint();
    const wire = tag & 7;
    if (tag < 8 || tag > 127 || (wire !== WIRE_VARINT && wire !== WIRE_LEN)) return false;
    const value = varint();
    if (value < 0) return false;
    if (wire === WIRE_LEN) {
      if (value > end - pos) return false;
      pos += value;
    }
  }
  return true;
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
