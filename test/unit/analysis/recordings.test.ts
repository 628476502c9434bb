import { expect } from "chai";
import { analyzeContainer, type Analysis } from "../../../src/analysis/analyze.js";
import { traceToSamples } from "../../../src/cgroup/trace.js";
import { loadTrace, TRACE_FILES } from "../cgroup/fixtures.js";

const MI = 2 ** 20;
const recordings = TRACE_FILES.map((file) => [file, traceToSamples(loadTrace(file))] as const);
const analyse = (file: (typeof TRACE_FILES)[number], requests?: number): Analysis =>
  analyzeContainer({
    samples: recordings.find(([f]) => f === file)?.[1] ?? [],
    ...(requests ? { requests } : {}),
    thresholds: { leak: { minObservationMs: 10_000 } },
  });
const rules = (a: Analysis) => a.findings.map((f) => f.rule).sort();

describe("analysis on the real kernel recordings", () => {
  const expected: Record<(typeof TRACE_FILES)[number], string[]> = {
    "v2-oom-fast-leak.jsonl": ["OOMKilled"],
    "v2-memory-high-then-oom.jsonl": ["MemoryThrottled", "OOMKilled"],
    "v1-oom-fast-leak.jsonl": ["OOMKilled"],
    "v1-slow-leak.jsonl": ["MemoryLeak"],
  };
  for (const file of TRACE_FILES) {
    it(`${file}: ${expected[file].join(" + ")}`, () => {
      expect(rules(analyse(file))).to.deep.equal(expected[file]);
    });
  }

  it("counts one kill of the main process, at the limit, on v1 and v2", () => {
    for (const file of ["v2-oom-fast-leak.jsonl", "v1-oom-fast-leak.jsonl"] as const) {
      const oom = analyse(file).findings[0];
      expect(oom?.count).to.equal(1);
      expect(oom?.severity).to.equal("Critical");
      expect(oom?.evidence.limitBytes).to.equal(64 * MI);
      expect(oom?.evidence.processesAfter).to.equal(0);
      expect(oom?.message).to.match(/OOM-killed once at its 64 MiB memory limit/);
    }
  });

  it("v1-slow-leak: ~4 MiB/s of anonymous memory, ~1.5 min to the 512 MiB limit", () => {
    const leak = analyse("v1-slow-leak.jsonl").findings[0];
    const perHour = Number(leak?.evidence.growthBytesPerHour);
    expect(perHour / 3600 / MI).to.be.within(3.8, 4.2);
    expect(leak?.evidence.r2).to.be.above(0.99);
    expect(leak?.evidence.secondsToLimit).to.be.within(75, 100);
    expect(leak?.message).to.match(
      /^Anonymous memory grows .* and will reach the 512 MiB limit in ~1m\d+s\.$/,
    );
  });

  it("v2-memory-high-then-oom: memory.high 190 MiB is MemoryQoS for request 100Mi, limit 200Mi, factor 0.9", () => {
    const known = analyse("v2-memory-high-then-oom.jsonl", 100 * MI);
    const throttled = known.findings.find((f) => f.rule === "MemoryThrottled");
    expect(throttled?.evidence).to.include({ highBytes: 190 * MI, qosMatches: true, impliedFactor: 0.9 });
    expect(throttled?.evidence.stallPercent).to.be.above(50);
    expect(throttled?.evidence.highEvents).to.equal(534);
    const unknown = analyse("v2-memory-high-then-oom.jsonl").findings.find(
      (f) => f.rule === "MemoryThrottled",
    );
    expect(unknown?.evidence.impliedRequestBytes).to.equal(100 * MI);
    expect(unknown?.message).to.match(/memory request of ~100 MiB/);
  });

  it("v2-memory-high-then-oom: a readiness probe failing while throttled is part of the finding", () => {
    const samples = recordings.find(([f]) => f === "v2-memory-high-then-oom.jsonl")?.[1] ?? [];
    const at = (notReadySince: number) =>
      analyzeContainer({ samples, requests: 100 * MI, notReadySince }).findings.find(
        (f) => f.rule === "MemoryThrottled",
      );
    const last = samples[samples.length - 1]!.t;
    const throttled = at(last - 4); // NotReady for the last 4 s of the recording
    expect(throttled?.evidence.notReadySeconds).to.equal(4);
    expect(throttled?.message).to.match(/Its readiness probe fails: NotReady for 4s while throttled/);
    // NotReady since before throttling began counts from the first memory.high event only
    const early = at(-1000);
    expect(early?.evidence.notReadySeconds).to.be.below(last);
    expect(early?.evidence.notReadySeconds).to.be.above(0);
    const ready = analyse("v2-memory-high-then-oom.jsonl", 100 * MI).findings.find(
      (f) => f.rule === "MemoryThrottled",
    );
    expect(ready?.message).to.be.a("string").and.not.contain("readiness");
  });

  it("recommends a larger limit after the kills and requests = limits when throttled", () => {
    const types = (file: (typeof TRACE_FILES)[number]) => analyse(file).recommendations.map((r) => r.type);
    expect(types("v2-oom-fast-leak.jsonl")).to.deep.equal(["RaiseMemoryLimit"]);
    expect(types("v1-oom-fast-leak.jsonl")).to.deep.equal(["RaiseMemoryLimit"]);
    expect(types("v1-slow-leak.jsonl")).to.deep.equal(["FixLeak"]);
    const high = analyse("v2-memory-high-then-oom.jsonl", 100 * MI).recommendations;
    expect(high.map((r) => r.type)).to.deep.equal(["RaiseMemoryLimit", "SetRequestsEqualLimits"]);
    expect(high[0]?.suggested).to.deep.equal({ requests: { memory: "100Mi" }, limits: { memory: "300Mi" } });
    expect(high[1]?.current).to.deep.equal({ requests: { memory: "100Mi" }, limits: { memory: "200Mi" } });
    expect(high[1]?.suggested).to.deep.equal({ requests: { memory: "200Mi" }, limits: { memory: "200Mi" } });
    expect(high[1]?.patch).to.match(/requests:\n\s+memory: 200Mi\n\s+limits:\n\s+memory: 200Mi/);
  });

  it("does not judge a leak before the minimum observation time (default 15m)", () => {
    const samples = recordings.find(([f]) => f === "v1-slow-leak.jsonl")?.[1] ?? [];
    expect(analyzeContainer({ samples }).findings).to.deep.equal([]);
  });
});
