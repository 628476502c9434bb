/** Invalid MemoryInspection specs, shared by the schema test and the admission test on the real apiserver. */
export const deploy = { kind: "Deployment", name: "catalog" };

/** Specs the API must refuse, and a word the message must contain so the user finds the field. */
export const INVALID_SPECS: [string, unknown, string][] = [
  [
    "both targetRef and selector",
    { targetRef: deploy, selector: { matchLabels: { app: "x" } } },
    "mutually exclusive",
  ],
  ["neither targetRef nor selector", { interval: "1m" }, "spec.targetRef"],
  ["unknown target kind", { targetRef: { kind: "Service", name: "x" } }, "kind"],
  [
    "apiVersion not matching kind",
    { targetRef: { apiVersion: "batch/v1", kind: "Deployment", name: "x" } },
    "apiVersion",
  ],
  ["bad interval", { targetRef: deploy, interval: "5 minutes" }, "interval"],
  ["interval too short", { targetRef: deploy, interval: "1s" }, "interval"],
  ["bad window", { targetRef: deploy, window: "forever" }, "window"],
  [
    "interval and schedule",
    { targetRef: deploy, interval: "1m", schedule: "* * * * *" },
    "mutually exclusive",
  ],
  ["minFit above 1", { targetRef: deploy, rules: { leak: { minFit: 1.5 } } }, "minFit"],
  [
    "negative stall percent",
    { targetRef: deploy, rules: { throttle: { minStallPercent: -1 } } },
    "minStallPercent",
  ],
  [
    "bad minObservation",
    { targetRef: deploy, rules: { leak: { minObservation: "soon" } } },
    "minObservation",
  ],
  [
    "bad growth quantity",
    { targetRef: deploy, rules: { leak: { minGrowthPerHour: "lots" } } },
    "minGrowthPerHour",
  ],
  ["profiling without port", { targetRef: deploy, profiling: { enabled: true } }, "port"],
  ["port out of range", { targetRef: deploy, profiling: { enabled: true, port: 70000 } }, "port"],
  [
    "warm-up that is not a duration",
    { targetRef: deploy, profiling: { enabled: true, port: 6060, warmUp: "a while" } },
    "warmUp",
  ],
  [
    "baseline refreshed too often",
    { targetRef: deploy, profiling: { enabled: true, port: 6060, baselineRefresh: "10s" } },
    "baselineRefresh",
  ],
  [
    "relative profile path",
    { targetRef: deploy, profiling: { enabled: true, port: 6060, path: "debug" } },
    "path",
  ],
  ["unknown field", { targetRef: deploy, intervall: "1m" }, "intervall"],
  ["wrong type", { targetRef: deploy, suspend: "yes" }, "suspend"],
  ["bad selector operator", { selector: { matchExpressions: [{ key: "a", operator: "Is" }] } }, "operator"],
  [
    "too many containers",
    { targetRef: deploy, containers: Array.from({ length: 65 }, (_, i) => `c${i}`) },
    "containers",
  ],
  ["timeZone without schedule", { targetRef: deploy, timeZone: "UTC" }, "timeZone"],
  ["a schedule in words", { targetRef: deploy, schedule: "every day" }, "schedule"],
  ["a schedule of seven fields", { targetRef: deploy, schedule: "0 0 * * * * 2026" }, "schedule"],
  ["bad target name", { targetRef: { kind: "Deployment", name: "Not_A_Name" } }, "name"],
];
