import { watch, type FSWatcher } from "node:fs";
import { join } from "node:path";
import type { Logger } from "pino";

/**
 * New pod and container cgroups as the runtime makes them: an inotify watch (IN_CREATE, which
 * mkdir raises on cgroupfs too) on each directory above the container cgroups. The periodic
 * scan and the kubelet's pod status come seconds later, by when a container that runs out of
 * memory at once is gone with its counters; told here, the agent watches its memory.events
 * from its first milliseconds.
 */
export class CgroupBirthWatch {
  private readonly watchers = new Map<string, FSWatcher>();

  constructor(
    private readonly onBirth: (dir: string) => void,
    private readonly log: Logger,
  ) {}

  get size(): number {
    return this.watchers.size;
  }

  /** Watches exactly `dirs` from now on. */
  sync(dirs: ReadonlySet<string>): void {
    for (const dir of [...this.watchers.keys()]) if (!dirs.has(dir)) this.remove(dir);
    for (const dir of dirs) this.add(dir);
  }

  add(dir: string): void {
    if (this.watchers.has(dir)) return;
    try {
      const watcher = watch(dir, { persistent: false }, (event, name) => {
        if (event === "rename" && name) this.onBirth(join(dir, name));
      });
      watcher.on("error", () => this.remove(dir)); // the directory went away
      this.watchers.set(dir, watcher);
    } catch (err) {
      this.log.debug({ dir, err: (err as Error).message }, "cgroup directory not watched");
    }
  }

  remove(dir: string): void {
    this.watchers.get(dir)?.close();
    this.watchers.delete(dir);
  }

  close(): void {
    for (const dir of [...this.watchers.keys()]) this.remove(dir);
  }
}
