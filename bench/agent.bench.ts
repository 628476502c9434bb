/**
 * Agent cost on real cgroups: sampling CPU per container and RSS with 6 h of history.
 * Creates empty v1 memory cgroups shaped like kubepods/burstable/pod<uid>/<container id>
 * (two containers per pod, as an app plus its pause container) under this process's own memory
 * cgroup (bench/fixture.ts), removes them all at the end. Each size runs in a fresh process so
 * RSS is its own; passes run back to back.
 *
 *   node --expose-gc dist/bench/agent.bench.js            (100 and 1000 containers)
 */
import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_PERIOD_S, DEFAULT_SCAN_EVERY } from "../src/agent/sampler.js";
import {
  RETENTION_S,
  agentWithHistory,
  createKubepods,
  daemonSetNodeOptions,
  mib,
  type BenchAgent,
} from "./fixture.js";

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

async function child(containers: number): Promise<Result> {
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
  gc();
  const baselineRss = process.memoryUsage().rss;
  const kubepods = createKubepods(containers);
  try {
    // 6 h of history before "now", then passes back to back
    const now = Date.now() / 1000;
    const { sampler, store, metrics, series } = await agentWithHistory(kubepods.root, now);
    let scanCpu = 0;
    let readCpu = 0;
    let cgroups = 0;
    for (let i = 1; i <= TICKS; i++) {
      const stats = await sampler.tick(now + i * DEFAULT_PERIOD_S);
      scanCpu += stats.scanCpuS;
      readCpu += stats.readCpuS;
      cgroups = stats.cgroups;
    }
    await scrape(metrics); // as Prometheus would do
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
    kubepods.remove();
  }
}

/**
 * One scrape, its text dropped as the server drops it once sent: awaited in the measuring
 * function itself, the last awaited value stays referenced from its frame through the gc() below
 * and would count in the RSS (a 1.3 MB string at 1000 containers).
 */
async function scrape(metrics: BenchAgent["metrics"]): Promise<number> {
  return (await metrics.scrape()).length;
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
