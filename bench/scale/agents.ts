/**
 * The memlens agents of the kwok nodes, all in one process (forked by scale.ts): for each
 * memlens-agent pod that kwok runs on a node, the agent's own HTTPS API (createAgentServer:
 * TLS, bearer token checked by TokenReview with the agent's cache, GET /v1/containers answered
 * by containersResponse) listens on that pod's IP, a loopback address from the node's podCIDR
 * (127.x.y.0/24), on AGENT_PORT. Each node has what a real agent has: its pod watch
 * (spec.nodeName), a HistoryStore and its own TokenAuthorizer.
 *
 * What kwok cannot give is cgroups: each pod on a node gets the cgroups a cgroup v1/v2 node would
 * show (the pod, its sandbox, each container), and their histories are recorded kernel readings
 * (test/fixtures/cgroup-traces) replayed at the agent's period (one recorded reading per 5 s, the
 * recording looped) over the agent's retention (6 h), as a real agent would hold after 6 h. Pods
 * that play the same recording share one history (memory), as they share its numbers. The nodes
 * are cgroup v1, as this project's development host, whose recordings include quiet workloads:
 * a share PROBLEMS of the pods (default 0.1) plays the recordings of problems (leaks, OOM kills,
 * page cache, tmpfs), the others the quiet ones, in which the rules find nothing.
 *
 * kwok writes no containerID before the bench's first OOM kill; a container without one is named
 * as kwok's OOM-kill stage names it (`kwok://<uid>-<name>-<restartCount>`). Restarts do not make
 * new cgroups here: the pod-status rules see them.
 *
 * Messages (IPC): -> {ready: {nodes, pods}}; <- "stats" -> {stats: SimStats}.
 * Only loopback addresses: a pod IP outside 127.0.0.0/8 is refused.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import type { Server } from "node:https";
import type { TLSSocket } from "node:tls";
import { join } from "node:path";
import { pino } from "pino";
import {
  DEFAULT_ALLOWED_IDENTITY,
  isLoopbackHost,
  kubeTokenReview,
  TokenAuthorizer,
} from "../../src/agent/auth.js";
import { newKey, privateKeyPem, signServingCert } from "../../src/pki/certificate.js";
import { agentCommonName } from "../../src/pki/agent-certificate.js";
import { AgentCA } from "../../src/controller/agent-ca.js";
import { AgentMetrics } from "../../src/agent/metrics.js";
import { agentPod, PodIndex, type AgentPod } from "../../src/agent/pods.js";
import { OomKillFeed } from "../../src/agent/oom-kills.js";
import { DEFAULT_PERIOD_S } from "../../src/agent/sampler.js";
import { createAgentServer, listen } from "../../src/agent/server.js";
import { HistoryStore, type StoreOptions } from "../../src/agent/store.js";
import type { CgroupVersion } from "../../src/cgroup/files.js";
import { CgroupHistory } from "../../src/cgroup/history.js";
import { rowFromSample } from "../../src/cgroup/reading.js";
import type { DiscoveredCgroup } from "../../src/cgroup/scan.js";
import { parseTrace, traceToSamples } from "../../src/cgroup/trace.js";
import { KubeClient, loadClusterAccess } from "../../src/kube/client.js";
import { Informer } from "../../src/kube/informer.js";

const NAMESPACE = process.env.AGENT_NAMESPACE ?? "memlens-system";
const PORT = Number(process.env.AGENT_PORT);
if (!Number.isInteger(PORT) || PORT < 1) throw new Error("AGENT_PORT wants a port");
const RECORDINGS = "test/fixtures/cgroup-traces";
const OPTIONS: StoreOptions = { periodS: DEFAULT_PERIOD_S, retentionS: 6 * 3600 };

const log = pino({ level: "warn" });
const client = new KubeClient(await loadClusterAccess());

/** One recording, replayed at the agent's period into a history that pods share. */
class Replay {
  readonly history = new CgroupHistory(OPTIONS);
  private k = 0;
  constructor(private readonly rows: Float64Array[]) {}
  next(t: number): void {
    this.history.append(t, this.rows[this.k++ % this.rows.length] as Float64Array);
  }
}

