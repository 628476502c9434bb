import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { analyzeContainer, type Analysis } from "../../../src/analysis/analyze.js";
import type { RuleFinding } from "../../../src/analysis/finding.js";
import { fitLeak } from "../../../src/analysis/leak.js";
import { findOomKills } from "../../../src/analysis/oom-cgroup.js";
import { toSeries } from "../../../src/analysis/history-series.js";
import { resolveThresholds } from "../../../src/analysis/thresholds.js";
import { parseTrace, traceToSamples } from "../../../src/cgroup/trace.js";

// Recordings made with `memlens agent record` on this machine's real kernel (cgroup v1) by
// test/fixtures/cgroup-traces/record.sh; README.md there says what ran in each.
const MI = 2 ** 20;
const DIR = resolve(process.cwd(), "test/fixtures/cgroup-traces");
const path = (scenario: string) => resolve(DIR, `local-${scenario}.jsonl`);
const samplesOf = (scenario: string) => traceToSamples(parseTrace(readFileSync(path(scenario), "utf8")));
// the recordings last 20–90 s: judge a leak after 10 s, as `--min-observation 10s` does
const analyse = (scenario: string): Analysis =>
  analyzeContainer({ samples: samplesOf(scenario), thresholds: { leak: { minObservationMs: 10_000 } } });
const rules = (a: Analysis) => a.findings.map((f) => f.rule);
const finding = (a: Analysis, rule: string): RuleFinding | undefined =>
  a.findings.find((f) => f.rule === rule);
/** none of `unwanted` among the rules found */
const noneOf = (found: string[], unwanted: string[], what?: string) =>
  expect(
    found.filter((r) => unwanted.includes(r)),
    what,
  ).to.deep.equal([]);
const mibPerHour = (f: RuleFinding | undefined) => Number(f?.evidence.growthBytesPerHour) / MI;

