import type { EffectiveSpec } from "../api/defaults.js";
import type { Finding, MemoryInspectionStatus, Recommendation } from "../api/memoryinspection.js";
import { formatDuration } from "../api/duration.js";
import { newOomKills, oomKillsInPod, type OomKillHistory, type OomKillObservation } from "../analysis/oom.js";
import { raiseMemoryLimit, type WorkloadRef } from "../analysis/recommend.js";
import type { Pod } from "../kube/pod.js";
import { ConditionType, Reason, setCondition } from "./conditions.js";
import { findingKey, mergeFindings, type Observed } from "./findings.js";
import { podWorkload, type ResolvedTarget } from "./targets.js";
import type { ContainerAnalysis } from "./cgroup-findings.js";
import { evictionFindings } from "../analysis/evicted.js";

export const Rule = {
  OOMKilled: "OOMKilled",
  MemoryLeak: "MemoryLeak",
  MemoryThrottled: "MemoryThrottled",
} as const;

/** Rules about what happens (kills): counted per occurrence. The others hold for a while (a leak). */
const EVENT_RULES = new Set(["OOMKilled", "ProcessOOMKilled", "Evicted"]);
/** Facts read from pod status: they stay true for the window, whether or not the pod is still there. */
const POD_STATUS_RULES = new Set(["OOMKilled", "Evicted"]);

/** What the node agents contributed to this pass. */
export interface CgroupInput {
  analyses: ContainerAnalysis[];

  unavailable: { node: string; reason: string }[];
}

export interface InspectionInput {
  generation?: number;
  spec: EffectiveSpec;
  previous: MemoryInspectionStatus;
  target: ResolvedTarget;
  now: Date;
  cgroups?: CgroupInput;
}

