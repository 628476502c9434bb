import { RULE } from "../api/names.js";
import type { EffectiveSpec } from "../api/defaults.js";
import type { Finding } from "../api/memoryinspection.js";
import {
  bareID,
  containerFacts,
  countKills,
  oomKillInContainer,
  type ContainerFacts,
  type KernelKill,
  type OomKillHistory,
  type OomKillObservation,
} from "../analysis/oom.js";
import type { ContainerStatus, Pod } from "../kube/pod.js";
import { findingKey, type Observed } from "./findings.js";
import { plural } from "./inspection-rules.js";

/**
 * OOMKilled from pod status and from the kernel (the node agents' reports): each kill counted
 * once (by the killed container's ID, against the history the previous pass recorded), the
 * count carried while the finding is active. An old kill still shown in lastState, already
 * counted and resolved, is not news.
 */
export function oomKillObservations(
  pods: readonly Pod[],
  spec: EffectiveSpec,
  previous: ReadonlyMap<string, Finding>,
  withinWindow: (f: Finding) => boolean,
  kernelKills: (podUID: string) => readonly KernelKill[] = () => [],
): Observed[] {
  const observed: Observed[] = [];
  if (!spec.rules.oom.enabled) return observed;
  const only = spec.spec.containers;
  for (const pod of pods) {
    const kernel = kernelKills(pod.metadata.uid);
    for (const cs of pod.status.containerStatuses ?? []) {
      if (only?.length && !only.includes(cs.name)) continue;
      const status = oomKillInContainer(pod, cs);
      if (!status && !kernel.length) continue;
      const facts = containerFacts(pod, cs);
      const prev = previous.get(
        findingKey({ rule: RULE.OOMKilled, pod: facts.pod, container: facts.container }),
      );
      const counted = countKills(facts, oomHistory(prev), status, kernel);
      if (!status && !counted.kernelFirst) continue; // an earlier kernel report stays as it was written
      if (counted.fresh === 0 && (!prev || prev.resolved || !withinWindow(prev))) continue;
      const count = (prev && !prev.resolved ? prev.count : 0) + counted.fresh;
      const first = counted.kernelFirst;
      // the last kill counted is one pod status does not show (yet): only the kernel told of it
      const kernelOnly = bareID(counted.history.lastKillID) !== bareID(status?.killID);
      const killedAt = first
        ? kernelKillTime(first, cs)
        : kernelOnly
          ? (prev?.evidence.lastKilledAt as string | undefined)
          : status?.finishedAt;
      observed.push({
        rule: RULE.OOMKilled,
        severity: "Critical",
        pod: facts.pod,
        container: facts.container,
        ...(facts.node ? { node: facts.node } : {}),
        message: oomMessage(
          facts,
          count,
          kernelOnly ? undefined : status,
          kernelOnly ? (first?.node ?? prevNode(prev)) : undefined,
          killedAt,
        ),
        evidence: {
          ...counted.history,
          restartCount: facts.restartCount,
          exitCode: status?.exitCode ?? 137,
          state: facts.now,
          ...(facts.limit ? { limit: facts.limit } : {}),
          ...(facts.request ? { request: facts.request } : {}),
          ...(killedAt ? { lastKilledAt: killedAt } : {}),
          ...(kernelOnly ? { reportedBy: `memlens agent on ${first?.node ?? prevNode(prev)}` } : {}),
        },
        ...(counted.fresh > 0 && killedAt ? { at: killedAt } : {}),
        newOccurrences: counted.fresh,
      });
    }
  }
  return observed;
}

/**
 * When the kernel killed: when the agent learnt of it, or, where the runtime saw the container
 * end (exit code 137) more than a second earlier, then: an agent that started after the kill
 * (it reads the pod's counter at its start) learnt of it late.
 */
function kernelKillTime(kill: KernelKill, cs: ContainerStatus): string {
  const ended = cs.state?.terminated;
  const endedAt = ended?.exitCode === 137 && ended.finishedAt ? Date.parse(ended.finishedAt) : NaN;
  return new Date(endedAt + 1000 < kill.at * 1000 ? endedAt : kill.at * 1000).toISOString();
}

/** What an earlier pass recorded of a container's kills (in the finding's evidence). */
function oomHistory(f: Finding | undefined): OomKillHistory | undefined {
  const e = f?.evidence;
  if (!e || typeof e.lastKillID !== "string" || !e.lastKillID) return undefined;
  return {
    count: f.count,
    lastKillID: e.lastKillID,
    terminations: Number(e.terminations ?? 0),
  };
}

const prevNode = (f: Finding | undefined) =>
  String(f?.evidence.reportedBy ?? "").replace(/^memlens agent on /, "") || (f?.node ?? "its node");

/** `agentNode`: the last kill is known from that node's agent only, not (yet) from pod status. */
function oomMessage(
  o: ContainerFacts,
  count: number,
  status: OomKillObservation | undefined,
  agentNode: string | undefined,
  killedAt: string | undefined,
): string {
  const at = o.limit
    ? `at its ${o.limit} memory limit`
    : "with no memory limit set (the node ran out of memory)";
  const when = agentNode
    ? ` (last at ${killedAt ?? "an unknown time"}, reported by the memlens agent on ${agentNode})`
    : status?.finishedAt
      ? ` (last at ${status.finishedAt}, exit code ${status.exitCode ?? 137})`
      : "";
  const state = agentNode
    ? "pod status does not show it as OOMKilled (yet, or the runtime missed the kernel's OOM event)"
    : o.now === "Terminated"
      ? o.restartPolicy === "Never"
        ? "it stays terminated (restartPolicy Never)"
        : "the kubelet will restart it"
      : o.now === "Running"
        ? `the kubelet restarted it (${plural(o.restartCount, "restart")})`
        : `it is now in ${o.now} after ${plural(o.restartCount, "restart")}`;
  return `Container ${o.container} of pod ${o.pod} was OOM-killed by the kernel ${count === 1 ? "once" : `${count} times`} ${at}${when}; ${state}.`;
}
