import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "pino";
import { parseFlatKeyed } from "../cgroup/flat-keyed.js";
import type { TrackedCgroup } from "./store.js";
import { Watches } from "./watches.js";

/**
 * The kernel's own word on OOM kills, without waiting for the next sample: on cgroup v2 every
 * change of a memory.events counter (oom_kill among them) raises an inotify modify event on
 * the file (cgroup_file_notify, at most one per 10 ms), which works on the agent's read-only
 * view of /sys/fs/cgroup. Each event costs one read of a ~100-byte file. v1 has only
 * cgroup.event_control, which needs write access and an eventfd: there the sampler is the
 * source.
 */
export class MemoryEventsWatch {
  private readonly watches = new Watches();

  constructor(
    private readonly onOomKillCount: (entry: TrackedCgroup, kills: number) => void,
    private readonly log: Logger,
  ) {}

  get size(): number {
    return this.watches.size;
  }

  /** Container cgroups, and pod cgroups, whose counters count their containers' kills too. */
  add(entry: TrackedCgroup): void {
    const { path, version } = entry.cgroup;
    if (version !== "v2" || this.watches.has(path)) return;
    const file = join(path, "memory.events");
    try {
      // a watch whose cgroup goes away ends with it; the sampler notices and removes it too
      this.watches.add(path, file, () => this.read(entry, file));
      // a kill between the cgroup's birth and this watch raised no event that reached it
      this.read(entry, file);
    } catch (err) {
      // a cgroup removed between the scan and now; the sampler still reads what it can
      this.log.debug(
        { cgroup: entry.cgroup.relPath, err: (err as Error).message },
        "memory.events not watched",
      );
    }
  }

  remove(path: string): void {
    this.watches.remove(path);
  }

  close(): void {
    this.watches.close();
  }

  /** Reads a watched cgroup's counter now, as if notified. */
  poll(entry: TrackedCgroup): void {
    if (this.watches.has(entry.cgroup.path)) this.read(entry, join(entry.cgroup.path, "memory.events"));
  }

  private read(entry: TrackedCgroup, file: string): void {
    let text: string;
    try {
      text = readFileSync(file, "latin1");
    } catch {
      return; // removed since the event: its last value was read by the sampler or is lost with it
    }
    const kills = parseFlatKeyed(text).oom_kill;
    if (kills !== undefined) this.onOomKillCount(entry, kills);
  }
}
