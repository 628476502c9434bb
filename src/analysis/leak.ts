import { RULE } from "../api/names.js";
import { formatDuration } from "../api/duration.js";
import { formatBytes } from "../api/quantity.js";
import { withGrowthByKind } from "./attribution.js";
import { evidence, fmt, type RuleFinding } from "./finding.js";
import { PAGE_SIZE } from "./memory-qos.js";
import type { OomKill } from "./oom-cgroup.js";
import { splitRuns, type Segment } from "./segments.js";
import { counterDelta, lastKnown, type Series } from "./series.js";
import {
  cycleLength,
  groupedFit,
  inliers,
  makePoints,
  median,
  risingFraction,
  theilSen,
  windowMinima,
} from "./stats.js";
import type { Thresholds } from "./thresholds.js";

const HOUR = 3600;
/** share of a run's tail that must sit at memory.high to call the run stalled there */
const STALL_SHARE = 0.8;
/** where the late part of a run begins (share of the run): a warm-up that levels off is flat there */
const LATE_PART = 2 / 3;
/** envelope windows of a life ended by an OOM kill, however short (when it has that many readings) */
const KILLED_LIFE_WINDOWS = 8;
/** a fall smaller than this is page-granular jitter, not a sawtooth cycle */
const CYCLE_MIN_SWING = 64 * PAGE_SIZE;

export interface LeakFit {
  /** Theil–Sen slope of the lower envelope, bytes per hour */
  perHour: number;
  /** the same over the last third of each run */
  latePerHour: number;
  /** least squares (shared slope across runs) over the envelope points near the robust line, bytes per hour, and its R² */
  olsPerHour: number;
  r2: number;
  risingFraction: number;
  /** seconds of history the rule looked at, and of it the growing part */
  observed: number;
  growing: number;
  runs: number;
  /** seconds each run that ended in an OOM kill lasted: the lives of a restart loop */
  killedLives: number[];
  /** the last run sits at memory.high, throttled: its growth is held back, not over */
  stalled: boolean;
}

/**
 * MemoryLeak: sustained growth of memory the kernel cannot reclaim. The rule fits the lower
 * envelope (per-window minima) of that memory, run by run, with a robust slope, and asks that
 * growth be steady (fit), large enough (rate and total), and still going on in the last third
 * of each run (a warm-up levels off). Where memory.high holds the growth back, the pinned tail
 * is left out of the fit: usage stops rising there because allocations are throttled.
 */
export function leakFindings(
  s: Series,
  kills: OomKill[],
  th: Thresholds,
  limit: number,
  runs?: Segment[],
): RuleFinding[] {
  const y = s.hasStat ? s.kept : s.usage;
  const r = runs ?? splitRuns(s, y, kills, th.leak);
  const fit = fitLeak(s, y, kills, th, r);
  if (!fit || !isLeak(fit, th.leak)) return [];
  return [withGrowthByKind(leakFinding(s, y, fit, limit), s, kills, th, r)];
}

