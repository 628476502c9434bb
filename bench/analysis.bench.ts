/**
 * How long all cgroup rules take for one container with 6 h of history at a 10 s period (2160
 * samples), and for 1000 such containers (one controller pass over a large namespace): issue 12's
 * targets, 0.1 ms and 100 ms on one core.
 *
 * "All rules" is analyzeSeries over a Series already built: the rows the targets apply to.
 * Apart from them, what the controller does with an agent's answer: the history columns of
 * GET /v1/containers (parsed JSON) read into a Series, then every rule; and the column reading
 * alone. The histories are made the way the agent makes them: interface file text through
 * sampleFromFiles (the full memory.stat key set of a 6.18 kernel), each sample's row into a
 * CgroupHistory kept at full resolution, its toJSON through JSON. One more row for comparison:
 * the offline path of `memlens analyze` (a recording's samples replayed into such a history).
 * 20 distinct histories (leaks, sawtooth, throttling, steady, restarts) are cycled over the
 * 1000 containers to keep the set-up memory small.
 *
 *   node --expose-gc dist/bench/analysis.bench.js
 */
import { execFileSync } from "node:child_process";
import { CgroupHistory } from "../src/cgroup/history.js";
import { rowFromSample } from "../src/cgroup/reading.js";
import { analyzeContainer, analyzeSeries, type AnalyzeInput } from "../src/analysis/analyze.js";
import { resolveThresholds } from "../src/analysis/thresholds.js";
import type { MemorySample } from "../src/cgroup/sample.js";
import { sampleFromFiles } from "../src/cgroup/sample-from-files.js";
import { seriesFromHistories, type HistoryInstance } from "../src/analysis/history-series.js";

const MI = 2 ** 20;
const PERIOD = 10;
const SAMPLES = 6 * 360;
const DISTINCT = 20;
const CONTAINERS = 1000;
const TARGET_PER_CONTAINER_MS = 0.1;
const TARGET_1000_MS = 100;

// memory.stat keys as a 6.18 kernel prints them (from test/fixtures/cgroup-traces)
const STAT_KEYS = (
  "anon file kernel kernel_stack pagetables sec_pagetables percpu sock vmalloc shmem zswap zswapped " +
  "file_mapped file_dirty file_writeback swapcached anon_thp file_thp shmem_thp inactive_anon active_anon " +
  "inactive_file active_file unevictable slab_reclaimable slab_unreclaimable slab workingset_refault_anon " +
  "workingset_refault_file workingset_activate_anon workingset_activate_file workingset_restore_anon " +
  "workingset_restore_file workingset_nodereclaim pgdemote_kswapd pgdemote_direct pgdemote_khugepaged " +
  "pgdemote_proactive pgpromote_success pgscan pgsteal pswpin pswpout pgscan_kswapd pgscan_direct " +
  "pgscan_khugepaged pgscan_proactive pgsteal_kswapd pgsteal_direct pgsteal_khugepaged pgsteal_proactive " +
  "pgfault pgmajfault pgrefill pgactivate pgdeactivate pglazyfree pglazyfreed swpin_zero swpout_zero zswpin " +
  "zswpout zswpwb thp_fault_alloc thp_collapse_alloc thp_swpout thp_swpout_fallback numa_pages_migrated " +
  "numa_pte_updates numa_hint_faults"
).split(" ");

function history(kind: number): MemorySample[] {
  const out: MemorySample[] = [];
  const limit = 512 * MI;
  const high = kind % 5 === 3 ? 486 * MI : null;
  let events = 0;
  let kills = 0;
  let stall = 0;
  let start = 0;
  let peak = 0;
  for (let i = 0; i < SAMPLES; i++) {
    const t = i * PERIOD;
    const jitter = ((i * 2654435761 + kind * 97) % 1000) / 1000 - 0.5;
    let anon: number;
    switch (kind % 5) {
      case 0: // slow leak
        anon = 100 * MI + (20 * MI * t) / 3600 + jitter * MI;
        break;
      case 1: // GC sawtooth
        anon = 150 * MI + 60 * MI * ((t % 120) / 120) + jitter * 2 * MI;
        break;
      case 2: // steady
        anon = 200 * MI + jitter * MI;
        break;
      case 3: // leak pinned at memory.high
        anon = Math.min(300 * MI + (60 * MI * t) / 3600, 470 * MI) + jitter * MI;
        break;
      default: // leak with OOM kills and restarts
        anon = 50 * MI + (200 * MI * (t - start)) / 3600;
    }
    let procs = 2;
    if (kind % 5 === 4 && anon > 500 * MI) {
      kills++;
      start = t + PERIOD;
      anon = 0.3 * MI;
      procs = 1;
    }
    const file = 30 * MI;
    const kernel = 4 * MI;
    const usage = Math.round(anon + file + kernel);
    peak = Math.max(peak, usage);
    if (high !== null && usage > 0.97 * high) {
      events += 25;
      stall += 3;
    }
    const values: Record<string, number> = { anon: Math.round(anon), file, kernel, slab_reclaimable: MI };
    const stat = STAT_KEYS.map((k) => `${k} ${values[k] ?? (k.length * 4096 * (kind + 1)) % 65536}`).join(
      "\n",
    );
    const files = {
      "memory.current": `${usage}\n`,
      "memory.max": `${limit}\n`,
      "memory.high": high === null ? "max\n" : `${high}\n`,
      "memory.peak": `${peak}\n`,
      "memory.events": `low 0\nhigh ${events}\nmax ${kills * 20}\noom ${kills}\noom_kill ${kills}\noom_group_kill 0\n`,
      "memory.stat": `${stat}\n`,
      "memory.pressure": `some avg10=0.00 avg60=0.00 avg300=0.00 total=${stall * 1e6}\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=${stall * 5e5}\n`,
      // a life's processes; a kill takes them all, the restart brings new ones (new PIDs)
      "cgroup.procs": procs === 2 ? `${1000 + 2 * kills}\n${1001 + 2 * kills}\n` : `${1000 + 2 * kills}\n`,
    };
    out.push(sampleFromFiles("v2", t, files));
  }
  return out;
}

