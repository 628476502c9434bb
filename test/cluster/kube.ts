import { execFile } from "node:child_process";
import { request } from "node:https";
import { promisify } from "node:util";
import { deployMemlens as deploy, getJson, kubectl } from "../../src/demo/kubectl.js";

export { getJson, kubectl, KubectlError } from "../../src/demo/kubectl.js";

/** Polls until `check` returns a value (not undefined), or fails with what it last saw. */
export async function eventually<T>(
  what: string,
  timeoutMs: number,
  check: () => Promise<T | undefined>,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until)
      throw new Error(
        `${what}: not within ${timeoutMs / 1000}s${last ? ` (last error: ${last instanceof Error ? last.message : JSON.stringify(last)})` : ""}`,
      );
    await new Promise((r) => setTimeout(r, 1000));
  }
}

let deployed: Promise<void> | undefined;

/** memlens deployed once per run, shared by the cluster test files. */
export function deployMemlens(): Promise<void> {
  deployed ??= deploy();
  return deployed;
}

export interface Lease {
  spec: { holderIdentity?: string; leaseTransitions?: number };
}
export const lease = () => getJson<Lease>(["-n", "memlens-system", "get", "lease", "memlens-controller"]);

/**
 * Deletes the leader controller's pod at once (no grace: it cannot hand the Lease over) and
 * waits for the standby to take the Lease; resolves to the new leader's Lease.
 */
export async function killLeader(): Promise<{ before: Lease; after: Lease }> {
  const before = await lease();
  const leader = before.spec.holderIdentity ?? "";
  await deleteMemlensPod(leader);
  const after = await eventually("a new leader", 60_000, async () => {
    const l = await lease();
    return l.spec.holderIdentity && l.spec.holderIdentity !== leader ? l : undefined;
  });
  return { before, after };
}

/** Deletes a memlens-system pod at once, as a node losing it would (returns before it is gone). */
export const deleteMemlensPod = (name: string) =>
  kubectl(["-n", "memlens-system", "delete", "pod", name, "--grace-period=0", "--force", "--wait=false"]);

/** The memlens agent pod on a node. */
export async function agentPodOn(node: string): Promise<{ name: string; uid: string }> {
  const pods = await getJson<{ items: { metadata: { name: string; uid: string } }[] }>([
    "-n",
    "memlens-system",
    "get",
    "pods",
    "-l",
    "app.kubernetes.io/name=memlens-agent",
    "--field-selector",
    `spec.nodeName=${node}`,
  ]);
  const pod = pods.items[0]?.metadata;
  if (!pod) throw new Error(`no memlens agent pod on ${node}`);
  return pod;
}

/**
 * A pod that the kernel OOM-kills once (restartPolicy Never): stress at 200 MiB/s toward 256 MiB
 * under a 32Mi limit, pinned to a node.
 */
export const oomOncePod = (name: string, node: string, labels: Record<string, string>) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, labels },
  spec: {
    nodeName: node,
    hostNetwork: true,
    restartPolicy: "Never",
    terminationGracePeriodSeconds: 1,
    containers: [
      {
        name: "hog",
        image: "localhost/memlens/stress:dev",
        imagePullPolicy: "Never",
        args: ["--rate", "200", "--max", "256"],
        resources: { requests: { memory: "32Mi" }, limits: { memory: "32Mi" } },
      },
    ],
  },
});

/** The controller's pods in memlens-system. */
export const controllerPods = () =>
  getJson<{ items: { metadata: { name: string } }[] }>([
    "-n",
    "memlens-system",
    "get",
    "pods",
    "-l",
    "app.kubernetes.io/name=memlens-controller",
  ]);

let counter = 0;
/** A fresh namespace per test file, so files can run side by side without seeing each other. */
export async function testNamespace(prefix: string): Promise<string> {
  const ns = `${prefix}-${process.pid}-${++counter}`;
  await kubectl(["create", "namespace", ns]);
  return ns;
}

export interface MI {
  metadata: { name: string; generation: number; annotations?: Record<string, string> };
  status?: {
    lastInspectionTime?: string;
    oomKills?: number;
    summary?: string;
    conditions?: { type: string; status: string; reason: string; message: string }[];
    findings?: {
      rule: string;
      pod: string;
      container?: string;
      count: number;
      message: string;
      evidence: Record<string, unknown>;
      firstSeen: string;
      resolved?: boolean;
      unverified?: string;
    }[];
    recommendations?: { type: string; patch: string; suggested: { limits?: { memory?: string } } }[];
  };
}

export const condition = (mi: MI | undefined, type: string) =>
  mi?.status?.conditions?.find((c) => c.type === type);

