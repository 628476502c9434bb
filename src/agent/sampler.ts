import { existsSync, readdirSync, type Dirent } from "node:fs";
import { dirname, join, posix, relative, sep } from "node:path";
import type { Logger } from "pino";
import { identifyCgroup } from "../cgroup/discovery.js";
import type { CgroupVersion } from "../cgroup/files.js";
import { walkCgroupRoot } from "../cgroup/scan.js";
import { CgroupReader, type ReadProblem } from "./fast-read.js";
import type { AgentMetrics } from "./metrics.js";
import { emptyRow } from "../cgroup/reading.js";
import type { HistoryStore, TrackedCgroup } from "./store.js";
import { CgroupBirthWatch } from "./cgroup-births.js";
import { MemoryEventsWatch } from "./memory-events-watch.js";
import type { OomKillFeed } from "./oom-kills.js";

/**
 * Default period: 5 s. An OOM kill shows up as a counter step (failcnt, oom_kill, events) that
 * any period catches, but the cgroup of a killed container vanishes within ~1 s on v1, and the
 * usage climb before a fast kill lasts seconds: 5 s keeps that shape visible and the controller
 * learns of it within one period. A 1 h leak window still holds 720 raw-resolution points, more
 * than a trend needs; the cost (~20 µs CPU per cgroup per sample) is 0.4 ms/s per 100 containers.
 */
export const DEFAULT_PERIOD_S = 5;

/**
 * The walk lists every pod directory (~40 µs each, ~60 ms per pass at 1000 containers); at every
 * period it would cost more than the reads themselves. It does not have to find new containers
 * quickly any more: the pod watch announces every new container ID and the agent rescans at once
 * (Sampler.requestScan + SamplerLoop.soon), so a new container's cgroup is read from its first
 * seconds, and a fast crash loop's kills still show in the pod cgroup (failcnt, and on v2
 * oom_kill) meanwhile. The scheduled walk only backs up the watch (a missed or late event, the
 * apiserver unreachable, cgroups no pod announces): every 12th period (1 min at 5 s), which keeps
 * its share of the agent's CPU at ~1.5 µs per container per sample instead of ~6.
 * A vanished cgroup is noticed at its next read regardless.
 */
export const DEFAULT_SCAN_EVERY = 12;

export interface SamplerOptions {
  cgroupRoot: string;
  store: HistoryStore;
  log: Logger;
  metrics?: AgentMetrics;
  /** walk the cgroup root every this many ticks (default DEFAULT_SCAN_EVERY) */
  scanEvery?: number;
  /**
   * where the containers' OOM kills are announced (sampled counters, and v2 notifications);
   * with it, new cgroups are tracked as they are made (CgroupBirthWatch)
   */
  oomKills?: OomKillFeed;
}

export interface TickStats {
  cgroups: number;
  /** wall seconds of the whole pass */
  wallS: number;
  /** CPU seconds of the scan and of the reads */
  scanCpuS: number;
  readCpuS: number;
}

/** One sampling pass per call of tick(): rescan, then read every live cgroup into its history. */
export class Sampler {
  private readonly readers = new Map<string, CgroupReader>();
  private readonly warned = new Set<string>();
  private readonly row = emptyRow();
  private ticks = 0;
  private scanRequested = false;
  version: CgroupVersion | undefined;
  /** a first scan has completed */
  ready = false;
  /** a first pass has read every cgroup that first scan found */
  private firstPassDone = false;
  lastStats: TickStats | undefined;
  private readonly memoryEvents: MemoryEventsWatch | undefined;
  private readonly births: CgroupBirthWatch | undefined;
  private readonly podParents = new Set<string>();
  private memoryRoot: string | undefined;

  constructor(private readonly opts: SamplerOptions) {
    const feed = opts.oomKills;
    if (feed) {
      this.memoryEvents = new MemoryEventsWatch(
        (entry, kills) =>
          entry.cgroup.kind === "pod"
            ? this.killedInPod(entry, kills)
            : feed.observe(entry, kills, "memory.events notification"),
        opts.log,
      );
      this.births = new CgroupBirthWatch((dir) => this.born(dir), opts.log);
    }
  }

