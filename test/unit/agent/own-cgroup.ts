import { readFileSync } from "node:fs";
import { readFile, rmdir } from "node:fs/promises";
import { join } from "node:path";

export const V1_MEMORY = "/sys/fs/cgroup/memory";

/** This process's own v1 memory cgroup: the only place a test may create a child cgroup. */
export function ownMemoryCgroup(): string | undefined {
  const line = readFileSync("/proc/self/cgroup", "utf8")
    .split("\n")
    .find((l) => l.split(":")[1]?.split(",").includes("memory"));
  const path = line?.split(":")[2];
  return path === undefined ? undefined : join(V1_MEMORY, path);
}

/** Removes a test's cgroup once the tasks killed in it have left (rmdir fails before). */
export async function removeCgroup(cgroup: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const procs = await readFile(join(cgroup, "cgroup.procs"), "utf8").catch(() => "");
    if (procs.trim() === "") break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await rmdir(cgroup);
}
