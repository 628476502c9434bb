import { expect } from "chai";
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import type { DiscoverEntry } from "../../../src/cgroup/discover-report.js";
import { V1_FILES, V2_FILES } from "../../../src/cgroup/files.js";
import { detectRootLayout } from "../../../src/cgroup/root-layout.js";
import { sampleFromFiles } from "../../../src/cgroup/sample-from-files.js";
import { CgroupRootError, readCgroupFiles, scanCgroupRoot } from "../../../src/cgroup/scan.js";
import { loadTrace } from "./fixtures.js";

const run = promisify(execFile);
const CLI = resolve(process.cwd(), "dist/src/cli/main.js");

const UID_A = "11111111-2222-4333-8444-555555555555";
const UID_B = "66666666-7777-4888-9999-aaaaaaaaaaaa";
const UID_C = "bbbbbbbb-cccc-4ddd-8eee-ffffffffffff";
const hex = (c: string) => c.repeat(64);
const [APP, PAUSE, GUAR, SYS_APP, SYS_BE] = [hex("a"), hex("b"), hex("c"), hex("d"), hex("e")];

/** Writes a cgroup directory with the interface files of one real recorded sample. */
async function cgroupDir(dir: string, files: Record<string, string>): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
}

function firstFiles(file: Parameters<typeof loadTrace>[0]): Record<string, string> {
  const sample = loadTrace(file).samples[1];
  if (!sample) throw new Error(`${file} has no second sample`);
  return sample.files;
}

/** A copy of a v1 (hybrid) /sys/fs/cgroup with the cgroupfs driver under a --cgroup-root prefix. */
async function buildV1Tree(root: string): Promise<void> {
  const files = firstFiles("v1-slow-leak.jsonl");
  for (const controller of ["cpu", "pids", "systemd", "unified"])
    await mkdir(join(root, controller), { recursive: true });
  const kubepods = join(root, "memory/process_api/abc/kube/kubepods");
  await cgroupDir(join(root, "memory"), { "memory.usage_in_bytes": "1\n" });
  await cgroupDir(join(kubepods, `burstable/pod${UID_A}`), files);
  await cgroupDir(join(kubepods, `burstable/pod${UID_A}/${APP}`), files);
  await cgroupDir(join(kubepods, `burstable/pod${UID_A}/${PAUSE}`), { "memory.usage_in_bytes": "4096\n" });
  await cgroupDir(join(kubepods, `pod${UID_B}/${GUAR}`), files);
  await mkdir(join(kubepods, "besteffort"), { recursive: true });
  await mkdir(join(root, "memory/system.slice/containerd.service"), { recursive: true });
}

/** A copy of a v2 /sys/fs/cgroup with the systemd driver and containerd. */
async function buildV2Tree(root: string): Promise<void> {
  const files = firstFiles("v2-memory-high-then-oom.jsonl");
  await cgroupDir(root, { "cgroup.controllers": "cpuset cpu io memory pids\n" });
  const burstable = join(root, "kubepods.slice/kubepods-burstable.slice");
  const pod = join(burstable, `kubepods-burstable-pod${UID_C.replaceAll("-", "_")}.slice`);
  await cgroupDir(join(pod, `cri-containerd-${SYS_APP}.scope`), files);
  const be = join(root, "kubepods.slice/kubepods-besteffort.slice");
  await cgroupDir(
    join(be, `kubepods-besteffort-pod${UID_A.replaceAll("-", "_")}.slice/cri-containerd-${SYS_BE}.scope`),
    {},
  );
  await mkdir(join(root, "system.slice/kubelet.service"), { recursive: true });
}

