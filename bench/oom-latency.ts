/**
 * make bench-oom: how soon a kernel OOM kill reaches the user, on the local cluster's two real
 * nodes (this host: cgroup v1; the VM: cgroup v2). KILLS pods per node, one after the other,
 * restartPolicy Never, each OOM-killed once at its 32Mi limit, all under one MemoryInspection.
 * For each kill:
 *   kernel   the kernel's own log line (oom-kill:... task_memcg=...<container ID>), its
 *            timestamp turned into wall time by a marker line this bench writes to /dev/kmsg
 *   agent    the memlens agent's record of it (GET /v1/oom-kills: `at`, the node's clock)
 *   Event    the memlens OOMKilled Event about the pod, as a watch on this host receives it
 *   status   the kubelet's terminated container status, as a watch on this host receives it
 *            (its reason is OOMKilled, or Error where containerd missed the kernel's OOM event)
 * The VM's clock is not this host's (emulated, no time sync): its offset is bounded from both
 * sides through the 9p share (a line the guest writes is seen here after it was written; a
 * line this host writes is read there after it was written), and the bounds' spread is
 * reported. Event minus status needs no offset: both are seen here.
 *
 *   KILLS=20 node dist/bench/oom-latency.js     (against a running `make cluster-up` cluster)
 */
