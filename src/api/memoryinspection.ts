import { z } from "zod";
import { withRules } from "./cel.js";
import { DURATION_PATTERN, parseDuration } from "./duration.js";
import { QUANTITY_PATTERN } from "./quantity.js";

/**
 * The MemoryInspection API (memlens.dev/v1alpha1). These schemas are the single source of the
 * TypeScript types, the controller's validation and the CRD's openAPIV3Schema (`make crds`).
 * Defaults are applied in code (defaults.ts), never by the apiserver, so nothing is written back
 * into a user's spec and GitOps tools see no drift.
 */

export const TARGET_KINDS = [
  "Deployment",
  "StatefulSet",
  "DaemonSet",
  "ReplicaSet",
  "Job",
  "CronJob",
  "Pod",
] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];
/** the apiVersion each supported kind lives in */
export const TARGET_API_VERSIONS: Record<TargetKind, string> = {
  Deployment: "apps/v1",
  StatefulSet: "apps/v1",
  DaemonSet: "apps/v1",
  ReplicaSet: "apps/v1",
  Job: "batch/v1",
  CronJob: "batch/v1",
  Pod: "v1",
};

const NAME_PATTERN = "^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$";

function duration(description: string, min: string, max: string) {
  const [minMs, maxMs] = [parseDuration(min) ?? 0, parseDuration(max) ?? Infinity];
  return withRules(z.string().max(32).meta({ description }), [
    {
      cel: `self.matches('${DURATION_PATTERN.replaceAll("\\", "\\\\")}') && duration(self) >= duration('${min}') && duration(self) <= duration('${max}')`,
      message: `must be a duration such as 30s, 5m or 1h30m, between ${min} and ${max}`,
      check: (v) => {
        const ms = parseDuration(v);
        return ms !== undefined && ms >= minMs && ms <= maxMs;
      },
    },
  ]);
}

/**
 * The shape of a cron expression, checked at admission: 5 fields, or 6 with seconds first, each a
 * `*`, a number or a name, a range, a step, or a list of them. What only node-cron can tell (a
 * minute of 61, a day of "funday") the controller reports as InvalidSpec.
 */
const CRON_FIELD = "(\\*|[0-9A-Za-z]+(-[0-9A-Za-z]+)?)(/[0-9]+)?";
const CRON_LIST = `${CRON_FIELD}(,${CRON_FIELD})*`;
export const CRON_PATTERN = `^${CRON_LIST}( +${CRON_LIST}){4,5}$`;

function cronExpression(description: string) {
  return withRules(z.string().max(128).meta({ description }), [
    {
      cel: `self.matches('${CRON_PATTERN.replaceAll("\\", "\\\\")}')`,
      message:
        "must be a cron expression of 5 fields (minute hour day-of-month month day-of-week), or 6 with seconds first, such as '*/5 * * * *'",
      check: (v) => new RegExp(CRON_PATTERN).test(v),
    },
  ]);
}

function quantity(description: string) {
  return z
    .string()
    .max(32)
    .regex(new RegExp(QUANTITY_PATTERN), "must be a memory quantity such as 512Ki, 4Mi or 1Gi")
    .meta({ description });
}

export const TargetRefSchema = withRules(
  z
    .object({
      apiVersion: z.string().max(64).optional().meta({
        description: "API version of the target (apps/v1, batch/v1 or v1); optional, implied by kind.",
      }),
      kind: z.enum(TARGET_KINDS).meta({
        description:
          "Kind of the workload: Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob or Pod.",
      }),
      name: z
        .string()
        .min(1)
        .max(253)
        .regex(new RegExp(NAME_PATTERN), "must be a Kubernetes object name (lower case, digits, '-', '.')")
        .meta({ description: "Name of the workload, in the MemoryInspection's namespace." }),
    })
    .strict()
    .meta({ description: "The workload whose pods are inspected, in the same namespace." }),
  [
    {
      cel: "!has(self.apiVersion) || self.apiVersion == (self.kind in ['Job', 'CronJob'] ? 'batch/v1' : self.kind == 'Pod' ? 'v1' : 'apps/v1')",
      message:
        "apiVersion does not match kind: Deployment, StatefulSet, DaemonSet and ReplicaSet are apps/v1; Job and CronJob are batch/v1; Pod is v1",
      fieldPath: ".apiVersion",
      check: (t) => t.apiVersion === undefined || t.apiVersion === TARGET_API_VERSIONS[t.kind],
    },
  ],
);

export const LabelSelectorSchema = z
  .object({
    matchLabels: z
      .record(z.string(), z.string())
      .optional()
      .meta({ description: "Pods whose labels include all of these key/value pairs." }),
    matchExpressions: z
      .array(
        z
          .object({
            key: z.string().min(1).max(317).meta({ description: "Label key." }),
            operator: z
              .enum(["In", "NotIn", "Exists", "DoesNotExist"])
              .meta({ description: "In, NotIn, Exists or DoesNotExist." }),
            values: z
              .array(z.string().max(63))
              .max(64)
              .optional()
              .meta({ description: "Values for In and NotIn." }),
          })
          .strict(),
      )
      .max(32)
      .optional()
      .meta({ description: "Label requirements, all of which must hold." }),
  })
  .strict()
  .meta({ description: "A label selector for pods in the same namespace (instead of targetRef)." });