describe("scanCgroupRoot and readCgroupFiles on copied trees", () => {
  let tmp: string;
  let v1Root: string;
  let v2Root: string;

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), "memlens-cgroup-"));
    v1Root = join(tmp, "v1");
    v2Root = join(tmp, "v2");
    await buildV1Tree(v1Root);
    await buildV2Tree(v2Root);
  });

  after(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it("finds pods and containers of a hybrid v1 cgroupfs tree under any prefix", async () => {
    const scan = await scanCgroupRoot(v1Root);
    expect(scan.mode).to.equal("hybrid");
    expect(scan.version).to.equal("v1");
    expect(scan.memoryRoot).to.equal(join(v1Root, "memory"));
    const found = scan.cgroups.map((c) => [c.kind, c.podUID, c.containerID ?? "", c.qos, c.relPath]);
    expect(found).to.have.deep.members([
      ["pod", UID_A, "", "burstable", `process_api/abc/kube/kubepods/burstable/pod${UID_A}`],
      ["container", UID_A, APP, "burstable", `process_api/abc/kube/kubepods/burstable/pod${UID_A}/${APP}`],
      [
        "container",
        UID_A,
        PAUSE,
        "burstable",
        `process_api/abc/kube/kubepods/burstable/pod${UID_A}/${PAUSE}`,
      ],
      ["pod", UID_B, "", "guaranteed", `process_api/abc/kube/kubepods/pod${UID_B}`],
      ["container", UID_B, GUAR, "guaranteed", `process_api/abc/kube/kubepods/pod${UID_B}/${GUAR}`],
    ]);
    const app = scan.cgroups.find((c) => c.containerID === APP);
    expect(app?.path).to.equal(join(v1Root, "memory", app?.relPath ?? ""));
    expect(app?.version).to.equal("v1");
  });

  it("finds containers of a v2 systemd tree", async () => {
    const scan = await scanCgroupRoot(v2Root);
    expect(scan.mode).to.equal("v2");
    const containers = scan.cgroups.filter((c) => c.kind === "container");
    expect(containers.map((c) => [c.podUID, c.containerID, c.qos, c.runtime])).to.have.deep.members([
      [UID_C, SYS_APP, "burstable", "containerd"],
      [UID_A, SYS_BE, "besteffort", "containerd"],
    ]);
  });

  it("stops at the depth limit", async () => {
    const scan = await scanCgroupRoot(v1Root, { maxDepth: 3, maxDirs: 1000 });
    expect(scan.cgroups).to.deep.equal([]);
  });

  it("rejects a directory that is not a cgroup root, and a missing one", async () => {
    let err: unknown;
    await scanCgroupRoot(tmp).catch((e: unknown) => (err = e));
    expect(err)
      .to.be.instanceOf(CgroupRootError)
      .with.property("message")
      .that.matches(/is not a cgroup root/);
    err = undefined;
    await scanCgroupRoot(join(tmp, "nope")).catch((e: unknown) => (err = e));
    expect(err)
      .to.be.instanceOf(CgroupRootError)
      .with.property("message")
      .that.matches(/cannot read cgroup root/);
  });

  it("reads a container's files into a sample, reporting the files it lacks", async () => {
    const scan = await scanCgroupRoot(v1Root);
    const app = scan.cgroups.find((c) => c.containerID === APP);
    if (!app) throw new Error("app container not found");
    const read = await readCgroupFiles(app.path, "v1");
    expect(Object.keys(read.files)).to.have.members([...V1_FILES]);
    expect(read.missing).to.deep.equal([]);
    const sample = sampleFromFiles("v1", 1, read.files);
    expect(sample.limit).to.equal(512 * 1024 * 1024);
    expect(sample.stat?.anon).to.equal(11313152);

    const pause = await readCgroupFiles(scan.cgroups.find((c) => c.containerID === PAUSE)?.path ?? "", "v1");
    expect(pause.files).to.deep.equal({ "memory.usage_in_bytes": "4096\n" });
    expect(pause.missing).to.have.length(V1_FILES.length - 1);
    expect(pause.gone).to.equal(false);
  });

  it("reports a vanished cgroup as gone instead of throwing", async () => {
    const read = await readCgroupFiles(join(v2Root, "kubepods.slice/gone.scope"), "v2");
    expect(read).to.deep.equal({ files: {}, missing: [...V2_FILES], failed: [], gone: true });
  });

  describe("memlens agent discover (compiled CLI)", () => {
    it("prints one JSON object per container cgroup", async () => {
      const { stdout } = await run("node", [CLI, "agent", "discover", "--cgroup-root", v1Root]);
      const rows = JSON.parse(stdout) as DiscoverEntry[];
      expect(rows).to.have.length(3);
      const app = rows.find((r) => r.containerID === APP);
      expect(app).to.deep.include({
        podUID: UID_A,
        qos: "burstable",
        runtime: "cgroupfs",
        cgroupVersion: "v1",
        cgroupMode: "hybrid",
        path: join(v1Root, "memory/process_api/abc/kube/kubepods/burstable", `pod${UID_A}`, APP),
      });
    });

    it("reads a v2 tree and prints text on request", async () => {
      const json = await run("node", [CLI, "agent", "discover", "--cgroup-root", v2Root, "--format", "json"]);
      const rows = JSON.parse(json.stdout) as DiscoverEntry[];
      expect(rows.map((r) => [r.podUID, r.containerID, r.cgroupVersion])).to.have.deep.members([
        [UID_C, SYS_APP, "v2"],
        [UID_A, SYS_BE, "v2"],
      ]);
      const text = await run("node", [CLI, "agent", "discover", "--cgroup-root", v2Root, "--format", "text"]);
      const lines = text.stdout.trimEnd().split("\n");
      expect(lines[0]).to.match(/^POD UID\s+CONTAINER ID\s+QOS\s+RUNTIME\s+CGROUP\s+PATH$/);
      expect(lines).to.have.length(3);
      expect(text.stdout).to.contain(SYS_APP).and.contain(UID_C);
    });

    it("exits 2 on a bad flag and 1 on a directory that is not a cgroup root", async () => {
      const bad = await run("node", [CLI, "agent", "discover", "--format", "yaml"]).catch((e: unknown) => e);
      expect(bad)
        .to.include({ code: 2 })
        .and.have.property("stderr")
        .that.matches(/--format must be json or text/);
      const unknown = await run("node", [CLI, "agent", "discover", "--bogus"]).catch((e: unknown) => e);
      expect(unknown).to.include({ code: 2 });
      const notRoot = await run("node", [CLI, "agent", "discover", "--cgroup-root", tmp]).catch(
        (e: unknown) => e,
      );
      expect(notRoot)
        .to.include({ code: 1 })
        .and.have.property("stderr")
        .that.matches(/not a cgroup root/);
    });
  });
});

