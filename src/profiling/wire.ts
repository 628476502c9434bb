// A protobuf wire-format walk over profile.proto's messages, run before the decoder (decode.ts).
// A length that runs past the end of the input, or a varint without its last byte, would
// otherwise be read as whatever is there, so a truncated file would decode into a smaller,
// wrong profile. This walk turns those cases into errors instead.

/** A profile.proto message: its name in the messages, and the nested message fields this walk descends into. */
interface Schema {
  readonly where: string;
  readonly [field: number]: Schema | undefined;
}

type MessageAt = (where: string) => Schema;

/** A message's schema, named by its path once here: a name made per sample, as the walk reaches it, adds up. */
function message(nested: Record<number, MessageAt> = {}): MessageAt {
  return (where) => {
    const schema: { where: string; [field: number]: Schema } = { where };
    for (const [field, at] of Object.entries(nested)) schema[Number(field)] = at(`${where} field ${field}`);
    return schema;
  };
}

const valueType = message();
const sample = message({ 3: message() }); // 3: label
const location = message({ 4: message() }); // 4: line
const profile = message({ 1: valueType, 2: sample, 3: message(), 4: location, 5: message(), 11: valueType })(
  "profile",
);

const WIRE_VARINT = 0;
const WIRE_LEN = 2;

/** Throws a plain Error describing the first place where `data` is not a well-formed Profile message. */
export function checkWireFormat(data: Uint8Array): void {
  walk(data, 0, data.length, profile, 0);
}

/**
 * The same check for one top-level field of a profile read in pieces (fields.ts): its body is
 * data[start, end), `base` the offset of data[0] in the whole profile, for the messages.
 */
export function checkTopLevelField(
  data: Uint8Array,
  start: number,
  end: number,
  field: number,
  base: number,
): void {
  const nested = profile[field];
  if (nested) walk(data, start, end, nested, base);
}

/** profile.proto defines no field number above 15, so such a field means the input is something else. */
export function isProfileField(field: number): boolean {
  return field >= 1 && field <= 15;
}

function walk(data: Uint8Array, start: number, end: number, schema: Schema, base: number): void {
  const where = schema.where;
  let i = start;
  while (i < end) {
    const tagAt = i;
    const tag = readVarint(data, i, end, where, base);
    i = varintEnd;
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (!isProfileField(field)) {
      throw new Error(`${where}: field number ${field} at byte ${base + tagAt} is not part of profile.proto`);
    }
    if (wire === WIRE_VARINT) {
      readVarint(data, i, end, where, base);
      i = varintEnd;
    } else if (wire === WIRE_LEN) {
      const len = readVarint(data, i, end, where, base);
      const bodyStart = varintEnd;
      const bodyEnd = bodyStart + len;
      if (bodyEnd > end) {
        throw new Error(
          `${where}: field ${field} at byte ${base + tagAt} claims ${len} bytes but only ${end - bodyStart} remain (truncated?)`,
        );
      }
      const nested = schema[field];
      if (nested) walk(data, bodyStart, bodyEnd, nested, base);
      i = bodyEnd;
    } else {
      throw new Error(`${where}: unsupported protobuf wire type ${wire} at byte ${base + tagAt}`);
    }
  }
}

/** Where the varint readVarint or varintOrCut read last ends: a module variable, so no object per varint. */
export let varintEnd = 0;

function readVarint(data: Uint8Array, at: number, end: number, where: string, base: number): number {
  const value = varintOrCut(data, at, end);
  if (value >= 0) return value;
  const what = value === LONGER ? "longer than 10 bytes" : "cut off";
  throw new Error(`${where}: varint at byte ${base + at} is ${what}`);
}

const CUT = -1;
/** What varintOrCut returns for a varint of more than ten bytes. */
export const LONGER = -2;

/** The varint at `at`, or -1 when `end` comes before its last byte, -2 when it runs past ten bytes. */
export function varintOrCut(data: Uint8Array, at: number, end: number): number {
  const first = data[at] ?? 0;
  if (first < 0x80 && at < end) {
    varintEnd = at + 1;
    return first;
  }
  let value = 0;
  let scale = 1;
  for (let i = at; i < at + 10; i++) {
    if (i >= end) return CUT;
    const byte = data[i] ?? 0;
    // Multiplication, not shifts: lengths and tags fit in a double, shifts would wrap at 32 bits.
    value += (byte & 0x7f) * scale;
    scale *= 128;
    if (byte < 0x80) {
      varintEnd = i + 1;
      return value;
    }
  }
  return LONGER;
}
