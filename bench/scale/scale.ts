/**
 * The controller at scale (started by bench/scale/run.sh, which runs etcd, kube-apiserver and
 * kwok and sets KUBECONFIG): MIS MemoryInspections x PODS_PER_MI pods on NODES nodes, all
 * simulated by kwok, each node with a memlens agent (bench/scale/agents.ts: the agent's own API
 * code on the agent pod's loopback IP, serving recorded cgroup histories). Runs the memlens
 * controller as a local process and measures
 *   1. the first full pass: controller start -> every inspection has status for its generation,
 *      every target pod's history fetched from its node's agent and analysed;
 *   2. OOM kill -> Event latency: kwok writes OOMKilled into a pod's status (bench annotation,
 *      see oom-kill-stage.yaml), the controller's Event (events.k8s.io/v1, reason OOMKilled)
 *      appears or its series count rises; both seen by this process's watches;
 *   3. a load phase (LOAD_MINUTES) with kills injected continuously: controller RSS every 10 s
 *      (judged by memlens' own leak rule), no kill without its Event and finding, Events bounded
 *      (one series per inspection and pod).
 * Prints a table and exits 1 when a target is missed.
 */
import { fork, spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pino } from "pino";
import { analyzeContainer } from "../../src/analysis/analyze.js";
import { fitLeak } from "../../src/analysis/leak.js";
import { toSeries } from "../../src/analysis/history-series.js";
import { resolveThresholds } from "../../src/analysis/thresholds.js";
import type { MemorySample } from "../../src/cgroup/sample.js";
import { AGENT_TOKEN_AUDIENCE } from "../../src/agent/auth.js";
import { ApiError, KubeClient, loadClusterAccess } from "../../src/kube/client.js";
import { Informer, sleep } from "../../src/kube/informer.js";
import type { SimStats } from "./agents.js";

const env = (name: string, def: number) => {
  const v = Number(process.env[name] ?? def);
  if (!Number.isFinite(v) || v < 0) throw new Error(`${name} wants a number`);
  return v;
};
const MIS = env("MIS", 1000);
const PODS_PER_MI = env("PODS_PER_MI", 10);
const NODES = env("NODES", 100);
const LOAD_MINUTES = env("LOAD_MINUTES", 10);
const SAMPLE_KILLS = env("SAMPLE_KILLS", 100);
const KILLS_PER_MINUTE = env("KILLS_PER_MINUTE", 120);
const WORKERS = env("WORKERS", 4);
const INTERVAL = process.env.INTERVAL ?? "1m";
const RSS_EVERY_MS = 10_000;
const NS = "bench";
const SYSTEM_NS = "memlens-system";
const AGENT_PORT = env("AGENT_PORT", 9137);
const MI_LABEL = "bench.memlens.dev/inspection";
const OOM_ANNOTATION = "bench.memlens.dev/oom-kill";

const TARGET = { firstPassS: 20, p99S: 1, rssMiB: 256 };

const log = (msg: string) => console.log(`[bench-scale ${new Date().toISOString().slice(11, 19)}] ${msg}`);
const quiet = pino({ level: "warn" });
const client = new KubeClient(await loadClusterAccess());

const pad = (n: number, w: number) => String(n).padStart(w, "0");
const nodeName = (i: number) => `kwok-node-${pad(i, 3)}`;
/** a loopback /24 per node: 127.1.0.0/24, 127.1.1.0/24, ... */
const podCIDR = (i: number) => `127.${1 + (i >> 8)}.${i & 255}.0/24`;
const miName = (i: number) => `mi-${pad(i, 4)}`;
const podName = (i: number, j: number) => `${miName(i)}-p${pad(j, 2)}`;

/** runs fn over items, `width` at a time */
async function pool<T>(items: T[], width: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

async function create(path: string, body: unknown): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await client.request("POST", path, { body });
      return;
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) return; // exists
      if (attempt >= 5) throw err;
      await sleep(200 * 2 ** attempt);
    }
  }
}

async function waitUntil(what: string, timeoutMs: number, ok: () => boolean): Promise<number> {
  const start = Date.now();
  while (!ok()) {
    if (Date.now() - start > timeoutMs) throw new Error(`${what}: not done after ${timeoutMs / 1000}s`);
    await sleep(100);
  }
  return Date.now() - start;
}

