import { ConditionType, Reason } from "../api/names.js";
import type { Logger } from "pino";
import { effectiveSpec, type EffectiveSpec } from "../api/defaults.js";
import { API_VERSION, KIND, PLURAL, apiPath } from "../api/group.js";
import {
  MemoryInspectionSpecSchema,
  type Finding,
  type MemoryInspection,
  type MemoryInspectionStatus,
} from "../api/memoryinspection.js";
import type { KubeClient } from "../kube/client.js";
import type { EventRecorder, ObjectRef } from "../kube/events.js";
import { errMessage, type Informer } from "../kube/informer.js";
import type { Pod } from "../kube/pod.js";
import { setCondition, type ConditionInput } from "./conditions.js";
import { inspect, type CgroupInput, type InspectionResult } from "./inspect.js";
import type { AgentClient } from "./agents.js";
import type { KernelOomKills } from "./kernel-oom-kills.js";
import { analyzePodCgroups } from "./cgroup-findings.js";
import { podWorkload } from "./targets.js";
import { ProfileCollector, type HeapProfileReport } from "./profiles.js";
import { HeapProfileStore } from "./heap-profile-store.js";
import { planProfiles, type KeptState } from "./profile-plan.js";
import type { ControllerMetrics } from "./metrics.js";
import { scheduleProblem, type Schedules } from "./schedules.js";
import { resolveTarget, TargetNotFoundError } from "./targets.js";

/** What a reconcile asks for next: run again after a delay, or wait for a change. */
export interface Outcome {
  requeueAfterMs?: number;
}

/** What a pass decided, for the apply step: a full inspection, or only a Ready=False. */
interface Plan {
  result?: InspectionResult;
  notReady?: ConditionInput;
  now: Date;
  /** the cron job of a scheduled inspection, or none */
  schedule: { cron: string; timeZone?: string } | { remove: true };
  requeue: Outcome;
}

interface Gathered {
  cgroups?: CgroupInput;
  profiles?: Map<string, HeapProfileReport>;
}

export interface ReconcilerDeps {
  client: KubeClient;
  inspections: Informer<MemoryInspection>;
  pods: Informer<Pod>;
  events: EventRecorder;
  schedules: Schedules;
  metrics: ControllerMetrics;
  log: Logger;
  /** the node agents; without it only the pod-status rules run */
  agents?: AgentClient;
  /** the kills the agents push as the kernel reports them */
  kernelKills?: KernelOomKills;
  now?: () => Date;
}

const STATUS_KEYS: (keyof MemoryInspectionStatus)[] = [
  "observedGeneration",
  "lastInspectionTime",
  "target",
  "pods",
  "oomKills",
  "summary",
  "conditions",
  "findings",
  "recommendations",
];

/** The zod issue as a sentence naming the field: "spec.rules.leak.minFit: Too big: expected number to be <=1". */
export function describeSpecProblem(issues: { path: PropertyKey[]; message: string }[]): string {
  return issues.map((i) => `${["spec", ...i.path.map(String)].join(".")}: ${i.message}`).join("; ");
}

/**
 * Reconciles one MemoryInspection, level-triggered: it re-reads the object and the target's pods
 * from the caches, runs one inspection pass, writes the whole status once, then records Events.
 */
export class Reconciler {
  /** status writes not yet seen by the informer: keyed by the resourceVersion they replaced */
  private readonly written = new Map<string, { from: string; obj: MemoryInspection }>();

  private readonly heapProfiles: HeapProfileStore;
  private readonly profiles: ProfileCollector;
  /** what the last full pass of each inspection gathered from the agents and the profiles */
  private readonly gathered = new Map<string, Gathered>();
  /** inspections whose next pass answers a kill the agents reported: no gathering first */
  private readonly killsReported = new Set<string>();

  constructor(private readonly d: ReconcilerDeps) {
    this.heapProfiles = new HeapProfileStore(d.client);
    this.profiles = new ProfileCollector(this.heapProfiles, d.log, { metrics: d.metrics });
  }

  private current(key: string): MemoryInspection | undefined {
    const cached = this.d.inspections.get(key);
    const w = this.written.get(key);
    if (cached && w && cached.metadata.resourceVersion === w.from) return w.obj;
    this.written.delete(key);
    return cached;
  }

  /**
   * One pass, in three steps: gather (every read from the world: the object, the target's pods,
   * the agents, the heap profiles), decide (pure: the new status and what deserves an Event),
   * apply (the status write, the Events, the cron job, and the requeue as the returned value).
   */
  async reconcile(key: string): Promise<Outcome> {
    const mi = this.current(key);
    if (!mi) {
      this.d.schedules.remove(key);
      this.written.delete(key);
      return {};
    }
    const plan = await this.gatherAndDecide(mi, key);
    return this.apply(mi, key, plan);
  }