describe("analysis on local real-kernel recordings (test/fixtures/cgroup-traces)", () => {
  describe("no MemoryLeak", () => {
    const cases: [string, string][] = [
      ["restart-burst", "a process needing more than the limit at once, restarted in place 28 times"],
      ["page-cache", "page cache growing 4 MiB/s to 200 MiB over a flat heap"],
      ["warmup-plateau", "80 MiB allocated in 4 s, then held"],
      ["sawtooth-flat", "a GC-like sawtooth of 40 MiB every ~6 s returning all of it (munmap)"],
      ["steady", "30 MiB held"],
      ["child-oom", "a child OOM-killed three times while its parent holds 20 MiB"],
      ["main-oom", "the only process OOM-killed"],
    ];
    for (const [scenario, what] of cases) {
      it(`local-${scenario}: ${what}`, () => {
        expect(rules(analyse(scenario))).not.to.include("MemoryLeak");
      });
    }
  });

  describe("restart loops: which processes died, and the leak that repeats in every life", () => {
    // lives of seconds, far below minObservation: the kills stand in for it
    const judged = (scenario: string) => analyzeContainer({ samples: samplesOf(scenario) });
    const cases: [string, string, string, number, [number, number]][] = [
      ["restart-loop-leak", "8 MiB/s, restarted in place 0.5 s after each kill", "OOMKilled", 7, [6, 9]],
      [
        "restart-in-place",
        "16 MiB/s, restarted within a sampling period (1 process before and after)",
        "OOMKilled",
        7,
        [3, 5],
      ],
      [
        "supervisor-oom",
        "a shell restarting its leaking worker: the shell lives on",
        "ProcessOOMKilled",
        8,
        [3, 6],
      ],
    ];
    for (const [scenario, what, kind, kills, [lifeMin, lifeMax]] of cases) {
      it(`local-${scenario}: ${what}`, () => {
        const a = judged(scenario);
        expect(rules(a).filter((r) => r.endsWith("OOMKilled"))).to.deep.equal([kind]);
        expect(finding(a, kind)?.count).to.equal(kills);
        const leak = finding(a, "MemoryLeak");
        expect(leak, "MemoryLeak across lives").to.not.equal(undefined);
        expect(leak?.severity).to.equal("Critical");
        expect(leak?.evidence.killedLives).to.equal(kills);
        expect(Number(leak?.evidence.lifeSeconds)).to.be.within(lifeMin, lifeMax);
        expect(leak?.message).to.match(
          /in each of \d+ lives \(\d+ ended by an OOM kill\) and the kernel kills it at the 64 MiB limit after ~\d+s each time\.$/,
        );
      });
    }

    // the same on the cgroup v2 node (kernel 6.1, record-v2.sh): memory.events counts the kills
    const v2 = (scenario: string) =>
      analyzeContainer({
        samples: traceToSamples(parseTrace(readFileSync(resolve(DIR, `v2-local-${scenario}.jsonl`), "utf8"))),
      });
    const v2cases: [string, string, string, number, boolean][] = [
      [
        "child-oom",
        "a child killed three times beside its parent and a 20 MiB sibling",
        "ProcessOOMKilled",
        3,
        false,
      ],
      ["restart-in-place", "6 MiB/s restarted in place at once", "OOMKilled", 5, true],
      [
        "restart-loop-leak",
        "the same restarted by a shell that sleeps 1 s in the cgroup first",
        "OOMKilled",
        4,
        true,
      ],
      ["supervisor-oom", "a shell restarting its leaking worker", "ProcessOOMKilled", 5, true],
    ];
    for (const [scenario, what, kind, kills, leak] of v2cases) {
      it(`v2-local-${scenario}: ${what}`, () => {
        const a = v2(scenario);
        expect(rules(a).filter((r) => r.endsWith("OOMKilled"))).to.deep.equal([kind]);
        expect(finding(a, kind)?.count).to.equal(kills);
        expect(rules(a).includes("MemoryLeak"), "MemoryLeak").to.equal(leak);
        if (leak) expect(finding(a, "MemoryLeak")?.evidence.killedLives).to.equal(kills);
      });
    }

    it("without process identity a restart within a sampling period looked like a child's death", () => {
      // the same recording with cgroup.procs counted but not compared (as a downsampled history)
      const samples = samplesOf("restart-in-place").map((x) => ({ ...x, pids: undefined }));
      const a = analyzeContainer({ samples });
      expect(rules(a)).to.include("ProcessOOMKilled");
      expect(rules(a)).not.to.include("OOMKilled");
    });
  });

  describe("MemoryLeak", () => {
    it("local-slow-leak: 0.5 MiB/s far below a 1 GiB limit, with the time to reach it", () => {
      const a = analyse("slow-leak");
      expect(rules(a)).to.include("MemoryLeak");
      const leak = finding(a, "MemoryLeak");
      // 0.5 MiB/s = 1800 MiB/h
      expect(mibPerHour(leak)).to.be.within(1700, 1900);
      expect(leak?.evidence.r2).to.be.above(0.95);
      expect(leak?.evidence.limitBytes).to.equal(1024 * MI);
      // ~45 MiB after 90 s: the rest of the GiB takes ~32 min
      expect(Number(leak?.evidence.secondsToLimit) / 60).to.be.within(28, 36);
      expect(leak?.message).to.match(/^Anonymous memory grows .* and will reach the 1\.0 GiB limit in ~3\dm/);
      expect(a.recommendations.map((r) => r.type)).to.include("FixLeak");
      noneOf(rules(a), ["OOMKilled", "ProcessOOMKilled"]);
    });

    it("local-sawtooth-drift: the same sawtooth keeping 3 MiB more every cycle", () => {
      const leak = finding(analyse("sawtooth-drift"), "MemoryLeak");
      expect(leak, "MemoryLeak").to.not.equal(undefined);
      // 3 MiB per ~6.1 s cycle ≈ 1770 MiB/h: the troughs, not the 40 MiB climbs
      expect(mibPerHour(leak)).to.be.within(1400, 2100);
      expect(leak?.evidence.runs).to.equal(1);
    });

    it("a sawtooth's falls to a sixth of its peak are GC, not restarts: the processes stayed", () => {
      const th = resolveThresholds({ leak: { minObservationMs: 10_000 } });
      for (const scenario of ["sawtooth-flat", "sawtooth-drift"]) {
        const s = toSeries(samplesOf(scenario));
        expect(fitLeak(s, s.kept, findOomKills(s, th.oom), th)?.runs, scenario).to.equal(1);
      }
    });

    it("with the default 15 min minimum observation, none of them is judged a leak", () => {
      for (const scenario of ["slow-leak", "sawtooth-drift"])
        expect(rules(analyzeContainer({ samples: samplesOf(scenario) }))).not.to.include("MemoryLeak");
    });
  });

  describe("OOM kills", () => {
    it("local-child-oom: ProcessOOMKilled for each child, never OOMKilled", () => {
      const a = analyse("child-oom");
      expect(rules(a)).not.to.include("OOMKilled");
      const child = finding(a, "ProcessOOMKilled");
      expect(child?.count).to.be.within(2, 3);
      expect(child?.evidence.limitBytes).to.equal(64 * MI);
      // the parent, its 20 MiB sibling and what it runs next stay
      expect(Number(child?.evidence.processesAfter)).to.be.above(0);
      expect(Number(child?.evidence.usageAfterBytes) / MI).to.be.within(18, 30);
      expect(a.recommendations.map((r) => r.type)).not.to.include("RaiseMemoryLimit");
    });

    it("local-main-oom: OOMKilled once at the 64 MiB limit, no ProcessOOMKilled", () => {
      const a = analyse("main-oom");
      expect(rules(a)).not.to.include("ProcessOOMKilled");
      const oom = finding(a, "OOMKilled");
      expect(oom?.count).to.equal(1);
      expect(oom?.evidence.limitBytes).to.equal(64 * MI);
      expect(oom?.evidence.processesAfter).to.equal(0);
      expect(oom?.message).to.match(/OOM-killed once at its 64 MiB memory limit/);
    });

    it("local-pod-tmpfs-oom (a local-cluster pod's cgroup): 5 kills inferred, the shmem stays across restarts", () => {
      // v1 counts oom_kill only in the (removed) container cgroup and lists no process in the pod
      // cgroup: the kills show as usage at the limit, memory.failcnt rising, the heap freed
      const a = analyse("pod-tmpfs-oom");
      const oom = finding(a, "OOMKilled");
      expect(oom?.count).to.equal(5);
      expect(oom?.evidence.source).to.equal("memory.failcnt and memory freed");
      expect(rules(a)).not.to.include("ProcessOOMKilled");
      noneOf(rules(a), ["MemoryLeak"]);
      const tmpfs = finding(a, "TmpfsGrowth");
      expect(tmpfs?.message).to.match(/hold 56 MiB \(44% of the 128 MiB limit\)/);
      expect(tmpfs?.message).to.contain("OOM-killed 5 times and the shmem stayed across the restarts");
      expect(tmpfs?.message).to.contain("restarts cannot free it");
    });

    it("no OOM finding where nothing was killed", () => {
      for (const scenario of [
        "page-cache",
        "warmup-plateau",
        "sawtooth-flat",
        "sawtooth-drift",
        "steady",
        "slow-leak",
      ])
        noneOf(rules(analyse(scenario)), ["OOMKilled", "ProcessOOMKilled"], scenario);
    });
  });

  describe("through the CLI (memlens analyze --format json)", function () {
    this.timeout(20_000);
    const MAIN = resolve(process.cwd(), "dist/src/cli/main.js");
    const cli = (scenario: string) => {
      const r = spawnSync(
        process.execPath,
        [MAIN, "analyze", "--trace", path(scenario), "--min-observation", "10s", "--format", "json"],
        { encoding: "utf8" },
      );
      expect(r.stderr).to.equal("");
      expect(r.status).to.equal(0);
      return JSON.parse(r.stdout) as Analysis;
    };

    it("local-slow-leak: MemoryLeak and FixLeak", () => {
      const out = cli("slow-leak");
      expect(rules(out)).to.include("MemoryLeak");
      expect(out.recommendations.map((r) => r.type)).to.include("FixLeak");
    });

    it("local-child-oom: ProcessOOMKilled, no OOMKilled, no MemoryLeak", () => {
      const found = rules(cli("child-oom"));
      expect(found).to.include("ProcessOOMKilled");
      noneOf(found, ["OOMKilled", "MemoryLeak"]);
    });

    it("local-pod-tmpfs-oom: TmpfsGrowth across restarts with a LimitMemoryVolume patch", () => {
      const out = cli("pod-tmpfs-oom");
      expect(finding(out, "TmpfsGrowth")?.message).to.contain("restarts cannot free it");
      const volume = out.recommendations.find((r) => r.type === "LimitMemoryVolume");
      expect(volume?.patch).to.be.a("string").and.not.equal("");
    });
  });
});
