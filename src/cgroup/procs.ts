/**
 * Counts the PIDs listed in cgroup.procs, one per line. An empty file means nothing in the
 * cgroup is alive any more (for example right after an OOM kill of the only process).
 */
export function countProcs(text: string): number {
  return text.split("\n").filter((line) => /^\s*\d+\s*$/.test(line)).length;
}
