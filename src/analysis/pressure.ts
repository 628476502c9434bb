import { RULE } from "../api/names.js";
import { evidence, fmt, type RuleFinding } from "./finding.js";
import { counterDelta, counterIncrease, lastKnown, type Series } from "./series.js";
import { StallTime } from "./stall.js";
import type { Thresholds } from "./thresholds.js";

/**
 * MemoryPressure (cgroup v2 PSI): tasks stall on memory reclaim although memory.high did not
 * throttle them, i.e. the kernel reclaims to stay under memory.max (or the node is short).
 * Stall time is PSI's cumulative "some" total over the time the processes ran, so a 6 h
 * window is judged by all of it, not by the last avg10.
 */
export function pressureFindings(
  s: Series,
  th: Thresholds["pressure"],
  limit: number,
  /** counterIncrease(s.highEvents, s.n), when the caller has it */
  highEventsTotal?: number,
): RuleFinding[] {
  if (s.version !== "v2") return [];
  const { n, t, someTotal, fullTotal, procs } = s;
  // stalls that memory.high explains belong to MemoryThrottled: nothing to sum then
  const highEvents = highEventsTotal ?? counterIncrease(s.highEvents, n);
  if (highEvents > 0) return [];
  // StallTime.add of every interval the processes ran in with PSI, written out: this loop looks
  // at every sample of every container
  const stall = new StallTime();
  let seconds = 0;
  let some = 0;
  let full = 0;
  let first = NaN;
  let last = NaN;
  let lastAlive = -1;
  // the previous sample's readings carried in locals: one load per column and sample
  let prevProcs = procs[0] as number;
  let prevSome = someTotal[0] as number;
  let prevFull = fullTotal[0] as number;
  let prevT = t[0] as number;
  for (let i = 1; i < n; i++) {
    const total = someTotal[i] as number;
    const fullTotalI = fullTotal[i] as number;
    const ti = t[i] as number;
    // ranIn(s, i), and PSI read
    if (prevProcs !== 0 && !Number.isNaN(total)) {
      lastAlive = i - 1;
      const stalled = counterDelta(prevSome, total);
      seconds += ti - prevT;
      some += stalled;
      full += counterDelta(prevFull, fullTotalI);
      if (stalled > 0) {
        if (Number.isNaN(first)) first = ti;
        last = ti;
      }
    }
    prevProcs = procs[i] as number;
    prevSome = total;
    prevFull = fullTotalI;
    prevT = ti;
  }
  stall.seconds = seconds;
  stall.some = some;
  stall.full = full;
  if (stall.seconds <= 0) return [];
  const percent = stall.somePercent();
  if (percent < th.minStallPercent) return [];
  const fullPercent = stall.fullPercent();
  const usage = lastAlive >= 0 ? (s.usage[lastAlive] as number) : lastKnown(s.usage);
  const cache = lastAlive >= 0 ? (s.file[lastAlive] as number) : lastKnown(s.file);
  const where = Number.isFinite(limit)
    ? `the kernel reclaims to stay under the ${fmt(limit)} limit (usage ${fmt(usage)}, page cache ${fmt(cache)})`
    : `there is no memory limit, so the node itself is short of memory (usage ${fmt(usage)})`;
  return [
    {
      rule: RULE.MemoryPressure,
      severity: "Warning",
      message:
        `Tasks stalled on memory ${Math.round(percent)}% of the time (PSI some; full ${Math.round(fullPercent)}%) ` +
        `without memory.high throttling: ${where}.`,
      evidence: evidence({
        stallPercent: Math.round(percent * 10) / 10,
        fullStallPercent: Math.round(fullPercent * 10) / 10,
        stallSeconds: Math.round(stall.some * 10) / 10,
        windowSeconds: Math.round(stall.seconds),
        usageBytes: usage,
        pageCacheBytes: cache,
        limitBytes: limit,
      }),
      firstSeen: first,
      lastSeen: last,
    },
  ];
}