// --- what this process watches, slimmed to the fields it reads
interface BenchPod {
  metadata: { name: string; namespace?: string; uid: string; resourceVersion?: string };
  phase?: string;
  restarts: number;
  oomKilled: boolean;
}
interface BenchMI {
  metadata: { name: string; namespace?: string; uid: string; resourceVersion?: string };
  generation?: number;
  observedGeneration?: number;
  lastInspectionTime?: string;
  ready?: string;
  /** OOMKilled finding count per pod */
  kills: Map<string, number>;
  /** rules of the unresolved findings */
  rules: string[];
}
interface BenchEvent {
  metadata: { name: string; namespace?: string; uid: string; resourceVersion?: string };
  reason?: string;
  related?: string;
  count: number;
  /** what memlens keeps one series of: the inspection, the pod, the reason (and a recommendation's subject) */
  series: string;
}
type Raw = Record<string, unknown>;
const meta = (raw: Raw) => {
  const m = raw.metadata as BenchPod["metadata"];
  return { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion };
};

const pods = new Informer<BenchPod>(client, {
  path: `/api/v1/namespaces/${NS}/pods`,
  log: quiet,
  transform: (raw) => {
    const status = (raw.status ?? {}) as {
      phase?: string;
      containerStatuses?: { restartCount: number; lastState?: { terminated?: { reason?: string } } }[];
    };
    const cs = status.containerStatuses?.[0];
    return {
      metadata: meta(raw),
      phase: status.phase,
      restarts: cs?.restartCount ?? 0,
      oomKilled: cs?.lastState?.terminated?.reason === "OOMKilled",
    };
  },
});
const inspections = new Informer<BenchMI>(client, {
  path: `/apis/memlens.dev/v1alpha1/namespaces/${NS}/memoryinspections`,
  log: quiet,
  transform: (raw) => {
    const status = (raw.status ?? {}) as {
      observedGeneration?: number;
      lastInspectionTime?: string;
      conditions?: { type: string; reason?: string }[];
      findings?: { rule: string; pod?: string; count?: number; resolved?: boolean }[];
    };
    const kills = new Map<string, number>();
    for (const f of status.findings ?? [])
      if (f.rule === "OOMKilled" && f.pod) kills.set(f.pod, (kills.get(f.pod) ?? 0) + (f.count ?? 1));
    return {
      metadata: meta(raw),
      generation: (raw.metadata as { generation?: number }).generation,
      observedGeneration: status.observedGeneration,
      lastInspectionTime: status.lastInspectionTime,
      ready: status.conditions?.find((c) => c.type === "Ready")?.reason,
      kills,
      rules: (status.findings ?? []).filter((f) => !f.resolved).map((f) => f.rule),
    };
  },
});
const events = new Informer<BenchEvent>(client, {
  path: `/apis/events.k8s.io/v1/namespaces/${NS}/events`,
  log: quiet,
  transform: (raw) => ({
    metadata: meta(raw),
    reason: raw.reason as string | undefined,
    related: (raw.related as { uid?: string } | undefined)?.uid,
    count: (raw.series as { count?: number } | undefined)?.count ?? 1,
    series: [
      (raw.regarding as { uid?: string } | undefined)?.uid,
      (raw.related as { uid?: string } | undefined)?.uid,
      raw.reason,
      raw.reason === "Recommendation" ? String(raw.note).split(":")[0] : "",
    ].join("/"),
  }),
});

// --- kills: injected by us, seen in pod status (kwok), seen as an Event (memlens)
interface Kill {
  pod: string;
  uid: string;
  /** which kill of this pod: its restartCount after it */
  n: number;
  injectedAt: number;
  statusAt?: number;
  eventAt?: number;
  sample: boolean;
}
const killsByPod = new Map<string, Kill[]>();
const allKills: Kill[] = [];
const eventCountByPod = new Map<string, number>();

pods.on((event, pod, old) => {
  if (event === "delete" || !pod.oomKilled || pod.restarts <= (old?.restarts ?? 0)) return;
  const k = killsByPod.get(pod.metadata.uid)?.find((x) => x.n === pod.restarts);
  if (k && k.statusAt === undefined) k.statusAt = Date.now();
});
events.on((event, ev) => {
  if (event === "delete" || ev.reason !== "OOMKilled" || !ev.related) return;
  const seen = eventCountByPod.get(ev.related) ?? 0;
  if (ev.count <= seen) return;
  eventCountByPod.set(ev.related, ev.count);
  for (const k of killsByPod.get(ev.related) ?? [])
    if (k.n <= ev.count && k.eventAt === undefined) k.eventAt = Date.now();
});

