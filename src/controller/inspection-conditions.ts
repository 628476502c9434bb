import { ConditionType, RULE, Reason } from "../api/names.js";
import { formatDuration } from "../api/duration.js";
import type { Condition, Finding } from "../api/memoryinspection.js";
import { setCondition, type ConditionInput } from "./conditions.js";
import { plural } from "./inspection-rules.js";
import type { ResolvedTarget } from "./targets.js";
import { parseQuantity } from "../api/quantity.js";
import type { Pod } from "../kube/pod.js";

export interface ConditionsInput {
  previous: Condition[] | undefined;
  target: ResolvedTarget;
  /** nodes whose agent gave no cgroup data, and why */
  unavailable: readonly { node: string; reason: string }[];
  findings: readonly Finding[];
  activeOom: readonly Finding[];
  windowMs: number;
  now: Date;
  generation: number | undefined;
}

/** The pass's conditions: Ready, OOMKilled, MemoryLeak and MemoryThrottled, in that order of setting. */
export function inspectionConditions(input: ConditionsInput): Condition[] {
  let conditions = input.previous ?? [];
  for (const c of [
    ready(input),
    oomKilled(input),
    ruleCondition(input, ConditionType.MemoryLeak, RULE.MemoryLeak),
    ruleCondition(input, ConditionType.MemoryThrottled, RULE.MemoryThrottled),
  ])
    conditions = setCondition(conditions, c, input.now, input.generation);
  return conditions;
}

function ready({ target, unavailable }: ConditionsInput): ConditionInput {
  if (unavailable.length)
    return {
      type: ConditionType.Ready,
      status: "False",
      reason: Reason.AgentUnavailable,
      message: `No cgroup data from ${[...new Set(unavailable.map((u) => u.node))].join(", ")}: ${unavailable[0]!.reason}. Pod status rules still ran.`,
    };
  return target.pods.length
    ? {
        type: ConditionType.Ready,
        status: "True",
        reason: Reason.Inspected,
        message: `Inspected ${plural(target.pods.length, "pod")} of ${target.description}.`,
      }
    : {
        type: ConditionType.Ready,
        status: "True",
        reason: Reason.NoPods,
        message: `${target.description} has no pods right now; nothing to inspect.`,
      };
}

function oomKilled({ findings, activeOom, windowMs }: ConditionsInput): ConditionInput {
  if (activeOom.length) {
    const total = activeOom.reduce((s, f) => s + f.count, 0);
    return {
      type: ConditionType.OOMKilled,
      status: "True",
      reason: Reason.OOMKillsSeen,
      message: `${plural(total, "OOM kill")} in the last ${formatDuration(windowMs)}: ${activeOom.map((f) => `${f.pod}/${f.container} (${f.count})`).join(", ")}.`,
    };
  }
  return findings.some((f) => f.rule === RULE.OOMKilled)
    ? {
        type: ConditionType.OOMKilled,
        status: "False",
        reason: Reason.NoRecentOOMKills,
        message: `No OOM kill in the last ${formatDuration(windowMs)}.`,
      }
    : {
        type: ConditionType.OOMKilled,
        status: "False",
        reason: Reason.NoOOMKills,
        message: "No OOM kill seen.",
      };
}

const RULE_CONDITION = {
  [RULE.MemoryLeak]: {
    found: Reason.LeakDetected,
    none: Reason.NoLeak,
    stopped: Reason.LeakStopped,
    text: "No sustained growth of unreclaimable memory.",
  },
  [RULE.MemoryThrottled]: {
    found: Reason.ThrottledAtMemoryHigh,
    none: Reason.NotThrottled,
    stopped: Reason.ThrottlingStopped,
    text: "No allocation throttling at memory.high.",
  },
} as const;

const NO_MEMORY_HIGH =
  "Every container's memory request equals its limit now: the kubelet sets no memory.high (MemoryQoS) for them.";

/** Every container of every pod has its memory request equal to its limit: MemoryQoS leaves memory.high alone. */
function noMemoryHigh(pods: readonly Pod[]): boolean {
  return (
    pods.length > 0 &&
    pods.every((p) =>
      p.spec.containers.every((c) => {
        const limit = parseQuantity(c.resources?.limits?.memory);
        // a request left out defaults to the limit
        return limit !== undefined && (parseQuantity(c.resources?.requests?.memory) ?? limit) === limit;
      }),
    )
  );
}

/** True with the first active finding's message, or False (with why it stopped, when there was one). */
function ruleCondition(
  input: ConditionsInput,
  type: string,
  rule: typeof RULE.MemoryLeak | typeof RULE.MemoryThrottled,
): ConditionInput {
  const { findings, target } = input;
  const words = RULE_CONDITION[rule];
  const f = findings.find((x) => x.rule === rule && !x.resolved);
  if (f)
    return { type, status: "True", reason: words.found, message: `${f.pod}/${f.container}: ${f.message}` };
  if (!findings.some((x) => x.rule === rule))
    return { type, status: "False", reason: words.none, message: words.text };
  const why = rule === RULE.MemoryThrottled && noMemoryHigh(target.pods) ? ` ${NO_MEMORY_HIGH}` : "";
  return { type, status: "False", reason: words.stopped, message: `No longer seen.${why} ${words.text}` };
}