const nowS = () => Date.now() / 1000;
const VERSION: CgroupVersion = "v1";
const PROBLEMS = Number(process.env.PROBLEMS ?? 0.1);
/** looped, the rules find nothing in these */
const QUIET = /^local-(steady|warmup-plateau|sawtooth-flat|sawtooth-drift)\.jsonl$/;
const recordings = readdirSync(RECORDINGS)
  .filter((f) => f.endsWith(".jsonl"))
  .sort()
  .map((f) => ({ quiet: QUIET.test(f), trace: parseTrace(readFileSync(join(RECORDINGS, f), "utf8")) }))
  .filter((r) => r.trace.meta.cgroup_version === VERSION)
  .map(({ quiet, trace }) => {
    const samples = traceToSamples(trace);
    return { quiet, rows: samples.map((s, i) => rowFromSample(s, samples[i - 1])) };
  });
const quiet = recordings.filter((r) => r.quiet).map((r) => new Replay(r.rows));
const problems = recordings.filter((r) => !r.quiet).map((r) => new Replay(r.rows));
// a sandbox (pause) holds next to nothing: a recording's first reading, of the cgroup still empty
const sandbox = new Replay(recordings.map((r) => r.rows[0] as Float64Array));
const all = [...quiet, ...problems, sandbox];
for (let t = nowS() - OPTIONS.retentionS; t < nowS(); t += OPTIONS.periodS) for (const r of all) r.next(t);
setInterval(() => {
  const t = nowS();
  for (const r of all) r.next(t);
}, OPTIONS.periodS * 1000).unref();

/** kwok's statuses carry no containerID until the OOM-kill stage writes one: name it as that stage does */
function withContainerIDs(raw: Record<string, unknown>): Record<string, unknown> {
  const uid = (raw.metadata as { uid?: string } | undefined)?.uid ?? "";
  const status = raw.status as { containerStatuses?: Record<string, unknown>[] } | undefined;
  for (const s of status?.containerStatuses ?? [])
    s.containerID ??= `kwok://${uid}-${String(s.name)}-${Number(s.restartCount ?? 0)}`;
  return raw;
}

/** answers, by HTTP status; cgroups listed in the 200s; TokenReviews sent; cgroups tracked */
const stats = {
  requests: 0,
  byStatus: {} as Record<string, number>,
  served: 0,
  reviews: 0,
  cgroups: 0,
  bytes: 0,
};
export type SimStats = typeof stats & { nodes: number; pods: number; cpuS: number; rssMiB: number };
const sockets = new Set<TLSSocket>();
let closedBytes = 0;

/**
 * What the memlens signer would issue the node's agent, signed with the agent CA in the bench's
 * memlens-system (made here if the controller has not yet): the CSR round trip is not simulated.
 */
const agentCA = new AgentCA(client, "memlens-system", log);
async function servingCertFor(node: string, ip: string): Promise<{ cert: string; key: string }> {
  const { publicKey, privateKey } = newKey();
  const cert = signServingCert(
    await agentCA.get(),
    { commonName: agentCommonName(node), publicKey, ips: [ip] },
    new Date(Date.now() + 86_400_000),
  );
  return { cert, key: privateKeyPem(privateKey) };
}
const review = kubeTokenReview(client);

interface SimNode {
  informer: Informer<AgentPod>;
  server: Server;
  tracked: Set<string>;
}
const nodes = new Map<string, SimNode>();