/** A command as root in the cgroup v2 node's VM (cluster/vm.sh run): its output. */
export const inGuest = async (command: string) =>
  (await promisify(execFile)("cluster/vm.sh", ["run", command], { maxBuffer: 64 << 20 })).stdout;

/** The local cluster's nodes: this host (cgroup v1) and the VM (cgroup v2, MemoryQoS). */
export const NODE_V1 = "memlens-node";
export const NODE_V2 = "memlens-node-v2";

/**
 * A Deployment (one container "app", or the containers given) for the local cluster (hostNetwork: it has no pod network), pinned
 * to a node: the cluster's two kernels behave differently, and a test means one of them.
 */
export function deploymentManifest(
  name: string,
  container: Record<string, unknown> | Record<string, unknown>[],
  volumes: unknown[] = [],
  node = NODE_V1,
) {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name },
    spec: {
      replicas: 1,
      // on the host network two pods of it would share its ports: the old one goes first
      strategy: { type: "Recreate" },
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          hostNetwork: true,
          nodeSelector: { "kubernetes.io/hostname": node },
          terminationGracePeriodSeconds: 1,
          containers: (Array.isArray(container) ? container : [container]).map((c) => ({
            name: "app",
            imagePullPolicy: "Never",
            ...c,
          })),
          volumes,
        },
      },
    },
  };
}

/** A MemoryInspection of that Deployment with short windows, set through the CR's own fields. */
export function inspectionManifest(name: string, minObservation: string) {
  return {
    apiVersion: "memlens.dev/v1alpha1",
    kind: "MemoryInspection",
    metadata: { name },
    spec: {
      targetRef: { apiVersion: "apps/v1", kind: "Deployment", name },
      interval: "15s",
      window: "10m",
      rules: { leak: { minObservation } },
    },
  };
}

/** events.k8s.io/v1 Events of a namespace, the fields the tests read. */
export interface EventList {
  items: {
    reason: string;
    type: string;
    eventTime?: string;
    note: string;
    regarding: { name: string };
    related?: { name: string };
    series?: { count: number };
  }[];
}
export const events = (ns: string) => getJson<EventList>(["-n", ns, "get", "events.events.k8s.io"]);

interface PodList {
  items: {
    status: {
      containerStatuses?: {
        containerID?: string;
        restartCount: number;
        state?: { terminated?: unknown; waiting?: unknown };
        lastState?: { terminated?: { containerID?: string } };
      }[];
    };
  }[];
}

/**
 * Terminations the kubelet reports for the container of the pods app=APP: its restarts, plus
 * the current container when it is dead — terminated, or waiting in CrashLoopBackOff with itself
 * as lastState (restartCount rises only when the next one starts: see the kubelet's updates in
 * test/fixtures/pods/oom-watch.jsonl).
 */
export async function terminations(ns: string, app = "hog"): Promise<number> {
  const pods = await getJson<PodList>(["-n", ns, "get", "pods", "-l", `app=${app}`]);
  return pods.items.reduce((sum, p) => {
    const cs = p.status.containerStatuses?.[0];
    if (!cs) return sum;
    const backingOff =
      cs.state?.waiting !== undefined &&
      cs.containerID !== undefined &&
      cs.lastState?.terminated?.containerID === cs.containerID;
    return sum + cs.restartCount + (cs.state?.terminated !== undefined || backingOff ? 1 : 0);
  }, 0);
}

/** What the controller shows the agents: its ServiceAccount's token for the agent audience. */
export async function controllerAgentToken(): Promise<string> {
  return (
    await kubectl([
      "-n",
      "memlens-system",
      "create",
      "token",
      "memlens-controller",
      "--audience",
      "memlens-agent",
    ])
  ).trim();
}

/** A call to the memlens agent's API on a node's address (the test does not check its certificate). */
export function agentGet(
  path: string,
  token?: string,
  host = "127.0.0.1",
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host,
        port: 9137,
        path,
        rejectUnauthorized: false,
        headers: token ? { Authorization: `Bearer ${token}` } : {},
      },
      (res) => {
        let body = "";
        res.on("data", (d: Buffer) => (body += d.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", reject);
    req.setTimeout(10_000, () => req.destroy(new Error("timeout")));
    req.end();
  });
}

/** The agent's /v1/containers answer, the fields the tests read. */
export interface AgentContainers {
  cgroupVersion?: string;
  containers: {
    podUID: string;
    containerID: string;
    cgroup?: string;
    kind: string;
    gone: boolean;
    history: Record<string, (number | null)[]>;
  }[];
}