  /**
   * The agent on a node told of a kill in the inspection's pods: its next pass reuses what the
   * last one gathered from the agents and the profile endpoints (seconds old at most, and seconds
   * to gather again on a slow node), so the kill is in status and an Event at once; a full pass
   * follows straight after.
   */
  killReported(key: string): void {
    if (this.gathered.has(key)) this.killsReported.add(key);
  }

  /** Steps 1 and 2: what the world says, then the pure pass over it. */
  private async gatherAndDecide(mi: MemoryInspection, key: string): Promise<Plan> {
    const now = (this.d.now ?? (() => new Date()))();
    const generation = mi.metadata.generation;
    const notReady = (reason: string, message: string, schedule: Plan["schedule"]): Plan => ({
      notReady: { type: ConditionType.Ready, status: "False", reason, message },
      now,
      schedule,
      requeue: {},
    });
    const parsed = MemoryInspectionSpecSchema.safeParse(mi.spec ?? {});
    if (!parsed.success)
      return notReady(Reason.InvalidSpec, `Invalid spec: ${describeSpecProblem(parsed.error.issues)}.`, {
        remove: true,
      });
    const spec = effectiveSpec(parsed.data);
    const { schedule: cron, timeZone, suspend } = parsed.data;
    if (cron) {
      const problem = scheduleProblem(cron, timeZone);
      if (problem) return notReady(Reason.InvalidSpec, `Invalid spec: ${problem}.`, { remove: true });
    }
    const schedule: Plan["schedule"] = cron && !suspend ? { cron, timeZone } : { remove: true };
    if (suspend) return notReady(Reason.Suspended, "Inspection is suspended (spec.suspend: true).", schedule);
    const reused = this.killsReported.delete(key) ? this.gathered.get(key) : undefined;
    const requeue: Outcome = reused ? { requeueAfterMs: 1 } : cron ? {} : { requeueAfterMs: spec.intervalMs };

    let target;
    try {
      target = await resolveTarget(this.d.client, mi.metadata.namespace, parsed.data, this.d.pods);
    } catch (err) {
      if (!(err instanceof TargetNotFoundError)) throw err;
      return { ...notReady(Reason.TargetNotFound, `${err.message}.`, schedule), requeue };
    }

    // a pass that answers a kill the agents reported reuses what the last one gathered
    let cgroups: CgroupInput | undefined = reused?.cgroups;
    if (
      !reused &&
      this.d.agents &&
      target.pods.length &&
      (spec.rules.leak.enabled || spec.rules.throttle.enabled)
    ) {
      const data = await this.d.agents.collect(
        target.pods,
        this.d.pods,
        spec.windowMs / 1000,
        (pod, entries) =>
          analyzePodCgroups(pod, entries, spec, target.workload ?? podWorkload(pod), now.getTime() / 1000),
      );
      cgroups = {
        unavailable: data.unavailable,
        analyses: target.pods.flatMap((pod) => data.byPod.get(pod.metadata.uid) ?? []),
      };
    }
    const inspection = { name: mi.metadata.name, namespace: mi.metadata.namespace };
    const kernel = this.d.kernelKills;
    const input = {
      generation,
      spec,
      previous: mi.status ?? {},
      target,
      now,
      cgroups,
      inspection,
      ...(kernel ? { kernelKills: (uid: string) => kernel.forPod(uid) } : {}),
    };
    const result = inspect(input);
    // which pods' heap profiles to fetch depends on the pass's findings: fetch them, then pass
    // again with what they said (pure, cheap) rather than editing the status
    const profiles = reused
      ? reused.profiles
      : await this.gatherProfiles(mi, spec, target.pods, result.status.findings ?? [], now);
    if (!reused)
      this.gathered.set(key, { ...(cgroups ? { cgroups } : {}), ...(profiles ? { profiles } : {}) });
    return { result: profiles ? inspect({ ...input, profiles }) : result, now, schedule, requeue };
  }

  /**
   * The heap profiles this pass plans: baselines of warmed-up pods, and comparisons for pods with
   * findings. What is kept for pods that left the target goes. Never fails the pass.
   */
  private async gatherProfiles(
    mi: MemoryInspection,
    spec: EffectiveSpec,
    pods: Pod[],
    findings: Finding[],
    now: Date,
  ): Promise<Map<string, HeapProfileReport> | undefined> {
    if (!spec.profiling.enabled) return undefined;
    const log = this.d.log.child({ key: `${mi.metadata.namespace}/${mi.metadata.name}` });
    let kept: Map<string, KeptState>;
    try {
      kept = await this.heapProfiles.keptFor(mi);
      await this.heapProfiles.prune(mi, new Set(pods.map((p) => p.metadata.uid)));
    } catch (err) {
      log.warn({ err: errMessage(err) }, "kept heap profiles not read");
      kept = new Map();
      const error = `the heap profiles kept in the cluster could not be read: ${errMessage(err).slice(0, 200)}`;
      const asking = planProfiles({ spec, pods, findings, kept, now }).filter((t) => t.report);
      return asking.length ? new Map(asking.map((t) => [t.pod.metadata.name, { error }])) : undefined;
    }
    const tasks = planProfiles({ spec, pods, findings, kept, now });
    if (!tasks.length) return undefined;
    return this.profiles.collect(mi, tasks, kept, spec, now);
  }

