import type { Condition } from "../api/memoryinspection.js";

import { ConditionType } from "../api/names.js";

export type ConditionInput = Omit<Condition, "lastTransitionTime" | "observedGeneration">;

/** Sets one condition; lastTransitionTime changes only when status flips (metav1.Condition semantics). */
export function setCondition(
  conditions: Condition[],
  input: ConditionInput,
  now: Date,
  generation?: number,
): Condition[] {
  const old = conditions.find((c) => c.type === input.type);
  const next: Condition = {
    ...input,
    lastTransitionTime: old && old.status === input.status ? old.lastTransitionTime : now.toISOString(),
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  };
  const order = Object.values(ConditionType) as string[];
  return [...conditions.filter((c) => c.type !== input.type), next].sort(
    (a, b) => (order.indexOf(a.type) + 1 || 99) - (order.indexOf(b.type) + 1 || 99),
  );
}

export function conditionStatus(conditions: Condition[] | undefined, type: string): string | undefined {
  return conditions?.find((c) => c.type === type)?.status;
}