  async tick(now = Date.now() / 1000): Promise<TickStats> {
    const wall0 = performance.now();
    const cpu0 = process.cpuUsage();
    const scheduled = this.ticks++ % (this.opts.scanEvery ?? DEFAULT_SCAN_EVERY) === 0;
    if (scheduled || this.scanRequested) {
      this.scanRequested = false;
      await this.rescan(now);
    }
    const cpu1 = process.cpuUsage();

    let cgroups = 0;
    for (const entry of this.opts.store.all()) {
      if (entry.goneAt !== undefined) continue;
      const reader = this.readerFor(entry);
      const result = reader.read(this.row);
      if (result.gone) {
        this.vanished(entry, now);
        continue;
      }
      for (const p of result.problems) this.problem(entry, p);
      const oomBefore = entry.history.latest("oom_kill");
      entry.history.append(now, this.row);
      const oomAfter = entry.history.latest("oom_kill");
      if (oomBefore !== undefined && oomAfter !== undefined && oomAfter > oomBefore) {
        this.opts.log.warn(
          { cgroup: entry.cgroup.relPath, oomKills: oomAfter - oomBefore },
          "OOM kill in cgroup",
        );
        this.opts.metrics?.oomKilled(entry, oomAfter - oomBefore);
      }
      if (oomAfter !== undefined) this.opts.oomKills?.observe(entry, oomAfter, "sampling", now);
      cgroups++;
    }
    // every cgroup there at the start has been read once: what their counters disagree on is told
    if (this.ready && !this.firstPassDone) {
      this.firstPassDone = true;
      this.opts.oomKills?.firstPassDone(now);
    }
    for (const dropped of this.opts.store.prune(now)) {
      this.opts.metrics?.forget(dropped);
      this.opts.oomKills?.forget(dropped);
      this.dropReader(dropped.cgroup.path);
    }

    const cpu2 = process.cpuUsage();
    const stats: TickStats = {
      cgroups,
      wallS: (performance.now() - wall0) / 1000,
      scanCpuS: cpuSeconds(cpu0, cpu1),
      readCpuS: cpuSeconds(cpu1, cpu2),
    };
    this.lastStats = stats;
    this.opts.metrics?.sampleDuration.observe(stats.wallS);
    if (cgroups > 0) this.opts.metrics?.cpuPerCgroup.set((stats.scanCpuS + stats.readCpuS) / cgroups);
    return stats;
  }

  /** the next tick walks the cgroup root whatever its turn (a new container was announced) */
  requestScan(): void {
    this.scanRequested = true;
  }

  private async rescan(now: number): Promise<void> {
    const { store, log } = this.opts;
    // what the walk finds, by path; the cgroups held and live are only marked, not identified anew
    const seen = new Set<TrackedCgroup>();
    const pods: string[] = [];
    try {
      const scan = await walkCgroupRoot(this.opts.cgroupRoot, {
        known: (path) => {
          const entry = store.get(path);
          if (!entry || entry.goneAt !== undefined) return undefined; // new, or back: tracked anew below
          seen.add(entry);
          if (entry.cgroup.kind === "pod") pods.push(entry.cgroup.path);
          return entry.cgroup.kind;
        },
        found: (cgroup) => {
          const known = store.get(cgroup.path);
          if (!known)
            log.info({ cgroup: cgroup.relPath, kind: cgroup.kind, podUID: cgroup.podUID }, "tracking cgroup");
          const entry = store.track(cgroup);
          if (!known) entry.createdSinceStart = this.ready;
          seen.add(entry);
          if (cgroup.kind === "pod") pods.push(cgroup.path);
        },
      });
      this.version = scan.version;
      this.memoryRoot = scan.memoryRoot;
    } catch (err) {
      // the root itself failing is not a reason to drop what is known: keep sampling known cgroups
      log.error({ err: err instanceof Error ? err.message : String(err) }, "cgroup scan failed");
      return;
    }
    for (const entry of store.all()) {
      if (entry.goneAt === undefined && !seen.has(entry)) this.vanished(entry, now);
    }
    // where new pods and containers appear: each pod cgroup, and the QoS class's and kubepods
    // directories above any pod seen so far, kept while they exist (even with no pod in them)
    for (const pod of pods) this.podParents.add(dirname(pod)).add(dirname(dirname(pod)));
    for (const dir of this.podParents) if (!existsSync(dir)) this.podParents.delete(dir);
    this.births?.sync(new Set([...pods, ...this.podParents]));
    this.ready = true;
  }

