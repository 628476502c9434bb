/**
 * What the agent benches measure on: empty v1 memory cgroups shaped like a cgroupfs node's
 * kubepods/burstable/pod<uid>/<container id> (two containers per pod, as an app plus its pause
 * container) under this process's own memory cgroup; the memlens agent over them with 6 h of
 * history; and the figures a bench reads about a process.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { pino } from "pino";
import { AgentMetrics } from "../src/agent/metrics.js";
import { DEFAULT_PERIOD_S, Sampler } from "../src/agent/sampler.js";
import { HistoryStore } from "../src/agent/store.js";
import { COLUMNS, COLUMN_COUNT } from "../src/cgroup/reading.js";

/** The history the agent keeps (its deployed retention) */
export const RETENTION_S = 6 * 3600;

/** The v1 memory hierarchy, where every bench cgroup lives */
export const MEMORY_HIERARCHY = "/sys/fs/cgroup/memory";

export function ownMemoryCgroup(): string {
  const line = readFileSync("/proc/self/cgroup", "utf8")
    .split("\n")
    .find((l) => l.split(":")[1]?.split(",").includes("memory"));
  const path = line?.split(":")[2];
  if (path === undefined || !existsSync(MEMORY_HIERARCHY))
    throw new Error("needs the cgroup v1 memory controller");
  return join(MEMORY_HIERARCHY, path);
}

export interface Kubepods {
  /** the directory holding kubepods/ */
  root: string;
  /** pod and container cgroups */
  cgroups: number;
  /** removes every cgroup made, deepest first; safe to call twice */
  remove(): void;
}

/** Makes `containers` container cgroups in containers / 2 pods; on failure removes what it made. */
export function createKubepods(containers: number): Kubepods {
  const root = join(ownMemoryCgroup(), `memlens-bench-${randomBytes(4).toString("hex")}`);
  const created: string[] = [];
  const remove = () => {
    for (const dir of created.splice(0).reverse()) rmdirSync(dir);
  };
  const mk = (dir: string) => {
    mkdirSync(dir);
    created.push(dir);
  };
  try {
    mk(root);
    mk(join(root, "kubepods"));
    mk(join(root, "kubepods/burstable"));
    for (let p = 0; p < containers / 2; p++) {
      const pod = join(root, `kubepods/burstable/pod${randomUUID()}`);
      mk(pod);
      mk(join(pod, randomBytes(32).toString("hex")));
      mk(join(pod, randomBytes(32).toString("hex")));
    }
  } catch (err) {
    remove();
    throw err;
  }
  return { root, cgroups: created.length - 3, remove };
}

export interface BenchAgent {
  sampler: Sampler;
  store: HistoryStore;
  metrics: AgentMetrics;
  /** series per cgroup the kernel offers here */
  series: number;
}

/**
 * The agent over the cgroups under root, as the DaemonSet runs it, with RETENTION_S of history
 * before `now`: discovered and read once, then every series the kernel offers here filled with a
 * value that varies at every sample.
 */
export async function agentWithHistory(root: string, now: number): Promise<BenchAgent> {
  const log = pino({ level: "silent" });
  const store = new HistoryStore({ periodS: DEFAULT_PERIOD_S, retentionS: RETENTION_S });
  // labels as distinct as on a node (one set per cgroup), so a scrape holds what it holds there
  const metrics = new AgentMetrics(store, (e) => ({
    namespace: "bench",
    pod: e.cgroup.podUID,
    container: e.cgroup.containerID ?? "",
    kind: e.cgroup.kind,
  }));
  const sampler = new Sampler({ cgroupRoot: root, store, log, metrics });
  const start = now - RETENTION_S;
  await sampler.tick(start - DEFAULT_PERIOD_S); // discovers the cgroups and reads them
  const row = new Float64Array(COLUMN_COUNT);
  let k = 0;
  let series = 0;
  for (const entry of store.all()) {
    const offered = COLUMNS.map((s) => entry.history.latest(s.name) !== undefined);
    series = offered.filter(Boolean).length;
    for (let t = start; t < now; t += DEFAULT_PERIOD_S) {
      for (let s = 0; s < COLUMN_COUNT; s++) row[s] = offered[s] ? 1e8 + ((k++ * 7919) % 1e6) * 4096 : NaN;
      entry.history.append(t, row);
    }
  }
  return { sampler, store, metrics, series };
}

/** The agent container's NODE_OPTIONS in the DaemonSet manifest, split into flags. */
export function daemonSetNodeOptions(file: string): string[] {
  const m = /- name: NODE_OPTIONS\n\s*value: "?([^"\n]*)"?\n/.exec(readFileSync(file, "utf8"));
  if (!m?.[1]) throw new Error(`no NODE_OPTIONS in ${file}`);
  return m[1].trim().split(/\s+/);
}

/** This process's peak resident set (VmHWM), bytes. */
export function peakRssBytes(): number {
  const m = /^VmHWM:\s*(\d+) kB$/m.exec(readFileSync("/proc/self/status", "utf8"));
  if (!m?.[1]) throw new Error("no VmHWM in /proc/self/status");
  return Number(m[1]) * 1024;
}

export function mib(bytes: number): number {
  return Math.round((bytes / 2 ** 20) * 10) / 10;
}
