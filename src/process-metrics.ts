import { collectDefaultMetrics, type Registry } from "prom-client";

/**
 * prom-client's gauges that end in "_total", against Prometheus' naming rules (`promtool check
 * metrics`: "non-counter metrics should not have _total suffix"); the rest of its defaults stay.
 */
const MISNAMED = [
  "nodejs_active_handles_total",
  "nodejs_active_requests_total",
  "nodejs_active_resources_total",
];

/** The process's own metrics (CPU, memory, event loop, GC) in `registry`, named as Prometheus wants. */
export function collectProcessMetrics(registry: Registry, prefix = ""): void {
  collectDefaultMetrics({ register: registry, prefix });
  for (const name of MISNAMED) registry.removeSingleMetric(`${prefix}${name}`);
}
