import { request } from "node:https";
import type { Logger } from "pino";
import type { ContainersResponse } from "../agent/api.js";
import type { Pod } from "../kube/pod.js";
import { errMessage } from "../kube/informer.js";
import { HistoryCache, type CgroupEntry } from "./history-cache.js";
import { podsLabelled, type PodLookup } from "./targets.js";
import { agentFailure, type AgentAccess } from "./agent-access.js";
import type { ControllerMetrics } from "./metrics.js";

export const AGENT_PORT = 9137;
const [AGENT_LABEL_KEY, AGENT_LABEL_VALUE] = ["app.kubernetes.io/name", "memlens-agent"];

export const isAgentPod = (pod: Pod, namespace: string) =>
  pod.metadata.namespace === namespace && pod.metadata.labels?.[AGENT_LABEL_KEY] === AGENT_LABEL_VALUE;

/** The running memlens-agent pods, each on its node (from the pod cache's index: the agent pods only). */
export function runningAgents(pods: PodLookup, namespace: string): Pod[] {
  return pods
    .indexed(podsLabelled(namespace, AGENT_LABEL_KEY, AGENT_LABEL_VALUE))
    .filter((p) => p.spec.nodeName && p.status.phase === "Running" && !p.metadata.deletionTimestamp);
}

export interface AgentClientOptions {
  /** the token and certificate checks of every call (agent-access.ts) */
  access: Pick<AgentAccess, "request">;
  namespace: string;
  timeoutMs: number;
  port: number;
  log: Logger;
  metrics: ControllerMetrics;
}

/**
 * What the agents said about a set of pods in one pass: what the caller made of each pod's
 * cgroups (collect's `use`), and the nodes that did not answer.
 */
export interface AgentData<R> {
  byPod: Map<string, R>;
  unavailable: { node: string; reason: string }[];
}

/** A pod no inspection asked about for this long has its history copy dropped (asked in full again). */
const FORGET_AFTER_MS = 2 * 3_600_000;

/**
 * Asks the agent on each node that hosts a target pod for those pods' cgroup history. The
 * agent is found as the memlens-agent pod on that node (from the pod cache), reached on its pod
 * IP. Nodes are asked side by side, each with a timeout: one slow or dead agent never holds the
 * pass up, and within a pass a node that failed once is not asked again. Only samples newer
 * than the controller's copy travel (history-cache.ts).
 */
export class AgentClient {
  private readonly cache = new HistoryCache();
  private prunedAt = 0;

  constructor(private readonly opts: AgentClientOptions) {}

  /** the running memlens-agent pod of each node */
  private agentsByNode(pods: PodLookup): Map<string, Pod> {
    return new Map(runningAgents(pods, this.opts.namespace).map((p) => [p.spec.nodeName as string, p]));
  }

  /**
   * `windowS`: how far back the asking inspection looks (its spec.window). Each pod's cgroups
   * are handed to `use` as soon as its answer is in, their histories read in place from the
   * copies (history-cache.ts): what `use` returns is what the pass keeps.
   */
  async collect<R>(
    targets: Pod[],
    pods: PodLookup,
    windowS: number,
    use: (pod: Pod, entries: CgroupEntry[]) => R,
  ): Promise<AgentData<R>> {
    // a pass over every copy: once a minute, not once per inspection pass
    if (Date.now() - this.prunedAt > 60_000) {
      this.cache.prune(Date.now() - FORGET_AFTER_MS);
      this.prunedAt = Date.now();
    }
    const agents = this.agentsByNode(pods);
    const byPod = new Map<string, R>();
    const unavailable: AgentData<R>["unavailable"] = [];
    const byNode = new Map<string, Pod[]>();
    for (const p of targets) {
      if (!p.spec.nodeName) continue;
      byNode.set(p.spec.nodeName, [...(byNode.get(p.spec.nodeName) ?? []), p]);
    }
    await Promise.all(
      [...byNode].map(async ([node, pods]) => {
        const agent = agents.get(node);
        if (!agent?.status.podIP) {
          unavailable.push({ node, reason: `no running memlens agent on node ${node}` });
          return;
        }
        for (const pod of pods) {
          const end = this.opts.metrics.agentRequests.startTimer({ node });
          const uid = pod.metadata.uid;
          let entries: CgroupEntry[];
          try {
            const since = this.cache.sinceFor(uid, windowS);
            const query = `podUID=${uid}${since === undefined ? "" : `&since=${since}`}`;
            const res = await this.get(node, agent.status.podIP, `/v1/containers?${query}`);
            entries = this.cache.merge(uid, res, Date.now(), windowS);
            end({ result: "ok" });
          } catch (err) {
            end({ result: "error" });
            this.opts.metrics.agentErrors.inc({ node });
            unavailable.push({ node, reason: agentFailure(node, err) });
            this.opts.log.warn(
              { node, agent: agent.metadata.name, err: errMessage(err) },
              "agent request failed",
            );
            return; // the rest of this node's pods would fail the same way
          }
          // no await since the merge: the views are of the copies as this answer left them
          byPod.set(uid, use(pod, entries));
        }
      }),
    );
    return { byPod, unavailable };
  }

  private async get(node: string, host: string, path: string): Promise<ContainersResponse> {
    const options = await this.opts.access.request(node, host, this.opts.port, path);
    return new Promise((resolve, reject) => {
      const req = request({ ...options, timeout: this.opts.timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const body = Buffer.concat(chunks).toString("utf8");
          if (res.statusCode !== 200)
            return reject(new Error(`HTTP ${res.statusCode}: ${body.slice(0, 200).trim()}`));
          try {
            resolve(JSON.parse(body) as ContainersResponse);
          } catch {
            reject(new Error("the answer is not JSON"));
          }
        });
        res.on("error", reject);
      });
      req.on("timeout", () => req.destroy(new Error(`no answer in ${this.opts.timeoutMs} ms`)));
      req.on("error", reject);
      req.end();
    });
  }
}
