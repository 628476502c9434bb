import { ConditionType } from "./names.js";
import { z } from "zod";
import { GROUP, KIND, PLURAL, SHORT_NAMES, SINGULAR, VERSION } from "./group.js";
import {
  HEAP_PROFILE_KIND,
  HEAP_PROFILE_PLURAL,
  HEAP_PROFILE_SHORT_NAMES,
  HEAP_PROFILE_SINGULAR,
  HeapProfileSpecSchema,
} from "./heapprofile.js";
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

interface CrdDefinition {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  description: string;
  printerColumns: JsonSchema[];
  spec: z.ZodType;
  /** with a status subresource written by the controller */
  status?: z.ZodType;
}

function crd(d: CrdDefinition): JsonSchema {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    // the label config/default gives everything: with it here, Helm's crds/ and kustomize agree
    metadata: { name: `${d.plural}.${GROUP}`, labels: { "app.kubernetes.io/part-of": "memlens" } },
    spec: {
      group: GROUP,
      names: {
        kind: d.kind,
        listKind: `${d.kind}List`,
        plural: d.plural,
        singular: d.singular,
        shortNames: d.shortNames,
        categories: ["memlens"],
      },
      scope: "Namespaced",
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          ...(d.status ? { subresources: { status: {} } } : {}),
          additionalPrinterColumns: d.printerColumns,
          schema: {
            openAPIV3Schema: {
              type: "object",
              description: d.description,
              required: ["spec"],
              properties: {
                apiVersion: { type: "string" },
                kind: { type: "string" },
                metadata: { type: "object" },
                spec: openApiSchema(d.spec),
                ...(d.status
                  ? {
                      status: {
                        ...openApiSchema(d.status),
                        description: "What memlens found; written by the controller only.",
                      },
                    }
                  : {}),
              },
            },
          },
        },
      ],
    },
  };
}

export function memoryInspectionCrd(): JsonSchema {
  return crd({
    kind: KIND,
    plural: PLURAL,
    singular: SINGULAR,
    shortNames: SHORT_NAMES,
    description:
      "MemoryInspection names a workload whose containers memlens inspects for OOM kills, memory leaks and allocation throttling; findings and recommendations appear in status and as Events.",
    printerColumns: [
      { name: "Target", type: "string", jsonPath: ".status.target" },
      { name: "OOM Kills", type: "integer", jsonPath: ".status.oomKills" },
      { name: "Leak", type: "string", jsonPath: condition(ConditionType.MemoryLeak) },
      { name: "Throttled", type: "string", jsonPath: condition(ConditionType.MemoryThrottled) },
      { name: "Ready", type: "string", jsonPath: condition(ConditionType.Ready) },
      { name: "Last Inspection", type: "date", jsonPath: ".status.lastInspectionTime" },
      { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
      { name: "Summary", type: "string", jsonPath: ".status.summary", priority: 1 },
    ],
    spec: MemoryInspectionSpecSchema,
    status: MemoryInspectionStatusSchema,
  });
}

export function heapProfileCrd(): JsonSchema {
  return crd({
    kind: HEAP_PROFILE_KIND,
    plural: HEAP_PROFILE_PLURAL,
    singular: HEAP_PROFILE_SINGULAR,
    shortNames: HEAP_PROFILE_SHORT_NAMES,
    description:
      "The heap profiles memlens keeps for one pod of a MemoryInspection: the baseline taken after the container's warm-up, and the latest one a finding was compared with. Written by the controller, owned by the MemoryInspection; `memlens profile flame mi/NAME` draws their difference.",
    printerColumns: [
      { name: "Inspection", type: "string", jsonPath: ".spec.inspection" },
      { name: "Pod", type: "string", jsonPath: ".spec.pod" },
      { name: "Baseline", type: "date", jsonPath: ".spec.baseline.takenAt" },
      { name: "Latest", type: "date", jsonPath: ".spec.latest.takenAt" },
      { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
    ],
    spec: HeapProfileSpecSchema,
  });
}
