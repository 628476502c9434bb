import type { z } from "zod";

/**
 * One validation rule written twice, side by side: as CEL for the apiserver's admission
 * (x-kubernetes-validations in the generated CRD) and as a predicate for the controller's own
 * check, with one message for both.
 */
export interface Rule<T> {
  cel: string;
  message: string;
  /** the field path the message is about, relative to the schema the rule is on (CEL fieldPath) */
  fieldPath?: string;
  check: (value: T) => boolean;
}

export function withRules<S extends z.ZodType>(schema: S, rules: Rule<z.output<S>>[]): S {
  let out = schema;
  for (const r of rules) {
    out = out.refine(r.check, {
      message: r.message,
      ...(r.fieldPath ? { path: r.fieldPath.split(".").slice(1) } : {}),
    });
  }
  const validations = rules.map((r) => ({
    rule: r.cel,
    message: r.message,
    ...(r.fieldPath ? { fieldPath: r.fieldPath } : {}),
  }));
  return out.meta({ "x-kubernetes-validations": validations });
}
