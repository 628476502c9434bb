import { RULE } from "../api/names.js";
import { formatBytes } from "../api/quantity.js";
import { evidence, type RuleFinding } from "./finding.js";
import type { OomKill } from "./oom-cgroup.js";
import { counterDelta, type Series } from "./series.js";
import { ranIn, StallTime } from "./stall.js";
import type { Thresholds } from "./thresholds.js";

/** Findings that contradict "not a leak, not an OOM risk": with any of them PageCacheOnly stays silent. */
const CONTRADICTING = new Set<string>([
  RULE.OOMKilled,
  RULE.ProcessOOMKilled,
  RULE.MemoryLeak,
  RULE.MemoryThrottled,
  RULE.MemoryPressure,
  RULE.TmpfsGrowth,
  RULE.KernelMemoryGrowth,
]);

/**
 * PageCacheOnly (Info): usage or the kubelet's working set is near the limit, but what fills it is
 * page cache the kernel reclaims on demand, and reclaiming it neither stalled the tasks (PSI on
 * v2) nor ended in an OOM kill. Such a container is not leaking and not at risk of an OOM kill;
 * alerts on usage or working set are what is wrong. On v1, memory.failcnt counts every time
 * usage touched the limit, also when the kernel then reclaimed cache: it is no stall and no
 * failure, so it is reported but does not stop this finding.
 */
export function pageCacheOnlyFindings(
  s: Series,
  kills: OomKill[],
  th: Thresholds,
  limit: number,
  others: readonly RuleFinding[],
): RuleFinding[] {
  if (!Number.isFinite(limit) || kills.length > 0) return [];
  if (others.some((f) => CONTRADICTING.has(f.rule))) return [];
  const k = th.kinds;
  let last = -1;
  for (let i = s.n - 1; i >= 0; i--) {
    if (s.procs[i] !== 0 && !Number.isNaN(s.usage[i]) && !Number.isNaN(s.pageCache[i])) {
      last = i;
      break;
    }
  }
  if (last < 0) return [];
  const usage = s.usage[last] as number;
  const inactive = (s.inactiveFile[last] as number) || 0;
  const workingSet = Math.max(0, usage - inactive);
  const cache = s.pageCache[last] as number;
  const kept = s.hasStat ? (s.kept[last] as number) : NaN;
  const near = usage >= k.nearLimitRatio * limit || workingSet >= k.nearLimitRatio * limit;
  if (!near || cache < k.minPageCacheShare * usage) return [];
  if (!(kept < k.nearLimitRatio * limit)) return [];

  // reclaim stalls: PSI "some" over the time the processes ran, and memory.high events
  const stall = new StallTime();
  let highEvents = 0;
  let failcnt = 0;
  let psi = false;
  for (let i = 1; i < s.n; i++) {
    highEvents += counterDelta(s.highEvents[i - 1] as number, s.highEvents[i] as number);
    failcnt += counterDelta(s.failcnt[i - 1] as number, s.failcnt[i] as number);
    if (!ranIn(s, i) || Number.isNaN(s.someTotal[i]) || Number.isNaN(s.someTotal[i - 1])) continue;
    psi = true;
    stall.add(s, i);
  }
  const stallPercent = stall.seconds > 0 ? stall.somePercent() : 0;
  if (highEvents > 0 || stallPercent >= k.maxStallPercent) return [];

  const pct = (x: number) => `${Math.round((100 * x) / limit)}%`;
  const stalls = psi
    ? `reclaiming it stalled tasks ${stallPercent.toFixed(1)}% of the time (PSI) and killed nothing`
    : "reclaiming it ended in no OOM kill";
  const v1 =
    failcnt > 0
      ? ` memory.failcnt rose by ${failcnt}: on cgroup v1 it counts each time usage touched the limit and the kernel reclaimed cache, not a failure.`
      : "";
  const activeInWs = workingSet - (Number.isNaN(kept) ? 0 : kept);
  return [
    {
      rule: RULE.PageCacheOnly,
      severity: "Info",
      message:
        `Usage is ${pct(usage)} of the ${formatBytes(limit)} limit (working set ${formatBytes(workingSet)}, ${pct(workingSet)}), ` +
        `but ${formatBytes(cache)} of it is page cache the kernel reclaims when it needs room, and ${stalls}: ` +
        "this is not a leak and not an OOM risk." +
        (Number.isNaN(kept)
          ? ""
          : ` What an OOM kill would count (anon + shmem + kernel) is ${formatBytes(kept)}, ${pct(kept)}.`) +
        (activeInWs > 0 && workingSet >= k.nearLimitRatio * limit
          ? ` The kubelet's working set includes ${formatBytes(activeInWs)} of active page cache, which the kernel can still reclaim.`
          : "") +
        v1 +
        " Alerts on usage or working set for this container can be silenced.",
      evidence: evidence({
        usageBytes: usage,
        workingSetBytes: workingSet,
        pageCacheBytes: cache,
        unreclaimableBytes: kept,
        limitBytes: limit,
        stallPercent: psi ? Math.round(stallPercent * 100) / 100 : undefined,
        failcntIncrease: failcnt || undefined,
      }),
      firstSeen: s.t[0],
      lastSeen: s.t[last],
    },
  ];
}
