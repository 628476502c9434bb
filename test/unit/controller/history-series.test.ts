import { expect } from "chai";
import { readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { CgroupHistory, type HistoryJSON } from "../../../src/agent/history.js";
import { rowFromSample } from "../../../src/agent/series.js";
import { analyzeContainer, analyzeSeries, type AnalyzeInput } from "../../../src/analysis/analyze.js";
import { toSeries, type Series } from "../../../src/analysis/series.js";
import type { MemorySample } from "../../../src/cgroup/sample.js";
import { parseTrace, traceToSamples } from "../../../src/cgroup/trace.js";
import {
  samplesFromHistory,
  seriesFromHistories,
  type HistoryInstance,
} from "../../../src/controller/history-series.js";
import { TRACE_FILES, tracePath } from "../cgroup/fixtures.js";

const LOCAL = resolve(process.cwd(), "test/fixtures/cgroup-traces");
const recordings = [
  ...TRACE_FILES.map(tracePath),
  ...readdirSync(LOCAL)
    .filter((f) => f.endsWith(".jsonl"))
    .map((f) => resolve(LOCAL, f)),
].map((path) => {
  const trace = parseTrace(readFileSync(path, "utf8"));
  return {
    name: path.split("/").at(-1) ?? path,
    version: trace.meta.cgroup_version,
    samples: traceToSamples(trace),
  };
});

/** The agent's history of a recording, as the controller receives it (JSON). */
function historyOf(samples: readonly MemorySample[], opts: { rawWindowS?: number; bucketS?: number } = {}) {
  const h = new CgroupHistory({ periodS: 0.25, retentionS: 3600, rawWindowS: 3600, ...opts });
  for (const s of samples) h.append(s.t, rowFromSample(s));
  return JSON.parse(JSON.stringify(h.toJSON())) as HistoryJSON;
}

/** What the controller did before it read columns: samples from every instance, windowed and sorted. */
function samplesOf(instances: readonly HistoryInstance[], since: number): MemorySample[] {
  return instances
    .flatMap((e) => samplesFromHistory(e.history, e.cgroupVersion))
    .filter((s) => s.t >= since)
    .sort((a, b) => a.t - b.t);
}

const COLUMNS = [
  "t",
  "usage",
  "limit",
  "high",
  "peak",
  "failcnt",
  "oomKill",
  "highEvents",
  "procs",
  "kept",
  "anon",
  "file",
  "shmem",
  "pageCache",
  "inactiveFile",
  "kernel",
  "swap",
  "someTotal",
  "fullTotal",
  "someAvg10",
] as const;

/** The columns and the kernel parts offered, as plain arrays. */
function plain(s: Series) {
  const parts = [...s.kernelParts()].filter(([, col]) => col.some((v) => !Number.isNaN(v)));
  return {
    n: s.n,
    version: s.version,
    hasStat: s.hasStat,
    ...Object.fromEntries(COLUMNS.map((c) => [c, [...s[c]]])),
    parts: parts.map(([k, col]) => [k, [...col]]),
  };
}

const input: Omit<AnalyzeInput, "samples"> = {
  thresholds: { leak: { minObservationMs: 10_000 } },
  workload: { kind: "Deployment", name: "app", namespace: "ns" },
  container: "app",
  pod: "app-0",
};

describe("seriesFromHistories: the agent's columns straight into the rules", () => {
  for (const { name, version, samples } of recordings) {
    const whole: HistoryInstance[] = [{ history: historyOf(samples), cgroupVersion: version }];
    const mid = samples[samples.length >> 1]?.t ?? 0;
    // a restart: two instances, the newer listed first, as the agent may list them
    const split: HistoryInstance[] = [
      { history: historyOf(samples.filter((s) => s.t >= mid)), cgroupVersion: version },
      { history: historyOf(samples.filter((s) => s.t < mid)), cgroupVersion: version },
    ];
    // older data folded into 2 s points, as the agent keeps it
    const folded: HistoryInstance[] = [
      { history: historyOf(samples, { rawWindowS: 10, bucketS: 2 }), cgroupVersion: version },
    ];
    const cases: [string, HistoryInstance[], number][] = [
      ["one instance", whole, -Infinity],
      ["two instances out of order", split, -Infinity],
      ["downsampled", folded, -Infinity],
      ["within a window", whole, mid / 2],
    ];
    for (const [what, instances, since] of cases) {
      it(`${name}, ${what}: the same Series and Analysis as the samples path`, () => {
        const reference = samplesOf(instances, since);
        const columns = seriesFromHistories(instances, since, true);
        expect(plain(columns)).to.deep.equal(plain(toSeries(reference, true)));
        for (const extra of [{}, { requests: 32 * 2 ** 20, limits: 512 * 2 ** 20 }]) {
          expect(analyzeSeries(seriesFromHistories(instances, since), { ...input, ...extra })).to.deep.equal(
            analyzeContainer({ samples: reference, ...input, ...extra }),
          );
        }
      });
    }
  }

  it("an empty window is an empty Series", () => {
    const history = historyOf(recordings[0]?.samples ?? []);
    expect(seriesFromHistories([{ history, cgroupVersion: "v2" }], Infinity).n).to.equal(0);
    expect(seriesFromHistories([]).n).to.equal(0);
  });
});
