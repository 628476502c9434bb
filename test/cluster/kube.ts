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

let counter = 0;
/** A fresh namespace per test file, so files can run side by side without seeing each other. */
export async function testNamespace(prefix: string): Promise<string> {
  const ns = `${prefix}-${process.pid}-${++counter}`;
  await kubectl(["create", "namespace", ns]);
  return ns;
}

export interface MI {
  metadata: { generation: number; annotations?: Record<string, string> };
  status?: {
    oomKills?: number;
    summary?: string;
    conditions?: { type: string; status: string; reason: string; message: string }[];
    findings?: { rule: string; pod: string; container?: string; count: number; message: string }[];
    recommendations?: { type: string; patch: string; suggested: { limits?: { memory?: string } } }[];
  };
}

export const condition = (mi: MI | undefined, type: string) =>
  mi?.status?.conditions?.find((c) => c.type === type);

/** A one-container Deployment for the local cluster (hostNetwork: it has no pod network). */
export function deploymentManifest(
  name: string,
  container: Record<string, unknown>,
  volumes: unknown[] = [],
) {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          hostNetwork: true,
          terminationGracePeriodSeconds: 1,
          containers: [{ name: "app", imagePullPolicy: "Never", ...container }],
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
