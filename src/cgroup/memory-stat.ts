/**
 * The per-reading arithmetic behind "what kind of memory" (see analysis/attribution.ts for the
 * meaning of each figure): the one definition of every quantity derived from memory.stat, used by
 * reading.ts for every row. `stat` is a memory.stat in v2 key names (v1's `total_*` keys are
 * renamed by v1-stat.ts). NaN means "the kernel did not say".
 */

/** A memory.stat in v2 key names; a key absent, or undefined, is one the file did not have. */
export type StatValues = Readonly<Record<string, number | undefined>>;

/**
 * Kernel memory counters of v2 memory.stat, in the order messages list them. sec_pagetables
 * (KVM's secondary page tables, 6.0+) is left to other_kernel: no container workload grows it.
 */
export const KERNEL_PARTS = [
  "slab_unreclaimable",
  "slab_reclaimable",
  "sock",
  "kernel_stack",
  "pagetables",
  "percpu",
  "vmalloc",
] as const;
export type KernelPart = (typeof KERNEL_PARTS)[number] | "other_kernel";

/**
 * Page cache the kernel can reclaim: the file LRU lists, active_file + inactive_file. tmpfs and
 * shmem pages are swap-backed and live on the anon LRU lists, so they are NOT in these two
 * (cgroup-v2.rst "memory.stat": "shmem pages are on anon memory management lists"), while the
 * type-based `file` counter does include them. Without the LRU counters: file - shmem.
 */
export function pageCacheOf(stat: StatValues): number {
  const active = stat.active_file;
  const inactive = stat.inactive_file;
  if (active !== undefined || inactive !== undefined) return (active ?? 0) + (inactive ?? 0);
  if (stat.file === undefined) return NaN;
  return Math.max(0, stat.file - (stat.shmem ?? 0));
}

/**
 * Kernel memory charged to the cgroup: v2 `kernel` (kernel_stack, pagetables, percpu, vmalloc,
 * slab "in addition to other kernel memory use cases": cgroup-v2.rst "memory.stat") plus
 * `sock`, which the kernel charges to memory.current but not to the kmem counter
 * (mem_cgroup_charge_skmem). Kernels before 5.18 print no `kernel`: the sum of the parts shown.
 * v1's memory.stat holds no kernel memory at all (it lives in memory.kmem.*): NaN.
 */
export function kernelOf(stat: StatValues): number {
  const sock = stat.sock ?? 0;
  if (stat.kernel !== undefined) return stat.kernel + sock;
  let sum = 0;
  let seen = false;
  for (const k of KERNEL_PARTS) {
    const v = stat[k];
    if (v === undefined) continue;
    sum += v;
    seen = true;
  }
  return seen ? sum : NaN;
}

/**
 * The parts of kernelOf that memory.stat names, plus `other_kernel` (v2 `kernel` minus the named
 * parts inside it: io_uring, pipes, bpf, ...). Empty when there is no kernel memory data (v1).
 */
export function kernelPartsOf(stat: Record<string, number>): Partial<Record<KernelPart, number>> {
  const out: Partial<Record<KernelPart, number>> = {};
  let inside = 0;
  for (const k of KERNEL_PARTS) {
    const v = stat[k];
    if (v === undefined) continue;
    out[k] = v;
    if (k !== "sock") inside += v;
  }
  if (stat.kernel !== undefined) out.other_kernel = Math.max(0, stat.kernel - inside);
  return out;
}

/**
 * The kubelet's working set, as cAdvisor computes it (container/libcontainer/handler.go
 * setMemoryStats): usage minus inactive_file (v1 total_inactive_file, v2 inactive_file), 0 when
 * inactive_file is larger; usage itself when there is no inactive_file (NaN).
 */
export function workingSet(usage: number, inactiveFile: number): number {
  if (Number.isNaN(usage)) return NaN;
  return Number.isNaN(inactiveFile) ? usage : Math.max(0, usage - inactiveFile);
}

/** The same from a memory.stat (in v2 key names). */
export function workingSetOf(usage: number, stat: Record<string, number> | undefined): number {
  return workingSet(usage, stat?.inactive_file ?? NaN);
}

/**
 * Memory the kernel cannot give back without swap: anonymous pages, tmpfs/shmem (counted in
 * `file` but not reclaimable), and unreclaimable kernel memory. Page cache (active_file,
 * inactive_file) is left out on purpose: the kernel reclaims it before it OOM-kills
 * (Documentation/admin-guide/cgroup-v2.rst "memory.stat"; mm/vmscan.c reclaims file LRUs first).
 * v2 `kernel` already sums kernel_stack, pagetables, percpu, vmalloc and slab; only
 * slab_reclaimable (dentries, inodes) comes back under pressure. v1's memory.stat has no kernel
 * memory at all (kmem lives in memory.kmem.*), so there it is anon + shmem.
 */
export function unreclaimable(stat: StatValues, anon: number): number {
  const kernel =
    stat.kernel !== undefined
      ? stat.kernel - (stat.slab_reclaimable ?? 0)
      : (stat.kernel_stack ?? 0) +
        (stat.pagetables ?? 0) +
        (stat.percpu ?? 0) +
        (stat.slab_unreclaimable ?? 0);
  return anon + (stat.shmem ?? 0) + Math.max(0, kernel);
}
