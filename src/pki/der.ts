/**
 * The little of DER (ITU-T X.690) that certificates and certificate requests need, both ways:
 * writing TLVs, and reading them back without copying. The image has no openssl, and Node's
 * crypto parses certificates but not certificate requests.
 */

export function tlv(tag: number, body: Buffer): Buffer {
  const len = body.length;
  let header: number[];
  if (len < 0x80) header = [tag, len];
  else if (len < 0x100) header = [tag, 0x81, len];
  else if (len < 0x10000) header = [tag, 0x82, len >> 8, len & 0xff];
  else header = [tag, 0x83, len >> 16, (len >> 8) & 0xff, len & 0xff];
  return Buffer.concat([Buffer.from(header), body]);
}

export const TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  oid: 0x06,
  utf8String: 0x0c,
  printableString: 0x13,
  ia5String: 0x16,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
} as const;

export const seq = (...items: Buffer[]) => tlv(TAG.sequence, Buffer.concat(items));
export const set = (...items: Buffer[]) => tlv(TAG.set, Buffer.concat(items));
export const octets = (body: Buffer) => tlv(TAG.octetString, body);
export const bool = (value: boolean) => tlv(TAG.boolean, Buffer.from([value ? 0xff : 0]));
/** a BIT STRING of whole bytes (signatures, key bits) */
export const bits = (body: Buffer) => tlv(TAG.bitString, Buffer.concat([Buffer.from([0]), body]));

export function integer(bytes: Buffer): Buffer {
  return tlv(TAG.integer, (bytes[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
}

export function oid(dotted: string): Buffer {
  const [a = 0, b = 0, ...rest] = dotted.split(".").map(Number);
  const out = [a * 40 + b];
  for (const n of rest) {
    const chunk = [n & 0x7f];
    for (let v = Math.floor(n / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return tlv(TAG.oid, Buffer.from(out));
}

/** UTCTime until 2049, GeneralizedTime from 2050 (RFC 5280 §4.1.2.5). */
export function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, "").slice(0, 14) + "Z"; // YYYYMMDDHHMMSSZ
  return d.getUTCFullYear() < 2050
    ? tlv(TAG.utcTime, Buffer.from(iso.slice(2), "ascii"))
    : tlv(TAG.generalizedTime, Buffer.from(iso, "ascii"));
}

/** One element read back: its tag, its whole encoding and its contents (views, not copies). */
export interface Element {
  tag: number;
  whole: Buffer;
  body: Buffer;
}

/** Reads the element at the start of `buf`; throws on anything truncated or not DER-shaped. */
export function readElement(buf: Buffer): Element {
  if (buf.length < 2) throw new Error("DER: truncated element");
  const tag = buf[0] as number;
  let len = buf[1] as number;
  let head = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 3 || buf.length < 2 + n) throw new Error("DER: bad length");
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (buf[2 + i] as number);
    head += n;
  }
  if (buf.length < head + len) throw new Error("DER: element longer than its container");
  return { tag, whole: buf.subarray(0, head + len), body: buf.subarray(head, head + len) };
}

/** The elements inside a constructed element's contents, in order. */
export function children(body: Buffer): Element[] {
  const out: Element[] = [];
  for (let rest = body; rest.length > 0;) {
    const e = readElement(rest);
    out.push(e);
    rest = rest.subarray(e.whole.length);
  }
  return out;
}

export function readOid(body: Buffer): string {
  const parts = [Math.floor((body[0] ?? 0) / 40), (body[0] ?? 0) % 40];
  let v = 0;
  for (const byte of body.subarray(1)) {
    v = v * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) {
      parts.push(v);
      v = 0;
    }
  }
  return parts.join(".");
}

export function pem(label: string, der: Buffer): string {
  const b64 = der.toString("base64").replace(/.{64}/g, "$&\n").replace(/\n$/, "");
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

/** The DER inside the first PEM block with this label. */
export function fromPem(label: string, text: string): Buffer {
  const m = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+)-----END ${label}-----`).exec(text);
  if (!m?.[1]) throw new Error(`no PEM block "${label}"`);
  return Buffer.from(m[1].replace(/\s+/g, ""), "base64");
}
