import { expect } from "chai";
import type { KernelOomKill } from "../../src/agent/oom-kills.js";
import {
  agentGet,
  deploymentManifest,
  deployMemlens,
  events,
  eventually,
  getJson,
  kubectl,
  NODE_V1,
  NODE_V2,
  terminations,
  testNamespace,
  type MI,
  controllerAgentToken,
} from "./kube.js";

const V2_NODE_IP = "127.0.0.2";

interface PodList {
  items: {
    metadata: { name: string; uid: string };
    status: {
      containerStatuses?: {
        containerID?: string;
        restartCount: number;
        state?: { terminated?: { containerID?: string } };
        lastState?: { terminated?: { containerID?: string; reason?: string } };
      }[];
    };
  }[];
}

const stress = (name: string, args: string[], node: string) =>
  deploymentManifest(
    name,
    {
      image: "localhost/memlens/stress:dev",
      args,
      resources: { requests: { memory: "64Mi" }, limits: { memory: "64Mi" } },
    },
    [],
    node,
  );

const inspection = (name: string) => ({
  apiVersion: "memlens.dev/v1alpha1",
  kind: "MemoryInspection",
  metadata: { name },
  spec: { targetRef: { apiVersion: "apps/v1", kind: "Deployment", name }, interval: "15s", window: "10m" },
});

/** What a node's agent has streamed so far (GET /v1/oom-kills without watch: the kept records). */
async function agentKills(host: string): Promise<KernelOomKill[]> {
  const token = await controllerAgentToken();
  const res = await agentGet("/v1/oom-kills", token, host);
  expect(res.status).to.equal(200);
  const [, ...kills] = res.body
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as KernelOomKill);
  return kills;
}

const bare = (id: string | undefined) => id?.replace(/^containerd:\/\//, "");

/**
 * The agents learn of OOM kills from the kernel and push them to the controller: on the v2 node
 * from memory.events as the kill happens, on v1 from the sampler's read of the counter. A kill
 * of the container's main process is counted once however pod status and the agent race; a
 * kill of a worker process, which pod status never shows, is found too and not taken for a
 * container kill.
 */
describe("OOM kills the memlens agents learn from the kernel", function () {
  let ns: string;
  const mi = (name: string) => getJson<MI>(["-n", ns, "get", "mi", name]);
  const pods = (app: string) => getJson<PodList>(["-n", ns, "get", "pods", "-l", `app=${app}`]);

  before(async function () {
    this.timeout(300_000);
    await deployMemlens();
    ns = await testNamespace("kernel-oom");
    await kubectl(
      ["-n", ns, "apply", "-f", "-"],
      JSON.stringify({
        apiVersion: "v1",
        kind: "List",
        items: [
          // the main process outgrows the limit: the kernel kills the container, the kubelet restarts it
          stress("burst", ["--rate", "100", "--max", "256"], NODE_V2),
          inspection("burst"),
          // three workers, one after the other, each killed at the limit; the container runs on
          stress("workers", ["--rate", "100", "--max", "256", "--workers", "3"], NODE_V1),
          inspection("workers"),
        ],
      }),
    );
  });

  it("v2: the agent streams each kill from memory.events, naming the container instance it ended", async function () {
    this.timeout(300_000);
    const kill = await eventually("a kill streamed by the v2 node's agent", 290_000, async () => {
      const killed = new Set(
        (await pods("burst")).items.flatMap((p) =>
          (p.status.containerStatuses ?? []).flatMap((cs) => [
            bare(cs.state?.terminated?.containerID),
            bare(cs.lastState?.terminated?.containerID),
          ]),
        ),
      );
      // a container dead before its watch was set is read by the next pass ("sampling"): the
      // loop's kills go on until one is told by the kernel's notification
      return (await agentKills(V2_NODE_IP)).find(
        (k) => killed.has(k.containerID) && k.source === "memory.events notification",
      );
    });
    expect(kill.process).to.equal("main");
    // the counter counts processes killed: 6.1's group kill (memory.oom.group, set by the kubelet
    // on v2) counts the victim twice, so one kill of a one-process container reads 2 here
    expect(kill.kills).to.be.at.least(1);
  });

  it("v2: counts each kill once whichever of the agent and the kubelet tells first, in one Event series", async function () {
    this.timeout(300_000);
    await eventually("three kills", 240_000, async () =>
      (await terminations(ns, "burst")) >= 3 ? true : undefined,
    );
    await eventually("kill count equal to the terminations", 60_000, async () => {
      const counted = (await mi("burst")).status?.oomKills ?? 0;
      const seen = await terminations(ns, "burst");
      expect(counted, "never more kills than the kubelet's terminations").to.be.at.most(seen);
      return counted === seen ? true : undefined;
    });
    const oom = (await events(ns)).items.filter(
      (e) => e.reason === "OOMKilled" && e.regarding.name === "burst",
    );
    expect(oom, "one Event, its series counting the repeats").to.have.length(1);
  });

  it("v1: a worker process killed three times is ProcessOOMKilled (3), not a container kill; pod status shows none", async function () {
    this.timeout(300_000);
    const [pod] = await eventually("the workers pod running", 120_000, async () => {
      const list = (await pods("workers")).items;
      return list[0]?.status.containerStatuses?.[0]?.containerID ? list : undefined;
    });
    const logs = () => kubectl(["-n", ns, "logs", pod!.metadata.name]);
    await eventually("three workers killed", 120_000, async () =>
      (await logs()).includes("all 3 workers started") ? true : undefined,
    );
    // what the container itself saw, counted independently of memlens
    expect((await logs()).match(/worker pid \d+ killed by signal 9/g)).to.have.length(3);
    const finding = await eventually("ProcessOOMKilled counting 3", 120_000, async () => {
      const f = (await mi("workers")).status?.findings?.find((x) => x.rule === "ProcessOOMKilled");
      return f?.count === 3 ? f : undefined;
    });
    expect(finding.message).to.match(/OOM-killed 3 times while the container kept running/);
    const status = (await mi("workers")).status!;
    expect(status.findings?.filter((f) => f.rule === "OOMKilled")).to.deep.equal([]);
    expect(status.oomKills ?? 0).to.equal(0);
    const cs = (await pods("workers")).items[0]!.status.containerStatuses![0]!;
    expect(cs.restartCount).to.equal(0);
    // the agent told the controller of each, as a worker's death
    const reported = (await agentKills("127.0.0.1")).filter((k) => k.containerID === bare(cs.containerID));
    expect(reported.length).to.be.at.least(1);
    expect(reported.every((k) => k.process === "child" && k.source === "sampling")).to.equal(true);
    expect(reported.at(-1)!.kills).to.equal(3);
    const event = (await events(ns)).items.find(
      (e) => e.reason === "ProcessOOMKilled" && e.regarding.name === "workers",
    );
    expect(event?.type).to.equal("Warning");
  });

  after(async () => {
    if (ns) await kubectl(["delete", "namespace", ns, "--wait=false"]);
  });
});