  /**
   * A kill in a pod (v2 counts its containers' in the pod's memory.events): a container that
   * died in its first instants may not be watched yet, but its cgroup outlives the kill by a
   * few ms; tracked now, its counter is read and the kill announced as its own. Watched ones
   * are read now too (the feed announces a kill once, whichever read sees it first).
   */
  private killedInPod(pod: TrackedCgroup, kills: number): void {
    if (!this.opts.oomKills?.observePod(pod, kills)) return;
    let children: Dirent[];
    try {
      children = readdirSync(pod.cgroup.path, { withFileTypes: true });
    } catch {
      return; // the pod's cgroup is gone too
    }
    for (const child of children) {
      if (!child.isDirectory()) continue;
      const dir = join(pod.cgroup.path, child.name);
      const known = this.opts.store.get(dir);
      // a watched container's own notification may come after its cgroup is gone: read it now
      if (known && known.goneAt === undefined) this.memoryEvents?.poll(known);
      else this.born(dir);
    }
  }

  /** A directory appeared where pod and container cgroups are made: track it before any pass. */
  private born(dir: string): void {
    const { memoryRoot, version } = this;
    const known = this.opts.store.get(dir);
    if (!memoryRoot || !version || (known && known.goneAt === undefined)) return;
    const relPath = relative(memoryRoot, dir).split(sep).join(posix.sep);
    const identity = identifyCgroup(relPath);
    if (!identity || !existsSync(dir)) return; // not a pod's, or removed (rmdir raises the same event)
    const entry = this.opts.store.track({ ...identity, path: dir, relPath, version });
    entry.createdSinceStart = true;
    this.opts.log.info(
      { cgroup: relPath, kind: identity.kind, podUID: identity.podUID },
      "tracking new cgroup",
    );
    if (identity.kind === "pod") this.births?.add(dir);
    this.readerFor(entry); // its files open, and on v2 its memory.events watched
  }

  private readerFor(entry: TrackedCgroup): CgroupReader {
    const { cgroup } = entry;
    let reader = this.readers.get(cgroup.path);
    if (!reader) {
      reader = new CgroupReader(cgroup.path, cgroup.version);
      this.readers.set(cgroup.path, reader);
      this.memoryEvents?.add(entry);
    }
    return reader;
  }

  private dropReader(path: string): void {
    this.readers.get(path)?.close();
    this.readers.delete(path);
    this.memoryEvents?.remove(path);
  }

  /** Closes every held file (on shutdown). */
  close(): void {
    for (const path of [...this.readers.keys()]) this.dropReader(path);
    this.births?.close();
  }

  private vanished(entry: TrackedCgroup, now: number): void {
    this.opts.store.markGone(entry.cgroup.path, now);
    this.dropReader(entry.cgroup.path);
    this.opts.log.info(
      { cgroup: entry.cgroup.relPath, podUID: entry.cgroup.podUID },
      "cgroup gone; keeping its history",
    );
  }

  // Counted every time, logged once per cgroup and file: a broken file would otherwise log every period.
  private problem(entry: TrackedCgroup, p: ReadProblem): void {
    this.opts.metrics?.sampleErrors.inc({ file: p.file });
    const key = `${entry.cgroup.path}\0${p.file}`;
    if (this.warned.has(key)) return;
    if (this.warned.size > 10_000) this.warned.clear();
    this.warned.add(key);
    this.opts.log.warn({ cgroup: entry.cgroup.relPath, file: p.file, error: p.error }, "cgroup file skipped");
  }
}

function cpuSeconds(a: NodeJS.CpuUsage, b: NodeJS.CpuUsage): number {
  return (b.user - a.user + (b.system - a.system)) / 1e6;
}

/** Runs tick() every period on the wall-clock grid until stopped; a slow pass skips, never stacks. */
export class SamplerLoop {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;

  constructor(
    private readonly sampler: Sampler,
    private readonly periodS: number,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.run();
  }

  private run(): void {
    if (this.stopped) return;
    this.running = this.sampler.tick().catch((err: unknown) => {
      this.log.error({ err: err instanceof Error ? err.message : String(err) }, "sampling pass failed");
    });
    void this.running.then(() => {
      if (this.stopped) return;
      const periodMs = this.periodS * 1000;
      const wait = periodMs - (Date.now() % periodMs);
      this.timer = setTimeout(() => this.run(), wait);
    });
  }

  /** runs a pass shortly instead of at the next period (unless one is under way) */
  soon(delayMs = 250): void {
    if (this.stopped) return;
    void Promise.resolve(this.running).then(() => {
      if (this.stopped) return;
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.run(), delayMs);
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