import { execFile, spawn } from "node:child_process";
import { readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { pino } from "pino";
import type { KernelOomKill } from "../src/agent/oom-kills.js";
import { deployMemlens, kubectl } from "../src/demo/kubectl.js";
import { KubeClient, loadClusterAccess } from "../src/kube/client.js";
import { Informer, sleep, type ObjectMeta } from "../src/kube/informer.js";
import { agentGet, inGuest, NODE_V1, NODE_V2, oomOncePod } from "../test/cluster/kube.js";

const run = promisify(execFile);
const KILLS = Number(process.env.KILLS ?? 20);
if (!Number.isInteger(KILLS) || KILLS < 1) throw new Error("KILLS wants a whole number ≥ 1");
const TARGET = { v2EventP50S: 0.5 };
const NS = `oom-latency-${process.pid}`;
const MARK = "memlens-oom-latency";
const STATE = readFileSync(".memlens/state-dir", "utf8").trim();
const SHARE_CMD = join(STATE, "vm/share/cmd");
const quiet = pino({ level: "warn" });
const say = (msg: string) => console.log(`[bench-oom ${new Date().toISOString().slice(11, 19)}] ${msg}`);
const client = new KubeClient(await loadClusterAccess());

interface Node {
  name: string;
  short: string;
  agentHost: string;
  /** the kernel log with its [seconds since boot] stamps */
  dmesg: () => Promise<string>;
  /** writes a marker line to the kernel log with the node's wall time in it */
  mark: () => Promise<void>;
  /** this host's clock minus the node's: [low, high] */
  offset: [number, number];
}

const NODES: Node[] = [
  {
    name: NODE_V1,
    short: "v1",
    agentHost: "127.0.0.1",
    dmesg: async () => (await run("dmesg", [])).stdout,
    mark: () => Promise.resolve(writeFileSync("/dev/kmsg", `${MARK} ${Date.now() / 1000}\n`)),
    offset: [0, 0],
  },
  {
    name: NODE_V2,
    short: "v2",
    agentHost: "127.0.0.2",
    dmesg: () => inGuest("dmesg"),
    mark: async () => void (await inGuest(`echo "${MARK} $(date +%s.%N)" > /dev/kmsg`)),
    offset: [0, 0],
  },
];

/** Bounds of (this host's clock - the VM's) from lines crossing the 9p share both ways. */
async function vmOffset(): Promise<[number, number]> {
  const hostClock = join(SHARE_CMD, `${MARK}-${process.pid}`);
  let writing = true;
  const writer = (async () => {
    while (writing) {
      writeFileSync(`${hostClock}.tmp`, String(Date.now() / 1000));
      renameSync(`${hostClock}.tmp`, hostClock);
      await sleep(5);
    }
  })();
  // the guest reads the host's last line, then prints its own time beside it
  const guest = spawn(
    "cluster/vm.sh",
    [
      "run",
      `for i in $(seq 100); do h=$(cat /mnt/memlens/cmd/${MARK}-${process.pid}); echo "$(date +%s.%N) $h"; sleep 0.02; done`,
    ],
    { stdio: "ignore" },
  );
  let high = Infinity;
  let low = -Infinity;
  let seen = 0;
  const done = new Promise((resolve) => guest.once("exit", resolve));
  let exited = false;
  void done.then(() => (exited = true));
  while (!exited) {
    const out = readdirSync(SHARE_CMD).find((f) => f.startsWith(`${guest.pid}-`) && f.endsWith(".out"));
    const lines = out ? readFileSync(join(SHARE_CMD, out), "utf8").split("\n").filter(Boolean) : [];
    const now = Date.now() / 1000;
    for (const line of lines.slice(seen)) {
      const [g, h] = line.split(" ").map(Number) as [number, number];
      high = Math.min(high, now - g); // written at guest time g, seen here at `now`
      low = Math.max(low, h - g); // written here at h, read there at guest time g
    }
    seen = lines.length;
    await sleep(2);
  }
  writing = false;
  await writer;
  rmSync(hostClock, { force: true });
  if (!Number.isFinite(high) || !Number.isFinite(low))
    throw new Error("no clock lines came back from the VM");
  return [low, high];
}

/** Kernel kill times (this host's wall clock, a [low, high] range for the VM) by container ID. */
function kernelKills(dmesg: string, node: Node): Map<string, [number, number]> {
  const lines = dmesg.split("\n");
  const markers = lines
    .map((l) => new RegExp(`^\\[\\s*([\\d.]+)\\] ${MARK} ([\\d.]+)$`).exec(l))
    .filter((m): m is RegExpExecArray => m !== null);
  const last = markers.at(-1);
  if (!last) throw new Error(`no ${MARK} marker in ${node.name}'s kernel log`);
  const wallMinusBoot = Number(last[2]) - Number(last[1]);
  const kills = new Map<string, [number, number]>();
  for (const l of lines) {
    const m = /^\[\s*([\d.]+)\] oom-kill:.*task_memcg=\S*?([0-9a-f]{64})(?:\.scope)?,task=/.exec(l);
    if (!m || kills.has(m[2]!)) continue;
    const wall = Number(m[1]) + wallMinusBoot;
    kills.set(m[2]!, [wall + node.offset[0], wall + node.offset[1]]);
  }
  return kills;
}

async function agentKills(node: Node, token: string): Promise<Map<string, number>> {
  const res = await agentGet("/v1/oom-kills", token, node.agentHost);
  if (res.status !== 200) throw new Error(`${node.name}'s agent: HTTP ${res.status} ${res.body}`);
  const records = res.body
    .split("\n")
    .filter(Boolean)
    .slice(1)
    .map((l) => JSON.parse(l) as KernelOomKill);
  return new Map(records.filter((k) => k.process === "main").map((k) => [k.containerID, k.at]));
}

interface BenchPod {
  metadata: ObjectMeta;
  ended?: { containerID: string; reason: string };
}
const statusAt = new Map<string, number>();
const killedIDs = new Map<string, string>();
/** the kubelet's reason for each pod's end: OOMKilled, or Error where containerd missed the OOM event */
const reasons = new Map<string, string>();
const pods = new Informer<BenchPod>(client, {
  path: `/api/v1/namespaces/${NS}/pods`,
  log: quiet,
  transform: (raw) => {
    const statuses = ((raw.status ?? {}) as { containerStatuses?: { state?: Record<string, unknown> }[] })
      .containerStatuses;
    const t = statuses?.[0]?.state?.terminated as { reason?: string; containerID?: string } | undefined;
    return {
      metadata: raw.metadata as BenchPod["metadata"],
      ...(t?.containerID
        ? { ended: { containerID: t.containerID.replace(/^\w+:\/\//, ""), reason: t.reason ?? "" } }
        : {}),
    };
  },
}).on((_e, pod) => {
  if (pod.ended && !statusAt.has(pod.metadata.name)) {
    statusAt.set(pod.metadata.name, Date.now() / 1000);
    killedIDs.set(pod.metadata.name, pod.ended.containerID);
    reasons.set(pod.metadata.name, pod.ended.reason);
  }
});

interface BenchEvent {
  metadata: ObjectMeta;
  reason?: string;
  pod?: string;
}
const eventAt = new Map<string, number>();
const events = new Informer<BenchEvent>(client, {
  path: `/apis/events.k8s.io/v1/namespaces/${NS}/events`,
  log: quiet,
  transform: (raw) => ({
    metadata: raw.metadata as BenchEvent["metadata"],
    reason: raw.reason as string | undefined,
    pod: (raw.related as { name?: string } | undefined)?.name,
  }),
}).on((_e, ev) => {
  if (ev.reason === "OOMKilled" && ev.pod && !eventAt.has(ev.pod)) eventAt.set(ev.pod, Date.now() / 1000);
});

const podManifest = (node: Node, i: number) =>
  oomOncePod(`${node.short}-${String(i).padStart(2, "0")}`, node.name, { bench: "oom-latency" });

async function killsOn(node: Node): Promise<void> {
  for (let i = 0; i < KILLS; i++) {
    const pod = podManifest(node, i);
    const name = pod.metadata.name;
    await client.request("POST", `/api/v1/namespaces/${NS}/pods`, { body: pod });
    const until = Date.now() + 180_000;
    while (!statusAt.has(name)) {
      if (Date.now() > until) {
        const status = await client.request<{ status?: unknown }>(
          "GET",
          `/api/v1/namespaces/${NS}/pods/${name}`,
        );
        throw new Error(
          `pod ${name}: not terminated within 180 s; its status: ${JSON.stringify(status.status)}`,
        );
      }
      await sleep(50);
    }
    // an Event missing 30 s after the kubelet's status is a kill memlens did not report
    for (let t = 0; t < 600 && !eventAt.has(name); t++) await sleep(50);
    await sleep(500); // a quiet gap: one kill at a time
  }
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
};
const fmt = (s: number) => `${s.toFixed(3)} s`;

say(`deploying memlens, namespace ${NS}`);
await deployMemlens();
await kubectl(["create", "namespace", NS]);
try {
  await kubectl(
    ["-n", NS, "apply", "-f", "-"],
    JSON.stringify({
      apiVersion: "memlens.dev/v1alpha1",
      kind: "MemoryInspection",
      metadata: { name: "oom-latency" },
      spec: { selector: { matchLabels: { bench: "oom-latency" } }, interval: "1m", window: "1h" },
    }),
  );
  pods.start();
  events.start();
  await Promise.all([pods.waitForSync(), events.waitForSync()]);
  const v2 = NODES[1]!;
  const before = await vmOffset();
  for (const node of NODES) await node.mark();
  say(`VM clock offset at start: ${fmt(before[0])} … ${fmt(before[1])}; ${KILLS} kills per node`);
  await Promise.all(NODES.map(killsOn));
  const after = await vmOffset();
  for (const node of NODES) await node.mark();
  v2.offset = [Math.min(before[0], after[0]), Math.max(before[1], after[1])];
  say(`VM clock offset at end: ${fmt(after[0])} … ${fmt(after[1])}`);
  await sleep(2000); // the inspection after the last kill
  const token = (await kubectl(["-n", "memlens-system", "create", "token", "memlens-controller"])).trim();

  const rows: string[][] = [];
  let pass = true;
  for (const node of NODES) {
    const kernel = kernelKills(await node.dmesg(), node);
    const agent = await agentKills(node, token);
    const killToAgent: number[] = [];
    const killToEvent: number[] = [];
    const killToStatus: number[] = [];
    let oomKilled = 0;
    const eventMinusStatus: number[] = [];
    for (let i = 0; i < KILLS; i++) {
      const name = podManifest(node, i).metadata.name;
      const id = killedIDs.get(name);
      const k = id ? kernel.get(id) : undefined;
      if (!id || !k) throw new Error(`pod ${name}: its kill is not in ${node.name}'s kernel log`);
      const mid = (k[0] + k[1]) / 2;
      const agentAt = agent.get(id);
      // the agent's stamp is the node's clock, as the kernel's before the offset
      if (agentAt !== undefined) killToAgent.push(agentAt + (node.offset[0] + node.offset[1]) / 2 - mid);
      if (eventAt.has(name)) killToEvent.push(eventAt.get(name)! - mid);
      killToStatus.push(statusAt.get(name)! - mid);
      if (reasons.get(name) === "OOMKilled") oomKilled++;
      if (eventAt.has(name)) eventMinusStatus.push(eventAt.get(name)! - statusAt.get(name)!);
    }
    const uncertainty = (node.offset[1] - node.offset[0]) / 2;
    const pm = uncertainty > 0 ? ` ±${uncertainty.toFixed(3)}` : "";
    // a kill without an Event counts as never reported
    const p50Event = quantile(
      [...killToEvent, ...Array<number>(KILLS - killToEvent.length).fill(Infinity)],
      0.5,
    );
    const first = eventMinusStatus.filter((d) => d < 0).length;
    const ok =
      node.short !== "v2" ||
      (p50Event - uncertainty <= TARGET.v2EventP50S && quantile(eventMinusStatus, 0.5) < 0);
    pass &&= ok;
    rows.push([
      node.name,
      String(KILLS),
      killToAgent.length
        ? `${fmt(quantile(killToAgent, 0.5))} / ${fmt(Math.max(...killToAgent))} (${killToAgent.length})`
        : "- (0)",
      `${fmt(p50Event)} / ${fmt(Math.max(...killToEvent))}${pm} (${killToEvent.length} Events)`,
      `${fmt(quantile(killToStatus, 0.5))} / ${fmt(Math.max(...killToStatus))}${pm} (${oomKilled} OOMKilled)`,
      `${fmt(quantile(eventMinusStatus, 0.5))} (${first}/${KILLS} first)`,
      node.short === "v2" ? `p50 ≤ ${TARGET.v2EventP50S} s, before status: ${ok ? "met" : "MISSED"}` : "-",
    ]);
  }
  const mi = await client.request<{ status?: { oomKills?: number } }>(
    "GET",
    `/apis/memlens.dev/v1alpha1/namespaces/${NS}/memoryinspections/oom-latency`,
  );
  const counted = mi.status?.oomKills ?? 0;
  pass &&= counted === KILLS * NODES.length;

  const header = [
    "node",
    "kills",
    "kill → agent p50 / max",
    "kill → Event p50 / max",
    "kill → kubelet status p50 / max",
    "Event − status p50",
    "target",
  ];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) => r.map((v, c) => v.padEnd(widths[c]!)).join(" | ");
  console.log(`\n${line(header)}\n${widths.map((w) => "-".repeat(w)).join("-|-")}`);
  for (const r of rows) console.log(line(r));
  console.log(
    `\nkills counted by the MemoryInspection: ${counted} of ${KILLS * NODES.length} (target: all, none twice): ${counted === KILLS * NODES.length ? "met" : "MISSED"}`,
  );
  if (!pass) process.exitCode = 1;
} finally {
  await pods.stop();
  await events.stop();
  await kubectl(["delete", "namespace", NS, "--wait=false"]);
}
