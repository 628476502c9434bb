const MIB = 2 ** 20;

/**
 * Every number the rules judge by, in one place. The MemoryInspection spec (rules.leak,
 * rules.throttle) and the CLI flags override single fields; anything not given keeps these.
 */
export const DEFAULT_THRESHOLDS = {
  oom: {
    /**
     * A kill took the main process when memory fell below this fraction of the level before
     * it (or the processes are gone): a killed child frees only its own share.
     */
    collapseRatio: 0.5,
    /**
     * ...and with processes left after the kill, it took the main process only when what stays
     * is below this fraction (a pod cgroup's pause process): a parent whose child was killed
     * goes on holding its own share, however large the child was
     */
    mainGoneRatio: 0.2,
    /** v1 inference without oom_kill: usage (or max_usage) this close to the limit counts as "at the limit" */
    atLimitRatio: 0.9,
  },
  leak: {
    /** the shortest history the leak rule may judge (spec rules.leak.minObservation, CLI --min-observation) */
    minObservationMs: 15 * 60_000,
    /**
     * lives ended by an OOM kill that stand in for minObservation: growth repeated from a low
     * start until the kernel kills, again and again, is a leak however short each life is
     */
    minKilledLives: 3,
    /** slower growth than this is noise or fragmentation, not a leak worth a finding */
    minGrowthPerHour: 1 * MIB,
    /** below this much growth over the whole window, page-granular noise can fake a trend */
    minGrowthBytes: 4 * MIB,
    /** R² of the lower envelope's straight-line fit: a leak grows steadily, noise does not */
    minFit: 0.8,
    /** share of consecutive envelope steps that rise: rejects one jump followed by noise */
    minRisingFraction: 0.6,
    /**
     * growth in the last third of each run, relative to the whole: a warm-up that levels off
     * has none there, a leak keeps growing
     */
    minLateGrowthRatio: 0.3,
    /**
     * windows of the lower envelope (per minimum) over all segments: each window's minimum drops
     * GC sawtooth above it, while a leak lifts every window's minimum
     */
    envelopeWindows: 32,
    /** a fall to below this fraction of the previous reading is a restart, not a GC cycle */
    restartRatio: 0.2,
    /** ...and it must free at least this much, so a tiny process's jitter is no restart */
    restartMinBytes: 16 * MIB,
  },
  throttle: {
    /** PSI "some" stall, percent of wall time while pinned at memory.high, that makes throttling a problem */
    minStallPercent: 10,
    /** kubelet --feature-gates MemoryQoS memoryThrottlingFactor (KubeletConfiguration default 0.9) */
    qosFactor: 0.9,
    /** usage at or above this fraction of memory.high counts as pinned at it */
    pinnedRatio: 0.95,
  },
  pressure: {
    /** PSI "some" stall, percent of wall time while processes run, worth a MemoryPressure finding */
    minStallPercent: 10,
  },
  kinds: {
    /** usage or working set at or above this fraction of the limit is "near the limit" */
    nearLimitRatio: 0.9,
    /** TmpfsGrowth: shmem at least this share of usage near the limit (or at an OOM kill) */
    minShmemShare: 0.25,
    /** TmpfsGrowth: shmem after a restart at least this share of before: the restart did not free it */
    shmemKeptRatio: 0.8,
    /** PageCacheOnly: reclaimable page cache at least this share of usage */
    minPageCacheShare: 0.3,
    /** PageCacheOnly: PSI "some" stall below this percent of wall time counts as no reclaim stall */
    maxStallPercent: 1,
    /** KernelMemoryGrowth: anonymous growth below this share of the kernel growth counts as flat */
    flatAnonRatio: 0.25,
  },
} as const;

type Widen<T> = { -readonly [K in keyof T]: number };
export type Thresholds = {
  -readonly [G in keyof typeof DEFAULT_THRESHOLDS]: Widen<(typeof DEFAULT_THRESHOLDS)[G]>;
};
export type ThresholdOverrides = { [G in keyof Thresholds]?: Partial<Thresholds[G]> };

const GROUPS = Object.keys(DEFAULT_THRESHOLDS) as (keyof Thresholds)[];

/** The defaults with the given fields replaced; undefined fields keep their default. */
export function resolveThresholds(overrides: ThresholdOverrides = {}): Thresholds {
  const out = {} as Thresholds;
  for (const group of GROUPS) {
    const merged: Record<string, number> = { ...DEFAULT_THRESHOLDS[group] };
    const given = overrides[group] as Record<string, number | undefined> | undefined;
    if (given)
      for (const key in given) {
        const v = given[key];
        if (v !== undefined && Number.isFinite(v)) merged[key] = v;
      }
    (out as Record<string, unknown>)[group] = merged;
  }
  return out;
}