async function startNode(node: string, ip: string): Promise<void> {
  const version = VERSION;
  if (!isLoopbackHost(ip)) throw new Error(`agent pod IP ${ip} of node ${node} is not a loopback address`);
  const store = new HistoryStore(OPTIONS);
  const pods = new PodIndex();
  const tracked = new Set<string>();
  /** cgroups per pod UID: what an answer about that pod lists */
  const cgroups = new Map<string, number>();
  const informer = new Informer<AgentPod>(client, {
    path: "/api/v1/pods",
    fieldSelector: `spec.nodeName=${node}`,
    transform: (raw) => agentPod(withContainerIDs(raw)),
    log,
  });
  informer.on((event, pod) => {
    const uid = pod.metadata.uid;
    if (event === "delete") {
      for (const e of store.all()) if (e.cgroup.podUID === uid) store.markGone(e.cgroup.path, nowS());
      return pods.delete(pod);
    }
    pods.set(pod);
    if (tracked.has(uid) || Object.keys(pod.ids).length === 0) return;
    tracked.add(uid);
    const hash = createHash("sha256").update(uid).digest();
    const played = hash.readUInt32BE(0) / 2 ** 32 < PROBLEMS ? problems : quiet;
    const replay = played[hash.readUInt32BE(4) % played.length];
    const podDir = `kubepods/burstable/pod${uid}`;
    const cgroup = (relPath: string, kind: "pod" | "container", containerID?: string): DiscoveredCgroup => ({
      kind,
      podUID: uid,
      qos: "burstable",
      ...(containerID ? { containerID } : {}),
      path: `/sys/fs/cgroup/memory/${relPath}`,
      relPath,
      version,
    });
    const add = (c: DiscoveredCgroup, r: Replay) => {
      store.track(c).history = r.history;
      cgroups.set(uid, (cgroups.get(uid) ?? 0) + 1);
      stats.cgroups++;
    };
    add(cgroup(podDir, "pod"), replay as Replay);
    add(cgroup(`${podDir}/${uid}-sandbox`, "container", `${uid}-sandbox`), sandbox);
    for (const id of Object.keys(pod.ids)) add(cgroup(`${podDir}/${id}`, "container", id), replay as Replay);
  });
  const auth = new TokenAuthorizer(async (token) => {
    stats.reviews++;
    return review(token);
  }, DEFAULT_ALLOWED_IDENTITY);
  const server = createAgentServer({
    tls: await servingCertFor(node, ip),
    store,
    sampler: { ready: true, version },
    pods,
    node,
    periodS: OPTIONS.periodS,
    // kwok's kills exist only in pod status: the feed stays empty, yet every node's stream is held open
    oomKills: new OomKillFeed(() => Promise.resolve("main")),
    auth,
    metrics: new AgentMetrics(store, (e) => ({
      namespace: "",
      pod: e.cgroup.podUID,
      container: e.cgroup.containerID ?? "",
      kind: e.cgroup.kind,
    })),
    log,
  });
  server.on("secureConnection", (s: TLSSocket) => {
    sockets.add(s);
    s.once("close", () => {
      sockets.delete(s);
      closedBytes += s.bytesWritten;
    });
  });
  server.on("request", (req, res) => {
    const uid = new URL(req.url ?? "/", "https://agent").searchParams.get("podUID") ?? "";
    res.once("finish", () => {
      stats.requests++;
      if (res.statusCode === 200) stats.served += cgroups.get(uid) ?? 0;
      stats.byStatus[res.statusCode] = (stats.byStatus[res.statusCode] ?? 0) + 1;
    });
  });
  nodes.set(node, { informer, server, tracked });
  informer.start();
  await listen(server, ip, PORT);
  await informer.waitForSync();
}

function snapshot(): SimStats {
  let open = 0;
  for (const s of sockets) open += s.bytesWritten;
  const cpu = process.cpuUsage();
  let pods = 0;
  for (const n of nodes.values()) pods += n.tracked.size;
  return {
    ...stats,
    bytes: closedBytes + open,
    nodes: nodes.size,
    pods,
    cpuS: (cpu.user + cpu.system) / 1e6,
    rssMiB: process.memoryUsage().rss / 2 ** 20,
  };
}

// the agent pods scale.ts created, one per node: a server for each once kwok gave it an IP
const agents = new Informer<{ metadata: AgentPod["metadata"]; node?: string; ip?: string; running: boolean }>(
  client,
  {
    path: `/api/v1/namespaces/${NAMESPACE}/pods`,
    labelSelector: "app.kubernetes.io/name=memlens-agent",
    transform: (raw) => {
      const spec = raw.spec as { nodeName?: string };
      const status = (raw.status ?? {}) as { podIP?: string; phase?: string };
      return {
        metadata: agentPod(raw).metadata,
        node: spec.nodeName,
        ip: status.podIP,
        running: status.phase === "Running",
      };
    },
    log,
  },
);
const starting: Promise<void>[] = [];
agents.on((event, p) => {
  if (event === "delete" || !p.running || !p.ip || !p.node || nodes.has(p.node)) return;
  starting.push(startNode(p.node, p.ip));
});

process.on("message", (m) => {
  if (m === "stats") process.send?.({ stats: snapshot() });
});
process.on("disconnect", () => process.exit(0));

const want = Number(process.env.NODES ?? 0);
agents.start();
await agents.waitForSync();
while (nodes.size < want) await new Promise((r) => setTimeout(r, 100));
await Promise.all(starting);
process.send?.({ ready: { nodes: nodes.size, pods: snapshot().pods } });