const inFlight = (uid: string) => (killsByPod.get(uid) ?? []).some((k) => k.eventAt === undefined);

async function inject(pod: BenchPod, sample: boolean): Promise<void> {
  const list = killsByPod.get(pod.metadata.uid) ?? [];
  const k: Kill = {
    pod: pod.metadata.name,
    uid: pod.metadata.uid,
    n: pod.restarts + 1,
    injectedAt: Date.now(),
    sample,
  };
  killsByPod.set(pod.metadata.uid, [...list, k]);
  allKills.push(k);
  await client.request("PATCH", `/api/v1/namespaces/${NS}/pods/${pod.metadata.name}`, {
    contentType: "application/merge-patch+json",
    body: { metadata: { annotations: { [OOM_ANNOTATION]: String(k.n) } } },
  });
}

/** a random Running pod with no kill still on its way */
function pickPod(): BenchPod | undefined {
  const all = pods.list();
  for (let tries = 0; tries < 50; tries++) {
    const p = all[Math.floor(Math.random() * all.length)];
    if (p && p.phase === "Running" && !inFlight(p.metadata.uid)) return p;
  }
  return undefined;
}

// --- the agents: a pod per node (kwok runs it, with a loopback pod IP), served by agents.ts
const KWOK_TOLERATION = { key: "kwok.x-k8s.io/node", operator: "Exists", effect: "NoSchedule" };
const logDir = process.env.LOG_DIR ?? ".";

/**
 * The controller's ServiceAccount and its token for the agents' audience (what the Deployment
 * projects), written where the controller reads it; the agent pods, one per node, Running.
 */
async function createAgentPods(): Promise<void> {
  const tokenFile = process.env.AGENT_TOKEN_FILE;
  if (!tokenFile) throw new Error("AGENT_TOKEN_FILE is not set (run.sh sets it)");
  await create(`/api/v1/namespaces`, { apiVersion: "v1", kind: "Namespace", metadata: { name: SYSTEM_NS } });
  for (const name of ["memlens-controller", "memlens-agent"])
    await create(`/api/v1/namespaces/${SYSTEM_NS}/serviceaccounts`, {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name },
    });
  const token = await client.request<{ status: { token: string } }>(
    "POST",
    `/api/v1/namespaces/${SYSTEM_NS}/serviceaccounts/memlens-controller/token`,
    {
      body: {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenRequest",
        spec: { audiences: [AGENT_TOKEN_AUDIENCE], expirationSeconds: 12 * 3600 },
      },
    },
  );
  writeFileSync(tokenFile, token.status.token, { mode: 0o600 });
  await pool(
    Array.from({ length: NODES }, (_, i) => i),
    16,
    (i) =>
      create(`/api/v1/namespaces/${SYSTEM_NS}/pods`, {
        apiVersion: "v1",
        kind: "Pod",
        metadata: {
          name: `memlens-agent-${nodeName(i)}`,
          labels: { "app.kubernetes.io/name": "memlens-agent", "app.kubernetes.io/part-of": "memlens" },
        },
        spec: {
          nodeName: nodeName(i),
          serviceAccountName: "memlens-agent",
          automountServiceAccountToken: false,
          tolerations: [KWOK_TOLERATION],
          containers: [{ name: "agent", image: "localhost/memlens/memlens:dev" }],
        },
      }),
  );
  const running = async () => {
    const list = await client.get<{ items: { status?: { phase?: string; podIP?: string } }[] }>(
      `/api/v1/namespaces/${SYSTEM_NS}/pods?labelSelector=app.kubernetes.io%2Fname%3Dmemlens-agent`,
    );
    return list.items.filter((p) => p.status?.phase === "Running" && p.status.podIP).length;
  };
  while ((await running()) < NODES) await sleep(500);
}