const OomRuleSchema = z
  .object({
    enabled: z.boolean().optional().meta({ description: "Report OOM kills (default true)." }),
  })
  .strict()
  .meta({
    description: "OOMKilled and ProcessOOMKilled: kernel OOM kills of the container or of a process in it.",
  });

const LeakRuleSchema = z
  .object({
    enabled: z.boolean().optional().meta({ description: "Look for memory leaks (default true)." }),
    minObservation: duration(
      "The shortest history the leak rule needs before it may judge (default 15m).",
      "5s",
      "168h",
    ).optional(),
    minGrowthPerHour: quantity(
      "Growth of unreclaimable memory per hour below which nothing is reported (default 1Mi).",
    ).optional(),
    minFit: z
      .number()
      .min(0)
      .max(1)
      .optional()
      .meta({ description: "Minimum fit quality (R², 0 to 1) of the growth trend (default 0.8)." }),
  })
  .strict()
  .meta({ description: "MemoryLeak: sustained growth of memory the kernel cannot reclaim." });

const ThrottleRuleSchema = z
  .object({
    enabled: z
      .boolean()
      .optional()
      .meta({ description: "Look for allocation throttling at memory.high (default true)." }),
    minStallPercent: z.number().min(0).max(100).optional().meta({
      description: "PSI memory stall (some, percent of wall time) that counts as throttled (default 10).",
    }),
    qosFactor: z.number().min(0).max(1).optional().meta({
      description: "The kubelet's MemoryQoS memoryThrottlingFactor, to explain memory.high (default 0.9).",
    }),
  })
  .strict()
  .meta({ description: "MemoryThrottled (cgroup v2): allocations stalled at memory.high below memory.max." });

