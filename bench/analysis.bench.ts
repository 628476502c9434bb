/**
 * How long all cgroup rules take for one container with 6 h of history at a 10 s period (2160
 * samples), and for 1000 such containers (one controller pass over a large namespace).
 * Samples are made the way the agent makes them: interface file text through sampleFromFiles,
 * with the full memory.stat key set of a 6.18 kernel, so objects have their real shape.
 * 20 distinct histories (leaks, sawtooth, throttling, steady, restarts) are cycled over the
 * 1000 containers to keep the set-up memory small.
 *
 *   node dist/bench/analysis.bench.js
 */
import { analyzeContainer, analyzeSeries } from "../src/analysis/analyze.js";
import { toSeries } from "../src/analysis/series.js";
import type { MemorySample } from "../src/cgroup/sample.js";
import { sampleFromFiles } from "../src/cgroup/sample-from-files.js";

const MI = 2 ** 20;
const PERIOD = 10;
const SAMPLES = 6 * 360;
const DISTINCT = 20;
const CONTAINERS = 1000;
const TARGET_PER_CONTAINER_MS = 0.1;
const TARGET_1000_MS = 100;

// memory.stat keys as a 6.18 kernel prints them (from ../shared/fixtures/cgroup-traces)
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
      "cgroup.procs": procs === 2 ? "1\n42\n" : "1\n",
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

// as the controller gets them: the agent's JSON, parsed
const histories = Array.from(
  { length: DISTINCT },
  (_, k) => JSON.parse(JSON.stringify(history(k))) as MemorySample[],
);
const columns = histories.map((h) => toSeries(h, true));
const pick = <T>(xs: T[], i: number) => xs[i % DISTINCT] as T;

const findings = new Map<string, number>();
for (const samples of histories) {
  for (const f of analyzeContainer({ samples }).findings)
    findings.set(f.rule, (findings.get(f.rule) ?? 0) + 1);
}
// warm up the JIT before timing, as a long-running controller is
for (let i = 0; i < 300; i++) {
  analyzeContainer({ samples: pick(histories, i) });
  analyzeSeries(pick(columns, i));
}

const perOne = (run: (i: number) => void) =>
  medianOf(
    Array.from(
      { length: 9 },
      (_, r) =>
        cpuMs(() => {
          // the same container over and over: its history stays in the CPU caches
          for (let i = 0; i < 100; i++) run(r);
        }) / 100,
    ),
  );
const forAll = (run: (i: number) => void) =>
  medianOf(
    Array.from({ length: 5 }, () =>
      cpuMs(() => {
        for (let i = 0; i < CONTAINERS; i++) run(i);
      }),
    ),
  );

const oneObjects = perOne((i) => analyzeContainer({ samples: pick(histories, i) }));
const oneColumns = perOne((i) => analyzeSeries(pick(columns, i)));
const allObjects = forAll((i) => analyzeContainer({ samples: pick(histories, i) }));
const allColumns = forAll((i) => analyzeSeries(pick(columns, i)));

const label = `6h @${PERIOD}s (${SAMPLES} samples)`;
const row = (what: string, n: number, total: number, target: string) => [
  `${label}, ${what}`,
  String(n),
  total.toFixed(n === 1 ? 3 : 1),
  (total / n).toFixed(4),
  target,
];
const rows = [
  ["case", "containers", "total ms", "ms per container", "target"],
  row("MemorySample objects", 1, oneObjects, `<= ${TARGET_PER_CONTAINER_MS} ms`),
  row("columns (analyzeSeries)", 1, oneColumns, `<= ${TARGET_PER_CONTAINER_MS} ms`),
  row("MemorySample objects", CONTAINERS, allObjects, `<= ${TARGET_1000_MS} ms`),
  row("columns (analyzeSeries)", CONTAINERS, allColumns, `<= ${TARGET_1000_MS} ms`),
];
const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length))) ?? [];
for (const r of rows) console.log(r.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join("  "));
console.log(
  `(CPU time; findings over the ${DISTINCT} distinct histories: ${JSON.stringify(Object.fromEntries(findings))})`,
);
