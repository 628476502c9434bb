import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { collectProcessMetrics } from "../process-metrics.js";

/** The controller's Prometheus metrics, in one registry served at /metrics. */
export function controllerMetrics() {
  const registry = new Registry();
  collectProcessMetrics(registry, "memlens_controller_");
  return {
    registry,
    reconciles: new Counter({
      name: "memlens_reconcile_total",
      help: "Reconciles of MemoryInspections, by result (success, error, requeue).",
      labelNames: ["result"] as const,
      registers: [registry],
    }),
    reconcileErrors: new Counter({
      name: "memlens_reconcile_errors_total",
      help: "Reconciles that failed and were retried with backoff.",
      registers: [registry],
    }),
    reconcileDuration: new Histogram({
      name: "memlens_reconcile_duration_seconds",
      help: "Time one reconcile took.",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: "memlens_workqueue_depth",
      help: "Keys waiting in the work queue.",
      registers: [registry],
    }),
    findings: new Gauge({
      name: "memlens_findings",
      help: "Unresolved findings across all MemoryInspections, by rule.",
      labelNames: ["rule"] as const,
      registers: [registry],
    }),
    inspectionFindings: new Gauge({
      name: "memlens_inspection_findings",
      help: "Unresolved findings of one MemoryInspection, by rule and severity (what the alert rules watch).",
      labelNames: ["namespace", "inspection", "rule", "severity"] as const,
      registers: [registry],
    }),
    leakSecondsToLimit: new Gauge({
      name: "memlens_leak_seconds_to_limit",
      help: "Seconds until a leaking container reaches its memory limit at its growth rate, per MemoryLeak finding.",
      labelNames: ["namespace", "inspection", "pod", "container"] as const,
      registers: [registry],
    }),
    agentRequests: new Histogram({
      name: "memlens_agent_request_duration_seconds",
      help: "Requests to node agents, by node and result.",
      labelNames: ["node", "result"] as const,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    agentErrors: new Counter({
      name: "memlens_agent_request_errors_total",
      help: "Failed requests to node agents, by node.",
      labelNames: ["node"] as const,
      registers: [registry],
    }),
    profileErrors: new Counter({
      name: "memlens_profile_errors_total",
      help: "Heap profiles not fetched (reason fetch: timeout, size, redirect, HTTP error) or not decoded (reason format).",
      labelNames: ["reason"] as const,
      registers: [registry],
    }),
    leader: new Gauge({
      name: "memlens_leader",
      help: "1 while this replica is the leader.",
      registers: [registry],
    }),
  };
}
export type ControllerMetrics = ReturnType<typeof controllerMetrics>;
