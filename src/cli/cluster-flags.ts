// The flags that choose a cluster (as kubectl's do) and a MemoryInspection's profiles, apart from
// the client they lead to (cluster.ts): `memlens profile top FILE` parses them too, and should
// not load a Kubernetes client to do it.
import { UsageError } from "./command.js";

/** -n/--namespace, --kubeconfig, --context: as kubectl reads them. */
export const CLUSTER_FLAGS = {
  namespace: { type: "string", short: "n" },
  kubeconfig: { type: "string" },
  context: { type: "string" },
} as const;

/** The flags that choose the cluster and the pod, shared by the profile commands. */
export const CLUSTER_OPTIONS = { ...CLUSTER_FLAGS, pod: { type: "string" } } as const;

const REF = /^(?:mi|memoryinspections?(?:\.memlens\.dev)?)\/(.+)$/;

/** The inspection's name when `arg` names one (`mi/catalog`), else undefined (a file). */
export function inspectionRef(arg: string): string | undefined {
  return REF.exec(arg)?.[1];
}

/** Flags that mean nothing for a file: said, rather than ignored. */
export function refuseClusterFlags(values: Record<string, unknown>): void {
  const given = Object.keys(CLUSTER_OPTIONS).filter((k) => values[k] !== undefined);
  if (given.length)
    throw new UsageError(
      `--${given.join(", --")} only apply to mi/NAME (the profiles a MemoryInspection keeps)`,
    );
}
