import { RULE } from "../api/names.js";
import type { Logger } from "pino";
import type { EffectiveSpec } from "../api/defaults.js";
import type { Finding } from "../api/memoryinspection.js";
import { errMessage } from "../kube/informer.js";
import type { Pod } from "../kube/pod.js";
import {
  decodeProfile,
  fetchHeapProfile,
  ProfileFetchError,
  ProfileFormatError,
  type Profile,
} from "../profiling/index.js";
import { heapMessage, heapSummary, type HeapSummary } from "../profiling/summary.js";
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

/** What the pass learned from one pod's heap profile: its summary, or why there is none. */
export type HeapProfileReport = { summary: HeapSummary; sentence: string } | { error: string };

/** The pods whose findings ask "which code?" (at most MAX_PODS), from an inspection's findings. */
export function podsToProfile(findings: readonly Finding[], spec: EffectiveSpec): string[] {
  if (!spec.profiling.enabled || spec.profiling.port === undefined) return [];
  const wanted = findings.filter((f) => !f.resolved && PROFILED_RULES.has(f.rule));
  return [...new Set(wanted.map((f) => f.pod))].slice(0, MAX_PODS);
}

/**
 * The findings with what the heap profiles said: "which code" in the message of each finding
 * that asks, the numbers in its evidence, or why no profile came. Pure: new objects, the given
 * ones untouched.
 */
export function withProfiles(
  findings: readonly Finding[],
  reports: ReadonlyMap<string, HeapProfileReport>,
): Finding[] {
  return findings.map((f) => {
    const report = reports.get(f.pod);
    if (!report || f.resolved || !PROFILED_RULES.has(f.rule)) return f;
    if ("error" in report) return { ...f, evidence: { ...f.evidence, profileError: report.error } };
    const { summary, sentence } = report;
    const evidence: Finding["evidence"] = {
      ...f.evidence,
      topAllocators: summary.top
        .map((t) => `${t.function} ${Math.round(t.bytes / 1024)} KiB (${t.percent.toFixed(1)}%)`)
        .join("; "),
      profileSampleType: summary.sampleType,
    };
    if (summary.grown?.length)
      evidence.grownSinceBaseline = summary.grown
        .map((g) => `${g.function} +${Math.round(g.bytes / 1024)} KiB`)
        .join("; ");
    // a finding carried over from the last pass has last pass's sentence
    return {
      ...f,
      message: `${f.message.replace(/ Heap profile: .*$/, "")} Heap profile: ${sentence}`,
      evidence,
    };
  });
}

/**
 * Heap profiles of the target's pods whose findings ask "which code?": fetched from those pods
 * only (their pod IP, the spec's port and path), bounded in time and size. The first profile of
 * a pod is kept as its baseline, so later passes also say what grew since. A failed fetch is a
 * report of its own, never an error of the inspection.
 */
export class ProfileCollector {
  private readonly baselines = new Map<string, Profile>();

  constructor(
    private readonly log: Logger,
    private readonly opts: ProfileCollectorOptions = {},
  ) {}

  async collect(
    podNames: readonly string[],
    pods: Pod[],
    spec: EffectiveSpec,
    key: string,
  ): Promise<Map<string, HeapProfileReport>> {
    const reports = new Map<string, HeapProfileReport>();
    const p = spec.profiling;
    for (const name of podNames) {
      const pod = pods.find((x) => x.metadata.name === name);
      if (!pod?.status.podIP || pod.status.phase !== "Running" || p.port === undefined) continue;
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
        reports.set(name, { summary, sentence: heapMessage(summary) });
      } catch (err) {
        const reason =
          err instanceof ProfileFetchError ? "fetch" : err instanceof ProfileFormatError ? "format" : "other";
        this.opts.metrics?.profileErrors.inc({ reason });
        this.log.warn({ key, pod: name, url, reason, err: errMessage(err) }, "heap profile not fetched");
        reports.set(name, { error: errMessage(err).slice(0, 300) });
      }
    }
    // baselines of pods that are gone go too
    const live = new Set(pods.map((x) => x.metadata.uid));
    for (const uid of this.baselines.keys()) if (!live.has(uid)) this.baselines.delete(uid);
    return reports;
  }
}
