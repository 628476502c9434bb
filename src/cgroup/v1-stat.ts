import { setOwn } from "./flat-keyed.js";

/**
 * Renames a cgroup v1 memory.stat to the cgroup v2 key names, so that rules read one vocabulary.
 *
 * v1 prints each counter twice: local to this cgroup (`rss`) and hierarchical, including all
 * descendants (`total_rss`). v2's memory.stat is hierarchical, so the `total_*` values are the
 * ones that match; the local twin of a `total_*` key is dropped. Keys without a twin
 * (hierarchical_memory_limit, anything newer) are kept as read.
 *
 * Correspondences, from Documentation/admin-guide/cgroup-v1/memory.rst §5.2 "stat file" and
 * Documentation/admin-guide/cgroup-v2.rst "memory.stat":
 *   rss (anonymous and swap cache memory)   -> anon
 *   cache (page cache, including tmpfs)     -> file
 *   rss_huge (anonymous transparent huge)   -> anon_thp
 *   mapped_file                             -> file_mapped
 *   dirty / writeback                       -> file_dirty / file_writeback
 *   shmem, swap, swapcached, active_anon, inactive_anon, active_file, inactive_file,
 *   unevictable, pgfault, pgmajfault, workingset_*  -> same name
 */
const V1_TO_V2: Record<string, string> = {
  rss: "anon",
  cache: "file",
  rss_huge: "anon_thp",
  mapped_file: "file_mapped",
  dirty: "file_dirty",
  writeback: "file_writeback",
};

const TOTAL = "total_";

export function v1StatToV2Names(stat: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(stat)) {
    if (key.startsWith(TOTAL)) setOwn(out, v2Name(key.slice(TOTAL.length)), value);
    else if (!Object.hasOwn(stat, TOTAL + key)) setOwn(out, v2Name(key), value);
  }
  return out;
}

// own keys only: a kernel key such as `constructor` must not find Object's members
function v2Name(v1: string): string {
  return Object.hasOwn(V1_TO_V2, v1) ? (V1_TO_V2[v1] ?? v1) : v1;
}