export interface InspectionResult {
  status: MemoryInspectionStatus;
  /** findings that are new or happened again: one Warning Event each */
  happened: { finding: Finding; pod?: Pod }[];
  /** recommendations that appeared or changed: one Normal Event each */
  newRecommendations: Recommendation[];
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

function oomHistory(f: Finding | undefined): OomKillHistory | undefined {
  const e = f?.evidence;
  if (!e || typeof e.lastKillID !== "string") return undefined;
  return { count: f.count, lastKillID: e.lastKillID, terminations: Number(e.terminations ?? 0) };
}

function oomMessage(o: OomKillObservation, count: number): string {
  const at = o.limit
    ? `at its ${o.limit} memory limit`
    : "with no memory limit set (the node ran out of memory)";
  const when = o.finishedAt ? ` (last at ${o.finishedAt}, exit code ${o.exitCode ?? 137})` : "";
  const state =
    o.now === "Terminated"
      ? o.restartPolicy === "Never"
        ? "it stays terminated (restartPolicy Never)"
        : "the kubelet will restart it"
      : o.now === "Running"
        ? `the kubelet restarted it (${plural(o.restartCount, "restart")})`
        : `it is now in ${o.now} after ${plural(o.restartCount, "restart")}`;
  return `Container ${o.container} of pod ${o.pod} was OOM-killed by the kernel ${count === 1 ? "once" : `${count} times`} ${at}${when}; ${state}.`;
}

/**
 * One inspection pass, pure: from the target's pods and what earlier passes recorded to the new
 * status, and what deserves an Event. OOM kills are counted once each (by the killed container's
 * ID), across resyncs and controller restarts, because their history lives in the status.
 */
export function inspect(input: InspectionInput): InspectionResult {
  const { spec, previous, target, now } = input;
  const windowMs = spec.windowMs;
  const prevFindings = previous.findings ?? [];
  const prevByKey = new Map(prevFindings.map((f) => [findingKey(f), f]));
  const withinWindow = (f: Finding) => now.getTime() - Date.parse(f.lastSeen) < windowMs;

  const observed: Observed[] = [];
  const podByName = new Map(target.pods.map((p) => [p.metadata.name, p]));
  const kills = new Map<string, { obs: OomKillObservation; count: number }>();
  if (spec.rules.oom.enabled) {
    for (const pod of target.pods) {
      for (const obs of oomKillsInPod(pod, spec.spec.containers)) {
        const key = findingKey({ rule: Rule.OOMKilled, pod: obs.pod, container: obs.container });
        const prev = prevByKey.get(key);
        const fresh = newOomKills(oomHistory(prev), obs);
        // an old kill still shown in lastState, already counted and resolved, is not news
        if (fresh === 0 && (!prev || prev.resolved || !withinWindow(prev))) continue;
        const count = (prev && !prev.resolved ? prev.count : 0) + fresh;
        kills.set(key, { obs, count });
        observed.push({
          rule: Rule.OOMKilled,
          severity: "Critical",
          pod: obs.pod,
          container: obs.container,
          ...(obs.node ? { node: obs.node } : {}),
          message: oomMessage(obs, count),
          evidence: {
            lastKillID: obs.killID,
            terminations: obs.terminations,
            restartCount: obs.restartCount,
            exitCode: obs.exitCode ?? 137,
            state: obs.now,
            ...(obs.limit ? { limit: obs.limit } : {}),
            ...(obs.request ? { request: obs.request } : {}),
            ...(obs.finishedAt ? { lastKilledAt: obs.finishedAt } : {}),
          },
          ...(fresh > 0 && obs.finishedAt ? { at: obs.finishedAt } : {}),
          newOccurrences: fresh,
        });
      }
    }
  }

  const evictionRecommendations: Recommendation[] = [];
  for (const pod of target.pods) {
    const ev = evictionFindings(pod, undefined, target.workload ?? podWorkload(pod));
    for (const rf of ev.findings) {
      const prev = prevByKey.get(
        findingKey({ rule: rf.rule, pod: pod.metadata.name, container: ev.container }),
      );
      observed.push({
        rule: rf.rule,
        severity: rf.severity,
        pod: pod.metadata.name,
        ...(ev.container ? { container: ev.container } : {}),
        ...(pod.spec.nodeName ? { node: pod.spec.nodeName } : {}),
        message: rf.message,
        evidence: rf.evidence,
        newOccurrences: prev && !prev.resolved ? 0 : 1,
      });
    }
    evictionRecommendations.push(...ev.recommendations);
  }
  for (const a of input.cgroups?.analyses ?? []) {
    for (const rf of a.findings) {
      const key = findingKey({ rule: rf.rule, pod: a.pod.metadata.name, container: a.container });
      const prev = prevByKey.get(key);
      const at = rf.lastSeen !== undefined ? new Date(rf.lastSeen * 1000).toISOString() : undefined;
      const event = EVENT_RULES.has(rf.rule);
      const inWindow = rf.count ?? 1;
      // kills seen in the history window: the ones after what was recorded last time are new
      const fresh = !event
        ? undefined
        : !prev || prev.resolved
          ? inWindow
          : at && at > prev.lastSeen
            ? Math.max(1, inWindow - Number(prev.evidence.killsInWindow ?? 0))
            : 0;
      observed.push({
        rule: rf.rule,
        severity: rf.severity,
        pod: a.pod.metadata.name,
        container: a.container,
        ...(a.pod.spec.nodeName ? { node: a.pod.spec.nodeName } : {}),
        message: rf.message,
        evidence: event ? { ...rf.evidence, killsInWindow: inWindow } : rf.evidence,
        kind: event ? "event" : "state",
        ...(event && fresh ? { at: at ?? now.toISOString() } : {}),
        ...(event ? { newOccurrences: fresh } : {}),
      });
    }
  }
  // a cgroup finding not seen now is resolved only where the rules could judge: the agent
  // answered with enough history (after an agent restart it has little)
  const judged = new Set(
    (input.cgroups?.analyses ?? [])
      .filter((a) => a.judged)
      .map((a) => `${a.pod.metadata.name}/${a.container}`),
  );
  const dataMissing = (f: Finding) =>
    input.cgroups !== undefined && podByName.has(f.pod) && !judged.has(`${f.pod}/${f.container ?? ""}`);

  const merged = mergeFindings(prevFindings, observed, now, {
    // a kill stays a fact for the window; a cgroup finding stays while its agent cannot tell
    stillTrue: (f) => (POD_STATUS_RULES.has(f.rule) ? withinWindow(f) : dataMissing(f)),
    keepResolvedMs: Math.max(windowMs, 24 * 3_600_000),
  });
  const findings = merged.findings.map((f) =>
    POD_STATUS_RULES.has(f.rule) && !f.resolved && !withinWindow(f) ? { ...f, resolved: true } : f,
  );
  const activeOom = findings.filter((f) => f.rule === Rule.OOMKilled && !f.resolved);

  // recommendations: one per workload container with recent kills
  const recommendations: Recommendation[] = [];
  const perContainer = new Map<
    string,
    { workload: WorkloadRef; finding: Finding; kills: number; limit?: string; request?: string }
  >();
  for (const f of activeOom) {
    const pod = podByName.get(f.pod);
    const workload = target.workload ?? (pod ? podWorkload(pod) : undefined);
    if (!workload || !f.container) continue;
    const key = `${workload.kind}/${workload.name}/${f.container}`;
    const entry = perContainer.get(key);
    const limit = typeof f.evidence.limit === "string" ? f.evidence.limit : undefined;
    const request = typeof f.evidence.request === "string" ? f.evidence.request : undefined;
    if (entry) entry.kills += f.count;
    else perContainer.set(key, { workload, finding: f, kills: f.count, limit, request });
  }
  // a leak explains kills: fixing it comes first (the cgroup rules put FixLeak first)
  const active = new Set(findings.filter((f) => !f.resolved).map((f) => `${f.pod}/${f.container ?? ""}`));
  const seenRec = new Set<string>();
  for (const a of input.cgroups?.analyses ?? []) {
    if (!active.has(`${a.pod.metadata.name}/${a.container}`)) continue;
    for (const r of a.recommendations) {
      const k = `${r.type}/${r.workload}/${r.container}`;
      if (seenRec.has(k)) continue;
      seenRec.add(k);
      recommendations.push(r);
    }
  }
  for (const { workload, finding, kills: n, limit, request } of perContainer.values()) {
    const rec = raiseMemoryLimit({
      workload,
      container: finding.container!,
      pod: finding.pod,
      limit,
      request,
      kills: n,
    });
    if (rec) recommendations.push(rec);
  }
  if (findings.some((f) => f.rule === "Evicted" && !f.resolved)) {
    for (const r of evictionRecommendations) {
      const k = `${r.type}/${r.workload}/${r.container}`;
      if (!seenRec.has(k)) recommendations.push(r);
      seenRec.add(k);
    }
  }
  // changed = another type or other suggested numbers (the apiserver reorders map keys: compare values)
  const recKey = (r: Recommendation) =>
    `${r.type}/${r.workload}/${r.container}/${r.suggested.requests?.memory ?? ""}/${r.suggested.limits?.memory ?? ""}`;
  const prevRecs = new Set((previous.recommendations ?? []).map(recKey));
  const newRecommendations = recommendations.filter((r) => !prevRecs.has(recKey(r)));

  // conditions
  const gen = input.generation;
  let conditions = previous.conditions ?? [];
  const podsText = plural(target.pods.length, "pod");
  const unavailable = input.cgroups?.unavailable ?? [];
  conditions = setCondition(
    conditions,
    unavailable.length
      ? {
          type: ConditionType.Ready,
          status: "False",
          reason: Reason.AgentUnavailable,
          message: `No cgroup data from ${[...new Set(unavailable.map((u) => u.node))].join(", ")}: ${unavailable[0]!.reason}. Pod status rules still ran.`,
        }
      : target.pods.length
        ? {
            type: ConditionType.Ready,
            status: "True",
            reason: Reason.Inspected,
            message: `Inspected ${podsText} of ${target.description}.`,
          }
        : {
            type: ConditionType.Ready,
            status: "True",
            reason: Reason.NoPods,
            message: `${target.description} has no pods right now; nothing to inspect.`,
          },
    now,
    gen,
  );
  const totalRecent = activeOom.reduce((s, f) => s + f.count, 0);
  conditions = setCondition(
    conditions,
    activeOom.length
      ? {
          type: ConditionType.OOMKilled,
          status: "True",
          reason: Reason.OOMKillsSeen,
          message: `${plural(totalRecent, "OOM kill")} in the last ${formatDuration(windowMs)}: ${activeOom.map((f) => `${f.pod}/${f.container} (${f.count})`).join(", ")}.`,
        }
      : findings.some((f) => f.rule === Rule.OOMKilled)
        ? {
            type: ConditionType.OOMKilled,
            status: "False",
            reason: Reason.NoRecentOOMKills,
            message: `No OOM kill in the last ${formatDuration(windowMs)}.`,
          }
        : {
            type: ConditionType.OOMKilled,
            status: "False",
            reason: Reason.NoOOMKills,
            message: "No OOM kill seen.",
          },
    now,
    gen,
  );

  for (const [type, rule, none] of [
    [ConditionType.MemoryLeak, Rule.MemoryLeak, "No sustained growth of unreclaimable memory."],
    [ConditionType.MemoryThrottled, Rule.MemoryThrottled, "No allocation throttling at memory.high."],
  ] as const) {
    const f = findings.find((x) => x.rule === rule && !x.resolved);
    const had = findings.some((x) => x.rule === rule);
    conditions = setCondition(
      conditions,
      f
        ? {
            type,
            status: "True",
            reason: rule === Rule.MemoryLeak ? "LeakDetected" : "ThrottledAtMemoryHigh",
            message: `${f.pod}/${f.container}: ${f.message}`,
          }
        : {
            type,
            status: "False",
            reason: had ? "Resolved" : rule === Rule.MemoryLeak ? "NoLeak" : "NotThrottled",
            message: had ? `No longer seen. ${none}` : none,
          },
      now,
      gen,
    );
  }

  const oomKills = findings.filter((f) => f.rule === Rule.OOMKilled).reduce((s, f) => s + f.count, 0);
  const activeRules = [
    ...new Set(findings.filter((f) => !f.resolved && f.rule !== Rule.OOMKilled).map((f) => f.rule)),
  ];
  const problems = [
    ...(activeOom.length
      ? [`${plural(totalRecent, "OOM kill")} (${activeOom.map((f) => `${f.pod}/${f.container}`).join(", ")})`]
      : []),
    ...activeRules,
  ];
  const summary = problems.length
    ? `${problems.join("; ")}${recommendations.length ? `; recommend ${[...new Set(recommendations.map((r) => r.type))].join(", ")}` : ""}`
    : `No memory problems found in ${podsText}.`;

  return {
    status: {
      observedGeneration: gen,
      lastInspectionTime: now.toISOString(),
      target: target.description,
      pods: target.pods.length,
      oomKills,
      summary,
      conditions,
      findings,
      recommendations,
    },
    happened: merged.happened.map((finding) => ({ finding, pod: podByName.get(finding.pod) })),
    newRecommendations,
  };
}
