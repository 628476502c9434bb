import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { analyzeContainer } from "../analysis/analyze.js";
import { formatAnalysisText } from "../analysis/report.js";
import { parseTrace, traceToSamples } from "../cgroup/trace.js";
import { inspectionProfiles } from "../cli/inspection-profiles.js";
import { decodeProfile, flameGraphSvg } from "../profiling/index.js";
import { heapMessage, heapSummary } from "../profiling/summary.js";
import { packagePath } from "../package-root.js";
import { deployMemlens, getJson, kubectl } from "./kubectl.js";

export const DEMO_NAMESPACE = "memlens-demo";
/** Story 1, a leaking service OOM-killed again and again, and story 3, a healthy one. */
export const DEMO_MANIFESTS = ["catalog.yaml", "healthy.yaml"].map((f) => packagePath("examples", f));
/** Story 2: the same leak in a Burstable pod on the cgroup v2 node, stuck at memory.high. */
export const THROTTLE_MANIFEST = packagePath("examples", "catalog-memoryqos.yaml");
export const THROTTLE_STORY = "catalog-qos";
/** What labels the local cluster's cgroup v2 node with MemoryQoS (cluster/vm). */
export const CGROUP_V2_NODE_LABEL = "memlens.dev/cgroup-version=v2";
const RECORDING = packagePath("test/fixtures/cgroup-traces/v2-memory-high-then-oom.jsonl");

export interface DemoInspection {
  metadata: { name: string };
  status?: {
    summary?: string;
    conditions?: { type: string; status: string; reason: string; message: string }[];
    findings?: {
      rule: string;
      pod: string;
      container?: string;
      message: string;
      resolved?: boolean;
      evidence: Record<string, unknown>;
    }[];
    recommendations?: {
      type: string;
      container: string;
      workload: string;
      reason: string;
      patch: string;
      command?: string;
    }[];
  };
}

interface NodeList {
  items: { metadata: { name: string }; status: { conditions?: { type: string; status: string }[] } }[];
}

/** The name of a Ready cgroup v2 node with MemoryQoS, or undefined when the cluster has none. */
export async function cgroupV2Node(): Promise<string | undefined> {
  const nodes = await getJson<NodeList>(["get", "nodes", "-l", CGROUP_V2_NODE_LABEL]);
  return nodes.items.find((n) => n.status.conditions?.some((c) => c.type === "Ready" && c.status === "True"))
    ?.metadata.name;
}

/**
 * Deploys memlens (kubectl apply -k config/local) and the demo workloads with their
 * MemoryInspections; story 2 live when `throttleLive` (a cgroup v2 node is there).
 */
export async function startDemo(ns = DEMO_NAMESPACE, throttleLive = false): Promise<void> {
  await deployMemlens();
  // a namespace left terminating by the last run takes new objects for a moment, then deletes them
  const phase = await kubectl(["get", "namespace", ns, "-o", "jsonpath={.status.phase}"]).catch(() => "");
  if (phase === "Terminating") await kubectl(["wait", "--for=delete", `namespace/${ns}`, "--timeout=300s"]);
  await kubectl(["create", "namespace", ns]).catch(() => undefined);
  for (const m of [...DEMO_MANIFESTS, ...(throttleLive ? [THROTTLE_MANIFEST] : [])])
    await kubectl(["-n", ns, "apply", "-f", m]);
}

/**
 * Applies a recommendation's patch to the workload it names, as a GitOps user would change the
 * manifest (a strategic merge of the same YAML), and waits for the rollout.
 */
export async function applyRecommendation(
  ns: string,
  rec: { workload: string; patch: string },
): Promise<void> {
  const [kind = "", name = ""] = rec.workload.split("/");
  const workload = `${kind.toLowerCase()}/${name}`;
  await kubectl(["-n", ns, "patch", workload, "--type", "strategic", "--patch", rec.patch]);
  await kubectl(["-n", ns, "rollout", "status", workload, "--timeout=300s"]);
}

interface PodList {
  items: {
    metadata: { name: string; deletionTimestamp?: string };
    status: { podIP?: string; qosClass?: string; phase?: string };
  }[];
}

/** The running pods of an app label: name, IP and QoS class. */
export async function appPods(ns: string, app: string): Promise<PodList["items"]> {
  const pods = await getJson<PodList>(["-n", ns, "get", "pods", "-l", `app=${app}`]);
  return pods.items.filter((p) => !p.metadata.deletionTimestamp && p.status.phase === "Running");
}

export async function stopDemo(ns = DEMO_NAMESPACE): Promise<void> {
  await kubectl(["delete", "namespace", ns, "--wait=true", "--timeout=60s"]).catch(() => undefined);
}

export function inspections(ns = DEMO_NAMESPACE): Promise<{ items: DemoInspection[] }> {
  return getJson(["-n", ns, "get", "memoryinspections"]);
}

/** Story 2 from the real cgroup v2 recording, through the same rules as `memlens analyze`. */
export function throttlingFromRecording(): string {
  if (!existsSync(RECORDING)) return `(the recording ${RECORDING} is not here)`;
  const samples = traceToSamples(parseTrace(readFileSync(RECORDING, "utf8")));
  const analysis = analyzeContainer({
    samples,
    requests: 100 * 2 ** 20,
    limits: 200 * 2 ** 20,
    thresholds: { leak: { minObservationMs: 10_000 } },
  });
  return formatAnalysisText(analysis);
}

/**
 * The catalog's heap as memlens keeps it in the cluster (`memlens profile flame mi/catalog`):
 * what grew since the baseline, and that growth as a flame graph written to `dir`.
 */
export async function catalogHeap(ns: string, dir: string): Promise<{ sentence: string; svg: string }> {
  const kept = await inspectionProfiles("catalog", { namespace: ns });
  if (!kept.base) throw new Error("no profile has been compared with the baseline yet");
  const [profile, base] = [decodeProfile(kept.current), decodeProfile(kept.base)];
  mkdirSync(dir, { recursive: true });
  const svg = join(dir, "catalog-heap.svg");
  writeFileSync(
    svg,
    flameGraphSvg(profile, { base, title: "catalog: in-use heap, growth since the baseline in red" }),
  );
  const at = { at: new Date(kept.baselineAt), now: new Date() };
  return { sentence: heapMessage(heapSummary(profile, base, { topN: 5 }), at), svg };
}
