import { expect } from "chai";
import { mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { CgroupReader } from "../../../src/agent/fast-read.js";
import { analyzeContainer, analyzeSeries, type AnalyzeInput } from "../../../src/analysis/analyze.js";
import { historyOfSamples, seriesFromHistories, toSeries } from "../../../src/analysis/history-series.js";
import type { Series } from "../../../src/analysis/series.js";
import { CgroupHistory } from "../../../src/cgroup/history.js";
import type { HistoryJSON } from "../../../src/cgroup/history-wire.js";
import { emptyRow } from "../../../src/cgroup/reading.js";
import { parseTrace, traceToSamples, type Trace } from "../../../src/cgroup/trace.js";

const TRACES = resolve(process.cwd(), "test/fixtures/cgroup-traces");
const recordings = readdirSync(TRACES)
  .filter((f) => f.endsWith(".jsonl"))
  .map((name) => ({ name, trace: parseTrace(readFileSync(join(TRACES, name), "utf8")) }));

/**
 * The live path: each reading's files put where the agent's reader finds them (a directory
 * rewritten per reading), read by the agent's CgroupReader, kept in its history (at full
 * resolution, as `memlens analyze` keeps a recording), served as JSON.
 */
function served(trace: Trace): HistoryJSON {
  const dir = mkdtempSync(join(tmpdir(), "memlens-parity-"));
  const reader = new CgroupReader(dir, trace.meta.cgroup_version);
  const n = Math.max(1, trace.samples.length);
  const history = new CgroupHistory({ periodS: 1, retentionS: n, rawWindowS: n });
  try {
    let written: string[] = [];
    for (const { t, files } of trace.samples) {
      for (const f of written) if (!(f in files)) unlinkSync(join(dir, f));
      for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text);
      written = Object.keys(files);
      const row = emptyRow();
      reader.read(row);
      history.append(t, row);
    }
  } finally {
    reader.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return JSON.parse(JSON.stringify(history.toJSON())) as HistoryJSON;
}

/** Every column and the kernel parts offered, as plain arrays. */
function plain(s: Series) {
  const parts = [...s.kernelParts()].filter(([, col]) => col.some((v) => !Number.isNaN(v)));
  const columns = Object.entries(s).filter(([, v]) => v instanceof Float64Array);
  return {
    n: s.n,
    version: s.version,
    hasStat: s.hasStat,
    ...Object.fromEntries(columns.map(([k, col]) => [k, [...(col as Float64Array)]])),
    parts: parts.map(([k, col]) => [k, [...col]]),
  };
}

const input: Omit<AnalyzeInput, "samples"> = {
  thresholds: { leak: { minObservationMs: 10_000 } },
  workload: { kind: "Deployment", name: "app", namespace: "ns" },
  container: "app",
  pod: "app-0",
};

describe("one reading, one truth: live and offline give the same Series and findings", () => {
  for (const { name, trace } of recordings) {
    it(`${name}: agent reader -> history JSON -> controller Series = memlens analyze`, () => {
      const version = trace.meta.cgroup_version;
      const samples = traceToSamples(trace);
      const live = seriesFromHistories([{ history: served(trace), cgroupVersion: version }], -Infinity, true);
      expect(plain(live)).to.deep.equal(plain(toSeries(samples, true)));
      for (const extra of [{}, { requests: 32 * 2 ** 20, limits: 512 * 2 ** 20 }]) {
        const offline = analyzeContainer({ samples, ...input, ...extra });
        expect(analyzeSeries(live, { ...input, ...extra })).to.deep.equal(offline);
      }
    });
  }

  it("a restart's two instances listed newest first read as one history in time order", () => {
    const trace = recordings.find((r) => r.name === "v2-memory-high-then-oom.jsonl")?.trace as Trace;
    const samples = traceToSamples(trace);
    const mid = samples[samples.length >> 1]?.t ?? 0;
    const older = {
      history: historyOfSamples(samples.filter((s) => s.t < mid)),
      cgroupVersion: "v2",
    } as const;
    const newer = {
      history: historyOfSamples(samples.filter((s) => s.t >= mid)),
      cgroupVersion: "v2",
    } as const;
    const inOrder = plain(seriesFromHistories([older, newer], -Infinity, true));
    expect(plain(seriesFromHistories([newer, older], -Infinity, true))).to.deep.equal(inOrder);
    expect(inOrder.n).to.equal(samples.length);
    // a window keeps the readings from `since` on
    expect(seriesFromHistories([newer, older], mid).n).to.equal(samples.filter((s) => s.t >= mid).length);
  });

  it("an empty window is an empty Series", () => {
    const history = historyOfSamples(traceToSamples(recordings[0]?.trace as Trace));
    expect(seriesFromHistories([{ history, cgroupVersion: "v2" }], Infinity).n).to.equal(0);
    expect(seriesFromHistories([]).n).to.equal(0);
  });
});
