import type { OomKill } from "./oom-cgroup.js";
import type { Series } from "./series.js";
import type { Thresholds } from "./thresholds.js";

/** Sample indices [from, to) of one run of the container between restarts. */
export interface Segment {
  from: number;
  to: number;
}

/**
 * Splits a history where the container started anew, so that a restart's fall back to the
 * start is a boundary and not negative growth. A new run begins after: processes gone
 * (cgroup.procs empty; those samples belong to no run), a kill of the main process, a counter
 * that went down (the cgroup was created again), or memory falling to a small fraction of the
 * previous reading (a garbage collector never frees the runtime itself; a restart does, and so
 * does the death of a worker that a supervisor restarts) unless the same processes were seen on
 * both sides of the fall.
 */
export function splitRuns(s: Series, y: Float64Array, kills: OomKill[], th: Thresholds["leak"]): Segment[] {
  const out: Segment[] = [];
  let k = 0;
  let from = -1;
  let prev = -1;
  // after a kill on a pod cgroup the pause process stays: the container is down until more run again
  let downWhile = 0;
  // columns and thresholds in locals: this loop looks at every sample
  const { n, procs: procsCol, peak, oomKill, highEvents, failcnt } = s;
  const ratio = th.restartRatio;
  const minBytes = th.restartMinBytes;
  // the counters at `prev`, carried in locals
  let prevPeak = NaN;
  let prevOomKill = NaN;
  let prevHigh = NaN;
  let prevFailcnt = NaN;
  for (let i = 0; i < n; i++) {
    let boundary = false;
    while (k < kills.length && (kills[k] as OomKill).index <= i) {
      const kill = kills[k] as OomKill;
      if (kill.index === i && kill.main) {
        boundary = true;
        // only the survivors of the kill are no run of their own; processes new since are one
        const kept = s.procsKept[i] as number;
        downWhile = Number.isNaN(kept) ? kill.procsAfter : kept;
      }
      k++;
    }
    const procs = procsCol[i] as number;
    if (downWhile > 0 && procs > downWhile) downWhile = 0;
    const down = procs === 0 || procs <= downWhile;
    if (down || Number.isNaN(y[i])) {
      if (down && from >= 0) {
        out.push({ from, to: prev + 1 });
        from = -1;
      }
      continue;
    }
    const peakI = peak[i] as number;
    const oomKillI = oomKill[i] as number;
    const highI = highEvents[i] as number;
    const failcntI = failcnt[i] as number;
    if (
      from >= 0 &&
      (boundary ||
        restarted(s, y, prev, i, ratio, minBytes) ||
        // a counter that went down: the cgroup was created again
        peakI < prevPeak ||
        oomKillI < prevOomKill ||
        highI < prevHigh ||
        failcntI < prevFailcnt)
    ) {
      out.push({ from, to: prev + 1 });
      from = -1;
    }
    if (from < 0) from = i;
    prev = i;
    prevPeak = peakI;
    prevOomKill = oomKillI;
    prevHigh = highI;
    prevFailcnt = failcntI;
  }
  if (from >= 0) out.push({ from, to: prev + 1 });
  return out;
}

/**
 * A container restart keeps its processes out of the cgroup for longer than this: the kubelet
 * sees the exit on its 1 s relist, then creates and starts the container anew.
 */
const RESTART_UNSEEN_S = 1;

/** Memory fell from sample a to b as far as a restart takes it (the counters are splitRuns' look). */
function restarted(
  s: Series,
  y: Float64Array,
  a: number,
  b: number,
  ratio: number,
  minBytes: number,
): boolean {
  const before = y[a] as number;
  const after = y[b] as number;
  return after < ratio * before && before - after >= minBytes && !processesStayed(s, a, b);
}

/**
 * The same processes were there across a fall: every one of them still listed after it
 * (procs_kept, when b follows a directly), or else as many in both readings with the readings
 * too close together for a restart to hide between them. Memory then fell because the processes
 * freed it (a garbage collector returning a large heap), not because they started anew.
 */
function processesStayed(s: Series, a: number, b: number): boolean {
  const procs = s.procs[a] as number;
  const kept = s.procsKept[b] as number;
  if (procs > 0 && b === a + 1 && !Number.isNaN(kept)) return kept >= procs;
  return procs > 0 && procs === s.procs[b] && (s.t[b] as number) - (s.t[a] as number) <= RESTART_UNSEEN_S;
}