  /** Step 3: everything the pass changes in the world. */
  private async apply(mi: MemoryInspection, key: string, plan: Plan): Promise<Outcome> {
    if ("remove" in plan.schedule) this.d.schedules.remove(key);
    else this.d.schedules.ensure(key, plan.schedule.cron, plan.schedule.timeZone);
    if (plan.notReady) {
      if (plan.notReady.reason === Reason.InvalidSpec)
        this.d.log.child({ key }).warn({ problem: plan.notReady.message }, "invalid MemoryInspection");
      await this.writeNotReady(mi, plan.notReady, plan.now);
      return plan.requeue;
    }
    const result = plan.result as InspectionResult;
    await this.writeStatus(mi, result.status);

    const log = this.d.log.child({ key });
    const regarding = this.ref(mi);
    for (const { finding, pod, occurrences } of result.happened) {
      log.info(
        { rule: finding.rule, pod: finding.pod, container: finding.container, count: finding.count },
        finding.message,
      );
      await this.d.events.record({
        regarding,
        ...(pod ? { related: podRef(pod) } : {}),
        type: finding.severity === "Info" ? "Normal" : "Warning",
        reason: finding.rule,
        action: "Inspect",
        note: finding.message,
        occurrences,
      });
    }
    for (const rec of result.newRecommendations) {
      await this.d.events.record({
        regarding,
        type: "Normal",
        reason: "Recommendation",
        action: "Recommend",
        note: `${rec.type} for ${rec.workload} container ${rec.container}: ${rec.reason}`,
        // the note starts with it, so a restarted controller finds the series again
        seriesKey: `${rec.type} for ${rec.workload} container ${rec.container}:`,
      });
    }
    return plan.requeue;
  }

  forget(key: string, uid?: string): void {
    this.written.delete(key);
    this.gathered.delete(key);
    this.killsReported.delete(key);
    if (uid) {
      this.d.events.forget(uid);
      this.heapProfiles.forget(uid);
    }
  }

  private ref(mi: MemoryInspection): ObjectRef {
    return {
      apiVersion: API_VERSION,
      kind: KIND,
      name: mi.metadata.name,
      namespace: mi.metadata.namespace,
      uid: mi.metadata.uid,
    };
  }

  private async writeNotReady(mi: MemoryInspection, ready: ConditionInput, now: Date): Promise<void> {
    const previous = mi.status ?? {};
    const status: MemoryInspectionStatus = {
      ...previous,
      observedGeneration: mi.metadata.generation,
      summary: ready.message,
      conditions: setCondition(previous.conditions ?? [], ready, now, mi.metadata.generation),
    };
    if (JSON.stringify(status) === JSON.stringify(previous)) return;
    await this.writeStatus(mi, status);
  }

  /**
   * One merge patch of the whole status through the status subresource. The resourceVersion
   * makes it conditional: written from a stale cache it fails with 409 and the key is retried,
   * so no pass counts a kill twice.
   */
  private async writeStatus(mi: MemoryInspection, status: MemoryInspectionStatus): Promise<void> {
    const body = Object.fromEntries(STATUS_KEYS.map((k) => [k, status[k] ?? null]));
    const path = `${apiPath(PLURAL, mi.metadata.namespace, mi.metadata.name)}/status`;
    const updated = await this.d.client.request<MemoryInspection>("PATCH", path, {
      contentType: "application/merge-patch+json",
      body: { metadata: { resourceVersion: mi.metadata.resourceVersion }, status: body },
    });
    this.written.set(`${mi.metadata.namespace}/${mi.metadata.name}`, {
      from: mi.metadata.resourceVersion ?? "",
      obj: slimInspection(updated as unknown as Record<string, unknown>),
    });
  }
}

export function podRef(pod: Pod): ObjectRef {
  return {
    apiVersion: "v1",
    kind: "Pod",
    name: pod.metadata.name,
    namespace: pod.metadata.namespace ?? "",
    uid: pod.metadata.uid,
  };
}

export function slimInspection(raw: Record<string, unknown>): MemoryInspection {
  const m = raw.metadata as MemoryInspection["metadata"];
  return {
    apiVersion: raw.apiVersion as string,
    kind: raw.kind as string,
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      generation: m.generation,
      resourceVersion: m.resourceVersion,
      creationTimestamp: m.creationTimestamp,
    },
    spec: raw.spec,
    status: raw.status as MemoryInspectionStatus | undefined,
  };
}
