import { expect } from "chai";
import type { MemorySample } from "../../../src/cgroup/sample.js";
import { sampleFromFiles } from "../../../src/cgroup/sample-from-files.js";
import { traceToSamples } from "../../../src/cgroup/trace.js";
import { loadTrace } from "./fixtures.js";

const MiB = 1024 * 1024;

function first(samples: MemorySample[]): MemorySample {
  const s = samples[0];
  if (!s) throw new Error("recording has no samples");
  return s;
}

function last(samples: MemorySample[]): MemorySample {
  const s = samples.at(-1);
  if (!s) throw new Error("recording has no samples");
  return s;
}

describe("sampleFromFiles on real kernel recordings", () => {
  describe("v2-oom-fast-leak (memory.max 64 MiB, OOM-killed)", () => {
    const samples = traceToSamples(loadTrace("v2-oom-fast-leak.jsonl"));

    it("reads the limits: memory.max 64 MiB, memory.high max -> null, swap.max 0", () => {
      const s = first(samples);
      expect(s.version).to.equal("v2");
      expect(s.limit).to.equal(64 * MiB);
      expect(s.high).to.equal(null);
      expect(s.swapMax).to.equal(0);
      expect(s.oomGroup).to.equal(false);
      expect([s.low, s.min]).to.deep.equal([0, 0]);
    });

    it("sees anon grow, then oom_kill reach 1 and the process list empty", () => {
      expect(samples[2]?.stat?.anon).to.equal(50507776);
      const end = last(samples);
      expect(first(samples).events?.oom_kill).to.equal(0);
      expect(end.events?.oom_kill).to.be.at.least(1);
      expect(end.events?.max).to.equal(39);
      expect(end.eventsLocal?.oom_kill).to.equal(1);
      expect(end.peak).to.equal(64 * MiB);
      expect(end.procs).to.equal(0);
      expect(first(samples).procs).to.equal(1);
      expect(end.pressure?.some.total).to.be.closeTo(0.002359, 1e-9);
    });

    it("has no v1-only fields", () => {
      expect(first(samples)).not.to.have.any.keys("failcnt", "oomKill", "underOom");
    });
  });

  describe("v2-memory-high-then-oom (memory.high 190 MiB under max 200 MiB)", () => {
    const samples = traceToSamples(loadTrace("v2-memory-high-then-oom.jsonl"));

    it("reads memory.high 199229440 and memory.max 200 MiB", () => {
      expect(first(samples).high).to.equal(199229440);
      expect(first(samples).limit).to.equal(200 * MiB);
    });

    it("sees events.high increase while throttled, then an OOM kill", () => {
      const highs = samples.map((s) => s.events?.high ?? -1);
      expect(highs[0]).to.equal(0);
      expect(highs.at(-1)).to.equal(534);
      for (let i = 1; i < highs.length; i++) expect(highs[i]).to.be.at.least(highs[i - 1] ?? 0);
      expect(last(samples).events?.oom_kill).to.equal(1);
    });

    it("reads the PSI stall time in seconds", () => {
      expect(samples[5]?.pressure?.some.total).to.be.closeTo(0.029144, 1e-9);
      expect(last(samples).pressure?.full).to.deep.equal({
        avg10: 15.71,
        avg60: 3.69,
        avg300: 0.8,
        total: 2.411522,
      });
    });
  });

  describe("v1-oom-fast-leak (limit_in_bytes 64 MiB)", () => {
    const samples = traceToSamples(loadTrace("v1-oom-fast-leak.jsonl"));

    it("reads limit 64 MiB and the unlimited swap accounting stays out of the limit", () => {
      const s = first(samples);
      expect(s.version).to.equal("v1");
      expect(s.limit).to.equal(64 * MiB);
      expect(s.usage).to.equal(1835008);
      expect(s.stat?.hierarchical_memsw_limit).to.be.greaterThan(2 ** 62);
    });

    it("maps memory.stat total_* to v2 names and drops the local twins", () => {
      const stat = samples[3]?.stat ?? {};
      expect(stat.anon).to.equal(66641920);
      expect(stat.file).to.equal(4096);
      expect(stat).to.include.keys("inactive_anon", "active_anon", "shmem", "file_mapped", "swap");
      expect(stat).not.to.have.any.keys("rss", "cache", "total_rss", "total_cache", "mapped_file");
    });

    it("sees failcnt rise, oom_kill reach 1 in memory.oom_control, and no process left", () => {
      const end = last(samples);
      expect(end.failcnt).to.equal(171);
      expect(end.oomKill).to.equal(1);
      expect(end.underOom).to.equal(false);
      expect(end.peak).to.equal(64 * MiB);
      expect(end.procs).to.equal(0);
      expect(first(samples).oomKill).to.equal(0);
    });

    it("has no v2-only fields", () => {
      expect(first(samples)).not.to.have.any.keys("events", "eventsLocal", "high", "pressure", "oomGroup");
    });
  });

  describe("v1-slow-leak (limit_in_bytes 512 MiB)", () => {
    const samples = traceToSamples(loadTrace("v1-slow-leak.jsonl"));

    it("reads limit 512 MiB", () => expect(first(samples).limit).to.equal(512 * MiB));

    it("sees anon > 0 and growing while the leak runs, with no OOM", () => {
      const anon = samples.map((s) => s.stat?.anon ?? 0);
      expect(anon.every((a) => a > 0)).to.equal(true);
      expect(anon.at(-1)).to.equal(174485504);
      for (let i = 1; i < anon.length; i++) expect(anon[i]).to.be.greaterThan(anon[i - 1] ?? 0);
      expect(last(samples).oomKill).to.equal(0);
      expect(last(samples).swapCurrent).to.equal(0);
    });
  });

  describe("missing and malformed files", () => {
    it("leaves fields of absent files undefined, without keys", () => {
      const s = sampleFromFiles("v2", 5, { "memory.current": "4096\n" });
      expect(s).to.deep.equal({ t: 5, version: "v2", usage: 4096 });
    });

    it("never throws on bad kernel text", () => {
      const s = sampleFromFiles("v1", 0, {
        "memory.usage_in_bytes": "oops",
        "memory.limit_in_bytes": "",
        "memory.oom_control": "nonsense\n",
        "memory.stat": "\n\n",
        "cgroup.procs": "",
      });
      expect(s).to.deep.equal({ t: 0, version: "v1", stat: {}, procs: 0, pids: [] });
    });

    it("reads an unlimited v1 limit as null", () => {
      expect(sampleFromFiles("v1", 0, { "memory.limit_in_bytes": "9223372036854771712\n" }).limit).to.equal(
        null,
      );
    });
  });
});