let agents: ChildProcess | undefined;
/** bench/scale/agents.ts, once every node's agent serves and has every pod of its node */
async function startAgents(): Promise<{ nodes: number; pods: number }> {
  const out = createWriteStream(join(logDir, "agents.log"));
  const child = fork("dist/bench/scale/agents.js", [], {
    env: { ...process.env, AGENT_PORT: String(AGENT_PORT), AGENT_NAMESPACE: SYSTEM_NS, NODES: String(NODES) },
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  agents = child;
  return new Promise((resolve, reject) => {
    child.on("message", (m: { ready?: { nodes: number; pods: number } }) => m.ready && resolve(m.ready));
    child.once("exit", (code) =>
      reject(new Error(`the agents exited (${code}); see ${join(logDir, "agents.log")}`)),
    );
  });
}
async function agentStats(): Promise<SimStats> {
  const child = agents;
  if (!child) throw new Error("no agents");
  return new Promise((resolve) => {
    const on = (m: { stats?: SimStats }) => {
      if (!m.stats) return;
      child.off("message", on);
      resolve(m.stats);
    };
    child.on("message", on);
    child.send("stats");
  });
}

/** CPU seconds a process has used (utime + stime, /proc/PID/stat; clock ticks of 1/100 s) */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}
const pidOf = (name: string) => {
  try {
    return Number(readFileSync(join(process.env.STATE ?? "/nonexistent", "pids", name), "utf8"));
  } catch {
    return undefined;
  }
};

// --- the controller under test, and its RSS
/**
 * The V8 flags the controller runs with: the Deployment's NODE_OPTIONS (config/controller), or
 * CONTROLLER_NODE_OPTIONS where set ("" for Node's defaults).
 */
function controllerNodeOptions(): string[] {
  const own = process.env.CONTROLLER_NODE_OPTIONS;
  if (own !== undefined) return own.split(/\s+/).filter(Boolean);
  const file = "config/controller/deployment.yaml";
  const m = /- name: NODE_OPTIONS\n\s*value: "?([^"\n]*)"?\n/.exec(readFileSync(file, "utf8"));
  if (!m?.[1]) throw new Error(`no NODE_OPTIONS in ${file}`);
  return m[1].trim().split(/\s+/);
}
const NODE_FLAGS = controllerNodeOptions();
let controller: ChildProcess | undefined;
function startController(): ChildProcess {
  const out = createWriteStream(join(logDir, "controller.log"));
  const child = spawn(
    process.execPath,
    [
      ...NODE_FLAGS,
      // CONTROLLER_PROF=1: a V8 CPU profile of the whole run, written at exit into the log directory
      ...(process.env.CONTROLLER_PROF ? ["--cpu-prof", "--cpu-prof-dir", logDir] : []),
      "dist/src/cli/main.js",
      "controller",
      "--no-leader-elect",
      "--health-addr",
      process.env.HEALTH_ADDR ?? "127.0.0.1:0",
      "--agent-token-file",
      process.env.AGENT_TOKEN_FILE ?? "/dev/null",
      "--workers",
      String(WORKERS),
      "--agent-namespace",
      SYSTEM_NS,
      "--agent-port",
      String(AGENT_PORT),
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  child.on("exit", (code, signal) => {
    if (!stopping) log(`the controller exited (${code ?? signal}); see ${join(logDir, "controller.log")}`);
  });
  return child;
}
let stopping = false;
async function stopController(): Promise<void> {
  stopping = true;
  const c = controller;
  if (!c || c.exitCode !== null || c.signalCode !== null) return;
  const gone = new Promise((r) => c.once("exit", r));
  c.kill("SIGTERM");
  await Promise.race([gone, sleep(10_000)]);
  if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
}
for (const sig of ["SIGINT", "SIGTERM"] as const)
  process.on(sig, () => {
    void stopController().then(() => process.exit(130));
  });

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) * 1024 : NaN;
}
const rss: { t: number; bytes: number }[] = [];

async function metrics(): Promise<string> {
  try {
    const res = await fetch(`http://${process.env.HEALTH_ADDR}/metrics`);
    return await res.text();
  } catch {
    return "";
  }
}
const metricSum = (text: string, name: string) =>
  text
    .split("\n")
    .filter((l) => l.startsWith(name))
    .reduce((s, l) => s + Number(l.split(" ").at(-1)), 0);

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] as number) : NaN;
};
const mib = (b: number) => b / 2 ** 20;

// --- the run
const rows: { figure: string; target: string; measured: string; pass?: boolean }[] = [];
const row = (figure: string, target: string, measured: string, pass?: boolean) =>
  rows.push({ figure, target, measured, ...(pass === undefined ? {} : { pass }) });

