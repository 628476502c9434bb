import { RULE } from "../api/names.js";
import { formatDuration } from "../api/duration.js";
import { formatBytes } from "../api/quantity.js";
import { evidence, fmt, type RuleFinding } from "./finding.js";
import { explainMemoryHigh, type HighExplanation } from "./memory-qos.js";
import { counterDelta, counterIncrease, lastKnown, maxKnown, type Series } from "./series.js";
import { StallTime } from "./stall.js";
import type { Thresholds } from "./thresholds.js";

export interface ThrottleContext {
  /** the container's memory request and limit, bytes, when known */
  request?: number;
  limit: number;
  /** since when (epoch s) the running container has been NotReady (its readiness probe failing), when it is */
  notReadySince?: number;
}

/**
 * MemoryThrottled (cgroup v2): memory.high below memory.max makes the kernel reclaim and then
 * stall every allocation above it (memory.events `high` counts each time). That costs nothing
 * while it only drops page cache; it is a problem when tasks stall on it (PSI memory.pressure
 * "some" time), which is what this rule measures, over the time usage sat at memory.high.
 */
export function throttleFindings(
  s: Series,
  th: Thresholds["throttle"],
  ctx: ThrottleContext,
  /** counterIncrease(s.highEvents, s.n), when the caller has it */
  highEventsTotal?: number,
): RuleFinding[] {
  if (s.version !== "v2") return [];
  const high = lastKnown(s.high);
  const limit = ctx.limit;
  if (!Number.isFinite(high) || high >= limit) return [];

  const { t, usage, procs, kept, someAvg10, someTotal } = s;
  const highCol = s.highEvents;
  // most containers are never throttled: one cheap pass decides whether to look closer
  const highEvents = highEventsTotal ?? counterIncrease(highCol, s.n);
  if (highEvents === 0) return [];

  let firstEvent = NaN;
  let lastEvent = NaN;
  const alive = new StallTime();
  const pinnedTime = new StallTime();
  let pinnedSamples = 0;
  let aliveSamples = 0;
  let avg10Max = NaN;
  let keptAtHigh = NaN;
  let hasPsi = false;
  let wasPinned = false;
  // StallTime.add of the intervals the processes ran in (ranIn), and of those pinned, written
  // out with the columns in locals
  const { fullTotal, high: highLimit } = s;
  const { pinnedRatio } = th;
  let aliveSeconds = 0;
  let aliveSome = 0;
  let aliveFull = 0;
  let pinnedSeconds = 0;
  let pinnedSome = 0;
  let pinnedFull = 0;
  for (let i = 0; i < s.n; i++) {
    const h = highLimit[i] as number;
    const pinned = Number.isFinite(h) && (usage[i] as number) >= pinnedRatio * h;
    if (procs[i] !== 0) {
      aliveSamples++;
      if (pinned) {
        pinnedSamples++;
        const k = kept[i] as number;
        if (k > keptAtHigh || (Number.isNaN(keptAtHigh) && !Number.isNaN(k))) keptAtHigh = k;
      }
      const avg10 = someAvg10[i] as number;
      if (avg10 > avg10Max || (Number.isNaN(avg10Max) && !Number.isNaN(avg10))) avg10Max = avg10;
    }
    hasPsi ||= !Number.isNaN(someTotal[i]);
    const before = wasPinned;
    wasPinned = pinned;
    if (i === 0) continue;
    if (counterDelta(highCol[i - 1] as number, highCol[i] as number) > 0) {
      if (Number.isNaN(firstEvent)) firstEvent = t[i] as number;
      lastEvent = t[i] as number;
    }
    if (procs[i - 1] === 0) continue;
    const dt = (t[i] as number) - (t[i - 1] as number);
    const some = counterDelta(someTotal[i - 1] as number, someTotal[i] as number);
    const full = counterDelta(fullTotal[i - 1] as number, fullTotal[i] as number);
    aliveSeconds += dt;
    aliveSome += some;
    aliveFull += full;
    if (pinned || before) {
      pinnedSeconds += dt;
      pinnedSome += some;
      pinnedFull += full;
    }
  }
  alive.seconds = aliveSeconds;
  alive.some = aliveSome;
  alive.full = aliveFull;
  pinnedTime.seconds = pinnedSeconds;
  pinnedTime.some = pinnedSome;
  pinnedTime.full = pinnedFull;
  if (highEvents === 0) return [];
  const stallPercent = pinnedTime.seconds > 0 ? pinnedTime.somePercent() : alive.somePercent();
  const significant = hasPsi
    ? stallPercent >= th.minStallPercent
    : pinnedSamples > 0 && keptAtHigh >= 0.9 * high;
  if (!significant) return [];

  const peak = maxKnown(s.usage);
  const qos = explainMemoryHigh(high, limit, th.qosFactor, ctx.request);
  const notReady = notReadyWhileThrottled(ctx.notReadySince, firstEvent, t[s.n - 1] as number);
  const stalled = hasPsi
    ? `tasks stalled ${pct(stallPercent)} of the time while usage was pinned at it`
    : "usage was pinned at it with memory the kernel cannot reclaim (no PSI to measure the stall)";
  return [
    {
      rule: RULE.MemoryThrottled,
      severity: "Warning",
      message:
        `memory.high (${formatBytes(high)}) throttles allocations below the ${fmt(limit)} limit: ` +
        `${highEvents} memory.high events, ${stalled} (${pinnedSamples} of ${aliveSamples} samples, ` +
        `peak ${fmt(peak)})${qosClause(qos, th.qosFactor, ctx.request, limit)}` +
        (notReady === undefined
          ? "."
          : `. Its readiness probe fails: NotReady for ${formatDuration(notReady * 1000)} while throttled, out of its Service's endpoints.`),
      evidence: evidence({
        highBytes: high,
        limitBytes: limit,
        requestBytes: ctx.request,
        highEvents,
        stallPercent: round1(stallPercent),
        windowStallPercent: alive.seconds > 0 ? round1(alive.somePercent()) : undefined,
        someAvg10Max: avg10Max,
        pinnedSamples,
        samples: aliveSamples,
        peakBytes: peak,
        qosFactor: th.qosFactor,
        qosExpectedHighBytes: qos.expected,
        qosMatches: qos.matches,
        impliedFactor:
          qos.impliedFactor === undefined ? undefined : Math.round(qos.impliedFactor * 1000) / 1000,
        impliedRequestBytes: qos.impliedRequest,
        notReadySeconds: notReady === undefined ? undefined : Math.round(notReady),
        notReadySince:
          notReady === undefined ? undefined : new Date((ctx.notReadySince as number) * 1000).toISOString(),
      }),
      firstSeen: firstEvent,
      lastSeen: lastEvent,
    },
  ];
}

