/**
 * One reading of one memory cgroup, normalised across cgroup v1 and v2. Bytes are numbers
 * (2^53 is far above any memory size); `null` means "no limit" (v2 `max`, v1 values near 2^63);
 * `undefined` means the kernel did not offer the file (or it could not be parsed).
 */
export interface MemorySample {
  /** seconds (Unix epoch for live data; seconds since start for recordings) */
  t: number;
  version: "v1" | "v2";
  /** memory.current (v2) / memory.usage_in_bytes (v1) */
  usage?: number;
  /** memory.max (v2) / memory.limit_in_bytes (v1); null = unlimited */
  limit?: number | null;
  /** memory.high (v2 only); null = unlimited */
  high?: number | null;
  low?: number;
  min?: number;
  /** memory.peak (v2) / memory.max_usage_in_bytes (v1) */
  peak?: number;
  /** v1 memory.failcnt: times usage hit the limit */
  failcnt?: number;
  /** memory.events (v2, hierarchical): low, high, max, oom, oom_kill, oom_group_kill */
  events?: Record<string, number>;
  /** memory.events.local (v2) */
  eventsLocal?: Record<string, number>;
  /** v1 memory.oom_control oom_kill counter (counts only in the victim's own cgroup) */
  oomKill?: number;
  /** v1 memory.oom_control under_oom flag */
  underOom?: boolean;
  /**
   * memory.stat keyed by the v2 names: anon, file, shmem, active_file, inactive_file,
   * active_anon, inactive_anon, slab_reclaimable, slab_unreclaimable, sock, kernel_stack,
   * pagetables, ... On v1 the hierarchical `total_*` values are mapped to these names
   * (total_rss -> anon, total_cache -> file, ...); unmapped keys are kept as read.
   */
  stat?: Record<string, number>;
  /** memory.pressure (v2 PSI): avg in percent, total in seconds */
  pressure?: { some: PressureLine; full: PressureLine };
  swapCurrent?: number;
  swapMax?: number | null;
  oomGroup?: boolean;
  /** number of processes in cgroup.procs (0 = nothing left alive) */
  procs?: number;
  /** the PIDs in cgroup.procs: which processes were there, for procs_kept (reading.ts) */
  pids?: number[];
}

export interface PressureLine {
  avg10: number;
  avg60: number;
  avg300: number;
  /** total stall time, seconds */
  total: number;
}
