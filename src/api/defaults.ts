import { parseDuration } from "./duration.js";
import type { MemoryInspectionSpec } from "./memoryinspection.js";
import { parseQuantity } from "./quantity.js";

/** Every default of the API in one place; the CRD descriptions quote them. */
export const DEFAULTS = {
  interval: "1m",
  window: "1h",
  leak: { minObservation: "15m", minGrowthPerHour: "1Mi", minFit: 0.8 },
  throttle: { minStallPercent: 10, qosFactor: 0.9 },
  profiling: {
    path: "/debug/pprof/heap",
    scheme: "http" as const,
    topN: 5,
    warmUp: "2m",
    baselineRefresh: "1h",
  },
} as const;

/** A spec with every default filled in and durations in milliseconds, for the code that acts on it. */
export interface EffectiveSpec {
  spec: MemoryInspectionSpec;
  intervalMs: number;
  windowMs: number;
  rules: {
    oom: { enabled: boolean };
    leak: { enabled: boolean; minObservationMs: number; minGrowthPerHour: number; minFit: number };
    throttle: { enabled: boolean; minStallPercent: number; qosFactor: number };
  };
  profiling: {
    enabled: boolean;
    port?: number;
    path: string;
    scheme: "http" | "https";
    sampleType?: string;
    topN: number;
    warmUpMs: number;
    baselineRefreshMs: number;
  };
}

export function effectiveSpec(spec: MemoryInspectionSpec): EffectiveSpec {
  const r = spec.rules ?? {};
  const p = spec.profiling ?? {};
  return {
    spec,
    intervalMs: parseDuration(spec.interval ?? DEFAULTS.interval) ?? 60_000,
    windowMs: parseDuration(spec.window ?? DEFAULTS.window) ?? 3_600_000,
    rules: {
      oom: { enabled: r.oom?.enabled ?? true },
      leak: {
        enabled: r.leak?.enabled ?? true,
        minObservationMs: parseDuration(r.leak?.minObservation ?? DEFAULTS.leak.minObservation) ?? 900_000,
        minGrowthPerHour:
          parseQuantity(r.leak?.minGrowthPerHour ?? DEFAULTS.leak.minGrowthPerHour) ?? 2 ** 20,
        minFit: r.leak?.minFit ?? DEFAULTS.leak.minFit,
      },
      throttle: {
        enabled: r.throttle?.enabled ?? true,
        minStallPercent: r.throttle?.minStallPercent ?? DEFAULTS.throttle.minStallPercent,
        qosFactor: r.throttle?.qosFactor ?? DEFAULTS.throttle.qosFactor,
      },
    },
    profiling: {
      enabled: p.enabled ?? false,
      port: p.port,
      path: p.path ?? DEFAULTS.profiling.path,
      scheme: p.scheme ?? DEFAULTS.profiling.scheme,
      sampleType: p.sampleType,
      topN: p.topN ?? DEFAULTS.profiling.topN,
      warmUpMs: parseDuration(p.warmUp ?? DEFAULTS.profiling.warmUp) ?? 120_000,
      baselineRefreshMs: parseDuration(p.baselineRefresh ?? DEFAULTS.profiling.baselineRefresh) ?? 3_600_000,
    },
  };
}