/** Seconds the container has been NotReady since throttling began (NotReady before it counts from its start). */
function notReadyWhileThrottled(
  since: number | undefined,
  firstEvent: number,
  last: number,
): number | undefined {
  if (since === undefined || Number.isNaN(firstEvent)) return undefined;
  const seconds = last - Math.max(since, firstEvent);
  return seconds > 0 ? seconds : undefined;
}

function qosClause(qos: HighExplanation, factor: number, request: number | undefined, limit: number): string {
  if (request !== undefined && qos.expected !== undefined) {
    const base = `request ${formatBytes(request)} + factor × (limit ${formatBytes(limit)} − request)`;
    if (qos.matches) return `; that is MemoryQoS's ${base} at factor ${factor}`;
    const implied =
      qos.impliedFactor === undefined
        ? ""
        : `; the factor that explains it is ${qos.impliedFactor.toFixed(3)}`;
    return `; MemoryQoS's ${base} at factor ${factor} gives ${formatBytes(qos.expected)}${implied}`;
  }
  if (qos.impliedRequest !== undefined) {
    return `; that is what MemoryQoS (factor ${factor}) sets for a memory request of ~${formatBytes(qos.impliedRequest)}`;
  }
  return "";
}

function pct(x: number): string {
  return `${x >= 10 ? Math.round(x) : x.toFixed(1)}%`;
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
