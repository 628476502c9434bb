/**
 * The controller at scale (started by bench/scale/run.sh, which runs etcd, kube-apiserver and
 * kwok and sets KUBECONFIG): MIS MemoryInspections x PODS_PER_MI pods on NODES nodes, all
 * simulated by kwok. Runs the memlens controller as a local process and measures
 *   1. the first full pass: controller start -> every inspection has status for its generation;
 *   2. OOM kill -> Event latency: kwok writes OOMKilled into a pod's status (bench annotation,
 *      see oom-kill-stage.yaml), the controller's Event (events.k8s.io/v1, reason OOMKilled)
 *      appears or its series count rises; both seen by this process's watches;
 *   3. a load phase (LOAD_MINUTES) with kills injected continuously: controller RSS every 10 s
 *      (judged by memlens' own leak rule), no kill without its Event and finding, Events bounded
 *      (one series per inspection and pod).
 * Prints a table and exits 1 when a target is missed.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pino } from "pino";
import { analyzeContainer } from "../../src/analysis/analyze.js";
import { fitLeak } from "../../src/analysis/leak.js";
import { toSeries } from "../../src/analysis/history-series.js";
import { resolveThresholds } from "../../src/analysis/thresholds.js";
import type { MemorySample } from "../../src/cgroup/sample.js";
import { ApiError, KubeClient, loadClusterAccess } from "../../src/kube/client.js";
import { Informer, sleep } from "../../src/kube/informer.js";

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
const MI_LABEL = "bench.memlens.dev/inspection";
const OOM_ANNOTATION = "bench.memlens.dev/oom-kill";

const TARGET = { firstPassS: 20, p99S: 1, rssMiB: 256 };

const log = (msg: string) => console.log(`[bench-scale ${new Date().toISOString().slice(11, 19)}] ${msg}`);
const quiet = pino({ level: "warn" });
const client = new KubeClient(await loadClusterAccess());

const pad = (n: number, w: number) => String(n).padStart(w, "0");
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
}
interface BenchEvent {
  metadata: { name: string; namespace?: string; uid: string; resourceVersion?: string };
  reason?: string;
  related?: string;
  count: number;
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
      findings?: { rule: string; pod?: string; count?: number }[];
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

// --- the controller under test, and its RSS
const logDir = process.env.LOG_DIR ?? ".";
let controller: ChildProcess | undefined;
function startController(): ChildProcess {
  const out = createWriteStream(join(logDir, "controller.log"));
  const child = spawn(
    process.execPath,
    [
      "dist/src/cli/main.js",
      "controller",
      "--no-leader-elect",
      "--health-addr",
      process.env.HEALTH_ADDR ?? "127.0.0.1:0",
      "--agent-token-file",
      process.env.AGENT_TOKEN_FILE ?? "/dev/null",
      "--workers",
      String(WORKERS),
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
          name: `kwok-node-${pad(i, 3)}`,
          annotations: { "kwok.x-k8s.io/node": "fake" },
          labels: { type: "kwok", "kubernetes.io/hostname": `kwok-node-${pad(i, 3)}` },
        },
        spec: { taints: [{ key: "kwok.x-k8s.io/node", value: "fake", effect: "NoSchedule" }] },
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
  const podSpecs: [number, number][] = [];
  for (let i = 0; i < MIS; i++) for (let j = 0; j < PODS_PER_MI; j++) podSpecs.push([i, j]);
  await pool(podSpecs, 32, ([i, j]) =>
    create(`/api/v1/namespaces/${NS}/pods`, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: podName(i, j), labels: { [MI_LABEL]: miName(i), app: "bench" } },
      spec: {
        nodeName: `kwok-node-${pad((i * PODS_PER_MI + j) % NODES, 3)}`,
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
  controller = startController();
  const pid = controller.pid!;
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
  let m = await metrics();
  row(
    "agent calls in the first pass (no agent pod on kwok nodes)",
    "0",
    String(metricSum(m, "memlens_agent_request_duration_seconds_count")),
    metricSum(m, "memlens_agent_request_duration_seconds_count") === 0,
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
  for (const e of events.list()) byReason.set(e.reason ?? "", (byReason.get(e.reason ?? "") ?? 0) + 1);
  // one series per inspection, or per (inspection, workload, type) for recommendations: each
  // bare pod here is its own workload
  const bound = (reason: string) => (reason === "Recommendation" ? Math.max(MIS, killsPerPod.size) : MIS);
  const others = [...byReason].filter(([r]) => r !== "OOMKilled");
  row(
    "other Event objects in the namespace",
    `<= ${MIS} per reason (Recommendation: <= 1 per workload)`,
    others.map(([r, n]) => `${r} ${n}`).join(", ") || "none",
    others.every(([r, n]) => n <= bound(r)),
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
    "controller V8 heap used / total at the end",
    "",
    `${mib(metricSum(m, "memlens_controller_nodejs_heap_size_used_bytes")).toFixed(0)} / ${mib(metricSum(m, "memlens_controller_nodejs_heap_size_total_bytes")).toFixed(0)} MiB`,
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
    `${MIS} MemoryInspections x ${PODS_PER_MI} pods on ${NODES} nodes, spec.interval ${INTERVAL}, ${WORKERS} workers\n`,
);
for (const c of [header, ...cells])
  console.log(c.map((v, i) => (i < 3 ? v.padEnd(widths[i] as number) : v)).join("  "));
const missed = rows.some((r) => r.pass === false);
process.exit(failed || missed ? 1 : 0);
