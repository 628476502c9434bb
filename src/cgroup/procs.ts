/**
 * The PIDs listed in cgroup.procs, one per line. An empty list means nothing in the cgroup is
 * alive any more (for example right after an OOM kill of the only process).
 */
export function parsePids(text: string): number[] {
  const out: number[] = [];
  for (const line of text.split("\n")) if (/^\s*\d+\s*$/.test(line)) out.push(Number(line));
  return out;
}

export function countProcs(text: string): number {
  return parsePids(text).length;
}

/**
 * How many distinct processes of `before` are still listed `now`: those that lived through the
 * interval. A kill that leaves none of them is the death of the container's process tree even
 * when new processes started since (a restart in place); one that leaves some hit a child or a
 * worker. PIDs are handed out in increasing order and wrap only at pid_max (4M on 64-bit), so a
 * new process with a killed one's PID within one sampling period is not a concern.
 */
export function survivors(before: readonly number[], now: readonly number[]): number {
  const was = new Set(before);
  let n = 0;
  for (const pid of new Set(now)) if (was.has(pid)) n++;
  return n;
}
