import { expect } from "chai";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { MemoryEventsWatch } from "../../../src/agent/memory-events-watch.js";
import { OomKillFeed, type KernelOomKill } from "../../../src/agent/oom-kills.js";
import { HistoryStore, type TrackedCgroup } from "../../../src/agent/store.js";

const UID = "11111111-2222-4333-8444-555555555555";
const store = new HistoryStore({ periodS: 5, retentionS: 60 });
const tracked = (path: string, kind: "pod" | "container", version: "v1" | "v2" = "v2"): TrackedCgroup =>
  store.track({
    path,
    relPath: path,
    version,
    kind,
    podUID: UID,
    qos: "burstable",
    ...(kind === "container" ? { containerID: "c".repeat(64) } : {}),
  });

describe("OomKillFeed: each kill announced once, whoever reads the counter first", () => {
  it("takes the first value as the start, announces each rise once, ignores pod cgroups", async () => {
    const feed = new OomKillFeed((path) => Promise.resolve(path === "/a/c" ? "main" : "child"));
    const seen: KernelOomKill[] = [];
    feed.subscribe((k) => seen.push(k));
    const c = tracked("/a/c", "container");
    feed.observe(c, 2, "sampling", 10); // killed before the agent looked: pod status tells of those
    feed.observe(c, 3, "memory.events notification", 11);
    feed.observe(c, 3, "sampling", 12); // the same kill read again at the next sample
    feed.observe(c, 5, "sampling", 13);
    feed.observe(tracked("/a", "pod"), 0, "sampling", 10);
    feed.observe(tracked("/a", "pod"), 9, "sampling", 14);
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen.map((k) => [k.seq, k.kills, k.source, k.at, k.process])).to.deep.equal([
      [1, 3, "memory.events notification", 11, "main"],
      [2, 5, "sampling", 13, "main"],
    ]);
    expect(feed.since(1).map((k) => k.seq)).to.deep.equal([2]);
  });

  it("starts counting again for a cgroup whose history was dropped", async () => {
    const feed = new OomKillFeed(() => Promise.resolve("main"));
    const c = tracked("/b/c", "container");
    feed.observe(c, 1, "sampling");
    feed.forget("/b/c");
    feed.observe(c, 1, "sampling");
    await new Promise((resolve) => setImmediate(resolve));
    expect(feed.lastSeq).to.equal(0);
  });
});

describe("MemoryEventsWatch: reads memory.events when notified", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "memlens-memory-events-"));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it("passes the oom_kill counter of a watched v2 container cgroup on, and stops when removed", async () => {
    const file = join(dir, "memory.events");
    await writeFile(file, "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n");
    const counts: number[] = [];
    const watch = new MemoryEventsWatch((_e, n) => counts.push(n), pino({ level: "silent" }));
    watch.add(tracked(dir, "container"));
    watch.add(tracked(join(dir, "v1"), "container", "v1"));
    watch.add(tracked(join(dir, "missing"), "container"));
    expect(watch.size).to.equal(1);
    await writeFile(file, "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n");
    for (let i = 0; i < 50 && !counts.length; i++) await new Promise((r) => setTimeout(r, 10));
    expect(counts.at(-1)).to.equal(1);
    watch.remove(dir);
    expect(watch.size).to.equal(0);
    watch.close();
  });
});
