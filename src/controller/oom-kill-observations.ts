import { RULE } from "../api/names.js";
import type { EffectiveSpec } from "../api/defaults.js";
import type { Finding } from "../api/memoryinspection.js";
import { newOomKills, oomKillsInPod, type OomKillHistory, type OomKillObservation } from "../analysis/oom.js";
import type { Pod } from "../kube/pod.js";
import { findingKey, type Observed } from "./findings.js";
import { plural } from "./inspection-rules.js";

/**
 * OOMKilled from pod status: each kernel OOM kill counted once (by the killed container's ID,
 * against the history the previous status recorded), the count carried while the finding is
 * active. An old kill still shown in lastState, already counted and resolved, is not news.
 */
export function oomKillObservations(
  pods: readonly Pod[],
  spec: EffectiveSpec,
  previous: ReadonlyMap<string, Finding>,
  withinWindow: (f: Finding) => boolean,
): Observed[] {
  const observed: Observed[] = [];
  if (!spec.rules.oom.enabled) return observed;
  for (const pod of pods) {
    for (const obs of oomKillsInPod(pod, spec.spec.containers)) {
      const prev = previous.get(findingKey({ rule: RULE.OOMKilled, pod: obs.pod, container: obs.container }));
      const fresh = newOomKills(oomHistory(prev), obs);
      if (fresh === 0 && (!prev || prev.resolved || !withinWindow(prev))) continue;
      const count = (prev && !prev.resolved ? prev.count : 0) + fresh;
      observed.push({
        rule: RULE.OOMKilled,
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
  return observed;
}

/** What an earlier pass recorded of a container's kills (in the finding's evidence). */
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
