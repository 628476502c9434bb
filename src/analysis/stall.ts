import { counterDelta, type Series } from "./series.js";

/**
 * Time tasks stalled on memory (PSI, cgroup v2 memory.pressure), summed over the sample
 * intervals a rule counts: the interval's length and the increase of the cumulative "some" and
 * "full" totals over it (seconds; a counter reset counts from zero, see counterDelta). Each
 * rule picks its intervals (the processes running, usage pinned at memory.high, ...); the
 * percentages are the stalled share of the counted time.
 */
export class StallTime {
  seconds = 0;
  some = 0;
  full = 0;

  /** Counts the interval (i-1, i] of s; returns its "some" stall. */
  add(s: Series, i: number): number {
    const some = counterDelta(s.someTotal[i - 1] as number, s.someTotal[i] as number);
    this.seconds += (s.t[i] as number) - (s.t[i - 1] as number);
    this.some += some;
    this.full += counterDelta(s.fullTotal[i - 1] as number, s.fullTotal[i] as number);
    return some;
  }

  /** Share of the counted time some task stalled, percent (NaN when no time was counted). */
  somePercent(): number {
    return (100 * this.some) / this.seconds;
  }

  /** Share of the counted time all tasks stalled, percent. */
  fullPercent(): number {
    return (100 * this.full) / this.seconds;
  }
}

/** Whether the processes ran in the interval (i-1, i]: the interval in which they died still had them for most of it. */
export function ranIn(s: Series, i: number): boolean {
  return s.procs[i - 1] !== 0;
}
