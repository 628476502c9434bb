import { RULE } from "../api/names.js";
import { formatBytes } from "../api/quantity.js";
import { evidence, fmt, times, type RuleFinding } from "./finding.js";
import { counterDelta, lastKnown, maxKnown, type Series } from "./series.js";
import type { Thresholds } from "./thresholds.js";

/** Samples after a kill in which the processes may still be seen exiting. */
const LOOKAHEAD = 2;

export type OomSource =
  "memory.events oom_kill" | "memory.oom_control oom_kill" | "memory.failcnt and memory freed";

/** One increase of the OOM-kill counter (or, on v1, its inferred equivalent) between two samples. */
export interface OomKill {
  /** the first sample that shows it */
  index: number;
  t: number;
  count: number;
  /** the container's main process died (processes gone or memory freed), not a child */
  main: boolean;
  source: OomSource;
  usageBefore: number;
  usageAfter: number;
  procsAfter: number;
}

/**
 * Finds OOM kills in a cgroup history. v2's memory.events is hierarchical, so a container or
 * pod cgroup counts every kill below it. v1's memory.oom_control counts only in the victim's
 * own cgroup, which runc removes within a second, so on a v1 pod cgroup a kill is inferred
 * from what stays: usage at the limit, memory.failcnt rising, then the memory freed.
 */
export function findOomKills(s: Series, th: Thresholds["oom"]): OomKill[] {
  const kills: OomKill[] = [];
  const oomKill = s.oomKill;
  const v1 = s.version === "v1";
  const source = v1 ? "memory.oom_control oom_kill" : "memory.events oom_kill";
  let lastKill = -Infinity;
  let prev = oomKill[0] as number;
  for (let i = 1; i < s.n; i++) {
    const cur = oomKill[i] as number;
    const counted = counterDelta(prev, cur);
    prev = cur;
    if (counted > 0) {
      kills.push(kill(s, i, counted, killedMain(s, i, th), source));
      lastKill = i;
    } else if (v1 && i - lastKill > LOOKAHEAD && inferredV1Kill(s, i, th)) {
      kills.push(kill(s, i, 1, true, "memory.failcnt and memory freed"));
      lastKill = i;
    }
  }
  return kills;
}

function kill(s: Series, i: number, count: number, main: boolean, source: OomSource): OomKill {
  return {
    index: i,
    t: s.t[i] as number,
    count,
    main,
    source,
    usageBefore: s.usage[i - 1] as number,
    usageAfter: s.usage[i] as number,
    procsAfter: s.procs[i] as number,
  };
}

/**
 * The main process was the victim when none of the processes listed before the kill lived
 * through it (procs_kept 0), even if new ones started since: a restart in place, or a
 * supervisor that died with its children. Some left means a child or a worker died. Without
 * process identity (no cgroup.procs, a downsampled history), the counts and the memory tell: the
 * processes gone, or the memory freed and processes left (on a pod cgroup the pause process
 * stays); a child's death frees only its own memory while the rest keeps running. A kill in the
 * very last sample with no cgroup.procs to look at counts as the main process: the recording
 * ended with the cgroup.
 */
function killedMain(s: Series, i: number, th: Thresholds["oom"]): boolean {
  const before = withoutShmem(s, s.usage, i - 1);
  const procsBefore = s.procs[i - 1] as number;
  const end = Math.min(s.n, i + LOOKAHEAD + 1);
  // a victim may still be listed while it exits: look a few readings on
  const identity = procsBefore > 0 && !Number.isNaN(s.procsKept[i]);
  let procsSeen = false;
  for (let j = i; j < end; j++) {
    const procs = s.procs[j] as number;
    if (procs === 0) return true;
    if (identity) {
      if (s.procsKept[j] === 0) return true;
      continue;
    }
    const known = !Number.isNaN(procs);
    procsSeen ||= known;
    // with processes left, what stays must be next to nothing: a parent keeps its own share
    const freed = withoutShmem(s, s.usage, j) < (known ? th.mainGoneRatio : th.collapseRatio) * before;
    if (freed && (!known || procs < procsBefore)) return true;
  }
  return !identity && i === s.n - 1 && !procsSeen;
}

/**
 * A reading less the shmem in it: files in tmpfs / a memory-backed volume belong to no process
 * and stay when the process is killed (on a pod cgroup they stay charged across restarts), so
 * "memory freed" is judged on the rest. A shmem segment that did go away with the process is
 * subtracted on both sides and the anon it freed still shows.
 */
