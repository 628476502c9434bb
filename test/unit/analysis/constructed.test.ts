import { expect } from "chai";
import { analyzeContainer } from "../../../src/analysis/analyze.js";
import type { MemorySample } from "../../../src/cgroup/sample.js";
import * as c from "./constructed.js";

const rulesOf = (samples: MemorySample[], requests?: number) =>
  analyzeContainer({ samples, ...(requests ? { requests } : {}) }).findings.map((f) => f.rule);

// CONSTRUCTED histories (see constructed.ts), with the default thresholds (15m minimum observation)
describe("analysis on constructed patterns", () => {
  describe("must not report a leak", () => {
    const cases: [string, () => MemorySample[]][] = [
      [
        "page cache growing 200 MiB/h over a flat heap (v1, reclaimed at the limit)",
        () => c.pageCacheGrowth("v1"),
      ],
      ["page cache growing over a flat heap (v2)", () => c.pageCacheGrowth("v2")],
      ["warm-up to a plateau", c.warmupPlateau],
      ["GC sawtooth without drift", () => c.sawtooth(0)],
      ["steady usage with request bursts", c.steady],
      ["a child process OOM-killed (v1)", () => c.childOomKill("v1")],
      ["a child process OOM-killed (v2)", () => c.childOomKill("v2")],
      ["reclaim pressure at the limit", c.pressureNoHigh],
    ];
    for (const [name, build] of cases) {
      it(name, () => expect(rulesOf(build())).not.to.include("MemoryLeak"));
    }
  });

  describe("must report a leak", () => {
    it("a GC sawtooth whose troughs drift up 15 MiB/h", () => {
      const leak = analyzeContainer({ samples: c.sawtooth(15 * c.MI) }).findings.find(
        (f) => f.rule === "MemoryLeak",
      );
      expect(Number(leak?.evidence.growthBytesPerHour) / c.MI).to.be.within(13, 17);
    });

    it("a slow leak of 6 MiB/h far below a 2 GiB limit, with the time to reach it", () => {
      const [leak] = analyzeContainer({ samples: c.slowLeakFarFromLimit() }).findings;
      expect(leak?.rule).to.equal("MemoryLeak");
      expect(leak?.severity).to.equal("Warning");
      expect(Number(leak?.evidence.growthBytesPerHour) / c.MI).to.be.within(5.5, 6.5);
      expect(Number(leak?.evidence.secondsToLimit) / 3600).to.be.within(270, 340);
      expect(leak?.message).to.match(
        /grows 6 MiB\/h \(R² \d\.\d\d\) and will reach the 2\.0 GiB limit in ~3\d\dh\./,
      );
    });

    it("a leak stalled at memory.high: MemoryLeak and MemoryThrottled, FixLeak first", () => {
      const a = analyzeContainer({ samples: c.highStall(), requests: 100 * c.MI });
      expect(a.findings.map((f) => f.rule)).to.deep.equal(["MemoryLeak", "MemoryThrottled"]);
      const [leak, throttled] = a.findings;
      expect(leak?.evidence.stalledAtHigh).to.equal(true);
      expect(leak?.message).to.match(/until memory\.high \(190 MiB\) stalled it/);
      expect(throttled?.evidence.qosMatches).to.equal(true);
      expect(throttled?.evidence.stallPercent).to.be.within(35, 50);
      expect(a.recommendations.map((r) => r.type)).to.deep.equal(["FixLeak", "SetRequestsEqualLimits"]);
    });

    it("a leak OOM-killed and restarted: one finding across the runs, FixLeak before RaiseMemoryLimit", () => {
      const a = analyzeContainer({ samples: c.leakWithRestarts() });
      expect(a.findings.map((f) => f.rule)).to.deep.equal(["OOMKilled", "MemoryLeak"]);
      const [oom, leak] = a.findings;
      expect(oom?.count).to.equal(3);
      expect(leak?.evidence.runs).to.equal(4);
      expect(Number(leak?.evidence.growthBytesPerHour) / c.MI).to.be.within(110, 130);
      expect(a.recommendations.map((r) => r.type)).to.deep.equal(["FixLeak", "RaiseMemoryLimit"]);
      expect(a.recommendations[0]?.reason).to.match(/OOM-killed 3 times already/);
    });
  });

  describe("other rules", () => {
    it("a child process OOM-killed is ProcessOOMKilled, never OOMKilled", () => {
      for (const version of ["v1", "v2"] as const) {
        const a = analyzeContainer({ samples: c.childOomKill(version) });
        expect(a.findings.map((f) => f.rule)).to.deep.equal(["ProcessOOMKilled"]);
        expect(a.findings[0]?.evidence.processesAfter).to.equal(1);
        expect(a.recommendations).to.deep.equal([]);
      }
    });

    it("reclaim stalls without memory.high are MemoryPressure", () => {
      const [f] = analyzeContainer({ samples: c.pressureNoHigh() }).findings;
      expect(f?.rule).to.equal("MemoryPressure");
      expect(f?.evidence.stallPercent).to.be.within(20, 24);
    });

    it("page cache reclaimed at a v1 limit (failcnt rising) is no OOM kill, only PageCacheOnly (Info)", () => {
      expect(rulesOf(c.pageCacheGrowth("v1"))).to.deep.equal(["PageCacheOnly"]);
    });
  });
});
