/** The interface files read for one memory cgroup, per version (the cgroup-trace/v1 `files` keys). */
export const V2_FILES = [
  "memory.current",
  "memory.max",
  "memory.high",
  "memory.low",
  "memory.min",
  "memory.events",
  "memory.events.local",
  "memory.stat",
  "memory.pressure",
  "memory.peak",
  "memory.swap.current",
  "memory.swap.max",
  "memory.swap.events",
  "memory.oom.group",
  "cgroup.procs",
] as const;

export const V1_FILES = [
  "memory.usage_in_bytes",
  "memory.limit_in_bytes",
  "memory.max_usage_in_bytes",
  "memory.failcnt",
  "memory.oom_control",
  "memory.stat",
  "memory.soft_limit_in_bytes",
  "memory.memsw.usage_in_bytes",
  "cgroup.procs",
] as const;

export type CgroupVersion = "v1" | "v2";

export function cgroupFileNames(version: CgroupVersion): readonly string[] {
  return version === "v2" ? V2_FILES : V1_FILES;
}
