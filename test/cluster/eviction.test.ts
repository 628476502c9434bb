import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { expect } from "chai";
import { evictionMessage } from "../../src/analysis/evicted.js";
import type { Pod } from "../../src/kube/pod.js";
import {
  deployMemlens,
  events,
  eventually,
  getJson,
  kubectl,
  NODE_V1,
  testNamespace,
  type MI,
} from "./kube.js";

const run = promisify(execFile);
const GiB = 2 ** 30;
const MiB = 2 ** 20;

/** The local cluster's kubelet, through cluster/kubelet.sh (restart with thresholds, summary). */
async function kubeletSummary(): Promise<{ availableBytes: number; workingSetBytes: number }> {
  const { stdout } = await run("cluster/kubelet.sh", ["summary"]);
  return JSON.parse(stdout) as { availableBytes: number; workingSetBytes: number };
}
async function restartKubelet(memoryAvailable?: string): Promise<void> {
  const env = { ...process.env };
  if (memoryAvailable)
    env.MEMLENS_EVICTION_HARD = `{memory.available: "${memoryAvailable}", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}`;
  else delete env.MEMLENS_EVICTION_HARD;
  await run("cluster/kubelet.sh", ["restart"], { env, timeout: 150_000 });
}

describe("a real eviction: the kubelet under memory pressure evicts a BestEffort pod", function () {
  let ns: string;
  let threshold: string;

  before(async function () {
    this.timeout(300_000);
    await deployMemlens();
    ns = await testNamespace("evict");
    // the threshold sits 3 GiB below what is available now: only the stress pod, which grows to
    // 6 GiB, can cross it (other work on the machine moves memory.available by far less)
    const { availableBytes } = await kubeletSummary();
    threshold = `${Math.floor((availableBytes - 3 * GiB) / MiB)}Mi`;
    await restartKubelet(threshold);
    const hog = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "hog", labels: { app: "hog" } },
      spec: {
        hostNetwork: true,
        nodeSelector: { "kubernetes.io/hostname": NODE_V1 },
        restartPolicy: "Never",
        terminationGracePeriodSeconds: 1,
        containers: [
          {
            name: "hog",
            image: "localhost/memlens/stress:dev",
            imagePullPolicy: "Never",
            args: ["--rate", "200", "--max", "6144"],
          },
        ],
      },
    };
    const inspection = {
      apiVersion: "memlens.dev/v1alpha1",
      kind: "MemoryInspection",
      metadata: { name: "hog" },
      spec: { selector: { matchLabels: { app: "hog" } }, interval: "15s" },
    };
    await kubectl(
      ["-n", ns, "apply", "-f", "-"],
      JSON.stringify({ apiVersion: "v1", kind: "List", items: [hog, inspection] }),
    );
  });

  after(async function () {
    this.timeout(300_000);
    await kubectl(["-n", ns, "delete", "pod", "hog", "--wait=false", "--ignore-not-found"]).catch(
      () => undefined,
    );
    await restartKubelet();
    // later tests start BestEffort pods: the node must be out of MemoryPressure first
    await eventually("node MemoryPressure False", 120_000, async () => {
      const node = await getJson<{ status: { conditions: { type: string; status: string }[] } }>([
        "get",
        "node",
        "memlens-node",
      ]);
      return node.status.conditions.find((c) => c.type === "MemoryPressure")?.status === "False"
        ? true
        : undefined;
    });
  });

  it("the kubelet evicts the stress pod, naming its usage against a request of 0", async function () {
    this.timeout(180_000);
    // the stress program exits 0 on SIGTERM: the pod may end Succeeded, its eviction then told
    // only by the DisruptionTarget condition (evictionMessage reads both forms)
    const pod = await eventually("pod hog evicted", 150_000, async () => {
      const p = await getJson<Pod>(["-n", ns, "get", "pod", "hog"]);
      return evictionMessage(p) !== undefined ? p : undefined;
    });
    expect(pod.status.qosClass).to.equal("BestEffort");
    const message = evictionMessage(pod) ?? "";
    expect(message).to.match(/^The node was low on resource: memory\./);
    expect(message).to.contain(`Threshold quantity: ${threshold}`);
    // the kubelet names a container's usage only when its stats summary already has the
    // container (measured: not always, for a pod evicted 19 s after it started)
    if (message.includes("Container "))
      expect(message).to.match(/Container hog was using \d+Ki, request is 0/);
  });

  it("memlens reports Evicted with the kubelet's numbers and recommends a memory request", async function () {
    this.timeout(120_000);
    const mi = await eventually("Evicted finding", 90_000, async () => {
      const m = await getJson<MI>(["-n", ns, "get", "mi", "hog"]);
      return m.status?.findings?.some((f) => f.rule === "Evicted") ? m : undefined;
    });
    const finding = mi.status?.findings?.find((f) => f.rule === "Evicted");
    expect(finding?.pod).to.equal("hog");
    expect(finding?.container).to.equal("hog");
    expect(finding?.message).to.contain(`eviction threshold ${threshold}`);
    expect(finding?.message).to.match(/container hog used [\d.]+ [GM]iB against a request of 0/);
    expect(finding?.message).to.contain("QoS class is BestEffort");
    const rec = mi.status?.recommendations?.find((r) => r.type === "RaiseMemoryRequest");
    expect(rec, JSON.stringify(mi.status?.recommendations)).to.not.equal(undefined);
    expect(rec?.patch).to.contain("requests");
    const list = await events(ns);
    expect(list.items.some((e) => e.reason === "Evicted" && e.regarding.name === "hog")).to.equal(true);
  });
});
