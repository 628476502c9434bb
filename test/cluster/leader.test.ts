import { readFileSync } from "node:fs";
import { expect } from "chai";
import {
  condition,
  controllerPods,
  deployMemlens,
  events,
  eventually,
  getJson,
  killLeader,
  kubectl,
  lease,
  testNamespace,
  type EventList,
  type MI,
} from "./kube.js";

describe("leader election between the two controller replicas", function () {
  let ns: string;
  before(async function () {
    this.timeout(300_000);
    await deployMemlens();
    ns = await testNamespace("leader");
    await kubectl(["-n", ns, "apply", "-f", "-"], readFileSync("examples/stress-oom.yaml", "utf8"));
    await eventually("OOMKilled=True", 120_000, async () =>
      condition(await getJson<MI>(["-n", ns, "get", "mi", "hog"]), "OOMKilled")?.status === "True"
        ? true
        : undefined,
    );
  });

  it("runs two replicas, one of them holding the Lease", async () => {
    const pods = await controllerPods();
    expect(pods.items).to.have.length(2);
    expect(pods.items.map((p) => p.metadata.name)).to.include((await lease()).spec.holderIdentity);
  });

  it("a standby takes over within the lease duration when the leader's pod is deleted, without double Events", async function () {
    this.timeout(180_000);
    // stop the workload, so that any further OOMKilled Event would be a duplicate
    await kubectl(["-n", ns, "scale", "deployment/hog", "--replicas=0"]);
    await eventually("hog gone", 60_000, async () =>
      (await getJson<{ items: unknown[] }>(["-n", ns, "get", "pods", "-l", "app=hog"])).items.length === 0
        ? true
        : undefined,
    );
    const eventsBefore = await events(ns);
    const count = (l: EventList) =>
      l.items.filter((e) => e.reason === "OOMKilled").reduce((s, e) => s + (e.series?.count ?? 1), 0);
    const start = Date.now();
    const { before, after: next } = await killLeader();
    const tookMs = Date.now() - start;
    expect(tookMs, "takeover time").to.be.below(15_000 + 2_000 + 5_000);
    expect(next.spec.leaseTransitions).to.be.greaterThan(before.spec.leaseTransitions ?? 0);
    // the new leader reconciles: wait for a fresh inspection, then compare Events
    const t0 = (await getJson<{ status: { lastInspectionTime: string } }>(["-n", ns, "get", "mi", "hog"]))
      .status.lastInspectionTime;
    await eventually("an inspection by the new leader", 90_000, async () => {
      const t = (await getJson<{ status: { lastInspectionTime: string } }>(["-n", ns, "get", "mi", "hog"]))
        .status.lastInspectionTime;
      return t !== t0 ? true : undefined;
    });
    expect(count(await events(ns))).to.equal(count(eventsBefore));
  });

  after(async () => {
    await kubectl(["delete", "namespace", ns, "--wait=false"]);
  });
});