function cpuMs(fn: () => void): number {
  // CPU time, not wall time: the numbers stay comparable on a shared, busy machine
  const start = process.cpuUsage();
  fn();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

function medianOf(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1] ?? NaN;
}

/** The agent's history of one cgroup, as the controller gets it (GET /v1/containers, parsed). */
function agentHistory(samples: readonly MemorySample[]): HistoryInstance {
  const h = new CgroupHistory({
    periodS: PERIOD,
    retentionS: SAMPLES * PERIOD,
    rawWindowS: SAMPLES * PERIOD,
  });
  samples.forEach((x, i) => h.append(x.t, rowFromSample(x, samples[i - 1])));
  return {
    history: JSON.parse(JSON.stringify(h.toJSON())) as HistoryInstance["history"],
    cgroupVersion: "v2",
  };
}

/** What the controller passes besides the history (cgroup-findings.ts). */
const input: Omit<AnalyzeInput, "samples"> = {
  thresholds: resolveThresholds(),
  workload: { kind: "Deployment", name: "app", namespace: "bench" },
  container: "app",
  pod: "app-0",
  volumes: [],
  statusKills: 0,
};

const traces = Array.from({ length: DISTINCT }, (_, k) => history(k));
const agent = traces.map(agentHistory);
const pick = <T>(xs: T[], i: number) => xs[i % DISTINCT] as T;

/** the Series the controller reads, each its own (not the shared buffer) */
const series = agent.map((inst) => seriesFromHistories([inst], -Infinity, true));
/** all rules over a Series already built: what the targets are for */
const rulesAlone = (i: number) => analyzeSeries(pick(series, i), input);
/** the column reading alone: agent JSON columns -> Series */
const readingAlone = (i: number) => {
  seriesFromHistories([pick(agent, i)]);
  return { findings: [] };
};
/** the controller now: columns -> Series -> all rules */
const columnsPath = (i: number) => analyzeSeries(seriesFromHistories([pick(agent, i)]), input);
/** `memlens analyze` of a recording: the samples as sampleFromFiles made them, replayed into a history */
const offlinePath = (i: number) => analyzeContainer({ samples: pick(traces, i), ...input });

const RULES_ALONE = "all rules (Series built)";
const paths: Record<string, (i: number) => { findings: { rule: string }[] }> = {
  [RULES_ALONE]: rulesAlone,
  "controller: columns -> Series": readingAlone,
  "controller: columns -> Series -> rules": columnsPath,
  "memlens analyze: recording samples -> rules": offlinePath,
};

/** One path, timed in a process of its own: the others' object shapes do not slow its code down. */
function measure(name: string): Measured {
  const path = paths[name] as (i: number) => { findings: { rule: string }[] };
  const found = new Map<string, number>();
  for (let k = 0; k < DISTINCT; k++)
    for (const f of path(k).findings) found.set(f.rule, (found.get(f.rule) ?? 0) + 1);
  // a clean heap, then the JIT warmed up before timing, as a long-running controller is; the
  // collection comes first so that its background sweeping is not timed (process CPU time
  // counts every thread)
  globalThis.gc?.();
  for (let i = 0; i < 3000; i++) path(i);
  const one = medianOf(
    Array.from(
      { length: 9 },
      (_, r) =>
        cpuMs(() => {
          // the same container over and over: its history stays in the CPU caches
          for (let i = 0; i < 100; i++) path(r);
        }) / 100,
    ),
  );
  const all = medianOf(
    Array.from({ length: 5 }, () =>
      cpuMs(() => {
        for (let i = 0; i < CONTAINERS; i++) path(i);
      }),
    ),
  );
  return { one, all, findings: Object.fromEntries(found) };
}

interface Measured {
  one: number;
  all: number;
  findings: Record<string, number>;
}

const only = process.argv[2];
if (only !== undefined) {
  console.log(JSON.stringify(measure(only)));
} else {
  const results = Object.keys(paths).map((name): [string, Measured] => {
    const out = execFileSync(process.execPath, [...process.execArgv, process.argv[1] as string, name], {
      encoding: "utf8",
    });
    return [name, JSON.parse(out) as Measured];
  });
  const label = `6h @${PERIOD}s (${SAMPLES} samples)`;
  // the targets are the rules' (issue 12); the other rows are there to compare
  const row = (what: string, n: number, total: number, target: number) => [
    `${label}, ${what}`,
    String(n),
    total.toFixed(n === 1 ? 3 : 1),
    (total / n).toFixed(4),
    what === RULES_ALONE ? `<= ${target} ms` : "-",
    what === RULES_ALONE ? (total <= target ? "yes" : "no") : "-",
  ];
  const rows = [["case", "containers", "total ms", "ms per container", "target", "met"]];
  for (const [what, m] of results) rows.push(row(what, 1, m.one, TARGET_PER_CONTAINER_MS));
  for (const [what, m] of results) rows.push(row(what, CONTAINERS, m.all, TARGET_1000_MS));
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length))) ?? [];
  for (const r of rows) console.log(r.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join("  "));
  console.log(
    `(CPU time, one core, each path in a process of its own; findings over the ${DISTINCT} distinct histories:`,
  );
  for (const [what, m] of results)
    if (what !== "controller: columns -> Series") console.log(`  ${what}: ${JSON.stringify(m.findings)}`);
  console.log(")");
}
