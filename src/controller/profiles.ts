import type { Logger } from "pino";
import { formatDuration } from "../api/duration.js";
import type { EffectiveSpec } from "../api/defaults.js";
import { MAX_KEPT_PROFILE_BYTES } from "../api/heapprofile.js";
import type { Finding, MemoryInspection } from "../api/memoryinspection.js";
import { errMessage } from "../kube/informer.js";
import {
  decodeProfile,
  fetchHeapProfile,
  ProfileFetchError,
  ProfileFormatError,
  type Profile,
} from "../profiling/index.js";
import { amount, heapMessage, heapSummary, type HeapSummary } from "../profiling/summary.js";
import type { HeapProfileStore } from "./heap-profile-store.js";
import type { ControllerMetrics } from "./metrics.js";
import { PROFILED_RULES, type KeptState, type ProfileTask } from "./profile-plan.js";

export interface ProfileCollectorOptions {
  /** the controller's metrics: failures count in memlens_profile_errors_total */
  metrics?: Pick<ControllerMetrics, "profileErrors">;
  /** per fetch: connect, headers and body (default 10 s) */
  timeoutMs?: number;
  /** the largest profile accepted (default 64 MiB) */
  maxBytes?: number;
}

/**
 * What the pass learned from one pod's heap profile: its summary (against the baseline taken at
 * `baselineAt`, when there is one), or why there is none. `note` says why there is no comparison.
 */
export type HeapProfileReport =
  { summary: HeapSummary; baselineAt?: string; note?: string } | { error: string; baselineAt?: string };

/**
 * The findings with what the heap profiles said: "which code" in the message of each finding
 * that asks, and what grew since the baseline and when that was; the numbers in its evidence,
 * or why no profile came. Pure: new objects, the given ones untouched.
 */
export function withProfiles<F extends Pick<Finding, "rule" | "pod" | "message" | "evidence">>(
  findings: readonly F[],
  reports: ReadonlyMap<string, HeapProfileReport>,
  now: Date,
): F[] {
  return findings.map((f) => {
    const report = reports.get(f.pod);
    if (!report || !PROFILED_RULES.has(f.rule)) return f;
    const baseline: Finding["evidence"] = report.baselineAt ? { baselineTakenAt: report.baselineAt } : {};
    if ("error" in report)
      return { ...f, evidence: { ...f.evidence, ...baseline, profileError: report.error } };
    const { summary, note } = report;
    const evidence: Finding["evidence"] = {
      ...f.evidence,
      topAllocators: summary.top
        .map((t) => `${t.function} ${Math.round(t.bytes / 1024)} KiB (${t.percent.toFixed(1)}%)`)
        .join("; "),
      profileSampleType: summary.sampleType,
      ...baseline,
    };
    if (summary.grown?.length)
      evidence.grownSinceBaseline = summary.grown
        .map((g) => `${g.function} +${Math.round(g.bytes / 1024)} KiB`)
        .join("; ");
    const at = report.baselineAt ? { at: new Date(report.baselineAt), now } : undefined;
    const sentence = `Heap profile: ${heapMessage(summary, at)}${note ? ` ${note}` : ""}`;
    return { ...f, message: `${f.message} ${sentence}`, evidence };
  });
}

/**
 * Fetches the heap profiles a pass planned (planProfiles), from those pods only (their pod IP,
 * the spec's port and path), bounded in time and size; keeps baselines and latest profiles in
 * the cluster (HeapProfileStore), and compares the profiles of pods with findings with their
 * baseline. A failed fetch or write is a report of its own, never an error of the inspection,
 * and changes nothing kept.
 */
export class ProfileCollector {
  constructor(
    private readonly store: HeapProfileStore,
    private readonly log: Logger,
    private readonly opts: ProfileCollectorOptions = {},
  ) {}

