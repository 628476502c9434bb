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
  private missingSeen = false;

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
    this.missingSeen = false;
    // Positions in a local, and the one-byte tags and lengths that almost every one is, read
    // inline; anything longer goes through the reader's general varint.
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
        let len = buf[pos] ?? 0;
        if (len < 0x80) pos++;
        else {
          len = this.varint(pos, end);
          pos = r.pos;
        }
        if (len < 0 || pos + len > end) return MALFORMED;
        stop = pos + len;
      } else {
        // One value, not packed: where it ends, for the loop below to stop there.
        if (this.varint(pos, end) < 0) return MALFORMED;
        stop = r.pos;
      }
      if (tag === 0x0a || tag === 0x08) {
        at = this.ids(pos, stop, locations, stack, at);
        if (at === MALFORMED) return MALFORMED;
      } else if (tag === 0x12 || tag === 0x10) {
        nValues = this.valuesIn(pos, stop, values, valuesAt, nValues, types);
        if (nValues === MALFORMED) return MALFORMED;
      } else if (tag === 0x1a && !flatMessage(buf, pos, stop)) {
        // Labels (field 3) are messages of their own; other fields are skipped unread.
        return MALFORMED;
      }
      pos = stop;
    }
    this.values = nValues;
    return this.missingSeen ? MISSING_LOCATION : at;
  }

  /**
   * The location ids in [pos, stop), as indices into `stack` from `at`; returns where they end
   * there, or MALFORMED when the last runs past `stop`. Ids of up to four bytes (2^28) are read
   * inline, the rest in a function of its own: V8 throws optimized code away when a path in it
   * first runs, and the rare ones would first run mid-profile.
   */
  private ids(pos: number, stop: number, locations: IdIndex, stack: Int32Array, at: number): number {
    const buf = this.r.buf;
    while (pos < stop) {
      // A loop, not a branch per byte: code for the third byte would first run mid-profile.
      let b = buf[pos++] ?? 0;
      let id = b & 0x7f;
      for (let shift = 7; b >= 0x80 && shift < 28; shift += 7) {
        b = buf[pos++] ?? 0;
        id |= (b & 0x7f) << shift;
      }
      if (b >= 0x80) {
        const index = this.longId(pos - 4, locations);
        if (index === MALFORMED) return MALFORMED;
        pos = this.r.pos;
        if (index >= 0) stack[at++] = index;
        continue;
      }
      const index = locations.indexOf(id);
      if (index >= 0) stack[at++] = index;
      else this.notDefined(id);
    }
    return pos === stop ? at : MALFORMED;
  }

  /** The index of the id of five bytes or more at `pos`, -1 if none, MALFORMED past ten bytes; r.pos after it. */
  private longId(pos: number, locations: IdIndex): number {
    const r = this.r;
    r.pos = pos;
    const id = r.id();
    if ((r.buf[r.pos - 1] ?? 0) >= 0x80) return MALFORMED;
    const index = locations.get(id);
    if (index !== undefined) return index;
    this.notDefined(id);
    return -1;
  }

  private notDefined(id: number | bigint): void {
    if (!this.missingSeen) this.missing = id;
    this.missingSeen = true;
  }

  /** The values in [pos, stop) into `values` from `valuesAt + count`, up to `types` of them; returns how many there are, or MALFORMED. */
  private valuesIn(
    pos: number,
    stop: number,
    values: Float64Array,
    valuesAt: number,
    count: number,
    types: number,
  ): number {
    const r = this.r;
    const buf = r.buf;
    while (pos < stop) {
      let b = buf[pos++] ?? 0;
      let v = b & 0x7f;
      for (let shift = 7; b >= 0x80 && shift < 28; shift += 7) {
        b = buf[pos++] ?? 0;
        v |= (b & 0x7f) << shift;
      }
      if (b >= 0x80) {
        // int64: past 2^28 (negative values take ten bytes); past ten bytes, malformed.
        r.pos = pos - 4;
        v = r.int64();
        pos = r.pos;
        if ((buf[pos - 1] ?? 0) >= 0x80) return MALFORMED;
      }
      if (count < types) values[valuesAt + count] = v;
      count++;
    }
    return pos === stop ? count : MALFORMED;
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
  while (pos < end) {
    const tag = varintIn(buf, pos, end);
    pos = varintEnd;
    const wire = tag & 7;
    if (tag < 8 || tag > 127 || (wire !== WIRE_VARINT && wire !== WIRE_LEN)) return false;
    const value = varintIn(buf, pos, end);
    pos = varintEnd;
    if (value < 0) return false;
    if (wire === WIRE_LEN) {
      if (value > end - pos) return false;
      pos += value;
    }
  }
  return true;
}

/** Where varintIn's varint ends: a module variable, not an object per varint. */
let varintEnd = 0;

/** The varint at `pos`, or -1 where it runs past `end` or ten bytes. */
function varintIn(buf: Uint8Array, pos: number, end: number): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10 && pos < end; i++) {
    const b = buf[pos++] ?? 0;
    value += (b & 0x7f) * scale;
    scale *= 128;
    if (b < 0x80) {
      varintEnd = pos;
      return value;
    }
  }
  return -1;
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
