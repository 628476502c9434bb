import { RULE } from "../api/names.js";
import type { Logger } from "pino";
import { apiPath, PLURAL } from "../api/group.js";
import type { MemoryInspection } from "../api/memoryinspection.js";
import { ApiError, type KubeClient } from "../kube/client.js";
import { EventRecorder } from "../kube/events.js";
import { errMessage, Informer, objectKey } from "../kube/informer.js";
import { slimPod, type Pod } from "../kube/pod.js";
import { WorkQueue } from "../kube/workqueue.js";
import { controllerMetrics, type ControllerMetrics } from "./metrics.js";
import { Reconciler, slimInspection } from "./reconciler.js";
import { Schedules } from "./schedules.js";
import { AgentClient, isAgentPod, runningAgents } from "./agents.js";
import { KernelOomKills } from "./kernel-oom-kills.js";
import { AgentAccess } from "./agent-access.js";
import { AgentCA } from "./agent-ca.js";
import { AgentSigner } from "./agent-signer.js";
import { TargetIndex } from "./target-index.js";
import { podIndexValues, podWithUID } from "./targets.js";

export interface ManagerOptions {
  client: KubeClient;
  log: Logger;
  instance: string;
  workers: number;
  metrics?: ControllerMetrics;
  /** where the node agents' API is reached with this token; absent: pod-status rules only */
  agents?: { tokenFile: string; namespace: string; port: number; timeoutMs: number };
}

/**
 * Reconciles MemoryInspections, and when a Pod changes, the inspections that target it (a
 * restart with OOMKilled is inspected at once, not at the next tick; an index from workload and
 * labels to inspections, kept as inspections change, finds them without scanning). Informers fill the caches;
 * a keyed queue feeds a few workers; the reconcile outcome decides the requeue.
 */
export class Manager {
  readonly metrics: ControllerMetrics;
  readonly inspections: Informer<MemoryInspection>;
  readonly pods: Informer<Pod>;
  private readonly queue = new WorkQueue();
  readonly targets = new TargetIndex();
  private readonly reconciler: Reconciler;
  private readonly schedules: Schedules;
  private workersRunning: Promise<void>[] = [];
  private readonly kernelKills: KernelOomKills | undefined;
  /** signs the agents' serving certificates while this replica leads */
  private readonly signer: AgentSigner | undefined;
  private leading = false;

  constructor(private readonly opts: ManagerOptions) {
    const { client, log } = opts;
    this.metrics = opts.metrics ?? controllerMetrics();
    this.inspections = new Informer(client, {
      path: apiPath(PLURAL),
      transform: slimInspection,
      log,
    });
    this.pods = new Informer(client, {
      path: "/api/v1/pods",
      transform: slimPod,
      index: podIndexValues,
      log,
    });
    this.schedules = new Schedules((key) => this.enqueue(key, "schedule"));
    let agents: AgentClient | undefined;
    if (opts.agents) {
      const { tokenFile, namespace, port } = opts.agents;
      const ca = new AgentCA(client, namespace, log);
      const access = new AgentAccess(tokenFile, ca);
      agents = new AgentClient({ ...opts.agents, access, log, metrics: this.metrics });
      this.kernelKills = new KernelOomKills({ port, access, onKill: (uid) => this.killReported(uid), log });
      this.signer = new AgentSigner({ client, ca, pods: this.pods, namespace, log });
    }
    this.reconciler = new Reconciler({
      client,
      inspections: this.inspections,
      pods: this.pods,
      events: new EventRecorder(client, opts.instance, log),
      schedules: this.schedules,
      metrics: this.metrics,
      log,
      ...(agents ? { agents } : {}),
      ...(this.kernelKills ? { kernelKills: this.kernelKills } : {}),
    });

    this.inspections.on((event, mi, old) => {
      // our own status writes come back as updates: only a spec change (generation) is news
      if (event === "update" && old && old.metadata.generation === mi.metadata.generation) return;
      const key = objectKey(mi.metadata);
      if (event === "delete") {
        this.targets.delete(key);
        this.reconciler.forget(key, mi.metadata.uid);
      } else this.targets.set(mi);
      // the initial list is no news: only a change after it goes ahead of the periodic passes
      this.enqueue(key, `inspection ${event}`, this.synced);
    });
    this.pods.on((event, pod, old) => {
      for (const key of this.targets.inspectionsFor(pod, old)) this.enqueue(key, `pod ${event}`, this.synced);
      const agents = this.opts.agents?.namespace;
      if (this.leading && agents !== undefined && isAgentPod(pod, agents)) this.syncKillStreams();
    });
  }

