import { join } from "node:path";
import type { Logger } from "pino";
import { Watches } from "./watches.js";

/**
 * New pod and container cgroups as the runtime makes them: an inotify watch (IN_CREATE, which
 * mkdir raises on cgroupfs too) on each directory above the container cgroups. The periodic
 * scan and the kubelet's pod status come seconds later, by when a container that runs out of
 * memory at once is gone with its counters; told here, the agent watches its memory.events
 * from its first milliseconds.
 */
export class CgroupBirthWatch {
  private readonly watches = new Watches();

  constructor(
    private readonly onBirth: (dir: string) => void,
    private readonly log: Logger,
  ) {}

  /** Watches exactly `dirs` from now on. */
  sync(dirs: ReadonlySet<string>): void {
    for (const dir of this.watches.keys()) if (!dirs.has(dir)) this.watches.remove(dir);
    for (const dir of dirs) this.add(dir);
  }

  add(dir: string): void {
    try {
      this.watches.add(dir, dir, (event, name) => {
        if (event === "rename" && name) this.onBirth(join(dir, name));
      });
    } catch (err) {
      this.log.debug({ dir, err: (err as Error).message }, "cgroup directory not watched");
    }
  }

  close(): void {
    this.watches.close();
  }
}
