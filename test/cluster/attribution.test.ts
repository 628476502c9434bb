import { expect } from "chai";
import {
  condition,
  deployMemlens,
  deploymentManifest,
  eventually,
  getJson,
  inspectionManifest,
  kubectl,
  testNamespace,
  type MI,
} from "./kube.js";

const limits = { requests: { memory: "128Mi" }, limits: { memory: "128Mi" } };

describe("what kind of memory: files in memory and page cache, on the real kernel", function () {
  let ns: string;
  const mi = (name: string) => getJson<MI>(["-n", ns, "get", "mi", name]);
  const finding = async (name: string, rule: string) =>
    (await mi(name)).status?.findings?.find((f) => f.rule === rule);

  before(async function () {
    this.timeout(300_000);
    await deployMemlens();
    ns = await testNamespace("kind");
    const list = {
      apiVersion: "v1",
      kind: "List",
      items: [
        // a service that keeps a 56 MiB file in a memory-backed emptyDir and grows its heap: each
        // restart finds the file still charged to the pod, and dies sooner
        deploymentManifest(
          "shm",
          {
            image: "localhost/memlens/memlens:dev",
            command: ["node", "-e"],
            args: [
              "const fs = require('fs'); const f = '/scratch/cache.bin';" +
                "if (!fs.existsSync(f)) { const mb = Buffer.alloc(1 << 20, 7); for (let i = 0; i < 56; i++) fs.appendFileSync(f, mb); }" +
                "const keep = []; setInterval(() => keep.push(Buffer.alloc(4 << 20, 1)), 250);",
            ],
            resources: limits,
            volumeMounts: [{ name: "scratch-in-ram", mountPath: "/scratch" }],
          },
          [{ name: "scratch-in-ram", emptyDir: { medium: "Memory" } }],
        ),
        inspectionManifest("shm", "1m"),
        // files written and read back on disk: page cache fills the limit, the kernel reclaims it
        deploymentManifest(
          "cache",
          {
            image: "localhost/memlens/stress:dev",
            args: ["--rate", "20", "--max", "200", "--into", "file", "--path", "/data"],
            resources: limits,
            volumeMounts: [{ name: "data", mountPath: "/data" }],
          },
          [{ name: "data", emptyDir: {} }],
        ),
        inspectionManifest("cache", "1m"),
      ],
    };
    await kubectl(["-n", ns, "apply", "-f", "-"], JSON.stringify(list));
  });

  it("explains an OOM loop from a memory-backed emptyDir as TmpfsGrowth, naming the volume, with a sizeLimit patch", async function () {
    this.timeout(240_000);
    // first seen as shmem near the limit; once kills repeat, the finding says restarts cannot help
    const f = await eventually("TmpfsGrowth across restarts", 200_000, async () => {
      const f = await finding("shm", "TmpfsGrowth");
      return f?.message.includes("restarts cannot free it") ? f : undefined;
    });
    expect(f.message).to.contain("scratch-in-ram");
    const m = await mi("shm");
    expect(condition(m, "OOMKilled")?.status).to.equal("True");
    const rec = m.status!.recommendations!.find((r) => r.type === "LimitMemoryVolume");
    expect(rec?.patch).to.match(
      /- name: scratch-in-ram\n\s+emptyDir:\n\s+medium: Memory\n\s+sizeLimit: \d+Mi/,
    );
  });

  it("calls page cache at the limit PageCacheOnly: no leak, no OOM kill", async function () {
    this.timeout(180_000);
    const f = await eventually("PageCacheOnly", 150_000, () => finding("cache", "PageCacheOnly"));
    expect(f.message).to.contain("not a leak and not an OOM risk");
    const m = await mi("cache");
    expect(condition(m, "MemoryLeak")?.status).to.equal("False");
    expect(m.status?.oomKills ?? 0).to.equal(0);
  });

  after(async () => {
    await kubectl(["delete", "namespace", ns, "--wait=false"]);
  });
});
