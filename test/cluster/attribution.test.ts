import { expect } from "chai";
import { condition, deployMemlens, eventually, getJson, kubectl, testNamespace, type MI } from "./kube.js";

const deployment = (name: string, container: Record<string, unknown>, volumes: unknown[]) => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: {
        hostNetwork: true,
        terminationGracePeriodSeconds: 1,
        containers: [{ name: "app", imagePullPolicy: "Never", ...container }],
        volumes,
      },
    },
  },
});
const inspection = (name: string) => ({
  apiVersion: "memlens.dev/v1alpha1",
  kind: "MemoryInspection",
  metadata: { name },
  spec: {
    targetRef: { kind: "Deployment", name },
    interval: "15s",
    window: "10m",
    rules: { leak: { minObservation: "1m" } },
  },
});
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
        deployment(
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
        inspection("shm"),
        // files written and read back on disk: page cache fills the limit, the kernel reclaims it
        deployment(
          "cache",
          {
            image: "localhost/memlens/stress:dev",
            args: ["--rate", "20", "--max", "200", "--into", "file", "--path", "/data"],
            resources: limits,
            volumeMounts: [{ name: "data", mountPath: "/data" }],
          },
          [{ name: "data", emptyDir: {} }],
        ),
        inspection("cache"),
      ],
    };
    await kubectl(["-n", ns, "apply", "-f", "-"], JSON.stringify(list));
  });

  it("explains an OOM loop from a memory-backed emptyDir as TmpfsGrowth, naming the volume, with a sizeLimit patch", async function () {
    this.timeout(240_000);
    const f = await eventually("TmpfsGrowth", 200_000, () => finding("shm", "TmpfsGrowth"));
    expect(f.message).to.contain("scratch-in-ram");
    expect(f.message).to.contain("restarts cannot free it");
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
