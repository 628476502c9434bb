import { expect } from "chai";
import { analyzeContainer } from "../../../src/analysis/analyze.js";
import { fitLeak } from "../../../src/analysis/leak.js";
import { explainMemoryHigh, memoryQosHigh } from "../../../src/analysis/memory-qos.js";
import { findOomKills } from "../../../src/analysis/oom-cgroup.js";
import { toSeries } from "../../../src/analysis/history-series.js";
import { resolveThresholds } from "../../../src/analysis/thresholds.js";
import type { MemorySample } from "../../../src/cgroup/sample.js";
import { traceToSamples } from "../../../src/cgroup/trace.js";
import { loadTrace } from "../cgroup/fixtures.js";
import { MI } from "./constructed.js";

const th = resolveThresholds();
const rules = (samples: MemorySample[], minObservationMs = 60_000) =>
  analyzeContainer({ samples, thresholds: { leak: { minObservationMs } } }).findings.map((f) => f.rule);

/** A bare v1 history: only what the caller gives, one sample a minute. */
function v1(rows: Partial<MemorySample>[]): MemorySample[] {
  return rows.map((r, i) => ({ t: i * 60, version: "v1", ...r }));
}

/** anon growing `perMin` MiB a minute from `from` MiB, with memory.stat and one process. */
function leaking(
  n: number,
  from: number,
  perMin: number,
  extra: (i: number) => Partial<MemorySample> = () => ({}),
) {
  return v1(
    Array.from({ length: n }, (_, i) => {
      const anon = (from + perMin * i) * MI;
      return { usage: anon + 2 * MI, limit: 1024 * MI, stat: { anon, file: 2 * MI }, procs: 1, ...extra(i) };
    }),
  );
}

