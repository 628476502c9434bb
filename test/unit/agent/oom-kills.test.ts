import { expect } from "chai";
import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { MemoryEventsWatch } from "../../../src/agent/memory-events-watch.js";
import { OomKillFeed, type KernelOomKill } from "../../../src/agent/oom-kills.js";
import { Sampler } from "../../../src/agent/sampler.js";
import { HistoryStore, type TrackedCgroup } from "../../../src/agent/store.js";
import { APP, buildTreeV2, cgroupDir, v2PodDir } from "./cgroup-tree.js";

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
    feed.forget(c);
    feed.observe(c, 1, "sampling");
    await new Promise((resolve) => setImmediate(resolve));
    expect(feed.lastSeq).to.equal(0);
  });
});

describe("OomKillFeed: a pod's kills that none of its containers' counters showed", () => {
  it('are announced for the pod (containerID "") after a grace, once; those a container showed are not', async () => {
    const feed = new OomKillFeed(() => Promise.resolve("main"));
    const seen: KernelOomKill[] = [];
    feed.subscribe((k) => seen.push(k));
    const pod = store.track({
      path: "/p",
      relPath: "p",
      version: "v2",
      kind: "pod",
      podUID: UID,
      qos: "burstable",
    });
    const c = tracked("/p/c", "container");
    c.createdSinceStart = true;
    feed.observe(c, 2, "memory.events notification"); // the container's own counter: explained
    pod.createdSinceStart = true;
    feed.observePod(pod, 2);
    feed.observePod(pod, 4); // a container gone before it was read
    await new Promise((r) => setTimeout(r, 400));
    expect(seen.map((k) => [k.containerID, k.kills])).to.deep.equal([
      [c.cgroup.containerID, 2],
      ["", 2],
    ]);
  });
});

describe("OomKillFeed: at the agent's start, a pod's kills its containers' cgroups do not account for", () => {
  const podOf = (uid: string, path: string) =>
    store.track({ path, relPath: path, version: "v2", kind: "pod", podUID: uid, qos: "burstable" });
  const containerOf = (uid: string, path: string) =>
    store.track({
      path,
      relPath: path,
      version: "v2",
      kind: "container",
      podUID: uid,
      qos: "burstable",
      containerID: "d".repeat(64),
    });

  it('are announced for the pod (containerID "", source "agent start") once the first pass is over', async () => {
    // /g/c still runs (a worker of it was killed); /a2/c has ended
    const feed = new OomKillFeed((path) => Promise.resolve(path === "/g/c" ? "child" : "main"));
    const seen: KernelOomKill[] = [];
    feed.subscribe((k) => seen.push(k));
    const [gone, accounted, quiet] = ["1", "2", "3"].map((n) => `${n}1111111-2222-4333-8444-555555555555`);
    // a pod whose killed container's cgroup is gone: 2 kills, 1 of them in a container still there
    feed.observePod(podOf(gone!, "/g"), 2, 50);
    feed.observe(containerOf(gone!, "/g/c"), 1, "memory.events notification", 50);
    // read again in the same pass: its kill is still one
    feed.observe(containerOf(gone!, "/g/c"), 1, "sampling", 51);
    // every kill in a container still there, which has ended: told by its ID
    feed.observe(containerOf(accounted!, "/a2/c"), 3, "sampling", 50);
    feed.observePod(podOf(accounted!, "/a2"), 3, 50);
    feed.observePod(podOf(quiet!, "/q"), 0, 50);
    expect(seen).to.deep.equal([]);
    feed.firstPassDone(60);
    // a cgroup older than the agent found after the first pass counts from its first value again
    feed.observePod(podOf(quiet!, "/q2"), 5, 61);
    feed.firstPassDone(62);
    await new Promise((r) => setTimeout(r, 300));
    expect(seen.map((k) => [k.podUID, k.containerID, k.kills, k.source, k.at, k.process])).to.deep.equal([
      [gone, "", 1, "agent start", 60, "main"],
      [accounted, "d".repeat(64), 3, "agent start", 60, "main"],
    ]);
  });

  it("leaves the kills of cgroups made since the start to the notifications, told once", async () => {
    const feed = new OomKillFeed(() => Promise.resolve("main"));
    const seen: KernelOomKill[] = [];
    feed.subscribe((k) => seen.push(k));
    const pod = podOf("41111111-2222-4333-8444-555555555555", "/n");
    pod.createdSinceStart = true;
    feed.observePod(pod, 2, 70);
    feed.firstPassDone(71);
    await new Promise((r) => setTimeout(r, 300));
    expect(seen.map((k) => [k.kills, k.source, k.at])).to.deep.equal([[2, "memory.events notification", 70]]);
  });
});

