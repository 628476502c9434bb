import { posix } from "node:path";
import type { CgroupVersion } from "./files.js";

/**
 * How a cgroup root is mounted, told from the names of its entries alone (so a copied tree or
 * a fixture works like the live /sys/fs/cgroup):
 *   `cgroup.controllers` present          -> v2 (unified)
 *   a `memory` directory                  -> v1; with `unified` beside it -> hybrid
 *   `memory.usage_in_bytes` present       -> the root IS a v1 memory hierarchy (e.g. /sys/fs/cgroup/memory)
 * Documentation/admin-guide/cgroup-v2.rst "Basic Operations" (cgroup.controllers exists in
 * every v2 cgroup, never in v1).
 */
export type CgroupMode = "v1" | "v2" | "hybrid";

export interface RootLayout {
  mode: CgroupMode;
  /** the version of the hierarchy holding the memory controller (hybrid keeps memory on v1) */
  version: CgroupVersion;
  /** the memory hierarchy, relative to the root: "" for the root itself, "memory" on v1 */
  memoryDir: string;
}

export function detectRootLayout(entries: readonly string[]): RootLayout | undefined {
  const has = new Set(entries);
  if (has.has("cgroup.controllers")) return { mode: "v2", version: "v2", memoryDir: "" };
  if (has.has("memory")) {
    return { mode: has.has("unified") ? "hybrid" : "v1", version: "v1", memoryDir: "memory" };
  }
  if (has.has("memory.usage_in_bytes")) return { mode: "v1", version: "v1", memoryDir: "" };
  return undefined;
}

export function detectCgroupVersion(entries: readonly string[]): CgroupMode | undefined {
  return detectRootLayout(entries)?.mode;
}

/** Where the memory hierarchy is: the root itself on v2, root/memory on v1 and hybrid. */
export function memoryHierarchyPath(root: string, layout: RootLayout): string {
  return layout.memoryDir === "" ? root : posix.join(root, layout.memoryDir);
}