/** `runs`: splitRuns(s, y, kills, th.leak), when the caller has them already */
export function fitLeak(
  s: Series,
  y: Float64Array,
  kills: OomKill[],
  th: Thresholds,
  runs = splitRuns(s, y, kills, th.leak),
): LeakFit | undefined {
  let observed = 0;
  for (const r of runs) observed += (s.t[r.to - 1] as number) - (s.t[r.from] as number);
  const killed = endedByKill(s, runs, kills);
  const lives = runs
    .filter((_, i) => killed[i])
    .map((r) => (s.t[r.to - 1] as number) - (s.t[r.from] as number));
  if (runs.length === 0) return undefined;
  if (observed * 1000 < th.leak.minObservationMs && lives.length < th.leak.minKilledLives) return undefined;

  const growing: Segment[] = [];
  const growingKilled: boolean[] = [];
  let growingSpan = 0;
  let stalled = false;
  runs.forEach((r, i) => {
    const end = stallStart(s, r, th.throttle.pinnedRatio);
    if (i === runs.length - 1) stalled = end < r.to;
    if (end - r.from < 4) return;
    growing.push({ from: r.from, to: end });
    growingKilled.push(killed[i] as boolean);
    growingSpan += (s.t[end - 1] as number) - (s.t[r.from] as number);
  });
  if (growingSpan <= 0) return undefined;

  // each window at least one sawtooth cycle long, so that every minimum is a trough; a short
  // life ended by a kill gets enough windows for its last third to hold a slope of its own
  const windows = growing.map((g, i) => {
    const span = (s.t[g.to - 1] as number) - (s.t[g.from] as number);
    const share = Math.round((th.leak.envelopeWindows * span) / growingSpan);
    const cycle = cycleLength(s.t, y, g.from, g.to, CYCLE_MIN_SWING);
    const least = growingKilled[i] ? Math.min(KILLED_LIFE_WINDOWS, g.to - g.from) : 4;
    return Math.max(least, Number.isFinite(cycle) ? Math.min(share, Math.floor(span / cycle)) : share);
  });
  let capacity = 0;
  for (const w of windows) capacity += w;
  if (envelope.t.length < capacity) envelope = makePoints(Math.max(capacity, 2 * envelope.t.length));
  const points = envelope;
  points.n = 0;
  const lateFrom = new Float64Array(growing.length);
  growing.forEach((g, i) => {
    windowMinima(s.t, y, g.from, g.to, windows[i] as number, i, points);
    lateFrom[i] = (s.t[g.from] as number) + LATE_PART * ((s.t[g.to - 1] as number) - (s.t[g.from] as number));
  });
  const slope = theilSen(points);
  const ols = groupedFit(points, inliers(points, slope, PAGE_SIZE));
  return {
    perHour: slope * HOUR,
    latePerHour: theilSen(points, lateFrom) * HOUR,
    olsPerHour: ols.slope * HOUR,
    r2: ols.r2,
    risingFraction: risingFraction(points),
    observed,
    growing: growingSpan,
    runs: runs.length,
    killedLives: lives,
    stalled,
  };
}

/**
 * Which runs ended in an OOM kill (of the main process or of a worker): the kill is seen in the
 * run's last reading or between it and the next run.
 */
function endedByKill(s: Series, runs: readonly Segment[], kills: readonly OomKill[]): boolean[] {
  let k = 0;
  return runs.map((r, i) => {
    const until = runs[i + 1]?.from ?? s.n;
    while (k < kills.length && (kills[k] as OomKill).index < r.to - 1) k++;
    if (!(k < kills.length && (kills[k] as OomKill).index <= until)) return false;
    k++; // a kill ends one run
    return true;
  });
}

/** The envelope points fitLeak fits: reused, a fit runs to its end before the next. */
let envelope = makePoints(128);

export function isLeak(fit: LeakFit, th: Thresholds["leak"]): boolean {
  return (
    fit.perHour >= th.minGrowthPerHour &&
    (fit.perHour * fit.growing) / HOUR >= th.minGrowthBytes &&
    fit.r2 >= th.minFit &&
    fit.risingFraction >= th.minRisingFraction &&
    fit.latePerHour >= th.minLateGrowthRatio * fit.perHour
  );
}

/**
 * Where a tail of the run pinned at memory.high (below memory.max) begins, with memory.high
 * events rising in it; `r.to` when there is none.
 */
function stallStart(s: Series, r: Segment, pinnedRatio: number): number {
  let pinned = 0;
  let total = 0;
  let start = r.to;
  const { high: highCol, limit, usage } = s;
  for (let i = r.to - 1; i >= r.from; i--) {
    const high = highCol[i] as number;
    total++;
    // most containers have no memory.high: nothing is pinned
    if (high === Infinity) continue;
    const isPinned =
      Number.isFinite(high) && !(high >= (limit[i] as number)) && (usage[i] as number) >= pinnedRatio * high;
    if (isPinned) pinned++;
    if (isPinned && pinned >= STALL_SHARE * total) start = i;
  }
  if (r.to - start < 2) return r.to;
  let events = 0;
  for (let i = start + 1; i < r.to; i++)
    events += counterDelta(s.highEvents[i - 1] as number, s.highEvents[i] as number);
  return events > 0 ? start : r.to;
}

