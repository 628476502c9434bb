import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { analyzeContainer } from "../analysis/analyze.js";
import { formatAnalysisText } from "../analysis/report.js";
import { parseTrace, traceToSamples } from "../cgroup/trace.js";
import { decodeProfile, fetchHeapProfile, flameGraphSvg } from "../profiling/index.js";
import { heapMessage, heapSummary } from "../profiling/summary.js";
import { packagePath } from "../package-root.js";
import { deployMemlens, getJson, kubectl } from "./kubectl.js";

export const DEMO_NAMESPACE = "memlens-demo";
/** The three stories: a leaking service OOM-killed again and again, and a healthy one. */
export const DEMO_MANIFESTS = ["catalog.yaml", "healthy.yaml"].map((f) => packagePath("examples", f));
const RECORDING = packagePath("test/fixtures/cgroup-traces/v2-memory-high-then-oom.jsonl");
const CATALOG_PROFILE_URL = "http://127.0.0.1:18080/debug/pprof/heap";

export interface DemoInspection {
  metadata: { name: string };
  status?: {
    summary?: string;
    findings?: {
      rule: string;
      pod: string;
      container?: string;
      message: string;
      resolved?: boolean;
      evidence: Record<string, unknown>;
    }[];
    recommendations?: { type: string; container: string; workload: string; reason: string; patch: string }[];
  };
}

/** Deploys memlens (kubectl apply -k config/local) and the demo workloads with their MemoryInspections. */
export async function startDemo(ns = DEMO_NAMESPACE): Promise<void> {
  await deployMemlens();
  await kubectl(["create", "namespace", ns]).catch(() => undefined);
  for (const m of DEMO_MANIFESTS) await kubectl(["-n", ns, "apply", "-f", m]);
}

export async function stopDemo(ns = DEMO_NAMESPACE): Promise<void> {
  await kubectl(["delete", "namespace", ns, "--wait=true", "--timeout=60s"]).catch(() => undefined);
}

export function inspections(ns = DEMO_NAMESPACE): Promise<{ items: DemoInspection[] }> {
  return getJson(["-n", ns, "get", "memoryinspections"]);
}

/** True when this host can show memory.high throttling live: cgroup v2 with the memory controller. */
export function hostHasCgroupV2Memory(): boolean {
  try {
    return readFileSync("/sys/fs/cgroup/cgroup.controllers", "utf8").split(/\s+/).includes("memory");
  } catch {
    return false;
  }
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

/** The catalog's heap right now: top allocators, and a flame graph written to `dir`. */
export async function catalogHeap(dir: string): Promise<{ sentence: string; svg: string }> {
  const profile = decodeProfile(
    await fetchHeapProfile(CATALOG_PROFILE_URL, { timeoutMs: 5000, maxBytes: 64 << 20 }),
  );
  mkdirSync(dir, { recursive: true });
  const svg = join(dir, "catalog-heap.svg");
  writeFileSync(svg, flameGraphSvg(profile, { title: "catalog: in-use heap" }));
  return { sentence: heapMessage(heapSummary(profile, undefined, { topN: 5 })), svg };
}
