import { expect } from "chai";
import {
  agentGet,
  condition,
  deploymentManifest,
  deployMemlens,
  events,
  eventually,
  getJson,
  inGuest,
  inspectionManifest,
  kubectl,
  NODE_V2,
  testNamespace,
  type AgentContainers,
  type MI,
  controllerAgentToken,
} from "./kube.js";

const MiB = 2 ** 20;
const V2_NODE_IP = "127.0.0.2";

interface PodList {
  items: {
    metadata: { name: string; uid: string; deletionTimestamp?: string };
    spec: { nodeName?: string };
    status: {
      qosClass?: string;
      conditions?: { type: string; status: string }[];
      containerStatuses?: { containerID?: string; ready?: boolean }[];
    };
  }[];
}

/** The memory.high file of a container, read from the kernel in the VM: the systemd driver's scope. */
async function memoryHigh(containerID: string): Promise<string> {
  const id = containerID.replace(/^containerd:\/\//, "");
  return (
    await inGuest(
      `cat "$(find /sys/fs/cgroup/kubepods.slice -type d -name 'cri-containerd-${id}.scope' | head -1)/memory.high"`,
    )
  ).trim();
}

const MEMORY_QOS_HIGH = Math.floor((100 * MiB + 0.9 * (200 * MiB - 100 * MiB)) / 4096) * 4096;

/**
 * The seed's second story, live on memlens-node-v2 (cgroup v2, systemd driver, MemoryQoS with
 * factor 0.9): a Burstable pod (memory request 100Mi, limit 200Mi) that grows to 196 MiB sits
 * above the 190Mi memory.high the kubelet sets, every allocation throttled, and its readiness
 * probe (served by a process that touches fresh memory per request) times out. The fix the
 * recommendation gives, requests = limits, applied as a GitOps user would, ends it.
 */
describe("throttling at memory.high on the cgroup v2 node, and its fix", function () {
  let ns: string;
  const name = "stuck";
  const manifest = (requestMemory: string) =>
    deploymentManifest(
      name,
      {
        image: "localhost/memlens/stress:dev",
        // at 196 MiB it goes on allocating and freeing, as a service does: throttled all along
        args: ["--rate", "20", "--max", "196", "--churn", "2", "--serve", "18090"],
        readinessProbe: {
          httpGet: { path: "/", port: 18090 },
          periodSeconds: 5,
          timeoutSeconds: 2,
          failureThreshold: 2,
        },
        // CPU requests = limits: with memory requests = limits too the pod is Guaranteed
        resources: {
          requests: { memory: requestMemory, cpu: "100m" },
          limits: { memory: "200Mi", cpu: "100m" },
        },
      },
      [],
      NODE_V2,
    );
  const pods = async () =>
    (await getJson<PodList>(["-n", ns, "get", "pods", "-l", `app=${name}`])).items.filter(
      (p) => !p.metadata.deletionTimestamp,
    );
  const mi = () => getJson<MI>(["-n", ns, "get", "mi", name]);
  const throttled = async () =>
    (await mi()).status?.findings?.find((f) => f.rule === "MemoryThrottled" && !f.resolved);

  async function start(): Promise<string> {
    const ready = await kubectl([
      "get",
      "node",
      NODE_V2,
      "-o",
      'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
    ]).catch((e: unknown) => String(e));
    if (ready !== "True")
      throw new Error(`node ${NODE_V2} is not Ready (${ready}): cluster/vm.sh status says why`);
    await deployMemlens();
    const ns = await testNamespace("throttle");
    await kubectl(
      ["-n", ns, "apply", "-f", "-"],
      JSON.stringify({
        apiVersion: "v1",
        kind: "List",
        items: [manifest("100Mi"), inspectionManifest(name, "15m")],
      }),
    );
    return ns;
  }
  // The VM is emulated, so everything on it is slow: its workload starts as mocha loads this
  // file and runs while the first node's tests do; `before` waits for it to have started.
  const started = start();
  started.catch(() => undefined); // reported by `before`

  before(async function () {
    this.timeout(600_000);
    ns = await started;
  });

  it("is found from the v2 agent's history: MemoryThrottled, the memory.high the kubelet set, stalls, an Event", async function () {
    this.timeout(600_000);
    const finding = await eventually("a MemoryThrottled finding", 590_000, throttled);
    const status = (await mi()).status!;
    expect(condition({ status } as MI, "MemoryThrottled")?.status).to.equal("True");
    const evidence = finding.evidence;
    // what the kubelet wrote, read from the kernel in the VM, is MemoryQoS' formula and the evidence
    const [pod] = await pods();
    expect(pod?.spec.nodeName).to.equal(NODE_V2);
    expect(pod?.status.qosClass).to.equal("Burstable");
    const high = Number(await memoryHigh(pod!.status.containerStatuses![0]!.containerID!));
    expect(high).to.equal(MEMORY_QOS_HIGH);
    expect(evidence.highBytes).to.equal(high);
    expect(evidence.qosMatches).to.equal(true);
    expect(evidence.highEvents).to.be.above(0);
    expect(evidence.stallPercent).to.be.at.least(10);
    expect(finding.message).to.match(
      /memory\.high \(190 MiB\) throttles allocations below the 200 MiB limit/,
    );
    const event = await eventually("a MemoryThrottled Event", 60_000, async () =>
      (await events(ns)).items.find((e) => e.reason === "MemoryThrottled"),
    );
    expect(event.type).to.equal("Warning");
    expect(event.related?.name).to.equal(pod!.metadata.name);

    // the v2 node's agent found the container in the systemd driver's layout
    const token = await controllerAgentToken();
    const res = await agentGet(`/v1/containers?podUID=${pod!.metadata.uid}`, token, V2_NODE_IP);
    expect(res.status).to.equal(200);
    const doc = JSON.parse(res.body) as AgentContainers;
    expect(doc.cgroupVersion).to.equal("v2");
    const entry = doc.containers.find((c) => c.kind === "container");
    expect(entry?.cgroup).to.match(
      /kubepods\.slice\/kubepods-burstable\.slice\/kubepods-burstable-pod[0-9a-f_]+\.slice\/cri-containerd-[0-9a-f]{64}\.scope$/,
    );
  });

  it("says the readiness probe fails while throttled", async function () {
    this.timeout(300_000);
    const finding = await eventually("the readiness probe in the finding", 290_000, async () => {
      const f = await throttled();
      return f?.message.includes("readiness probe fails") ? f : undefined;
    });
    expect(finding.message).to.match(/NotReady for \S+ while throttled/);
    const [pod] = await pods();
    expect(pod?.status.conditions?.find((c) => c.type === "Ready")?.status).to.equal("False");
  });

  it("recommends requests = limits; applied from the patch, the pod is Guaranteed, memory.high is max and the condition turns False", async function () {
    this.timeout(600_000);
    const rec = (await mi()).status?.recommendations?.find((r) => r.type === "SetRequestsEqualLimits");
    expect(rec, "SetRequestsEqualLimits").to.not.equal(undefined);
    expect(rec!.suggested).to.deep.equal({ requests: { memory: "200Mi" }, limits: { memory: "200Mi" } });
    // as a GitOps user would: the patch merged into the manifest, and the manifest applied
    await kubectl(["-n", ns, "patch", `deployment/${name}`, "--type", "strategic", "--patch", rec!.patch]);
    await kubectl(["-n", ns, "rollout", "status", `deployment/${name}`, "--timeout=540s"]);
    const fixed = await eventually("one pod left, the new one", 120_000, async () => {
      const list = await pods();
      return list.length === 1 && list[0]!.status.containerStatuses?.[0]?.containerID ? list[0] : undefined;
    });
    expect(fixed.status.qosClass).to.equal("Guaranteed");
    expect(await memoryHigh(fixed.status.containerStatuses![0]!.containerID!)).to.equal("max");
    const c = await eventually("MemoryThrottled=False", 300_000, async () => {
      const c = condition(await mi(), "MemoryThrottled");
      return c?.status === "False" ? c : undefined;
    });
    expect(c.reason).to.equal("ThrottlingStopped");
    expect(c.message).to.contain("memory request equals its limit");
  });

  after(async () => {
    if (ns) await kubectl(["delete", "namespace", ns, "--wait=false"]);
  });
});
