// A cursor over protobuf bytes with the readers profile.proto needs. Shared by the decoder of the
// whole model (decode.ts) and the one-pass top (stream-top.ts); the wire format has been checked
// (wire.ts) before any of these run, so they do not bounds-check.
import { ProfileFormatError } from "./errors.js";

export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_I32 = 5;

export class ProtoReader {
  pos = 0;
  buf: Uint8Array = new Uint8Array(0);
  /** The same bytes as a Buffer, for its UTF-8 decoder. */
  private text: Buffer = Buffer.alloc(0);

  constructor(buf?: Uint8Array) {
    if (buf) this.reset(buf);
  }

  /** Reads `buf` from here on (the stream's next chunk). */
  reset(buf: Uint8Array, pos = 0): void {
    this.buf = buf;
    this.text = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = pos;
  }

  /** UTF-8 text in [start, end), invalid sequences as U+FFFD (as Go prints them). */
  string(start: number, end: number): string {
    return this.text.toString("utf8", start, end);
  }

  /** A varint known to be small (tags, lengths): up to 2^53. */
  varint(): number {
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
  int64(): number {
    const start = this.pos;
    const v = this.varint();
    if (this.pos - start < 8) return v;
    this.pos = start;
    return Number(BigInt.asIntN(64, this.bigVarint()));
  }

  /** A uint64 id: a number up to 2^53, a bigint past it (so that distinct ids stay distinct). */
  id(): number | bigint {
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

  skip(wire: number): void {
    if (wire === WIRE_VARINT) this.varint();
    else if (wire === WIRE_LEN) {
      const len = this.varint(); // before reading pos: `pos += varint()` would read pos first
      this.pos += len;
    } else if (wire === WIRE_I64) this.pos += 8;
    else if (wire === WIRE_I32) this.pos += 4;
    else throw new ProfileFormatError(`not a pprof profile (unsupported protobuf wire type ${wire})`);
  }

  /**
   * Walks the fields of a message in [start, end): `read` consumes a field's value and returns
   * true, or returns false to have it skipped. Leaves pos at end.
   */
  fields(start: number, end: number, read: (field: number, wire: number) => boolean): void {
    this.pos = start;
    while (this.pos < end) {
      const tag = this.varint();
      const wire = tag & 7;
      if (!read(tag >>> 3, wire)) this.skip(wire);
    }
    this.pos = end;
  }

  /** Applies `each` to every varint of a packed field's body. Leaves pos where it was. */
  packed(start: number, end: number, each: (v: number) => void): void {
    const saved = this.pos;
    this.pos = start;
    while (this.pos < end) each(this.int64());
    this.pos = saved;
  }
}
