import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseTrace } from "../../../src/cgroup/trace.js";
import { ownMemoryCgroup, removeCgroup, V1_MEMORY } from "./own-cgroup.js";

const CLI = resolve(process.cwd(), "dist/src/cli/main.js");
const LIMIT = 32 * 1024 * 1024;

const exited = (child: ChildProcess) =>
  new Promise<number | null>((res) => {
    if (child.exitCode !== null || child.signalCode !== null) res(child.exitCode);
    else child.once("exit", (code) => res(code));
  });

// Leaks 1 MiB (touched, so charged) every 100 ms after a short wait, until the kernel kills it.
const LEAKER = `const keep = []; setTimeout(() => setInterval(() => keep.push(Buffer.alloc(1 << 20, 1)), 100), 400);`;

describe("agent record on the real kernel (cgroup v1)", function () {
  this.timeout(40_000);
  let cgroup: string | undefined;
  let tmp: string | undefined;
  let leaker: ChildProcess | undefined;

  before(function () {
    const own = ownMemoryCgroup();
    if (!existsSync(V1_MEMORY) || !own || !existsSync(join(own, "memory.limit_in_bytes"))) this.skip();
    cgroup = join(own, `memlens-test-${randomBytes(4).toString("hex")}`);
  });

  after(async () => {
    if (leaker && leaker.exitCode === null && leaker.signalCode === null) {
      leaker.kill("SIGKILL");
      await exited(leaker);
    }
    if (cgroup && existsSync(cgroup)) await removeCgroup(cgroup);
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it("records a leak through its OOM kill", async () => {
    if (!cgroup) throw new Error("no cgroup");
    tmp = await mkdtemp(join(tmpdir(), "memlens-record-"));
    const out = join(tmp, "trace.jsonl");
    await mkdir(cgroup);
    await writeFile(join(cgroup, "memory.limit_in_bytes"), String(LIMIT));
    if (existsSync(join(cgroup, "memory.memsw.limit_in_bytes"))) {
      await writeFile(join(cgroup, "memory.memsw.limit_in_bytes"), String(LIMIT)).catch(() => undefined);
    }

    const recorder = spawn(
      process.execPath,
      [CLI, "agent", "record", "--cgroup", cgroup, "--out", out, "--period", "0.2s", "--duration", "8s"],
      {
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    let recorderErr = "";
    recorder.stderr?.on("data", (c: Buffer) => (recorderErr += c.toString()));
    // the leak must start after the recorder's first sample: node start-up is slow on a busy machine
    for (let i = 0; i < 100 && !(await readFile(out, "utf8").catch(() => "")).includes('"t"'); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    leaker = spawn(process.execPath, ["-e", LEAKER], { stdio: "ignore" });
    if (leaker.pid === undefined) throw new Error("leaker did not start");
    await writeFile(join(cgroup, "cgroup.procs"), String(leaker.pid));

    const leakerExit = exited(leaker);
    expect(await exited(recorder), recorderErr).to.equal(0);
    await Promise.race([leakerExit, new Promise((r) => setTimeout(r, 2000))]);
    expect(leaker.signalCode, "the kernel's OOM killer ends the leak").to.equal("SIGKILL");

    const trace = parseTrace(await readFile(out, "utf8"));
    expect(trace.meta.cgroup_version).to.equal("v1");
    expect(trace.meta.kernel).to.be.a("string").and.not.equal("");
    expect(trace.samples.length).to.be.within(25, 42);
    const num = (s: (typeof trace.samples)[number], file: string) => Number(s.files[file]);
    const first = trace.samples[0];
    const last = trace.samples.at(-1);
    if (!first || !last) throw new Error("empty recording");
    expect(Object.keys(first.files)).to.include.members([
      "memory.usage_in_bytes",
      "memory.stat",
      "memory.oom_control",
      "cgroup.procs",
    ]);
    expect(trace.samples.every((s) => num(s, "memory.limit_in_bytes") === LIMIT)).to.equal(true);
    const peakUsage = Math.max(...trace.samples.map((s) => num(s, "memory.usage_in_bytes")));
    expect(peakUsage).to.be.greaterThan(num(first, "memory.usage_in_bytes") + 8 * 1024 * 1024);
    expect(num(last, "memory.max_usage_in_bytes")).to.equal(LIMIT);
    const oomKills = /oom_kill (\d+)/.exec(last.files["memory.oom_control"] ?? "")?.[1];
    expect(num(last, "memory.failcnt") > 0 || Number(oomKills) >= 1).to.equal(true);
    const procs = (s: (typeof trace.samples)[number]) =>
      (s.files["cgroup.procs"] ?? "").trim().split("\n").filter(Boolean).length;
    expect(trace.samples.some((s) => procs(s) === 1)).to.equal(true);
    expect(procs(last)).to.equal(0);
  });
});
