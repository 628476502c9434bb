/**
 * Id to value (a non-negative int32). Writers number ids densely from 1 (Go does), so a typed
 * array indexed by id serves almost every lookup; a Map takes the rest (ids far past how many
 * there are, and ids past 2^53, which stay exact as bigints). A typed array, not a plain one:
 * the hot loop of every sample read looks a location up by id (sample.ts).
 */
export class IdIndex {
  private dense = new Int32Array(256).fill(ABSENT);
  private readonly sparse = new Map<number | bigint, number>();
  private count = 0;

  set(id: number | bigint, value: number): void {
    this.count++;
    if (typeof id === "number" && id < this.dense.length) this.dense[id] = value;
    else if (typeof id === "number" && id < DENSE_SLACK * this.count + 256) {
      // Grown only to a few times as many ids as were set, so one huge id costs no huge array.
      const grown = new Int32Array(Math.max(id + 1, 2 * this.dense.length)).fill(ABSENT);
      grown.set(this.dense);
      this.dense = grown;
      this.dense[id] = value;
    } else this.sparse.set(id, value);
  }

  /** get, for a number id, as -1 where absent: no union to box in the hot loop. */
  indexOf(id: number): number {
    const value = id < this.dense.length ? (this.dense[id] ?? ABSENT) : ABSENT;
    return value !== ABSENT ? value : (this.sparse.get(id) ?? ABSENT);
  }

  get(id: number | bigint): number | undefined {
    if (typeof id === "number" && id < this.dense.length) {
      const value = this.dense[id] ?? ABSENT;
      return value === ABSENT ? this.sparse.get(id) : value;
    }
    return this.sparse.get(id);
  }
}

const ABSENT = -1;
const DENSE_SLACK = 4;
