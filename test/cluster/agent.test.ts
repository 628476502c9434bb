import { expect } from "chai";
import {
  agentGet as get,
  deployMemlens,
  eventually,
  getJson,
  kubectl,
  NODE_V1,
  testNamespace,
  type AgentContainers as Containers,
  controllerAgentToken,
} from "./kube.js";

describe("the node agent as a DaemonSet pod on the real node", function () {
  let ns: string;
  let uid: string;
  let cid: string;
  before(async function () {
    this.timeout(300_000);
    await deployMemlens();
    ns = await testNamespace("agent");
    await kubectl(
      ["-n", ns, "apply", "-f", "-"],
      JSON.stringify({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "grow" },
        spec: {
          hostNetwork: true,
          nodeSelector: { "kubernetes.io/hostname": NODE_V1 },
          terminationGracePeriodSeconds: 1,
          containers: [
            {
              name: "grow",
              image: "localhost/memlens/stress:dev",
              imagePullPolicy: "Never",
              args: ["--rate", "2", "--max", "40"],
              resources: { limits: { memory: "128Mi" } },
            },
          ],
        },
      }),
    );
    await kubectl(["-n", ns, "wait", "--for=condition=Ready", "pod/grow", "--timeout=90s"]);
    const pod = await getJson<{
      metadata: { uid: string };
      status: { containerStatuses: { containerID: string }[] };
    }>(["-n", ns, "get", "pod", "grow"]);
    uid = pod.metadata.uid;
    cid = pod.status.containerStatuses[0]!.containerID.replace(/^.*:\/\//, "");
  });

  it("refuses a request without a token (401)", async () => {
    expect((await get(`/v1/containers?podUID=${uid}`)).status).to.equal(401);
  });

  it("refuses another ServiceAccount's token, even one for the agent audience (403)", async () => {
    await kubectl(["-n", ns, "create", "serviceaccount", "other"]);
    const token = (
      await kubectl(["-n", ns, "create", "token", "other", "--audience", "memlens-agent"])
    ).trim();
    expect((await get(`/v1/containers?podUID=${uid}`, token)).status).to.equal(403);
  });

  it("refuses the controller's own token when it was issued for another audience (a stolen one: 401)", async () => {
    const stolen = (
      await kubectl(["-n", "memlens-system", "create", "token", "memlens-controller", "--audience", "vault"])
    ).trim();
    const res = await get(`/v1/containers?podUID=${uid}`, stolen);
    expect(res.status).to.equal(401);
    expect(res.body).to.include("token not authenticated");
  });

  it("serves the controller the stress container's real cgroup history, growing", async function () {
    this.timeout(90_000);
    const token = await controllerAgentToken();
    const grew = await eventually("20 MiB of growth in the agent's history", 60_000, async () => {
      const res = await get(`/v1/containers?podUID=${uid}`, token);
      expect(res.status).to.equal(200);
      const doc = JSON.parse(res.body) as Containers;
      const c = doc.containers.find((x) => x.containerID === cid);
      const usage = (c?.history.usage ?? []).filter((v): v is number => v !== null);
      const growth = usage.length > 1 ? usage.at(-1)! - usage[0]! : 0;
      return growth >= 20 * 2 ** 20 ? { doc, growth } : undefined;
    });
    expect(
      grew.doc.containers.some((c) => c.kind === "pod" && c.podUID === uid),
      "the pod-level cgroup too",
    ).to.equal(true);
  });

  it("serves /metrics and /healthz without a token", async () => {
    expect((await get("/healthz")).status).to.equal(200);
    const metrics = await get("/metrics");
    expect(metrics.status).to.equal(200);
    expect(metrics.body).to.contain(`namespace="${ns}"`);
  });

  after(async () => {
    await kubectl(["delete", "namespace", ns, "--wait=false"]);
  });
});

describe("the node agent through a kernel OOM kill", function () {
  let ns: string;
  let uid: string;
  before(async function () {
    this.timeout(300_000);
    await deployMemlens();
    ns = await testNamespace("agent-oom");
    await kubectl(
      ["-n", ns, "apply", "-f", "-"],
      JSON.stringify({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "boom" },
        spec: {
          hostNetwork: true,
          nodeSelector: { "kubernetes.io/hostname": NODE_V1 },
          terminationGracePeriodSeconds: 1,
          containers: [
            {
              name: "boom",
              image: "localhost/memlens/stress:dev",
              imagePullPolicy: "Never",
              // 8 MiB/s: the agent sees it grow for a few seconds before the kernel kills it at 48Mi
              args: ["--rate", "8", "--max", "0"],
              resources: { limits: { memory: "48Mi" } },
            },
          ],
        },
      }),
    );
    uid = (await getJson<{ metadata: { uid: string } }>(["-n", ns, "get", "pod", "boom"])).metadata.uid;
  });

  it("shows growth, the kill at the limit (failcnt, max usage), the restart and the dead container's last samples", async function () {
    this.timeout(180_000);
    const token = await controllerAgentToken();
    const limit = 48 * 2 ** 20;
    const seen = await eventually(
      "a killed container instance and a new one in the agent's answer",
      90_000,
      async () => {
        const doc = JSON.parse((await get(`/v1/containers?podUID=${uid}`, token)).body) as Containers;
        const instances = doc.containers.filter((c) => c.kind === "container");
        const dead = instances.find((c) => c.gone);
        const pod = doc.containers.find((c) => c.kind === "pod");
        return dead && instances.length >= 2 && pod ? { dead, pod } : undefined;
      },
    );
    const known = (xs: (number | null)[] | undefined) => (xs ?? []).filter((v): v is number => v !== null);
    const deadUsage = known(seen.dead.history.usage);
    expect(deadUsage.length, "the dead container's last samples are kept").to.be.greaterThan(0);
    expect(Math.max(...deadUsage) - deadUsage[0]!, "it grew before the kill").to.be.greaterThan(8 * 2 ** 20);
    // the pod cgroup (the limit also charges the pause container) is where v1 shows the kill
    expect(Math.max(...known(seen.pod.history.failcnt)), "pod failcnt").to.be.greaterThan(0);
    // max usage is a sticky kernel figure the agent reads less often than usage: wait for a read
    await eventually("the pod cgroup's max usage at the limit", 60_000, async () => {
      const doc = JSON.parse((await get(`/v1/containers?podUID=${uid}`, token)).body) as Containers;
      const pod = doc.containers.find((c) => c.kind === "pod");
      return Math.max(...known(pod?.history.peak)) >= limit * 0.95 ? true : undefined;
    });
  });

  after(async () => {
    await kubectl(["delete", "namespace", ns, "--wait=false"]);
  });
});