async function main(): Promise<void> {
  log(`${MIS} MemoryInspections x ${PODS_PER_MI} pods on ${NODES} kwok nodes; load ${LOAD_MINUTES} min`);
  await create(`/api/v1/namespaces`, { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
  // no kube-controller-manager here: the namespace's default ServiceAccount is ours to create
  await create(`/api/v1/namespaces/${NS}/serviceaccounts`, {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name: "default" },
  });
  pods.start();
  events.start();

  let t = Date.now();
  await pool(
    Array.from({ length: NODES }, (_, i) => i),
    16,
    (i) =>
      create("/api/v1/nodes", {
        apiVersion: "v1",
        kind: "Node",
        metadata: {
          name: nodeName(i),
          annotations: { "kwok.x-k8s.io/node": "fake" },
          labels: { type: "kwok", "kubernetes.io/hostname": nodeName(i) },
        },
        spec: {
          taints: [{ key: "kwok.x-k8s.io/node", value: "fake", effect: "NoSchedule" }],
          // kwok gives a pod that is not on the host network an IP from its node's podCIDR: the
          // agent pod's is where bench/scale/agents.ts serves this node's agent API
          podCIDR: podCIDR(i),
        },
      }),
  );
  const nodeReady = async () => {
    const list = await client.get<{
      items: { status?: { conditions?: { type: string; status: string }[] } }[];
    }>("/api/v1/nodes");
    return list.items.filter((n) =>
      n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
    ).length;
  };
  while ((await nodeReady()) < NODES) await sleep(500);
  log(`${NODES} nodes Ready (kwok) in ${((Date.now() - t) / 1000).toFixed(1)}s`);
  t = Date.now();
  await createAgentPods();
  log(`${NODES} memlens-agent pods Running (kwok) in ${((Date.now() - t) / 1000).toFixed(1)}s`);

  t = Date.now();
  const podSpecs: [number, number][] = [];
  for (let i = 0; i < MIS; i++) for (let j = 0; j < PODS_PER_MI; j++) podSpecs.push([i, j]);
  await pool(podSpecs, 32, ([i, j]) =>
    create(`/api/v1/namespaces/${NS}/pods`, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: podName(i, j), labels: { [MI_LABEL]: miName(i), app: "bench" } },
      spec: {
        nodeName: nodeName((i * PODS_PER_MI + j) % NODES),
        hostNetwork: true,
        automountServiceAccountToken: false,
        tolerations: [{ key: "kwok.x-k8s.io/node", operator: "Exists", effect: "NoSchedule" }],
        containers: [
          {
            name: "app",
            image: "localhost/memlens/stress:dev",
            resources: { requests: { memory: "64Mi" }, limits: { memory: "128Mi" } },
          },
        ],
      },
    }),
  );
  const total = MIS * PODS_PER_MI;
  const running = () => pods.list().filter((p) => p.phase === "Running").length;
  log(`${total} pods created in ${((Date.now() - t) / 1000).toFixed(1)}s; waiting for Running (kwok)`);
  await waitUntil("pods Running", 600_000, () => running() >= total);
  log(`${total} pods Running in ${((Date.now() - t) / 1000).toFixed(1)}s`);
  t = Date.now();
  const served = await startAgents();
  log(
    `agents serving on ${served.nodes} nodes (${served.pods} pods, histories of 6 h) in ${((Date.now() - t) / 1000).toFixed(1)}s`,
  );

  t = Date.now();
  await pool(
    Array.from({ length: MIS }, (_, i) => i),
    32,
    (i) =>
      create(`/apis/memlens.dev/v1alpha1/namespaces/${NS}/memoryinspections`, {
        apiVersion: "memlens.dev/v1alpha1",
        kind: "MemoryInspection",
        metadata: { name: miName(i) },
        spec: { selector: { matchLabels: { [MI_LABEL]: miName(i) } }, interval: INTERVAL },
      }),
  );
  inspections.start();
  await inspections.waitForSync();
  await waitUntil("inspections listed", 60_000, () => inspections.list().length >= MIS);
  log(`${MIS} MemoryInspections created in ${((Date.now() - t) / 1000).toFixed(1)}s`);

  // 1. first full pass
  const passed = () =>
    inspections
      .list()
      .filter(
        (m) => m.lastInspectionTime && m.observedGeneration === m.generation && m.generation !== undefined,
      ).length;
  const agentsBefore = await agentStats();
  const cpuBefore = {
    apiserver: cpuSeconds(pidOf("kube-apiserver")),
    etcd: cpuSeconds(pidOf("etcd")),
    kwok: cpuSeconds(pidOf("kwok")),
  };
  const startedAt = Date.now();
  controller = startController();
  const pid = controller.pid!;
  let syncedMs = NaN;
  void (async () => {
    while (Number.isNaN(syncedMs) && Date.now() - startedAt < 600_000) {
      const res = await fetch(`http://${process.env.HEALTH_ADDR}/readyz`).catch(() => undefined);
      if (res?.ok) syncedMs = Date.now() - startedAt;
      else await sleep(100);
    }
  })();
  const sampler = setInterval(() => {
    try {
      rss.push({ t: Date.now(), bytes: rssBytes(pid) });
    } catch {
      /* exited */
    }
  }, RSS_EVERY_MS);
  let peakFirstPass = 0;
  const firstPassMs = await waitUntil("first full pass", 600_000, () => {
    peakFirstPass = Math.max(peakFirstPass, rssBytes(pid));
    return passed() >= MIS;
  });
  const ready = new Map<string, number>();
  for (const m of inspections.list())
    ready.set(m.ready ?? "(none)", (ready.get(m.ready ?? "(none)") ?? 0) + 1);
  log(
    `first full pass in ${(firstPassMs / 1000).toFixed(1)}s; Ready reasons: ${[...ready].map(([r, n]) => `${r} ${n}`).join(", ")}`,
  );
  row(
    `first full pass: ${MIS} MIs with status (controller start incl. cache sync)`,
    `<= ${TARGET.firstPassS} s`,
    `${(firstPassMs / 1000).toFixed(1)} s`,
    firstPassMs <= TARGET.firstPassS * 1000,
  );
  const controllerCpu = cpuSeconds(pid);
  const agentsAfter = await agentStats();
  let m = await metrics();
  row("  of which the controller's caches synced (/readyz)", "", `${(syncedMs / 1000).toFixed(1)} s`);
  const calls = metricSum(m, "memlens_agent_request_duration_seconds_count");
  const callErrors = metricSum(m, "memlens_agent_request_errors_total");
  row(
    "agent calls in the first pass (one per target pod) / failed",
    `${total} / 0`,
    `${calls} / ${callErrors}`,
    calls >= total && callErrors === 0,
  );
  row(
    "agent call time, mean (controller's histogram)",
    "",
    `${((metricSum(m, "memlens_agent_request_duration_seconds_sum") / calls) * 1000).toFixed(0)} ms`,
  );
  row(
    "agents: answers / cgroups listed (pod, sandbox, container) / bytes sent, first pass",
    "",
    `${agentsAfter.requests - agentsBefore.requests} / ${agentsAfter.served - agentsBefore.served} / ${((agentsAfter.bytes - agentsBefore.bytes) / 2 ** 20).toFixed(0)} MiB`,
  );
  const inspected = inspections.list().filter((mi) => mi.ready === "Inspected").length;
  row(
    "MIs Ready=Inspected after the first pass (every pod's cgroups analysed)",
    String(MIS),
    String(inspected),
    inspected === MIS,
  );
  const byRule = new Map<string, number>();
  for (const mi of inspections.list()) for (const r of mi.rules) byRule.set(r, (byRule.get(r) ?? 0) + 1);
  row(
    "findings from the analysis after the first pass, by rule",
    "",
    [...byRule].map(([r, n]) => `${r} ${n}`).join(", ") || "none",
  );
  row(
    "CPU in the first pass: controller / kube-apiserver / etcd / kwok / agents",
    "",
    [
      controllerCpu,
      cpuSeconds(pidOf("kube-apiserver")) - cpuBefore.apiserver,
      cpuSeconds(pidOf("etcd")) - cpuBefore.etcd,
      cpuSeconds(pidOf("kwok")) - cpuBefore.kwok,
      agentsAfter.cpuS - agentsBefore.cpuS,
    ]
      .map((x) => `${x.toFixed(1)}`)
      .join(" / ") + " s",
  );

  // 2. OOM -> Event latency, one kill at a time in flight per pod, a few per second
  await sleep(2000);
  log(`injecting ${SAMPLE_KILLS} sampled OOM kills`);
  for (let i = 0; i < SAMPLE_KILLS; i++) {
    const p = pickPod();
    if (p) await inject(p, true);
    await sleep(250);
  }
  const sampled = allKills.filter((k) => k.sample);
  await waitUntil("sampled kills' Events", 60_000, () => sampled.every((k) => k.eventAt !== undefined)).catch(
    (e: Error) => log(e.message),
  );
  const lat = sampled.filter((k) => k.eventAt && k.statusAt).map((k) => (k.eventAt! - k.statusAt!) / 1000);
  const kwokLat = sampled.filter((k) => k.statusAt).map((k) => (k.statusAt! - k.injectedAt) / 1000);
  row(
    `OOMKilled in pod status (kwok) -> memlens Event, p50 (${lat.length}/${sampled.length} kills)`,
    "",
    `${quantile(lat, 0.5).toFixed(3)} s`,
  );
  row(
    `OOMKilled in pod status (kwok) -> memlens Event, p99`,
    `<= ${TARGET.p99S} s`,
    `${quantile(lat, 0.99).toFixed(3)} s`,
    lat.length === sampled.length && quantile(lat, 0.99) <= TARGET.p99S,
  );
  row(
    "(bench annotation -> OOMKilled in status by kwok, p50, not memlens)",
    "",
    `${quantile(kwokLat, 0.5).toFixed(3)} s`,
  );

  // 3. load
  const loadStart = Date.now();
  const loadEnd = loadStart + LOAD_MINUTES * 60_000;
  log(`load phase: ${LOAD_MINUTES} min, ${KILLS_PER_MINUTE} OOM kills/min`);
  const gap = 60_000 / Math.max(1, KILLS_PER_MINUTE);
  let nextReport = loadStart + 60_000;
  while (Date.now() < loadEnd) {
    const p = pickPod();
    if (p) await inject(p, false);
    await sleep(gap);
    if (Date.now() >= nextReport) {
      nextReport += 60_000;
      const last = rss.at(-1);
      log(
        `  ${Math.round((Date.now() - loadStart) / 60_000)} min: ${allKills.length} kills, RSS ${last ? mib(last.bytes).toFixed(0) : "?"} MiB`,
      );
    }
  }
  await waitUntil("every kill's Event", 60_000, () => allKills.every((k) => k.eventAt !== undefined)).catch(
    (e: Error) => log(e.message),
  );
  // the finding counts reach the informer with the status write, before the Event
  await sleep(2000);
  clearInterval(sampler);
  m = await metrics();

  const loadLat = allKills
    .filter((k) => k.eventAt && k.statusAt)
    .map((k) => (k.eventAt! - k.statusAt!) / 1000);
  const noStatus = allKills.filter((k) => !k.statusAt).length;
  const noEvent = allKills.filter((k) => !k.eventAt).length;
  const killsPerPod = new Map<string, number>();
  for (const k of allKills) killsPerPod.set(k.pod, (killsPerPod.get(k.pod) ?? 0) + 1);
  const findingKills = new Map<string, number>();
  for (const mi of inspections.list()) for (const [pod, n] of mi.kills) findingKills.set(pod, n);
  const missedFindings = [...killsPerPod].filter(([pod, n]) => (findingKills.get(pod) ?? 0) !== n).length;
  row(
    `OOM kills injected (${LOAD_MINUTES} min load + samples), seen in pod status`,
    "",
    `${allKills.length - noStatus}/${allKills.length}`,
  );
  row("kills without their memlens Event", "0", String(noEvent), noEvent === 0);
  row(
    "pods whose OOMKilled finding count != kills injected",
    "0",
    String(missedFindings),
    missedFindings === 0,
  );
  row(
    "OOMKilled -> Event over the whole load, p50 / p99",
    "",
    `${quantile(loadLat, 0.5).toFixed(3)} s / ${quantile(loadLat, 0.99).toFixed(3)} s`,
  );

  const oomEvents = events.list().filter((e) => e.reason === "OOMKilled");
  const seriesBound = killsPerPod.size; // one series per (inspection, pod)
  row(
    `OOMKilled Event objects (${allKills.length} kills on ${killsPerPod.size} pods)`,
    `<= ${seriesBound} (one series per MI+pod)`,
    String(oomEvents.length),
    oomEvents.length <= seriesBound,
  );
  const byReason = new Map<string, number>();
  const others = events.list().filter((e) => e.reason !== "OOMKilled");
  for (const e of others) byReason.set(e.reason ?? "", (byReason.get(e.reason ?? "") ?? 0) + 1);
  const series = new Set(others.map((e) => e.series)).size;
  row(
    "other Event objects in the namespace, by reason",
    `one per series (MI, pod, reason; recommendation: type, workload, container): ${series}`,
    [...byReason].map(([r, n]) => `${r} ${n}`).join(", ") || "none",
    others.length === series,
  );

  // RSS: the peak, and the load phase's series judged by memlens' leak rule
  const loadRss = rss.filter((s) => s.t >= loadStart);
  const peak = Math.max(...rss.map((s) => s.bytes), peakFirstPass);
  row(
    "controller RSS, peak (VmRSS)",
    `<= ${TARGET.rssMiB} MiB`,
    `${mib(peak).toFixed(0)} MiB`,
    mib(peak) <= TARGET.rssMiB,
  );
  const samples: MemorySample[] = loadRss.map((s) => ({
    t: s.t / 1000,
    version: "v1",
    usage: s.bytes,
    limit: null,
    stat: { anon: s.bytes },
  }));
  const minObservationMs = Math.max(60_000, (loadRss.length - 1) * RSS_EVERY_MS * 0.8);
  const leak = analyzeContainer({
    samples,
    limits: TARGET.rssMiB * 2 ** 20,
    thresholds: { leak: { minObservationMs } },
  }).findings.filter((f) => f.rule === "MemoryLeak");
  const s = toSeries(samples);
  const fit =
    s.n > 4 ? fitLeak(s, s.kept, [], resolveThresholds({ leak: { minObservationMs: 0 } })) : undefined;
  const first = loadRss[0]?.bytes ?? NaN;
  const last = loadRss.at(-1)?.bytes ?? NaN;
  row(
    `controller RSS over the load (${loadRss.length} samples, 10 s): memlens leak rule`,
    "no MemoryLeak finding",
    `${leak.length ? "MemoryLeak" : "none"}; ${mib(first).toFixed(0)} -> ${mib(last).toFixed(0)} MiB, envelope ${fit ? mib(fit.perHour).toFixed(1) : "?"} MiB/h`,
    leak.length === 0 && loadRss.length >= 6,
  );
  const reconciles = metricSum(m, "memlens_reconcile_total");
  const errors = metricSum(m, "memlens_reconcile_errors_total");
  const agentCalls = metricSum(m, "memlens_agent_request_duration_seconds_count");
  row(
    "reconciles / errors (409 conflicts retried) / agent calls",
    "",
    `${reconciles} / ${errors} / ${agentCalls}`,
  );
  row(
    "controller V8 heap used / total, external (Buffers, ArrayBuffers) at the end",
    "",
    `${mib(metricSum(m, "memlens_controller_nodejs_heap_size_used_bytes")).toFixed(0)} / ${mib(metricSum(m, "memlens_controller_nodejs_heap_size_total_bytes")).toFixed(0)} MiB, ${mib(metricSum(m, "memlens_controller_nodejs_external_memory_bytes")).toFixed(0)} MiB`,
  );
  writeFileSync(
    join(logDir, "controller-rss.csv"),
    `t_s,rss_mib\n${rss.map((r) => `${((r.t - rss[0]!.t) / 1000).toFixed(0)},${mib(r.bytes).toFixed(1)}`).join("\n")}\n`,
  );
}