const ProfilingSchema = withRules(
  z
    .object({
      enabled: z
        .boolean()
        .optional()
        .meta({ description: "Fetch heap profiles from the target's pods (default false)." }),
      port: z
        .number()
        .int()
        .min(1)
        .max(65535)
        .optional()
        .meta({ description: "Port of the pprof endpoint on the pod." }),
      path: z
        .string()
        .max(256)
        .regex(/^\//, "must be an absolute URL path such as /debug/pprof/heap")
        .optional()
        .meta({ description: "URL path of the heap profile (default /debug/pprof/heap)." }),
      scheme: z.enum(["http", "https"]).optional().meta({ description: "http or https (default http)." }),
      sampleType: z.string().max(64).optional().meta({
        description: "Sample type to rank by (default: the profile's default, inuse_space for Go).",
      }),
      topN: z
        .number()
        .int()
        .min(1)
        .max(50)
        .optional()
        .meta({ description: "How many top allocators to report (default 5)." }),
      warmUp: duration(
        "How long a container runs before its heap profile becomes the baseline that later profiles are compared with (default 2m).",
        "0s",
        "24h",
      ).optional(),
      baselineRefresh: duration(
        "A pod's baseline is replaced by a fresh profile once it is this old, while the pod has no open MemoryLeak or OOMKilled finding; with one, the baseline is kept (default 1h).",
        "1m",
        "168h",
      ).optional(),
    })
    .strict()
    .meta({ description: "Heap profiles (pprof) of the target's pods; off by default." }),
  [
    {
      cel: "!has(self.enabled) || !self.enabled || has(self.port)",
      message: "profiling.port is required when profiling is enabled",
      fieldPath: ".port",
      check: (p) => !p.enabled || p.port !== undefined,
    },
  ],
);

export const MemoryInspectionSpecSchema = withRules(
  z
    .object({
      targetRef: TargetRefSchema.optional(),
      selector: LabelSelectorSchema.optional(),
      containers: z
        .array(z.string().min(1).max(63))
        .max(64)
        .optional()
        .meta({ description: "Only these containers of the target's pods (default: all)." }),
      interval: duration("How often to inspect (default 1m). Not with schedule.", "5s", "24h").optional(),
      schedule: cronExpression(
        "When to inspect, as a cron expression (node-cron syntax, e.g. '*/5 * * * *'). Not with interval.",
      ).optional(),
      timeZone: z
        .string()
        .max(64)
        .optional()
        .meta({ description: "IANA time zone of schedule (default UTC)." }),
      window: duration("How much history the trend rules look at (default 1h).", "1m", "168h").optional(),
      rules: z
        .object({
          oom: OomRuleSchema.optional(),
          leak: LeakRuleSchema.optional(),
          throttle: ThrottleRuleSchema.optional(),
        })
        .strict()
        .optional()
        .meta({ description: "Which rules run, and their thresholds." }),
      profiling: ProfilingSchema.optional(),
      suspend: z
        .boolean()
        .optional()
        .meta({ description: "Stop inspecting without deleting (default false)." }),
    })
    .strict()
    .meta({ description: "What to inspect and when." }),
  [
    {
      cel: "!(has(self.targetRef) && has(self.selector))",
      message: "spec.targetRef and spec.selector are mutually exclusive: set exactly one of them",
      check: (s) => !(s.targetRef && s.selector),
    },
    {
      cel: "has(self.targetRef) || has(self.selector)",
      message: "set one of spec.targetRef (a workload) or spec.selector (a pod label selector)",
      check: (s) => Boolean(s.targetRef ?? s.selector),
    },
    {
      cel: "!(has(self.interval) && has(self.schedule))",
      message: "spec.interval and spec.schedule are mutually exclusive: set at most one of them",
      check: (s) => !(s.interval && s.schedule),
    },
    {
      cel: "!has(self.timeZone) || has(self.schedule)",
      message: "spec.timeZone only applies to spec.schedule",
      fieldPath: ".timeZone",
      check: (s) => !s.timeZone || Boolean(s.schedule),
    },
  ],
);
export type MemoryInspectionSpec = z.infer<typeof MemoryInspectionSpecSchema>;
export type TargetRef = z.infer<typeof TargetRefSchema>;
export type LabelSelector = z.infer<typeof LabelSelectorSchema>;

// ---- status (written by the controller only)

const time = () => z.string().meta({ format: "date-time" });

export const ConditionSchema = z.object({
  type: z.string().meta({ description: "Ready, OOMKilled, MemoryLeak or MemoryThrottled." }),
  status: z.enum(["True", "False", "Unknown"]),
  reason: z.string().meta({ description: "CamelCase reason for the last transition." }),
  message: z.string().meta({ description: "What a person should know." }),
  lastTransitionTime: time().meta({ description: "When status last changed." }),
  observedGeneration: z.number().int().optional(),
});
export type Condition = z.infer<typeof ConditionSchema>;

export const SEVERITIES = ["Critical", "Warning", "Info"] as const;
export const FindingSchema = z.object({
  rule: z.string().meta({ description: "The rule that found it (also the Event reason)." }),
  severity: z.enum(SEVERITIES),
  pod: z.string(),
  container: z.string().optional(),
  node: z.string().optional(),
  message: z.string().meta({ description: "One sentence with the numbers." }),
  evidence: z
    .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
    .meta({ description: "The numbers behind the message.", "x-kubernetes-preserve-unknown-fields": true }),
  firstSeen: time(),
  lastSeen: time(),
  count: z.number().int().meta({ description: "How many times it happened (OOM kills) or was seen." }),
  resolved: z.boolean().optional().meta({ description: "True once the problem is no longer seen." }),
  unverified: z.string().optional().meta({
    description:
      "Why the last pass could not check it (its node's agent did not answer, e.g. the node is unreachable): it is kept as last seen, not resolved.",
  }),
});
export type Finding = z.infer<typeof FindingSchema>;

const ResourcesSchema = z.object({
  requests: z.record(z.string(), z.string()).optional(),
  limits: z.record(z.string(), z.string()).optional(),
});
export type Resources = z.infer<typeof ResourcesSchema>;

export const RecommendationSchema = z.object({
  type: z.string().meta({ description: "RaiseMemoryLimit, FixLeak, SetRequestsEqualLimits, ..." }),
  pod: z.string().optional(),
  container: z.string(),
  workload: z.string().meta({ description: "Kind/name the patch applies to." }),
  current: ResourcesSchema,
  suggested: ResourcesSchema,
  reason: z.string().meta({ description: "Why, with numbers a person can check." }),
  patch: z.string().meta({ description: "A strategic-merge patch (YAML) for the workload manifest." }),
  command: z.string().optional().meta({ description: "The same patch as a kubectl command." }),
});
export type Recommendation = z.infer<typeof RecommendationSchema>;

export const MemoryInspectionStatusSchema = z.object({
  observedGeneration: z.number().int().optional(),
  lastInspectionTime: time().optional(),
  target: z.string().optional().meta({ description: "What is inspected, e.g. Deployment/catalog." }),
  pods: z.number().int().optional().meta({ description: "How many pods the target resolved to." }),
  oomKills: z.number().int().optional().meta({ description: "OOM kills seen in total." }),
  summary: z.string().optional(),
  conditions: z.array(ConditionSchema).optional(),
  findings: z.array(FindingSchema).optional(),
  recommendations: z.array(RecommendationSchema).optional(),
});
export type MemoryInspectionStatus = z.infer<typeof MemoryInspectionStatusSchema>;

export interface MemoryInspection {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    generation?: number;
    resourceVersion?: string;
    creationTimestamp?: string | Date;
  };
  spec?: unknown;
  status?: MemoryInspectionStatus;
}
