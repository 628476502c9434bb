import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { oomVictim } from "../../../src/agent/oom-victim.js";
import { ownMemoryCgroup, removeCgroup, V1_MEMORY } from "./own-cgroup.js";

const LIMIT = 32 * 1024 * 1024;
// grows until the kernel kills it
const HOG = `const keep = []; setInterval(() => keep.push(Buffer.alloc(4 << 20, 1)), 20);`;

const oomKillCount = async (cgroup: string) =>
  Number(/^oom_kill (\d+)$/m.exec(await readFile(join(cgroup, "memory.oom_control"), "utf8"))?.[1] ?? NaN);

/** Runs a process inside the cgroup (moved in right after it starts: node's start-up stays small). */
async function inCgroup(cgroup: string, args: string[]): Promise<ChildProcess> {
  const p = spawn(args[0]!, args.slice(1), { stdio: "ignore" });
  if (p.pid === undefined) throw new Error(`${args[0]} did not start`);
  await writeFile(join(cgroup, "cgroup.procs"), String(p.pid));
  return p;
}

const ended = (p: ChildProcess) =>
  p.exitCode !== null || p.signalCode !== null ? Promise.resolve() : new Promise((r) => p.once("exit", r));

describe("oomVictim on the real kernel (cgroup v1): did the kill end the container?", function () {
  this.timeout(30_000);
  let cgroup: string | undefined;
  const procs: ChildProcess[] = [];

  before(async function () {
    const own = ownMemoryCgroup();
    if (!existsSync(V1_MEMORY) || !own || !existsSync(join(own, "memory.limit_in_bytes"))) this.skip();
    cgroup = join(own, `memlens-victim-${randomBytes(4).toString("hex")}`);
    await mkdir(cgroup);
    await writeFile(join(cgroup, "memory.limit_in_bytes"), String(LIMIT));
  });

  after(async () => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
    await Promise.all(procs.map(ended));
    if (cgroup && existsSync(cgroup)) await removeCgroup(cgroup);
  });

  it("says child when a process is killed and another lives on in the cgroup", async () => {
    const survivor = await inCgroup(cgroup!, ["sleep", "60"]);
    const hog = await inCgroup(cgroup!, [process.execPath, "-e", HOG]);
    procs.push(survivor, hog);
    const before = await oomKillCount(cgroup!);
    await ended(hog);
    expect(hog.signalCode, "the kernel's OOM killer ends the hog").to.equal("SIGKILL");
    expect(await oomKillCount(cgroup!)).to.be.above(before);
    expect(await oomVictim(cgroup!)).to.equal("child");
  });

  it("says main once no process is left, and when the cgroup is gone", async () => {
    procs[0]!.kill("SIGKILL");
    await ended(procs[0]!);
    expect(await oomVictim(cgroup!)).to.equal("main");
    expect(await oomVictim(join(cgroup!, "removed"))).to.equal("main");
  });
});
