/**
 * Id to value. Writers number ids densely from 1 (Go does), so an array indexed by id serves
 * almost every lookup; a Map takes the rest (ids past 2^53 stay exact as bigints).
 */
export class IdIndex {
  private readonly dense: number[] = [];
  private readonly sparse = new Map<number | bigint, number>();

  set(id: number | bigint, value: number): void {
    if (typeof id === "number" && id < DENSE_LIMIT) this.dense[id] = value;
    else this.sparse.set(id, value);
  }

  get(id: number | bigint): number | undefined {
    if (typeof id === "number" && id < DENSE_LIMIT) return this.dense[id];
    return this.sparse.get(id);
  }
}

const DENSE_LIMIT = 1 << 24;
