import { ConditionType } from "./names.js";
import { z } from "zod";
import { GROUP, KIND, PLURAL, SHORT_NAMES, SINGULAR, VERSION } from "./group.js";
import { MemoryInspectionSpecSchema, MemoryInspectionStatusSchema } from "./memoryinspection.js";

type JsonSchema = Record<string, unknown>;

/**
 * Rewrites a JSON Schema from zod into the structural form the apiserver requires: no
 * `additionalProperties: false` (unknown fields are refused by kubectl's field validation and
 * pruned by the apiserver instead), and free-form maps as x-kubernetes-preserve-unknown-fields.
 */
function structural(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(structural);
  if (!node || typeof node !== "object") return node;
  const src = node as JsonSchema;
  if (src["x-kubernetes-preserve-unknown-fields"]) {
    return { type: "object", description: src.description, "x-kubernetes-preserve-unknown-fields": true };
  }
  const out: JsonSchema = {};
  for (const [k, v] of Object.entries(src)) {
    if (k === "$schema" || (k === "additionalProperties" && v === false)) continue;
    out[k] =
      k === "properties"
        ? Object.fromEntries(Object.entries(v as JsonSchema).map(([p, s]) => [p, structural(s)]))
        : structural(v);
  }
  return out;
}

export function openApiSchema(schema: z.ZodType): JsonSchema {
  return structural(
    z.toJSONSchema(schema, { target: "openapi-3.0", unrepresentable: "throw", io: "input" }),
  ) as JsonSchema;
}

const condition = (type: string) => `.status.conditions[?(@.type=="${type}")].status`;

export function memoryInspectionCrd(): JsonSchema {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${PLURAL}.${GROUP}` },
    spec: {
      group: GROUP,
      names: {
        kind: KIND,
        listKind: `${KIND}List`,
        plural: PLURAL,
        singular: SINGULAR,
        shortNames: SHORT_NAMES,
        categories: ["memlens"],
      },
      scope: "Namespaced",
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: "Target", type: "string", jsonPath: ".status.target" },
            { name: "OOM Kills", type: "integer", jsonPath: ".status.oomKills" },
            { name: "Leak", type: "string", jsonPath: condition(ConditionType.MemoryLeak) },
            { name: "Throttled", type: "string", jsonPath: condition(ConditionType.MemoryThrottled) },
            { name: "Ready", type: "string", jsonPath: condition(ConditionType.Ready) },
            { name: "Last Inspection", type: "date", jsonPath: ".status.lastInspectionTime" },
            { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
            { name: "Summary", type: "string", jsonPath: ".status.summary", priority: 1 },
          ],
          schema: {
            openAPIV3Schema: {
              type: "object",
              description:
                "MemoryInspection names a workload whose containers memlens inspects for OOM kills, memory leaks and allocation throttling; findings and recommendations appear in status and as Events.",
              required: ["spec"],
              properties: {
                apiVersion: { type: "string" },
                kind: { type: "string" },
                metadata: { type: "object" },
                spec: openApiSchema(MemoryInspectionSpecSchema),
                status: {
                  ...openApiSchema(MemoryInspectionStatusSchema),
                  description: "What memlens found; written by the controller only.",
                },
              },
            },
          },
        },
      ],
    },
  };
}
