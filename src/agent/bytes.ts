/**
 * Number parsing straight from the bytes of a cgroup interface file, for the sampler's hot path
 * (fast-read.ts): a reading then makes no string per file or per line, which at 1500 cgroups and
 * seven files each was a young-generation GC every few passes under the DaemonSet's 1 MiB
 * semi-space. Each function has the meaning of its string twin in fast-read.ts (parseValue,
 * valueAt): the common well-formed case is read in place, anything else goes through the string
 * twin, so both always agree (test/unit/agent/bytes.test.ts holds them to it).
 */

const NL = 10;
const SPACE = 32;
const ZERO = 48;
const NINE = 57;

/** Digits up to this many are exact in a double when summed one by one (10^15 < 2^53). */
const EXACT_DIGITS = 15;

/**
 * The value of bytes[from, to) when they are 1-15 ASCII digits, optionally followed by one
 * newline; else NaN, and the caller asks the string parse (which also says NaN for what is not
 * a number: the two differ only in what this one leaves to it).
 */
export function plainDigits(bytes: Uint8Array, from: number, to: number): number {
  const end = to > from && bytes[to - 1] === NL ? to - 1 : to;
  if (end <= from || end - from > EXACT_DIGITS) return NaN;
  let v = 0;
  for (let i = from; i < end; i++) {
    const c = bytes[i] as number;
    if (c < ZERO || c > NINE) return NaN;
    v = v * 10 + (c - ZERO);
  }
  return v;
}

/**
 * The chosen keys of a flat keyed file ("key value" lines: memory.stat, memory.events,
 * memory.oom_control), found in one pass over the bytes. As in the text lookup it replaces, a
 * key's value is the rest of the first line that starts with `key ` (later lines with the same
 * key are ignored), handed to `parse` as a byte range; absent keys read NaN.
 */
export class KeyedBytes {
  /** per key: its value after scan(), NaN when absent or malformed */
  readonly values: Float64Array;
  private readonly keyBytes: Uint8Array[];
  /** open addressing on the key's hash: slot -> key index + 1 (0: empty) */
  private readonly slots: Int32Array;
  private readonly mask: number;
  /** per key: the scan() that last found it (later lines with the key do not count) */
  private readonly foundIn: Uint32Array;
  private scans = 0;

  constructor(
    readonly keys: readonly string[],
    private readonly parse: (bytes: Uint8Array, from: number, to: number) => number,
  ) {
    this.values = new Float64Array(keys.length).fill(NaN);
    this.foundIn = new Uint32Array(keys.length);
    this.keyBytes = keys.map((k) => Buffer.from(k, "latin1"));
    let size = 8;
    while (size < keys.length * 4) size *= 2;
    this.slots = new Int32Array(size);
    this.mask = size - 1;
    this.keyBytes.forEach((key, k) => {
      let slot = hashOf(key, 0, key.length) & this.mask;
      while (this.slots[slot] !== 0) slot = (slot + 1) & this.mask;
      this.slots[slot] = k + 1;
    });
  }

  /** Reads bytes[0, n) into `values`. */
  scan(bytes: Uint8Array, n: number): void {
    const values = this.values;
    values.fill(NaN);
    const scan = ++this.scans;
    let line = 0;
    while (line < n) {
      // the key: up to the line's first space, hashed on the way
      let i = line;
      let h = 0;
      let c = 0;
      for (; i < n; i++) {
        c = bytes[i] as number;
        if (c === SPACE || c === NL) break;
        h = (Math.imul(h, 31) + c) | 0;
      }
      let end = i;
      if (c === SPACE && i < n) {
        end = i + 1;
        while (end < n && bytes[end] !== NL) end++;
        const k = this.find(bytes, line, i, h);
        if (k >= 0 && this.foundIn[k] !== scan) {
          this.foundIn[k] = scan;
          values[k] = this.parse(bytes, i + 1, end);
        }
      }
      line = end + 1;
    }
  }

  private find(bytes: Uint8Array, from: number, to: number, h: number): number {
    let slot = h & this.mask;
    for (;;) {
      const k = (this.slots[slot] as number) - 1;
      if (k < 0) return -1;
      const key = this.keyBytes[k] as Uint8Array;
      if (key.length === to - from && sameBytes(key, bytes, from)) return k;
      slot = (slot + 1) & this.mask;
    }
  }
}

function hashOf(bytes: Uint8Array, from: number, to: number): number {
  let h = 0;
  for (let i = from; i < to; i++) h = (Math.imul(h, 31) + (bytes[i] as number)) | 0;
  return h;
}

function sameBytes(key: Uint8Array, bytes: Uint8Array, at: number): boolean {
  for (let j = 0; j < key.length; j++) if (key[j] !== bytes[at + j]) return false;
  return true;
}