  async collect(
    mi: MemoryInspection,
    tasks: readonly ProfileTask[],
    kept: ReadonlyMap<string, KeptState>,
    spec: EffectiveSpec,
    now: Date,
  ): Promise<Map<string, HeapProfileReport>> {
    const key = `${mi.metadata.namespace}/${mi.metadata.name}`;
    const reports = new Map<string, HeapProfileReport>();
    for (const task of tasks) {
      const name = task.pod.metadata.name;
      const log = this.log.child({ key, pod: name, url: task.url });
      const had = kept.get(task.pod.metadata.uid);
      const sameProcess = had?.processStartedAt === task.process.startedAt && !had.tooLarge;
      let bytes: Uint8Array;
      let current: Profile;
      try {
        bytes = await fetchHeapProfile(task.url, {
          timeoutMs: this.opts.timeoutMs ?? 10_000,
          maxBytes: this.opts.maxBytes ?? 64 << 20,
        });
        current = decodeProfile(bytes);
      } catch (err) {
        const reason =
          err instanceof ProfileFetchError ? "fetch" : err instanceof ProfileFormatError ? "format" : "other";
        this.opts.metrics?.profileErrors.inc({ reason });
        log.warn({ reason, err: errMessage(err) }, "heap profile not fetched");
        if (task.report)
          reports.set(name, {
            error: errMessage(err).slice(0, 300),
            ...(sameProcess ? { baselineAt: had.baselineAt } : {}),
          });
        continue;
      }
      let note: string | undefined;
      if (task.takeBaseline) note = await this.keepBaseline(mi, task, bytes, now, log);
      if (!task.report) continue;
      let base: Profile | undefined;
      if (!task.takeBaseline && sameProcess) {
        try {
          base = await this.store.baseline(mi, task.pod.metadata.uid);
        } catch (err) {
          log.warn({ err: errMessage(err) }, "baseline heap profile not read");
          note = `(The baseline could not be read: ${errMessage(err).slice(0, 200)}.)`;
        }
      }
      note ??= base ? undefined : noBaseline(had, task, spec);
      const summary = heapSummary(current, base, {
        topN: spec.profiling.topN,
        ...(spec.profiling.sampleType ? { sampleType: spec.profiling.sampleType } : {}),
      });
      reports.set(name, {
        summary,
        ...(base && had ? { baselineAt: had.baselineAt } : {}),
        ...(note ? { note } : {}),
      });
      if (base && task.keepLatest) {
        try {
          await this.store.saveLatest(mi, task.pod.metadata.uid, bytes, now);
        } catch (err) {
          log.warn({ err: errMessage(err) }, "latest heap profile not kept");
        }
      }
    }
    return reports;
  }

  /** Keeps the profile as the pod's baseline; what to tell the finding when that fails. */
  private async keepBaseline(
    mi: MemoryInspection,
    task: ProfileTask,
    bytes: Uint8Array,
    now: Date,
    log: Logger,
  ): Promise<string> {
    try {
      const kept = await this.store.saveBaseline(mi, task, bytes, now);
      if (kept === "too large") {
        log.info({ bytes: bytes.length }, "heap profile too large to keep as a baseline");
        return tooLargeNote(bytes.length);
      }
      log.info(
        { bytes: bytes.length, processStartedAt: task.process.startedAt },
        "baseline heap profile kept",
      );
      return "(This profile is now the pod's baseline: later passes tell what grows since.)";
    } catch (err) {
      log.warn({ err: errMessage(err) }, "baseline heap profile not kept");
      return `(No baseline kept: ${errMessage(err).slice(0, 200)}.)`;
    }
  }
}

const tooLargeNote = (bytes: number) =>
  `(No baseline: the profile (${amount(bytes, "bytes")}) is larger than the ${amount(MAX_KEPT_PROFILE_BYTES, "bytes")} memlens keeps in the cluster.)`;

/** Why a reported profile has nothing to be compared with. */
function noBaseline(had: KeptState | undefined, task: ProfileTask, spec: EffectiveSpec): string {
  if (had?.tooLarge && had.processStartedAt === task.process.startedAt) return tooLargeNote(had.tooLarge);
  return `(No baseline yet: it is taken once the container has run ${formatDuration(spec.profiling.warmUpMs)}.)`;
}