describe("analysis rules", () => {
  describe("OOM kills in cgroup data", () => {
    it("v1 pod cgroup without oom_kill: usage at the limit, failcnt rising, then freed, is a kill", () => {
      // the real v1 recording with the victim's oom_kill count removed, as a pod cgroup reads
      const samples = traceToSamples(loadTrace("v1-oom-fast-leak.jsonl")).map((s) => {
        const copy: MemorySample = { ...s, procs: (s.procs ?? 0) + 1 }; // the pause process stays
        delete copy.oomKill;
        return copy;
      });
      const kills = findOomKills(toSeries(samples), th.oom);
      expect(kills).to.have.length(1);
      expect(kills[0]).to.include({ main: true, source: "memory.failcnt and memory freed", t: 1.003 });
      expect(rules(samples)).to.deep.equal(["OOMKilled"]);
    });

    it("failcnt rising while page cache is dropped is no kill", () => {
      const samples = v1([
        { usage: 500 * MI, limit: 512 * MI, failcnt: 0, stat: { anon: 100 * MI, file: 400 * MI } },
        { usage: 510 * MI, limit: 512 * MI, failcnt: 50, stat: { anon: 100 * MI, file: 410 * MI } },
        { usage: 110 * MI, limit: 512 * MI, failcnt: 60, stat: { anon: 100 * MI, file: 10 * MI } },
      ]);
      expect(findOomKills(toSeries(samples), th.oom)).to.deep.equal([]);
    });

    it("a counter reset (the cgroup made anew) counts what the new counter shows, never a negative", () => {
      const samples = v1([
        { usage: 50 * MI, oomKill: 3, procs: 1 },
        { usage: 50 * MI, oomKill: 0, procs: 1 },
        { usage: 50 * MI, oomKill: 0, procs: 1 },
      ]);
      expect(findOomKills(toSeries(samples), th.oom)).to.deep.equal([]);
    });

    it("a kill in the last sample with no cgroup.procs counts as the main process (the recording ended)", () => {
      const samples = v1([
        { usage: 60 * MI, oomKill: 0 },
        { usage: 63 * MI, oomKill: 1 },
      ]);
      expect(findOomKills(toSeries(samples), th.oom)[0]?.main).to.equal(true);
    });

    it("kills seen before the history starts are not counted", () => {
      const samples = v1([
        { usage: 60 * MI, oomKill: 2, procs: 1 },
        { usage: 60 * MI, oomKill: 2, procs: 1 },
      ]);
      expect(rules(samples)).to.deep.equal([]);
    });
  });

  describe("MemoryLeak", () => {
    it("fires on steady anon growth once the minimum observation has passed", () => {
      expect(rules(leaking(30, 100, 1), 15 * 60_000)).to.deep.equal(["MemoryLeak"]);
      expect(rules(leaking(10, 100, 1), 15 * 60_000)).to.deep.equal([]);
    });

    it("a usage collapse mid-series starts a new run, not negative growth", () => {
      // leak to 160 MiB, restart at 100 MiB, leak again: no OOM data at all
      const samples = leaking(60, 100, 1, (i) => {
        const anon = (100 + (i % 30)) * MI;
        return { usage: anon, stat: { anon, file: 0 } };
      });
      // a restart of a 130 MiB process back to 100 MiB is no collapse; a fall to a few MiB is
      const collapsed = samples.map((s, i) =>
        i === 30 ? { ...s, usage: 2 * MI, stat: { anon: 1 * MI, file: 0 } } : s,
      );
      const s = toSeries(collapsed);
      const fit = fitLeak(
        s,
        s.kept,
        findOomKills(s, th.oom),
        resolveThresholds({ leak: { minObservationMs: 60_000 } }),
      );
      expect(fit?.runs).to.equal(2);
      expect((fit?.perHour ?? 0) / MI).to.be.within(59, 61);
      expect(rules(collapsed)).to.include("MemoryLeak");
    });

    it("a counter that went down (peak reset: new cgroup) starts a new run", () => {
      const samples = leaking(40, 100, 1, (i) => ({ peak: (i < 20 ? 120 + i : 100 + i) * MI }));
      const s = toSeries(samples);
      expect(fitLeak(s, s.kept, [], th)?.runs).to.equal(2);
    });

    it("samples with no processes belong to no run", () => {
      const samples = leaking(40, 100, 1, (i) =>
        i === 20 ? { procs: 0, usage: 0, stat: { anon: 0, file: 0 } } : {},
      );
      const s = toSeries(samples);
      expect(fitLeak(s, s.kept, [], th)?.runs).to.equal(2);
    });

    it("works on usage alone when memory.stat is missing, and says so", () => {
      const samples = v1(Array.from({ length: 40 }, (_, i) => ({ usage: (100 + i) * MI })));
      const [leak] = analyzeContainer({
        samples,
        thresholds: { leak: { minObservationMs: 60_000 } },
      }).findings;
      expect(leak?.evidence.metric).to.equal("usage (no memory.stat)");
      expect(leak?.message).to.match(/^Memory usage \(no memory\.stat/);
      expect(leak?.message).to.match(/no memory limit set|limit/);
    });

    it("ignores growth below minGrowthPerHour and total growth below minGrowthBytes", () => {
      // 0.5 MiB/h over 2h
      const slow = v1(
        Array.from({ length: 121 }, (_, i) => ({
          usage: 100 * MI + (i * MI) / 120,
          stat: { anon: 100 * MI + (i * MI) / 120 },
        })),
      );
      expect(rules(slow)).to.deep.equal([]);
    });
  });

  describe("missing files", () => {
    it("samples with nothing but a time produce no findings and no error", () => {
      expect(rules(v1([{}, {}, {}]))).to.deep.equal([]);
      expect(analyzeContainer({ samples: [] })).to.deep.equal({ findings: [], recommendations: [] });
    });

    it("v2 samples without memory.events, PSI or cgroup.procs", () => {
      const samples: MemorySample[] = Array.from({ length: 30 }, (_, i) => ({
        t: i * 60,
        version: "v2",
        usage: 190 * MI,
        limit: 200 * MI,
        high: 190 * MI,
      }));
      expect(rules(samples)).to.deep.equal([]);
    });
  });

  describe("MemoryQoS memory.high", () => {
    it("request + factor × (limit − request), rounded down to pages", () => {
      const cases: [number, number, number, number][] = [
        [100 * MI, 200 * MI, 0.9, 199229440],
        [0, 200 * MI, 0.9, 188743680],
        [100e6, 200e6, 0.9, Math.floor(190e6 / 4096) * 4096],
        [64 * MI, 128 * MI, 0.8, Math.floor((64 * MI + 0.8 * 64 * MI) / 4096) * 4096],
      ];
      for (const [request, limit, factor, want] of cases)
        expect(memoryQosHigh(request, limit, factor)).to.equal(want);
    });

    it("names the factor that explains memory.high, or the request it implies", () => {
      expect(explainMemoryHigh(199229440, 200 * MI, 0.9, 100 * MI)).to.deep.include({
        matches: true,
        impliedFactor: 0.9,
      });
      const other = explainMemoryHigh(memoryQosHigh(100 * MI, 200 * MI, 0.8), 200 * MI, 0.9, 100 * MI);
      expect(other.matches).to.equal(false);
      expect(other.impliedFactor).to.be.closeTo(0.8, 0.001);
      expect(explainMemoryHigh(199229440, 200 * MI, 0.9).impliedRequest).to.equal(100 * MI);
      expect(explainMemoryHigh(200 * MI, 200 * MI, 0.9).matches).to.equal(false);
    });
  });
});

describe("analysis input order", () => {
  it("samples out of time order are analysed in order", () => {
    const samples = traceToSamples(loadTrace("v1-slow-leak.jsonl"));
    const shuffled = [...samples].reverse();
    const opts = { thresholds: { leak: { minObservationMs: 10_000 } } };
    expect(analyzeContainer({ samples: shuffled, ...opts })).to.deep.equal(
      analyzeContainer({ samples, ...opts }),
    );
  });
});
