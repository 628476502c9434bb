import { z } from "zod";

/**
 * HeapProfile (memlens.dev/v1alpha1): the heap profiles memlens keeps for one pod of one
 * inspection: the baseline, taken after the container's warm-up, and the latest profile a
 * finding was compared with. Written by the controller only and owned by its MemoryInspection
 * (garbage-collected with it), so a controller restart or a leader failover keeps them, and a
 * user can draw the difference (`memlens profile flame mi/NAME`) after the pod is gone. The
 * analogue of the VPA recommender's checkpoints.
 */
export const HEAP_PROFILE_KIND = "HeapProfile";
export const HEAP_PROFILE_PLURAL = "heapprofiles";
export const HEAP_PROFILE_SINGULAR = "heapprofile";
export const HEAP_PROFILE_SHORT_NAMES = ["hp"];

/**
 * The largest profile kept (as served, usually gzipped). Base64 makes two of them 1.33 MiB in
 * one object, inside etcd's 1.5 MiB request limit.
 */
export const MAX_KEPT_PROFILE_BYTES = 512 * 1024;

/** Finds an inspection's profiles (its name may be too long for a label value; its UID is not). */
export const INSPECTION_UID_LABEL = "memlens.dev/inspection-uid";

const time = () => z.string().meta({ format: "date-time" });

export const KeptProfileSchema = z
  .object({
    takenAt: time().meta({ description: "When the profile was fetched." }),
    size: z.number().int().meta({ description: "Bytes of the profile, as served." }),
    profile: z
      .string()
      .max(Math.ceil(MAX_KEPT_PROFILE_BYTES / 3) * 4)
      .meta({ format: "byte", description: "The pprof profile as served (usually gzipped), base64." }),
  })
  .strict();
export type KeptProfile = z.infer<typeof KeptProfileSchema>;

export const HeapProfileSpecSchema = z
  .object({
    inspection: z.string().max(253).meta({ description: "The MemoryInspection these profiles serve." }),
    pod: z.string().max(253).meta({ description: "The pod whose heap they are." }),
    podUID: z.string().max(64),
    container: z
      .string()
      .max(63)
      .optional()
      .meta({ description: "The container that declares the profile port, when one does." }),
    processStartedAt: time().meta({
      description:
        "When the profiled process started (the container's startedAt): the baseline serves only that process.",
    }),
    url: z.string().max(512).meta({ description: "Where the profiles are fetched from." }),
    baseline: KeptProfileSchema.meta({
      description: "Taken after the warm-up; later profiles of the same process are compared with it.",
    }),
    latest: KeptProfileSchema.optional().meta({
      description: "The latest profile a finding was compared with (written at most every few minutes).",
    }),
  })
  .strict()
  .meta({ description: "The kept profiles and where they came from." });
export type HeapProfileSpec = z.infer<typeof HeapProfileSpecSchema>;

export interface HeapProfile {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[];
  };
  spec: HeapProfileSpec;
}
