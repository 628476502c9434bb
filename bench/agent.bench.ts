/**
 * Agent cost on real cgroups: sampling CPU per container and RSS with 6 h of history.
 * Creates empty v1 memory cgroups shaped like kubepods/burstable/pod<uid>/<container id>
 * (two containers per pod, as an app plus its pause container) under this process's own memory
 * cgroup, removes them all at the end. Each size runs in a fresh process so RSS is its own.
 *
 *   node --expose-gc dist/bench/agent.bench.js            (100 and 1000 containers)
 */
import { execFileSync } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import { AgentMetrics } from "../src/agent/metrics.js";
import { DEFAULT_PERIOD_S, DEFAULT_SCAN_EVERY, Sampler } from "../src/agent/sampler.js";
import { COLUMNS, COLUMN_COUNT } from "../src/cgroup/reading.js";
import { HistoryStore } from "../src/agent/store.js";

const RETENTION_S = 6 * 3600;
// whole scan cycles, so the walk's share of the CPU is what it is in the long run
const TICKS = 2 * DEFAULT_SCAN_EVERY;
const TARGET_CPU_US = 50;
const TARGET_RSS_MIB = 96;

interface Result {
  containers: number;
  cgroups: number;
  scanUs: number;
  readUsPerCgroup: number;
  totalUsPerContainer: number;
  rssMiB: number;
  heapMiB: number;
  historyMiB: number;
  baselineRssMiB: number;
  series: number;
}

function ownMemoryCgroup(): string {
  const line = readFileSync("/proc/self/cgroup", "utf8")
    .split("\n")
    .find((l) => l.split(":")[1]?.split(",").includes("memory"));
  const path = line?.split(":")[2];
  if (path === undefined || !existsSync("/sys/fs/cgroup/memory"))
    throw new Error("needs the cgroup v1 memory controller");
  return join("/sys/fs/cgroup/memory", path);
}

function mib(bytes: number): number {
  return Math.round((bytes / 2 ** 20) * 10) / 10;
}

async function child(containers: number): Promise<Result> {
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
  gc();
  const baselineRss = process.memoryUsage().rss;
  const root = join(ownMemoryCgroup(), `memlens-bench-${randomBytes(4).toString("hex")}`);
  const created: string[] = [];
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

    // 6 h of history before "now": every series the kernel offers here, varying at every sample
    const now = Date.now() / 1000;
    const row = new Float64Array(COLUMN_COUNT);
    let k = 0;
    const start = now - RETENTION_S;
    await sampler.tick(start - DEFAULT_PERIOD_S); // discovers the cgroups and reads them
    let series = 0;
    for (const entry of store.all()) {
      const offered = COLUMNS.map((s) => entry.history.latest(s.name) !== undefined);
      series = offered.filter(Boolean).length;
      for (let t = start; t < now; t += DEFAULT_PERIOD_S) {
        for (let s = 0; s < COLUMN_COUNT; s++) row[s] = offered[s] ? 1e8 + ((k++ * 7919) % 1e6) * 4096 : NaN;
        entry.history.append(t, row);
      }
    }

    let scanCpu = 0;
    let readCpu = 0;
    let cgroups = 0;
    for (let i = 1; i <= TICKS; i++) {
      const stats = await sampler.tick(now + i * DEFAULT_PERIOD_S);
      scanCpu += stats.scanCpuS;
      readCpu += stats.readCpuS;
      cgroups = stats.cgroups;
    }
    await metrics.registry.metrics(); // a scrape, as Prometheus would do
    gc();
    const mem = process.memoryUsage();
    return {
      containers,
      cgroups,
      scanUs: (scanCpu / TICKS) * 1e6,
      readUsPerCgroup: (readCpu / TICKS / cgroups) * 1e6,
      totalUsPerContainer: ((scanCpu + readCpu) / TICKS / containers) * 1e6,
      rssMiB: mib(mem.rss),
      heapMiB: mib(mem.heapUsed),
      historyMiB: mib(store.bytes()),
      baselineRssMiB: mib(baselineRss),
      series,
    };
  } finally {
    for (const dir of created.reverse()) rmdirSync(dir);
  }
}

/** The agent container's NODE_OPTIONS in the DaemonSet manifest, split into flags. */
function daemonSetNodeOptions(file: string): string[] {
  const m = /- name: NODE_OPTIONS\n\s*value: "?([^"\n]*)"?\n/.exec(readFileSync(file, "utf8"));
  if (!m?.[1]) throw new Error(`no NODE_OPTIONS in ${file}`);
  return m[1].trim().split(/\s+/);
}

async function main(): Promise<void> {
  const childArg = process.argv.indexOf("--child");
  if (childArg >= 0) {
    const result = await child(Number(process.argv[childArg + 1]));
    process.stdout.write(JSON.stringify(result));
    return;
  }
  const self = fileURLToPath(import.meta.url);
  const rows: (Result & { flags: string })[] = [];
  // the second row per size runs with the V8 flags the DaemonSet sets (its NODE_OPTIONS), read
  // from the manifest so that the bench measures what is deployed
  const deployed = daemonSetNodeOptions(join(dirname(self), "../../config/agent/daemonset.yaml"));
  for (const flags of [[], deployed]) {
    for (const n of [100, 1000]) {
      const out = execFileSync(process.execPath, ["--expose-gc", ...flags, self, "--child", String(n)], {
        encoding: "utf8",
      });
      rows.push({ ...(JSON.parse(out) as Result), flags: flags.join(" ") || "(none)" });
    }
  }
  const fmt = (v: number) => (Math.round(v * 10) / 10).toString();
  const deployed1000 = rows.find((r) => r.containers === 1000 && r.flags === deployed.join(" "));
  const verdict = (v: number | undefined, max: number) =>
    v === undefined ? "not run" : `${fmt(v)}: ${v <= max ? "met" : "missed"}`;
  process.stdout.write(
    `memlens agent: period ${DEFAULT_PERIOD_S}s, history ${RETENTION_S / 3600} h (full), ${TICKS} passes (scan every ${DEFAULT_SCAN_EVERY}), cgroup v1 (real, empty cgroups)\n\n` +
      "node flags | containers | cgroups | series | scan µs/pass | read µs/cgroup | CPU µs/container/sample | RSS MiB (start) | heap MiB | history MiB\n" +
      "---------- | ---------- | ------- | ------ | ------------ | -------------- | ----------------------- | --------------- | -------- | -----------\n" +
      rows
        .map((r) =>
          [
            r.flags,
            r.containers,
            r.cgroups,
            r.series,
            fmt(r.scanUs),
            fmt(r.readUsPerCgroup),
            fmt(r.totalUsPerContainer),
            `${r.rssMiB} (${r.baselineRssMiB})`,
            r.heapMiB,
            r.historyMiB,
          ].join(" | "),
        )
        .join("\n") +
      `\n\ntargets (1000 containers, deployed flags): <= ${TARGET_CPU_US} µs CPU per container per sample ` +
      `(${verdict(deployed1000?.totalUsPerContainer, TARGET_CPU_US)}); <= ${TARGET_RSS_MIB} MiB RSS ` +
      `(${verdict(deployed1000?.rssMiB, TARGET_RSS_MIB)})\n`,
  );
}

void main();
