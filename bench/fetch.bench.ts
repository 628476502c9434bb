/**
 * What one controller pass moves and spends to get the cgroup histories of 1000 containers from
 * their agents: every history in full each pass (as before), against only the samples newer
 * than the controller's copy (`since`, controller/history-cache.ts). Bytes on the wire, CPU on
 * the agent side (toJSON + stringify) and on the controller side (parse, the copy, the Series),
 * and the memory the copies hold. Histories: 6 h at the agent's defaults (10 s period here,
 * 10 min raw, 2 min buckets), every v2 column offered; a pass every 30 s (3 new samples).
 *
 *   node --expose-gc dist/bench/fetch.bench.js
 */
import type { ContainerEntry, ContainersResponse } from "../src/agent/api.js";
import { seriesFromHistories } from "../src/analysis/history-series.js";
import { CgroupHistory, type HistoryOptions } from "../src/cgroup/history.js";
import { COLUMN_COUNT, COLUMNS, emptyRow, S } from "../src/cgroup/reading.js";
import { HistoryCache } from "../src/controller/history-cache.js";

const MI = 2 ** 20;
const CONTAINERS = 1000;
const PERIOD = 10;
const PASS_S = 30;
const OPTIONS: HistoryOptions = { periodS: PERIOD, retentionS: 6 * 3600 };
const PASSES = 5;

/** One container's reading at time t: every column offered, values that move. */
function row(k: number, t: number): Float64Array {
  const r = emptyRow();
  const anon = 100 * MI + ((k * 7919 + t * 13) % 200) * MI * 0.01 + (t / 3600) * (k % 3) * MI;
  for (let c = 0; c < COLUMN_COUNT; c++) r[c] = 4096 * ((k + c) % 64);
  r[S.usage] = anon + 40 * MI;
  r[S.limit] = 512 * MI;
  r[S.high] = Infinity;
  r[S.anon] = anon;
  r[S.kept] = anon + MI;
  r[S.oom_kill] = Math.floor(t / 7200);
  r[S.psi_some_total] = t * 0.001;
  r[S.psi_some_avg10] = (t % 100) / 10;
  return r;
}

function entry(k: number, history: CgroupHistory, since: number | undefined): ContainerEntry {
  return {
    podUID: `pod-${k}`,
    namespace: "bench",
    pod: `app-${k}`,
    container: "app",
    containerID: `c-${k}`,
    kind: "container",
    qos: "burstable",
    cgroup: `/kubepods/burstable/pod-${k}/c-${k}`,
    cgroupVersion: "v2",
    requests: { memory: "256Mi" },
    limits: { memory: "512Mi" },
    gone: false,
    goneAt: null,
    history: history.toJSON(since),
  };
}

/** The agent's answer about one pod, as bytes. */
function served(k: number, history: CgroupHistory, since: number | undefined): string {
  const answer: ContainersResponse = {
    node: "node-1",
    cgroupVersion: "v2",
    periodSeconds: PERIOD,
    historyOptions: OPTIONS,
    containers: [entry(k, history, since)],
  };
  return JSON.stringify(answer);
}

function cpuMs(fn: () => void): number {
  const start = process.cpuUsage();
  fn();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

// the agents' histories, 6 h in
const agents = Array.from({ length: CONTAINERS }, (_, k) => {
  const h = new CgroupHistory(OPTIONS);
  for (let t = 0; t < 6 * 3600; t += PERIOD) h.append(t, row(k, t));
  return h;
});
let now = 6 * 3600;
const cache = new HistoryCache();
// the copies, filled by one full pass
agents.forEach((h, k) =>
  cache.merge(`pod-${k}`, JSON.parse(served(k, h, undefined)) as ContainersResponse, 0),
);

const totals = {
  full: { bytes: 0, agentMs: 0, controllerMs: 0 },
  since: { bytes: 0, agentMs: 0, controllerMs: 0 },
};
for (let pass = 0; pass < PASSES; pass++) {
  for (let t = now; t < now + PASS_S; t += PERIOD) agents.forEach((h, k) => h.append(t, row(k, t)));
  now += PASS_S;
  globalThis.gc?.();
  for (const mode of ["full", "since"] as const) {
    const texts: string[] = [];
    totals[mode].agentMs += cpuMs(() => {
      agents.forEach((h, k) =>
        texts.push(served(k, h, mode === "since" ? cache.sinceFor(`pod-${k}`) : undefined)),
      );
    });
    for (const text of texts) totals[mode].bytes += Buffer.byteLength(text);
    totals[mode].controllerMs += cpuMs(() => {
      texts.forEach((text, k) => {
        const answer = JSON.parse(text) as ContainersResponse;
        const entries = mode === "since" ? cache.merge(`pod-${k}`, answer, 0) : answer.containers;
        seriesFromHistories(entries);
      });
    });
  }
}

const rows = [["per pass, 1000 containers", "bytes", "agent CPU ms", "controller CPU ms"]];
for (const [mode, label] of [
  ["full", "every history in full (before)"],
  ["since", "only samples after the copy's newest (since)"],
] as const) {
  const m = totals[mode];
  rows.push([
    label,
    `${(m.bytes / PASSES / MI).toFixed(2)} MiB`,
    (m.agentMs / PASSES).toFixed(0),
    (m.controllerMs / PASSES).toFixed(0),
  ]);
}
const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length))) ?? [];
for (const r of rows) console.log(r.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join("  "));
console.log(
  `(${COLUMNS.length} columns, 6 h at ${PERIOD} s kept as the agent keeps them; CPU time, one core; the controller's copies hold ${(cache.bytes() / MI).toFixed(1)} MiB of typed arrays for the 1000 containers)`,
);