describe("readCgroupFiles on the real kernel (read only)", () => {
  it("reads this process's own memory cgroup and sees usage > 0", async function () {
    const lines = existsSync("/proc/self/cgroup")
      ? readFileSync("/proc/self/cgroup", "utf8").split("\n")
      : [];
    const v1 = lines.map((l) => /^\d+:memory:(.*)$/.exec(l)?.[1]).find((p) => p !== undefined);
    const v2 = lines.map((l) => /^0::(.*)$/.exec(l)?.[1]).find((p) => p !== undefined);
    const layout = detectRootLayout(existsSync("/sys/fs/cgroup") ? await readdir("/sys/fs/cgroup") : []);
    if (!layout) return this.skip();
    const version = layout.version;
    const own = version === "v1" ? v1 : v2;
    if (own === undefined) return this.skip();
    const dir = join("/sys/fs/cgroup", layout.memoryDir, own);
    const read = await readCgroupFiles(dir, version);
    expect(read.gone).to.equal(false);
    expect(read.failed).to.deep.equal([]);
    const sample = sampleFromFiles(version, Date.now() / 1000, read.files);
    expect(sample.usage).to.be.greaterThan(0);
    expect(sample.stat?.anon).to.be.greaterThan(0);
    expect(sample.procs).to.be.at.least(1);
    expect(sample.limit === null || (sample.limit ?? 0) > 0).to.equal(true);
  });
});