describe("Sampler with an OOM-kill feed: a pod whose killed container was gone when the agent started", () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), "memlens-start-kills-"));
  });
  after(async () => rm(root, { recursive: true, force: true }));

  it("announces the pod's kill after its first pass, and not again", async () => {
    await buildTreeV2(root);
    // the pod cgroup counts its containers' kills (v2); the killed container's cgroup is removed
    await writeFile(join(v2PodDir(root), "memory.events"), "low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\n");
    await rm(join(v2PodDir(root), `cri-containerd-${APP}.scope`), { recursive: true });
    const feed = new OomKillFeed(() => Promise.resolve("main"));
    const seen: KernelOomKill[] = [];
    feed.subscribe((k) => seen.push(k));
    const store = new HistoryStore({ periodS: 5, retentionS: 60 });
    const sampler = new Sampler({ cgroupRoot: root, store, log: pino({ level: "silent" }), oomKills: feed });
    await sampler.tick(100);
    await sampler.tick(105);
    expect(seen.map((k) => [k.podUID, k.containerID, k.kills, k.source, k.at])).to.deep.equal([
      [UID, "", 1, "agent start", 100],
    ]);
    sampler.close();
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

describe("Sampler with an OOM-kill feed: containers made since the agent started", () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), "memlens-births-"));
  });
  after(async () => rm(root, { recursive: true, force: true }));

  it("tracks a new container cgroup as it is made, before any pass, and announces all its kills", async () => {
    const files = await buildTreeV2(root);
    const events = (kills: number) => `low 0\nhigh 0\nmax 9\noom 3\noom_kill ${kills}\noom_group_kill 0\n`;
    // the container there before the agent, still running: its one kill, older than the agent's
    // watch, was a worker's (in its history)
    await writeFile(join(v2PodDir(root), `cri-containerd-${APP}.scope`, "memory.events"), events(1));
    const store = new HistoryStore({ periodS: 5, retentionS: 60 });
    const feed = new OomKillFeed((path) => Promise.resolve(path.includes(APP) ? "child" : "main"));
    const seen: KernelOomKill[] = [];
    feed.subscribe((k) => seen.push(k));
    const sampler = new Sampler({ cgroupRoot: root, store, log: pino({ level: "silent" }), oomKills: feed });
    await sampler.tick(100);
    const fresh = "f".repeat(64);
    const dir = join(v2PodDir(root), `cri-containerd-${fresh}.scope`);
    // made whole at once, as mkdir on cgroupfs does
    await cgroupDir(`${root}.staging`, { ...files, "memory.events": events(0) });
    await rename(`${root}.staging`, dir);
    for (let i = 0; i < 100 && !store.get(dir); i++) await new Promise((r) => setTimeout(r, 10));
    expect(store.get(dir)?.cgroup).to.include({ kind: "container", containerID: fresh, version: "v2" });
    await writeFile(join(dir, "memory.events"), events(2));
    for (let i = 0; i < 100 && !seen.length; i++) await new Promise((r) => setTimeout(r, 10));
    expect(seen.map((k) => [k.containerID, k.kills, k.source])).to.deep.equal([
      [fresh, 2, "memory.events notification"],
    ]);
    sampler.close();
  });
});
