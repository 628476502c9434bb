// The heap profiles a MemoryInspection keeps in the cluster (HeapProfile objects), for the
// `memlens profile` commands given `mi/NAME` instead of a file: read through the API server,
// with kubectl's flags, so nobody needs the controller's pod or the workload's port.
import { apiPath } from "../api/group.js";
import { HEAP_PROFILE_PLURAL, INSPECTION_UID_LABEL, type HeapProfile } from "../api/heapprofile.js";
import { PROFILED_RULES } from "../controller/profile-plan.js";
import { connect, getInspection, type ClusterChoice } from "./cluster.js";
import { CommandError } from "./command.js";

export interface InspectionProfiles {
  pod: string;
  /** the latest profile a finding was compared with; the baseline when there is none yet */
  current: Uint8Array;
  /** the baseline, when `current` is the latest */
  base?: Uint8Array;
  /** when the baseline was taken */
  baselineAt: string;
  /** one line for stderr: which pod, which profiles, taken when */
  description: string;
}

export async function inspectionProfiles(
  name: string,
  opts: ClusterChoice & { pod?: string },
): Promise<InspectionProfiles> {
  const { client, namespace: ns } = await connect(opts);
  const mi = await getInspection(client, ns, name);
  if (!mi) throw new CommandError(`memoryinspection "${name}" not found in namespace "${ns}"`);
  const { items } = await client.get<{ items: HeapProfile[] }>(apiPath(HEAP_PROFILE_PLURAL, ns), {
    query: { labelSelector: `${INSPECTION_UID_LABEL}=${mi.metadata.uid}` },
  });
  const kept = (pod: string) => items.find((i) => i.spec.pod === pod);
  let chosen: HeapProfile | undefined;
  if (opts.pod !== undefined) {
    chosen = kept(opts.pod);
    if (!chosen)
      throw new CommandError(
        `mi/${name} keeps no heap profile of pod "${opts.pod}"${items.length ? ` (it keeps: ${items.map((i) => i.spec.pod).join(", ")})` : ""}`,
      );
  } else {
    // the pod a finding is about, else the one profiled last
    const asked = (mi.status?.findings ?? []).filter((f) => !f.resolved && PROFILED_RULES.has(f.rule));
    chosen =
      asked.map((f) => kept(f.pod)).find((h) => h?.spec.latest) ??
      [...items].sort((a, b) => lastTaken(b).localeCompare(lastTaken(a)))[0];
  }
  if (!chosen) {
    const off = (mi.spec as { profiling?: { enabled?: boolean } } | undefined)?.profiling?.enabled !== true;
    throw new CommandError(
      off
        ? `mi/${name} has profiling off: set spec.profiling.enabled and spec.profiling.port`
        : `mi/${name} keeps no heap profile yet: a pod's baseline is taken once its container has run spec.profiling.warmUp (default 2m)`,
    );
  }
  const { baseline, latest, pod } = chosen.spec;
  const bytes = (b64: string) => Buffer.from(b64, "base64");
  if (!latest)
    return {
      pod,
      current: bytes(baseline.profile),
      baselineAt: baseline.takenAt,
      description: `pod ${pod}: the baseline taken ${baseline.takenAt} (no finding has been compared with it yet)`,
    };
  return {
    pod,
    current: bytes(latest.profile),
    base: bytes(baseline.profile),
    baselineAt: baseline.takenAt,
    description: `pod ${pod}: the profile taken ${latest.takenAt} against the baseline taken ${baseline.takenAt}`,
  };
}

const lastTaken = (h: HeapProfile) => h.spec.latest?.takenAt ?? h.spec.baseline.takenAt;

export function clusterChoice(values: {
  namespace?: string;
  pod?: string;
  kubeconfig?: string;
  context?: string;
}): ClusterChoice & { pod?: string } {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined));
}
