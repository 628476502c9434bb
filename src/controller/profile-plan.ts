import { RULE } from "../api/names.js";
import type { EffectiveSpec } from "../api/defaults.js";
import type { Finding } from "../api/memoryinspection.js";
import type { Pod } from "../kube/pod.js";

/** Findings worth the question "which code?". */
export const PROFILED_RULES = new Set<string>([RULE.MemoryLeak, RULE.OOMKilled]);
/** Pods whose findings get a profile per pass. */
export const MAX_REPORTED_PODS = 3;
/** Baselines taken per pass (beyond the reported pods), so a large workload is profiled gradually. */
export const MAX_BASELINES_PER_PASS = 3;
/** Pods of one inspection that keep profiles in the cluster. */
export const MAX_KEPT_PODS = 10;
/** How often the latest profile of a finding is written to the cluster (etcd keeps every write). */
export const LATEST_EVERY_MS = 5 * 60_000;

/** What the cluster keeps of one pod's profiles (or, in memory, that its profile was too large to keep). */
export interface KeptState {
  /** the process the baseline belongs to */
  processStartedAt: string;
  /** when the baseline was taken (or last found too large) */
  baselineAt: string;
  latestAt?: string;
  /** bytes of a profile too large to keep: there is no baseline, only the time it was tried */
  tooLarge?: number;
}

/** The process a heap profile comes from: the container that declares the port, or all of them. */
export interface ProfiledProcess {
  container?: string;
  /** its start: a restart is a new process, and a baseline serves only one */
  startedAt: string;
}

export interface ProfileTask {
  pod: Pod;
  process: ProfiledProcess;
  url: string;
  /** keep the fetched profile as the pod's baseline */
  takeBaseline: boolean;
  /** a finding asks "which code?": compare with the baseline and report */
  report: boolean;
  /** also keep the fetched profile as the pod's latest */
  keepLatest: boolean;
}

export function profiledProcess(pod: Pod, port: number): ProfiledProcess | undefined {
  const declared = pod.spec.containers.find((c) => c.ports?.includes(port));
  const names = declared ? [declared.name] : pod.spec.containers.map((c) => c.name);
  let startedAt = "";
  for (const name of names) {
    const started = pod.status.containerStatuses?.find((c) => c.name === name)?.state?.running?.startedAt;
    if (!started) return undefined;
    if (started > startedAt) startedAt = started;
  }
  if (!startedAt) return undefined;
  const container = declared?.name ?? (names.length === 1 ? names[0] : undefined);
  return { ...(container ? { container } : {}), startedAt };
}

export function profileUrl(pod: Pod, spec: EffectiveSpec): string | undefined {
  const { port, scheme, path } = spec.profiling;
  const ip = pod.status.podIP;
  if (!ip || port === undefined) return undefined;
  return `${scheme}://${ip.includes(":") ? `[${ip}]` : ip}:${port}${path}`;
}

/**
 * Which pods' heap profiles this pass fetches, and what for. A pod's baseline is taken once its
 * process has run `warmUp`, whether or not anything is wrong, and replaced when the process
 * restarts, or when it is older than `baselineRefresh` while the pod has no open MemoryLeak or
 * OOMKilled finding: once one is open, the baseline stays, so the growth is told since before it.
 * Pods with such a finding are profiled every pass and compared with their baseline. Pure.
 */
export function planProfiles(input: {
  spec: EffectiveSpec;
  pods: readonly Pod[];
  findings: readonly Finding[];
  kept: ReadonlyMap<string, KeptState>;
  now: Date;
}): ProfileTask[] {
  const { spec, kept, now } = input;
  const port = spec.profiling.port;
  if (!spec.profiling.enabled || port === undefined) return [];
  const open = new Set(
    input.findings.filter((f) => !f.resolved && PROFILED_RULES.has(f.rule)).map((f) => f.pod),
  );
  const t = now.getTime();
  const live = new Set(input.pods.map((p) => p.metadata.uid));
  let keptPods = [...kept.keys()].filter((uid) => live.has(uid)).length;
  const reported: ProfileTask[] = [];
  const baselines: ProfileTask[] = [];
  const pods = [...input.pods].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  for (const pod of pods) {
    const process = profiledProcess(pod, port);
    const url = profileUrl(pod, spec);
    if (pod.status.phase !== "Running" || !process || !url) continue;
    const k = kept.get(pod.metadata.uid);
    const same = k?.processStartedAt === process.startedAt;
    const report = open.has(pod.metadata.name);
    const warm = t - Date.parse(process.startedAt) >= spec.profiling.warmUpMs;
    const stale = same && t - Date.parse(k.baselineAt) >= spec.profiling.baselineRefreshMs;
    let takeBaseline = warm && (!same || (stale && !report));
    if (takeBaseline && !k && keptPods >= MAX_KEPT_PODS) takeBaseline = false;
    const keepLatest =
      report &&
      same &&
      !takeBaseline &&
      !k.tooLarge &&
      (k.latestAt === undefined || t - Date.parse(k.latestAt) >= LATEST_EVERY_MS);
    const task = { pod, process, url, takeBaseline, report, keepLatest };
    const list = report ? reported : takeBaseline ? baselines : undefined;
    if (!list || list.length >= (report ? MAX_REPORTED_PODS : MAX_BASELINES_PER_PASS)) continue;
    list.push(task);
    if (takeBaseline && !k) keptPods++;
  }
  return [...reported, ...baselines];
}
