import { request, type RequestOptions } from "node:https";
import type { ClientRequest } from "node:http";
import type { Logger } from "pino";
import type { KernelOomKill, OomKillsHello } from "../agent/oom-kills.js";
import { UNNAMED_INSTANCE, type KernelKill } from "../analysis/oom.js";
import { errMessage } from "../kube/informer.js";
import type { Pod } from "../kube/pod.js";
import type { AgentAccess } from "./agent-access.js";

export interface KernelOomKillsOptions {
  port: number;
  access: Pick<AgentAccess, "request">;
  /** a kill in this pod was reported: inspect it now */
  onKill: (podUID: string) => void;
  log: Logger;
}

/** Kills are needed until pod status has caught up and the window has passed them; an hour is ample. */
const KEEP_S = 3600;
const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 30_000;
/** the agent writes at least every 15 s: a silent stream is a dead one */
const SILENT_MS = 45_000;

/** The latest report of a container instance's kills: `kills` tells a replay from news. */
interface Reported extends KernelKill {
  kills: number;
  main: boolean;
}

/**
 * The kills the node agents learn from the kernel, pushed to the controller as they happen: one
 * streaming GET /v1/oom-kills per running agent, resumed after a break from the last record
 * seen. A kill is known here within milliseconds of the kernel's, before the kubelet reports it
 * in pod status; the pass that it triggers counts it (oom-kill-observations.ts), and the status
 * that follows is recognised as the same kill by the container's ID.
 */
export class KernelOomKills {
  private readonly byPod = new Map<string, Map<string, Reported>>();
  private readonly streams = new Map<string, AgentKillStream>();

  constructor(private readonly opts: KernelOomKillsOptions) {}

  /** Streams from exactly these running agent pods (runningAgents), those with an IP. */
  sync(agentPods: Pod[]): void {
    const wanted = new Map<string, Pod>();
    for (const p of agentPods) if (p.status.podIP) wanted.set(`${p.metadata.uid}/${p.status.podIP}`, p);
    for (const [key, stream] of this.streams) {
      if (wanted.has(key)) continue;
      stream.stop();
      this.streams.delete(key);
    }
    for (const [key, pod] of wanted) {
      if (this.streams.has(key)) continue;
      const node = pod.spec.nodeName as string;
      const stream = new AgentKillStream(pod.status.podIP as string, node, this.opts, (k) =>
        this.record(k, node),
      );
      this.streams.set(key, stream);
      stream.start();
    }
  }

  /** The pod's container instances whose main process the kernel killed, as the agents said. */
  forPod(podUID: string): KernelKill[] {
    const reported = [...(this.byPod.get(podUID)?.values() ?? [])];
    return reported
      .filter((k) => k.main)
      .map(({ containerID, at, node }) => ({ containerID: containerID || UNNAMED_INSTANCE, at, node }));
  }

  stop(): void {
    for (const s of this.streams.values()) s.stop();
    this.streams.clear();
  }

  private record(k: KernelOomKill, node: string): void {
    const now = Date.now() / 1000;
    for (const [uid, kills] of this.byPod) {
      for (const [id, kill] of kills) if (now - kill.at > KEEP_S) kills.delete(id);
      if (!kills.size) this.byPod.delete(uid);
    }
    let kills = this.byPod.get(k.podUID);
    if (!kills) this.byPod.set(k.podUID, (kills = new Map<string, Reported>()));
    const known = kills.get(k.containerID);
    if (known && known.kills >= k.kills) return; // replayed after a reconnect
    kills.set(k.containerID, {
      containerID: k.containerID,
      at: k.at,
      node,
      kills: k.kills,
      main: k.process === "main",
    });
    this.opts.log.info(
      { node, podUID: k.podUID, containerID: k.containerID, process: k.process, source: k.source },
      "OOM kill reported by agent",
    );
    // a child's kill is in the cgroup history the pass reads (ProcessOOMKilled): inspect now too
    this.opts.onKill(k.podUID);
  }
}

/** One agent's stream, reconnected with backoff until stopped. */
class AgentKillStream {
  private after = 0;
  private agentStartedAt = 0;
  private req: ClientRequest | undefined;
  private retry: NodeJS.Timeout | undefined;
  private retryMs = RETRY_MIN_MS;
  private stopped = false;

  constructor(
    private readonly host: string,
    private readonly node: string,
    private readonly opts: KernelOomKillsOptions,
    private readonly onKill: (k: KernelOomKill) => void,
  ) {}

  start(): void {
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    this.req?.destroy();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const path = `/v1/oom-kills?watch=true&after=${this.after}&agentStartedAt=${this.agentStartedAt}`;
    let options: RequestOptions;
    try {
      options = await this.opts.access.request(this.node, this.host, this.opts.port, path);
    } catch (err) {
      return this.broken(err);
    }
    // a late error or end of a replaced request must not break its successor
    const fail = (err: unknown) => {
      if (this.req === req) this.broken(err);
    };
    const req = request(options, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return fail(new Error(`HTTP ${res.statusCode}`));
      }
      res.setEncoding("utf8");
      let pending = "";
      let hello = true;
      res.on("data", (chunk: string) => {
        this.retryMs = RETRY_MIN_MS;
        const lines = (pending + chunk).split("\n");
        pending = lines.pop() ?? "";
        for (const line of lines) {
          if (!line) continue; // keepalive
          try {
            if (hello) this.hello(JSON.parse(line) as OomKillsHello);
            else this.kill(JSON.parse(line) as KernelOomKill);
            hello = false;
          } catch (err) {
            req.destroy(new Error(`not a stream of JSON lines: ${errMessage(err)}`));
            return;
          }
        }
      });
      res.on("end", () => fail(new Error("the agent ended the stream")));
      res.on("error", fail);
    });
    req.setTimeout(SILENT_MS, () => req.destroy(new Error(`silent for ${SILENT_MS / 1000} s`)));
    req.on("error", fail);
    req.end();
    this.req = req;
  }

  private hello(h: OomKillsHello): void {
    // another agent process: its numbers start again, and it sent everything it keeps
    if (h.agentStartedAt !== this.agentStartedAt) this.after = 0;
    this.agentStartedAt = h.agentStartedAt;
  }

  private kill(k: KernelOomKill): void {
    if (typeof k.seq !== "number" || typeof k.podUID !== "string" || typeof k.containerID !== "string")
      throw new Error("a kill without seq, podUID or containerID");
    this.after = Math.max(this.after, k.seq);
    this.onKill(k);
  }

  private broken(err: unknown): void {
    if (this.stopped || this.retry) return;
    this.req?.destroy();
    this.req = undefined;
    this.opts.log.debug(
      { node: this.node, err: errMessage(err), retryInMs: this.retryMs },
      "OOM kill stream broken",
    );
    this.retry = setTimeout(() => {
      this.retry = undefined;
      void this.connect();
    }, this.retryMs);
    this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
  }
}