function withoutShmem(s: Series, col: Float64Array, i: number): number {
  const shmem = s.shmem[i] as number;
  return (col[i] as number) - (Number.isNaN(shmem) ? 0 : shmem);
}

function inferredV1Kill(s: Series, i: number, th: Thresholds["oom"]): boolean {
  const procsBefore = s.procs[i - 1] as number;
  const procsNow = s.procs[i] as number;
  const gone = procsNow === 0 && procsBefore > 0;
  // page cache dropped (a deleted file) is no kill: look at what the kernel could not reclaim
  const level = Number.isNaN(s.kept[i]) || Number.isNaN(s.kept[i - 1]) ? s.usage : s.kept;
  // a v1 pod cgroup lists no processes of its own (cgroup.procs is not hierarchical): there only
  // the memory can tell; where processes are listed, every one still there means no one died
  const kept = s.procsKept[i] as number;
  const noneDied = procsBefore > 0 && (Number.isNaN(kept) ? procsNow >= procsBefore : kept >= procsBefore);
  const freed = withoutShmem(s, level, i) < th.collapseRatio * withoutShmem(s, level, i - 1) && !noneDied;
  if (!gone && !freed) return false;
  const limit = s.limit[i - 1] as number;
  if (!Number.isFinite(limit)) return false;
  const atLimit =
    (s.usage[i - 1] as number) >= th.atLimitRatio * limit || (s.peak[i] as number) >= th.atLimitRatio * limit;
  if (!atLimit) return false;
  for (let k = Math.max(1, i - LOOKAHEAD); k <= i; k++) {
    if (counterDelta(s.failcnt[k - 1] as number, s.failcnt[k] as number) > 0) return true;
  }
  return false;
}

/** OOMKilled for kills of the main process; ProcessOOMKilled for children killed while it ran on. */
export function oomFindings(s: Series, kills: OomKill[], limitOverride?: number): RuleFinding[] {
  const out: RuleFinding[] = [];
  const limit = limitOverride ?? lastKnown(s.limit);
  if (kills.length === 0) return out;
  const peak = Math.max(maxKnown(s.peak), maxKnown(s.usage));
  const main = kills.filter((k) => k.main);
  const child = kills.filter((k) => !k.main);
  if (main.length > 0) {
    const count = main.reduce((n, k) => n + k.count, 0);
    const last = main[main.length - 1] as OomKill;
    const inferred = main.every((k) => k.source === "memory.failcnt and memory freed");
    const atLimit = Number.isFinite(limit) ? ` at its ${formatBytes(limit)} memory limit` : "";
    const how = inferred
      ? "usage reached the limit, memory.failcnt rose and the memory was freed (cgroup v1 keeps no oom_kill count on the pod cgroup)"
      : `${last.source} rose by ${count} and none of the processes it had lived through the kill`;
    out.push({
      rule: RULE.OOMKilled,
      severity: "Critical",
      message: `The container's main process was OOM-killed ${times(count)}${atLimit} (peak ${fmt(peak)}): ${how}.`,
      evidence: evidence({
        kills: count,
        source: last.source,
        limitBytes: limit,
        peakBytes: peak,
        usageBeforeBytes: last.usageBefore,
        usageAfterBytes: last.usageAfter,
        processesAfter: last.procsAfter,
        lastKillAt: last.t,
      }),
      firstSeen: (main[0] as OomKill).t,
      lastSeen: last.t,
      count,
    });
  }
  if (child.length > 0) {
    const count = child.reduce((n, k) => n + k.count, 0);
    const last = child[child.length - 1] as OomKill;
    const procs = last.procsAfter;
    const left = Number.isNaN(procs) ? "" : `${procs} ${procs === 1 ? "process" : "processes"} and `;
    out.push({
      rule: RULE.ProcessOOMKilled,
      severity: "Warning",
      message:
        `A process in the container was OOM-killed ${times(count)} while the container kept running ` +
        `(${left}${fmt(last.usageAfter)} remained${Number.isFinite(limit) ? ` under the ${formatBytes(limit)} limit` : ""}): ` +
        "a child process died, the container did not restart and pod status does not show it.",
      evidence: evidence({
        kills: count,
        source: last.source,
        limitBytes: limit,
        usageBeforeBytes: last.usageBefore,
        usageAfterBytes: last.usageAfter,
        processesAfter: last.procsAfter,
        lastKillAt: last.t,
      }),
      firstSeen: (child[0] as OomKill).t,
      lastSeen: last.t,
      count,
    });
  }
  return out;
}
