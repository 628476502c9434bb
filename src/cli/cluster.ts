// The flags that choose a cluster as kubectl's do, and the client they give.
import { apiPath, PLURAL } from "../api/group.js";
import type { MemoryInspection } from "../api/memoryinspection.js";
import { isNotFound, KubeClient, loadClusterAccess, type AccessChoice } from "../kube/client.js";

export interface ClusterChoice extends AccessChoice {
  namespace?: string;
}

/** The chosen cluster's client, and the namespace: -n, else the context's, else "default". */
export async function connect(choice: ClusterChoice): Promise<{ client: KubeClient; namespace: string }> {
  const access = await loadClusterAccess({
    ...(choice.kubeconfig !== undefined ? { kubeconfig: choice.kubeconfig } : {}),
    ...(choice.context !== undefined ? { context: choice.context } : {}),
  });
  return { client: new KubeClient(access), namespace: choice.namespace ?? access.namespace ?? "default" };
}

/** The MemoryInspection, or undefined when there is none of that name. */
export async function getInspection(
  client: KubeClient,
  namespace: string,
  name: string,
): Promise<MemoryInspection | undefined> {
  try {
    return await client.get<MemoryInspection>(apiPath(PLURAL, namespace, name));
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}
