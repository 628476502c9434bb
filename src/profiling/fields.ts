// Splits a profile read in pieces into its top-level fields, each whole in one buffer, and checks
// each as checkWireFormat checks a whole profile (wire.ts): a profile's top-level fields are
// small (a sample, a location, a string), so only the one cut by a piece's end is copied.
import { ProfileFormatError } from "./errors.js";
import { WIRE_LEN, WIRE_VARINT } from "./proto.js";
import { checkTopLevelField, isProfileField, LONGER, varintEnd, varintOrCut } from "./wire.js";

/**
 * Called once per top-level field: its tag, and where in `buf` its value starts (after the tag),
 * its body starts (after the length, for a length-delimited field) and it ends.
 */
export type FieldVisitor = (
  buf: Uint8Array,
  tag: number,
  valueStart: number,
  bodyStart: number,
  end: number,
) => void;

/** Calls `visit` for every top-level field of the raw profile in `chunks`, in order. */
export async function forEachField(chunks: AsyncIterable<Uint8Array>, visit: FieldVisitor): Promise<void> {
  let pending: Uint8Array = new Uint8Array(0);
  /** Offset in the whole profile of pending[0], for the messages. */
  let base = 0;
  let total = 0;
  for await (const chunk of chunks) {
    total += chunk.length;
    let buf = chunk;
    if (pending.length > 0) {
      // The field cut by the last piece's end, made whole with the start of this one: only its
      // own bytes are copied (the whole piece when it runs on past this one too).
      const need = fieldLength(pending, chunk, base);
      const taken = need < 0 ? chunk.length : Math.min(need - pending.length, chunk.length);
      const head = Buffer.concat([pending, chunk.subarray(0, taken)]);
      const used = splitFields(head, base, visit);
      base += used;
      pending = head.subarray(used);
      if (pending.length > 0) continue;
      buf = chunk.subarray(taken);
    }
    const used = splitFields(buf, base, visit);
    base += used;
    pending = buf.subarray(used);
  }
  if (total === 0) throw new ProfileFormatError("empty file, not a pprof profile");
  if (pending.length > 0) {
    throw new ProfileFormatError(
      `not a pprof profile (profile: its last field, at byte ${base}, is cut off (truncated?))`,
    );
  }
}

/**
 * The length of the field that starts `pending` and goes on into `next`, header included, or -1
 * when the header itself is cut beyond what the two hold.
 */
function fieldLength(pending: Uint8Array, next: Uint8Array, base: number): number {
  // Two varints of at most ten bytes each: the header is within the first 20 bytes.
  const head = pending.length >= 20 ? pending : Buffer.concat([pending, next.subarray(0, 20)]);
  const tag = varintAt(head, 0, base);
  if (tag < 0) return -1;
  const headerEnd = varintEnd;
  const value = varintAt(head, headerEnd, base);
  if (value < 0) return -1;
  return tag % 8 === WIRE_LEN ? varintEnd + value : varintEnd;
}

/** Visits the whole fields at the start of `buf`; returns how many bytes they take. */
function splitFields(buf: Uint8Array, base: number, visit: FieldVisitor): number {
  let pos = 0;
  while (pos < buf.length) {
    const fieldStart = pos;
    const tag = varintAt(buf, pos, base);
    if (tag < 0) return fieldStart;
    pos = varintEnd;
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (!isProfileField(field)) {
      throw notAProfile(
        `profile: field number ${field} at byte ${base + fieldStart} is not part of profile.proto`,
      );
    }
    const valueStart = pos;
    if (wire === WIRE_VARINT) {
      if (varintAt(buf, pos, base) < 0) return fieldStart;
      pos = varintEnd;
      visit(buf, tag, valueStart, pos, pos);
    } else if (wire === WIRE_LEN) {
      const len = varintAt(buf, pos, base);
      if (len < 0 || varintEnd + len > buf.length) return fieldStart;
      const bodyStart = varintEnd;
      pos = bodyStart + len;
      try {
        checkTopLevelField(buf, bodyStart, pos, field, base);
      } catch (err) {
        throw notAProfile((err as Error).message);
      }
      visit(buf, tag, valueStart, bodyStart, pos);
    } else {
      throw notAProfile(`profile: unsupported protobuf wire type ${wire} at byte ${base + fieldStart}`);
    }
  }
  return pos;
}

function notAProfile(message: string): ProfileFormatError {
  return new ProfileFormatError(`not a pprof profile (${message})`);
}

/** The varint at `at`, or -1 when `buf` ends before it does (the next piece has the rest). */
function varintAt(buf: Uint8Array, at: number, base: number): number {
  const value = varintOrCut(buf, at, buf.length);
  if (value === LONGER) throw notAProfile(`profile: varint at byte ${base + at} is longer than 10 bytes`);
  return value;
}
