// A protobuf wire-format walk over profile.proto's messages, run before the decoder (decode.ts).
// A length that runs past the end of the input, or a varint without its last byte, would
// otherwise be read as whatever is there, so a truncated file would decode into a smaller,
// wrong profile. This walk turns those cases into errors instead.

/** Nested message fields of each profile.proto message that this walk descends into. */
interface Schema {
  readonly [field: number]: Schema | undefined;
}

const valueType: Schema = {};
const label: Schema = {};
const line: Schema = {};
const sample: Schema = { 3: label };
const location: Schema = { 4: line };
const profile: Schema = { 1: valueType, 2: sample, 3: {}, 4: location, 5: {}, 11: valueType };

const WIRE_VARINT = 0;
const WIRE_LEN = 2;

/** Throws a plain Error describing the first place where `data` is not a well-formed Profile message. */
export function checkWireFormat(data: Uint8Array): void {
  walk(data, 0, data.length, profile, "profile");
}

function walk(data: Uint8Array, start: number, end: number, schema: Schema, where: string): void {
  let i = start;
  while (i < end) {
    const tagAt = i;
    const tag = readVarint(data, i, end, where);
    i = varintEnd;
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    // profile.proto defines no field number above 15, so such a field means the input is
    // something else.
    if (field < 1 || field > 15) {
      throw new Error(`${where}: field number ${field} at byte ${tagAt} is not part of profile.proto`);
    }
    if (wire === WIRE_VARINT) {
      readVarint(data, i, end, where);
      i = varintEnd;
    } else if (wire === WIRE_LEN) {
      const len = readVarint(data, i, end, where);
      const bodyStart = varintEnd;
      const bodyEnd = bodyStart + len;
      if (bodyEnd > end) {
        throw new Error(
          `${where}: field ${field} at byte ${tagAt} claims ${len} bytes but only ${end - bodyStart} remain (truncated?)`,
        );
      }
      const nested = schema[field];
      if (nested) walk(data, bodyStart, bodyEnd, nested, `${where} field ${field}`);
      i = bodyEnd;
    } else {
      throw new Error(`${where}: unsupported protobuf wire type ${wire} at byte ${tagAt}`);
    }
  }
}

/** Where the varint readVarint read last ends: a module variable, so no object per varint. */
let varintEnd = 0;

function readVarint(data: Uint8Array, at: number, end: number, where: string): number {
  const first = data[at] ?? 0;
  if (first < 0x80 && at < end) {
    varintEnd = at + 1;
    return first;
  }
  let value = 0;
  let scale = 1;
  for (let i = at; i < end && i < at + 10; i++) {
    const byte = data[i] ?? 0;
    // Multiplication, not shifts: lengths and tags fit in a double, shifts would wrap at 32 bits.
    value += (byte & 0x7f) * scale;
    scale *= 128;
    if (byte < 0x80) {
      varintEnd = i + 1;
      return value;
    }
  }
  throw new Error(`${where}: varint at byte ${at} is ${at + 10 <= end ? "longer than 10 bytes" : "cut off"}`);
}
