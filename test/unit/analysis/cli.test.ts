import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { CgroupHistory } from "../../../src/cgroup/history.js";
import { rowFromSample } from "../../../src/cgroup/reading.js";
import { parseTrace, traceToSamples } from "../../../src/cgroup/trace.js";
import { tracePath } from "../cgroup/fixtures.js";

// the compiled CLI, as users run it (mocha runs from the repo root after tsc)
const MAIN = resolve(process.cwd(), "dist/src/cli/main.js");
const run = (...args: string[]) =>
  spawnSync(process.execPath, [MAIN, "analyze", ...args], { encoding: "utf8" });

interface Output {
  findings: { rule: string; severity: string; message: string; evidence: Record<string, unknown> }[];
  recommendations: { type: string; patch: string }[];
}

describe("memlens analyze", function () {
  this.timeout(20_000);

  const cases: [string, string[], string[]][] = [
    ["v2-oom-fast-leak.jsonl", ["OOMKilled"], ["RaiseMemoryLimit"]],
    ["v1-oom-fast-leak.jsonl", ["OOMKilled"], ["RaiseMemoryLimit"]],
    [
      "v2-memory-high-then-oom.jsonl",
      ["OOMKilled", "MemoryThrottled"],
      ["RaiseMemoryLimit", "SetRequestsEqualLimits"],
    ],
    ["v1-slow-leak.jsonl", ["MemoryLeak"], ["FixLeak"]],
  ];
  for (const [file, rules, recommendations] of cases) {
    it(`${file} --format json`, () => {
      const r = run("--trace", tracePath(file), "--format", "json", "--min-observation", "10s");
      expect(r.stderr).to.equal("");
      expect(r.status).to.equal(0);
      const out = JSON.parse(r.stdout) as Output;
      expect(Object.keys(out)).to.deep.equal(["findings", "recommendations"]);
      expect(out.findings.map((f) => f.rule)).to.deep.equal(rules);
      for (const f of out.findings)
        expect(Object.keys(f)).to.deep.equal(["rule", "severity", "message", "evidence"]);
      expect(out.recommendations.map((x) => x.type)).to.deep.equal(recommendations);
      for (const x of out.recommendations)
        expect(x.patch).to.match(/containers:\n\s+- name: <your-container>/);
    });
  }

  it("text: a short report, and No findings. when there are none", () => {
    const r = run("--trace", tracePath("v1-slow-leak.jsonl"), "--min-observation", "10s");
    expect(r.status).to.equal(0);
    expect(r.stdout).to.match(/^Critical MemoryLeak: Anonymous memory grows/);
    expect(r.stdout).to.contain("Recommendations:\n1. FixLeak");
    const none = run("--trace", tracePath("v1-slow-leak.jsonl"));
    expect(none.status).to.equal(0);
    expect(none.stdout).to.equal("No findings.\n");
  });

  it("--limits and --requests replace what the recording says", () => {
    const r = run(
      ...["--trace", tracePath("v2-memory-high-then-oom.jsonl"), "--format", "json"],
      ...["--requests", "100Mi", "--limits", "200Mi"],
    );
    const out = JSON.parse(r.stdout) as Output;
    expect(out.findings.find((f) => f.rule === "MemoryThrottled")?.evidence.qosMatches).to.equal(true);
  });

  it("--history: a saved agent answer gives what the recording of the same readings gives", () => {
    const trace = parseTrace(readFileSync(tracePath("v2-memory-high-then-oom.jsonl"), "utf8"));
    const samples = traceToSamples(trace);
    const history = new CgroupHistory({ periodS: 1, retentionS: samples.length, rawWindowS: samples.length });
    samples.forEach((x, i) => history.append(x.t, rowFromSample(x, samples[i - 1])));
    const entry = (container: string) => ({
      ...{ podUID: "u", namespace: "ns", pod: "p", container, containerID: container, kind: "container" },
      ...{ qos: "burstable", cgroup: `/${container}`, cgroupVersion: "v2", gone: false, goneAt: null },
      ...{ requests: { memory: null }, limits: { memory: null }, history: history.toJSON() },
    });
    const dir = mkdtempSync(join(tmpdir(), "memlens-analyze-"));
    const file = join(dir, "answer.json");
    const save = (containers: unknown[]) =>
      writeFileSync(file, JSON.stringify({ node: "n", cgroupVersion: "v2", periodSeconds: 1, containers }));
    try {
      save([entry("app")]);
      const fromHistory = run("--history", file, "--format", "json", "--min-observation", "10s");
      const fromTrace = run(
        "--trace",
        tracePath("v2-memory-high-then-oom.jsonl"),
        "--format",
        "json",
        "--min-observation",
        "10s",
      );
      expect(fromHistory.stderr).to.equal("");
      const [h, t] = [fromHistory, fromTrace].map((r) => JSON.parse(r.stdout) as Output);
      expect(h?.findings).to.deep.equal(t?.findings);
      // the same changes, for the container the answer names instead of a placeholder
      expect(JSON.stringify(h?.recommendations)).to.equal(
        JSON.stringify(t?.recommendations).replaceAll("<your-container>", "app"),
      );
      save([entry("app"), entry("sidecar")]);
      const which = run("--history", file);
      expect(which.status).to.equal(1);
      expect(which.stderr).to.match(/several containers: choose one with --container \(app, sidecar\)/);
      expect(run("--history", file, "--container", "sidecar").status).to.equal(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a malformed recording: exit 1, the line number, no stack trace", () => {
    const dir = mkdtempSync(join(tmpdir(), "memlens-analyze-"));
    const file = join(dir, "bad.jsonl");
    writeFileSync(
      file,
      '{"meta":{"format":"cgroup-trace/v1","cgroup_version":"v2"}}\n{"t":0,"files":{}}\n{"t": oops}\n',
    );
    const r = run("--trace", file);
    rmSync(dir, { recursive: true, force: true });
    expect(r.status).to.equal(1);
    expect(r.stderr).to.match(/line 3/);
    expect(r.stderr).not.to.match(/\n\s+at /);
  });

  it("a missing file: exit 1 with a clear message", () => {
    const r = run("--trace", "/nonexistent/recording.jsonl");
    expect(r.status).to.equal(1);
    expect(r.stderr).to.equal("memlens analyze: cannot read /nonexistent/recording.jsonl: no such file\n");
  });

  it("bad flags: exit 2", () => {
    for (const args of [
      [],
      ["--trace", "x", "--format", "xml"],
      ["--trace", "x", "--min-observation", "soon"],
      ["--trace", "x", "--limits", "lots"],
      ["--bogus"],
      ["--trace", "x", "--history", "y"],
    ]) {
      expect(run(...args).status, args.join(" ")).to.equal(2);
    }
  });
});
