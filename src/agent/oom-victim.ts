import { readFile } from "node:fs/promises";
import { join } from "node:path";

/** Waits between looks at cgroup.procs after a kill, in ms: the container's end takes a few. */
const LOOKS_MS = [0, 5, 15, 30, 50, 100, 200, 300, 300];

/**
 * Which process a kill in a container cgroup took: "main" when no process is left in the
 * cgroup within a second (the container's main process died, and with it the container: the
 * kubelet will report OOMKilled), "child" when some live on (a worker of the main process; the
 * container keeps running and its status never shows the kill). The kernel signals the victim
 * when it counts the kill; the processes leave the cgroup a few ms later, or the cgroup goes.
 */
export async function oomVictim(cgroupPath: string): Promise<"main" | "child"> {
  for (const wait of LOOKS_MS) {
    if (wait) await new Promise((resolve) => setTimeout(resolve, wait));
    let procs: string;
    try {
      procs = await readFile(join(cgroupPath, "cgroup.procs"), "latin1");
    } catch {
      return "main"; // the cgroup was removed: the container has ended
    }
    if (procs.trim() === "") return "main";
  }
  return "child";
}
