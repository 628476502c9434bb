import { RULE } from "../api/names.js";
import type { Logger } from "pino";
import type { EffectiveSpec } from "../api/defaults.js";
import type { Finding, MemoryInspectionStatus } from "../api/memoryinspection.js";
import { errMessage } from "../kube/informer.js";
import type { Pod } from "../kube/pod.js";
import {
  decodeProfile,
  fetchHeapProfile,
  ProfileFetchError,
  ProfileFormatError,
  type Profile,
} from "../profiling/index.js";
import { heapMessage, heapSummary } from "../profiling/summary.js";
import type { ControllerMetrics } from "./metrics.js";

/** Findings worth the question "which code?". */
const PROFILED_RULES = new Set<string>([RULE.MemoryLeak, RULE.OOMKilled]);
const MAX_PODS = 3;

export interface ProfileCollectorOptions {
  /** the controller's metrics: failures count in memlens_profile_errors_total */
  metrics?: Pick<ControllerMetrics, "profileErrors">;
  /** per fetch: connect, headers and body (default 10 s) */
  timeoutMs?: number;
  /** the largest profile accepted (default 64 MiB) */
  maxBytes?: number;
}

/**
 * Heap profiles for the findings that ask "which code?": fetched from the target's own pods
 * only (their pod IP, the spec's port and path), bounded in time and size. The first profile of
 * a pod is kept as its baseline, so later passes also say what grew since. A failed fetch is
 * noted in the finding, never an error of the inspection.
 */
export class ProfileCollector {
  private readonly baselines = new Map<string, Profile>();

  constructor(
    private readonly log: Logger,
    private readonly opts: ProfileCollectorOptions = {},
  ) {}

  async enrich(status: MemoryInspectionStatus, pods: Pod[], spec: EffectiveSpec, key: string): Promise<void> {
    const p = spec.profiling;
    if (!p.enabled || p.port === undefined) return;
    const wanted = (status.findings ?? []).filter((f) => !f.resolved && PROFILED_RULES.has(f.rule));
    const podNames = [...new Set(wanted.map((f) => f.pod))].slice(0, MAX_PODS);
    for (const name of podNames) {
      const pod = pods.find((x) => x.metadata.name === name);
      const findings = wanted.filter((f) => f.pod === name);
      if (!pod?.status.podIP || pod.status.phase !== "Running") continue;
      const url = `${p.scheme}://${pod.status.podIP}:${p.port}${p.path}`;
      try {
        const current = decodeProfile(
          await fetchHeapProfile(url, {
            timeoutMs: this.opts.timeoutMs ?? 10_000,
            maxBytes: this.opts.maxBytes ?? 64 << 20,
          }),
        );
        const base = this.baselines.get(pod.metadata.uid);
        if (!base) this.baselines.set(pod.metadata.uid, current);
        const summary = heapSummary(current, base, {
          topN: p.topN,
          ...(p.sampleType ? { sampleType: p.sampleType } : {}),
        });
        const sentence = heapMessage(summary);
        for (const f of findings) annotate(f, sentence, summary);
      } catch (err) {
        const reason =
          err instanceof ProfileFetchError ? "fetch" : err instanceof ProfileFormatError ? "format" : "other";
        this.opts.metrics?.profileErrors.inc({ reason });
        this.log.warn({ key, pod: name, url, reason, err: errMessage(err) }, "heap profile not fetched");
        for (const f of findings) f.evidence.profileError = errMessage(err).slice(0, 300);
      }
    }
    // baselines of pods that are gone go too
    const live = new Set(pods.map((x) => x.metadata.uid));
    for (const uid of this.baselines.keys()) if (!live.has(uid)) this.baselines.delete(uid);
  }
}

function annotate(f: Finding, sentence: string, summary: ReturnType<typeof heapSummary>): void {
  const base = f.message.replace(/ Heap profile: .*$/, "");
  f.message = `${base} Heap profile: ${sentence}`;
  f.evidence.topAllocators = summary.top
    .map((t) => `${t.function} ${Math.round(t.bytes / 1024)} KiB (${t.percent.toFixed(1)}%)`)
    .join("; ");
  if (summary.grown?.length) {
    f.evidence.grownSinceBaseline = summary.grown
      .map((g) => `${g.function} +${Math.round(g.bytes / 1024)} KiB`)
      .join("; ");
  }
  f.evidence.profileSampleType = summary.sampleType;
}