function leakFinding(s: Series, y: Float64Array, fit: LeakFit, limit: number): RuleFinding {
  const current = lastKnown(y);
  const high = lastKnown(s.high);
  const highFirst = Number.isFinite(high) && !(high >= limit);
  const what = metricName(s, current);
  const rate = `${formatBytes(fit.perHour)}/h (R² ${fit.r2.toFixed(2)})`;
  const lives = fit.killedLives;
  const lifeS = median(Float64Array.from(lives), lives.length);
  // a restart loop: every life but the current one ended in an OOM kill, the next started low
  const loop = lives.length >= 2 && lives.length >= fit.runs - 1;
  const across = loop
    ? ` in each of ${fit.runs} lives (${lives.length} ended by an OOM kill)`
    : fit.runs > 1
      ? ` in each of ${fit.runs} runs between restarts`
      : "";
  let outlook: string;
  let toTarget: number | undefined;
  if (loop && !fit.stalled) {
    outlook = `and the kernel kills it at the ${fmt(limit)} limit after ~${roughly(lifeS * 1000)} each time`;
  } else if (fit.stalled) {
    outlook =
      `until memory.high (${formatBytes(high)}) stalled it: allocations are throttled there, ` +
      "so the flat usage is a leak held back, not a stable level";
  } else {
    const [target, name] = highFirst
      ? [high, `memory.high (${formatBytes(high)})`]
      : [limit, `${fmt(limit)} limit`];
    toTarget = Number.isFinite(target) ? ((target - current) / fit.perHour) * HOUR : undefined;
    outlook =
      toTarget === undefined
        ? "with no memory limit set: it grows until the node runs short of memory"
        : toTarget <= 0
          ? `and has reached the ${name}`
          : `and will reach the ${name} in ~${roughly(toTarget * 1000)}`;
  }
  const verb = fit.stalled ? "grew" : "grows";
  return {
    rule: RULE.MemoryLeak,
    severity: loop || (toTarget !== undefined && toTarget <= HOUR) ? "Critical" : "Warning",
    message: `${what} ${verb} ${rate}${across} ${outlook}.`,
    evidence: evidence({
      metric: s.hasStat ? "anon+shmem+unreclaimable kernel" : "usage (no memory.stat)",
      growthBytesPerHour: Math.round(fit.perHour),
      lateGrowthBytesPerHour: Math.round(fit.latePerHour),
      leastSquaresBytesPerHour: Math.round(fit.olsPerHour),
      r2: round(fit.r2, 3),
      risingFraction: round(fit.risingFraction, 3),
      observedSeconds: round(fit.observed, 1),
      runs: fit.runs,
      killedLives: lives.length || undefined,
      lifeSeconds: lives.length ? round(lifeS, 1) : undefined,
      currentBytes: current,
      limitBytes: limit,
      highBytes: highFirst ? high : undefined,
      secondsToLimit: toTarget === undefined ? undefined : Math.max(0, Math.round(toTarget)),
      stalledAtHigh: fit.stalled,
    }),
    firstSeen: s.t[0],
    lastSeen: s.t[s.n - 1],
  };
}

function metricName(s: Series, current: number): string {
  if (!s.hasStat) return "Memory usage (no memory.stat to tell page cache apart)";
  const anon = lastKnown(s.anon);
  return anon >= 0.9 * current ? "Anonymous memory" : "Unreclaimable memory (anon, shmem, kernel)";
}

/** "~6h", "~2h15m", "~1m26s": precise enough for a projection. */
function roughly(ms: number): string {
  if (ms >= 10 * 3_600_000) return formatDuration(Math.round(ms / 3_600_000) * 3_600_000);
  if (ms >= 3_600_000) return formatDuration(Math.round(ms / 60_000) * 60_000);
  return formatDuration(ms);
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