  get synced(): boolean {
    return this.inspections.synced && this.pods.synced;
  }

  /** Fills the caches (standbys too, so a new leader starts warm). */
  startInformers(): void {
    this.inspections.start();
    this.pods.start();
  }

  /** Starts reconciling; called once this replica leads. */
  async startWorkers(): Promise<void> {
    await Promise.all([this.inspections.waitForSync(), this.pods.waitForSync()]);
    for (const mi of this.inspections.list()) this.enqueue(objectKey(mi.metadata), "start");
    for (let i = 0; i < this.opts.workers; i++) this.workersRunning.push(this.worker());
    this.leading = true;
    this.signer?.start();
    this.syncKillStreams();
  }

  async stop(): Promise<void> {
    this.leading = false;
    this.kernelKills?.stop();
    await this.signer?.stop();
    clearTimeout(this.gaugeTimer);
    this.queue.shutdown();
    this.schedules.stopAll();
    await Promise.all(this.workersRunning);
    await Promise.all([this.inspections.stop(), this.pods.stop()]);
  }

  private syncKillStreams(): void {
    if (this.opts.agents) this.kernelKills?.sync(runningAgents(this.pods, this.opts.agents.namespace));
  }

  /** The agent on a pod's node saw the kernel kill one of its containers: inspect it now. */
  private killReported(podUID: string): void {
    const [pod] = this.pods.indexed(podWithUID(podUID));
    if (!pod) return;
    for (const key of this.targets.inspectionsFor(pod)) {
      this.reconciler.killReported(key);
      this.enqueue(key, "OOM kill reported by agent", true);
    }
  }

  /** urgent: something changed (ahead of periodic passes and retries in the queue) */
  private enqueue(key: string, reason: string, urgent = false): void {
    this.opts.log.debug({ key, reason }, "enqueue");
    this.queue.add(key, urgent);
    this.metrics.queueDepth.set(this.queue.length);
  }

  private async worker(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      this.metrics.queueDepth.set(this.queue.length);
      const end = this.metrics.reconcileDuration.startTimer();
      try {
        const outcome = await this.reconciler.reconcile(key);
        this.queue.forget(key);
        this.metrics.reconciles.inc({ result: "success" });
        if (outcome.requeueAfterMs !== undefined) this.queue.addAfter(key, outcome.requeueAfterMs);
      } catch (err) {
        const retryAfter = err instanceof ApiError ? err.retryAfterMs : undefined;
        const delay = this.queue.addRateLimited(key, retryAfter);
        this.metrics.reconciles.inc({ result: "error" });
        this.metrics.reconcileErrors.inc();
        const conflict = err instanceof ApiError && err.status === 409;
        this.opts.log[conflict ? "debug" : "warn"](
          { key, err: errMessage(err), retryInMs: delay },
          "reconcile failed; retrying",
        );
      } finally {
        end();
        this.queue.done(key);
        this.findingGaugesSoon();
      }
    }
  }

  private gaugeTimer?: NodeJS.Timeout;
  /**
   * The finding gauges a second after a reconcile, once for all reconciles in that second: they
   * are recomputed from every inspection, which after each reconcile made the passes quadratic
   * (7 % of the controller's CPU at 1000 inspections).
   */
  private findingGaugesSoon(): void {
    this.gaugeTimer ??= setTimeout(() => {
      this.gaugeTimer = undefined;
      this.updateFindingGauge();
    }, 1000).unref();
  }

  /** The finding gauges, from the status of every inspection in the cache. */
  private updateFindingGauge(): void {
    const m = this.metrics;
    const counts = new Map<string, number>();
    m.inspectionFindings.reset();
    m.leakSecondsToLimit.reset();
    for (const mi of this.inspections.list()) {
      const { namespace, name: inspection } = mi.metadata;
      for (const f of mi.status?.findings ?? []) {
        if (f.resolved) continue;
        counts.set(f.rule, (counts.get(f.rule) ?? 0) + 1);
        m.inspectionFindings.inc({ namespace, inspection, rule: f.rule, severity: f.severity });
        const toLimit = f.evidence.secondsToLimit;
        if (f.rule === RULE.MemoryLeak && typeof toLimit === "number")
          m.leakSecondsToLimit.set(
            { namespace, inspection, pod: f.pod, container: f.container ?? "" },
            toLimit,
          );
      }
    }
    m.findings.reset();
    for (const [rule, n] of counts) m.findings.set({ rule }, n);
  }
}