let failed = false;
try {
  await main();
} catch (err) {
  failed = true;
  log(`FAILED: ${(err as Error).stack ?? String(err)}`);
} finally {
  await stopController();
  agents?.kill("SIGTERM");
  await Promise.all([pods.stop(), inspections.stop(), events.stop()]);
}

const widths = [0, 0, 0];
const cells = rows.map((r) => [
  r.figure,
  r.target,
  r.measured,
  r.pass === undefined ? "" : r.pass ? "pass" : "FAIL",
]);
const header = ["figure", "target", "measured", ""];
for (const c of [header, ...cells])
  c.slice(0, 3).forEach((v, i) => (widths[i] = Math.max(widths[i] as number, v.length)));
console.log(
  `\nmemlens controller at scale — nodes and pods simulated by kwok ${process.env.KWOK_VERSION ?? ""} ` +
    `(no kubelet, no containers); etcd + kube-apiserver ${process.env.K8S_VERSION ?? ""} and the ` +
    `controller as local processes on this machine ` +
    `(${(await import("node:os")).cpus().length} cores)\n` +
    `${MIS} MemoryInspections x ${PODS_PER_MI} pods on ${NODES} nodes, spec.interval ${INTERVAL}, ${WORKERS} workers, controller V8 flags: ${NODE_FLAGS.join(" ") || "(Node's defaults)"}\n`,
);
for (const c of [header, ...cells])
  console.log(c.map((v, i) => (i < 3 ? v.padEnd(widths[i] as number) : v)).join("  "));
const missed = rows.some((r) => r.pass === false);
process.exit(failed || missed ? 1 : 0);
