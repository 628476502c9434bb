// A small seeded generator for property tests: reproducible runs, and the seed of a failing case
// in the failure message. MEMLENS_SEED=<n> replays one case (or starts a run elsewhere);
// MEMLENS_RUNS=<n> multiplies the number of cases, for a longer fuzzing session by hand.

/** mulberry32: 32 bits of state, good enough to explore inputs, and the same on every machine. */
export class Rng {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** uniform in [0, 1) */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** integer in [lo, hi] */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  bool(p = 0.5): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[this.int(0, items.length - 1)];
    if (item === undefined) throw new Error("pick from an empty list");
    return item;
  }

  /** A non-negative safe integer, spread over magnitudes (small values are as likely as huge ones). */
  magnitude(maxBits = 53): number {
    const bits = this.int(0, maxBits);
    return Math.min(Math.floor(this.next() * 2 ** bits), Number.MAX_SAFE_INTEGER);
  }

  /** A string of `length` characters drawn from `alphabet`. */
  string(alphabet: string, length: number): string {
    let s = "";
    for (let i = 0; i < length; i++) s += alphabet[this.int(0, alphabet.length - 1)] ?? "";
    return s;
  }

  bytes(length: number): Uint8Array {
    return Uint8Array.from({ length }, () => this.int(0, 255));
  }
}

const BASE_SEED = Number(process.env.MEMLENS_SEED ?? 0x5eed_2026);
const RUNS_FACTOR = Number(process.env.MEMLENS_RUNS ?? 1);

/**
 * Runs `property` on `runs` seeded cases (seeds BASE, BASE+1, ...). A failure is rethrown with
 * the seed that produced it and the command line that replays only that case.
 */
export function forAll(runs: number, property: (rng: Rng) => void): void {
  const only = process.env.MEMLENS_SEED !== undefined && process.env.MEMLENS_RUNS === undefined;
  const total = only ? 1 : Math.max(1, Math.round(runs * RUNS_FACTOR));
  for (let i = 0; i < total; i++) {
    const seed = (BASE_SEED + i) >>> 0;
    try {
      property(new Rng(seed));
    } catch (err) {
      throw withSeed(err, seed);
    }
  }
}

/** forAll for properties that await (servers, files). */
export async function forAllAsync(runs: number, property: (rng: Rng) => Promise<void>): Promise<void> {
  const only = process.env.MEMLENS_SEED !== undefined && process.env.MEMLENS_RUNS === undefined;
  const total = only ? 1 : Math.max(1, Math.round(runs * RUNS_FACTOR));
  for (let i = 0; i < total; i++) {
    const seed = (BASE_SEED + i) >>> 0;
    try {
      await property(new Rng(seed));
    } catch (err) {
      throw withSeed(err, seed);
    }
  }
}

function withSeed(err: unknown, seed: number): Error {
  const message = err instanceof Error ? err.message : String(err);
  const wrapped = new Error(
    `${message}\n  (property failed for seed ${seed}: rerun with MEMLENS_SEED=${seed})`,
  );
  if (err instanceof Error) wrapped.stack = `${wrapped.message}\n${err.stack ?? ""}`;
  return wrapped;
}

/** Mutations of real input, as a fuzzer applies them: cut, flip, insert, delete, repeat. */
export function mutateBytes(rng: Rng, data: Uint8Array): Uint8Array {
  const out = Array.from(data);
  const edits = rng.int(1, 4);
  for (let e = 0; e < edits; e++) {
    const at = rng.int(0, out.length);
    switch (rng.int(0, 5)) {
      case 0: // truncate
        out.length = at;
        break;
      case 1: // flip a bit
        if (at < out.length) out[at] = (out[at] ?? 0) ^ (1 << rng.int(0, 7));
        break;
      case 2: // overwrite a byte
        if (at < out.length) out[at] = rng.pick([0, 0x7f, 0x80, 0xff, rng.int(0, 255)]);
        break;
      case 3: // insert random bytes
        out.splice(at, 0, ...rng.bytes(rng.int(1, 8)));
        break;
      case 4: // delete a run
        out.splice(at, rng.int(1, 16));
        break;
      default: {
        // repeat a run elsewhere
        const len = rng.int(1, 32);
        out.splice(rng.int(0, out.length), 0, ...out.slice(at, at + len));
      }
    }
  }
  return Uint8Array.from(out);
}

/** Text mutations of a cgroup file: the same edits over characters, plus line-level ones. */
export function mutateText(rng: Rng, text: string): string {
  switch (rng.int(0, 3)) {
    case 0:
      return text.slice(0, rng.int(0, text.length)); // truncated read
    case 1: {
      const lines = text.split("\n");
      const i = rng.int(0, lines.length - 1);
      lines[i] = rng.pick([
        "",
        "garbage",
        `${lines[i] ?? ""} ${rng.int(0, 9)}`,
        (lines[i] ?? "").replace(/\d+/, rng.pick(["-1", "max", "1e3", "0x10", " ", "18446744073709551615"])),
      ]);
      return lines.join("\n");
    }
    case 2:
      return Buffer.from(mutateBytes(rng, Buffer.from(text, "latin1"))).toString("latin1");
    default:
      return rng.string("abcdef0123456789 \n\t=-_.", rng.int(0, 80));
  }
}
