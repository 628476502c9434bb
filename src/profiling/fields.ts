// Splits a profile read in pieces into its top-level fields, each whole in one buffer, and checks
// each but the samples as checkWireFormat checks a whole profile (wire.ts; SampleReader checks
// the samples as it reads them). A profile's top-level fields are small (a sample, a location, a
// string), so only the one cut by a piece's end is copied, at once: the next piece may be read
// into the same buffer (chunks.ts).
import { ProfileFormatError } from "./errors.js";
import { WIRE_LEN, WIRE_VARINT } from "./proto.js";
import { SAMPLE_TAG } from "./sample.js";
import { checkTopLevelField, isProfileField, LONGER, varintEnd, varintOrCut } from "./wire.js";

/**
 * Called once per top-level field: its tag, and where in `buf` its value starts (after the tag),
 * its body starts (after the length, for a length-delimited field) and it ends; `base` is the
 * offset of buf[0] in the whole profile (for malformedSample).
 */
export type FieldVisitor = (
  buf: Uint8Array,
  tag: number,
  valueStart: number,
  bodyStart: number,
  end: number,
  base: number,
) => void;

/**
 * Calls `visit` for every top-level field of the raw profile in `chunks`, in order. Samples are
 * not checked here: the visitor reads them with SampleReader, which checks them as it goes, and
 * throws malformedSample for one it finds malformed; a sample a pass leaves unread is checked by
 * the pass that reads it.
 */
export async function forEachField(chunks: AsyncIterable<Uint8Array>, visit: FieldVisitor): Promise<void> {
  let pending: Uint8Array = new Uint8Array(0);
  /** Offset in the whole profile of pending[0], for the messages. */
  let base = 0;
  let total = 0;
  for await (const piece of chunks) {
    const chunk = plain(piece);
    total += chunk.length;
    let buf = chunk;
    if (pending.length > 0) {
      // The field cut by the last piece's end, made whole with the start of this one: only its
      // own bytes are copied (the whole piece when it runs on past this one too).
      const need = fieldLength(pending, chunk, base);
      const taken = need < 0 ? chunk.length : Math.min(need - pending.length, chunk.length);
      const head = concat(pending, chunk.subarray(0, taken));
      const used = splitFields(head, base, visit);
      base += used;
      pending = head.subarray(used);
      if (pending.length > 0) continue;
      buf = chunk.subarray(taken);
    }
    const used = splitFields(buf, base, visit);
    base += used;
    pending = new Uint8Array(buf.subarray(used));
  }
  if (total === 0) throw new ProfileFormatError("empty file, not a pprof profile");
  if (pending.length > 0) {
    throw new ProfileFormatError(
      `not a pprof profile (profile: its last field, at byte ${base}, is cut off (truncated?))`,
    );
  }
}

/**
 * The bytes as a plain Uint8Array (a view, not a copy): the visitors' code, optimized for one kind
 * of array, would be thrown away and made again for a Buffer (V8's "wrong map" deopts).
 */
function plain(bytes: Uint8Array): Uint8Array {
  return bytes.constructor === Uint8Array
    ? bytes
    : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const both = new Uint8Array(a.length + b.length);
  both.set(a);
  both.set(b, a.length);
  return both;
}

/**
 * The length of the field that starts `pending` and goes on into `next`, header included, or -1
 * when the header itself is cut beyond what the two hold.
 */
function fieldLength(pending: Uint8Array, next: Uint8Array, base: number): number {
  // Two varints of at most ten bytes each: the header is within the first 20 bytes.
  const head = pending.length >= 20 ? pending : concat(pending, next.subarray(0, 20));
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
      visit(buf, tag, valueStart, pos, pos, base);
    } else if (wire === WIRE_LEN) {
      const len = varintAt(buf, pos, base);
      if (len < 0 || varintEnd + len > buf.length) return fieldStart;
      const bodyStart = varintEnd;
      pos = bodyStart + len;
      if (tag !== SAMPLE_TAG) checkField(buf, bodyStart, pos, field, base);
      visit(buf, tag, valueStart, bodyStart, pos, base);
    } else {
      throw notAProfile(`profile: unsupported protobuf wire type ${wire} at byte ${base + fieldStart}`);
    }
  }
  return pos;
}

function checkField(buf: Uint8Array, start: number, end: number, field: number, base: number): void {
  try {
    checkTopLevelField(buf, start, end, field, base);
  } catch (err) {
    throw notAProfile((err as Error).message);
  }
}

/** The error for the sample in [start, end) of `buf` that SampleReader found MALFORMED. */
export function malformedSample(
  buf: Uint8Array,
  start: number,
  end: number,
  base: number,
): ProfileFormatError {
  checkField(buf, start, end, SAMPLE_TAG >>> 3, base);
  // Not reached while SampleReader and wire.ts agree on what is malformed.
  return notAProfile(`profile: the sample at byte ${base + start} is malformed`);
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
