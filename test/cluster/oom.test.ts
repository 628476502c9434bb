import { readFileSync } from "node:fs";
import { expect } from "chai";
import {
  condition,
  deployMemlens,
  events,
  eventually,
  getJson,
  kubectl,
  terminations,
  testNamespace,
  type MI,
} from "./kube.js";

interface PodList {
  items: {
    metadata: { name: string };
    status: {
      containerStatuses?: {
        restartCount: number;
        state?: { terminated?: { reason?: string } };
        lastState?: { terminated?: { reason?: string } };
      }[];
    };
  }[];
}

describe("a kernel OOM kill, reported end to end by memlens deployed in the cluster", function () {
  let ns: string;
  const mi = () => getJson<MI>(["-n", ns, "get", "mi", "hog"]);

  before(async function () {
    this.timeout(300_000);
    await deployMemlens();
    ns = await testNamespace("oom");
    await kubectl(["-n", ns, "apply", "-f", "-"], readFileSync("examples/stress-oom.yaml", "utf8"));
  });

  it("the kernel OOM-kills the stress container and the kubelet says OOMKilled", async () => {
    await eventually("an OOMKilled container status", 90_000, async () => {
      const pods = await getJson<PodList>(["-n", ns, "get", "pods", "-l", "app=hog"]);
      const cs = pods.items[0]?.status.containerStatuses?.[0];
      return cs?.lastState?.terminated?.reason === "OOMKilled" ||
        cs?.state?.terminated?.reason === "OOMKilled"
        ? true
        : undefined;
    });
  });

  it("sets condition OOMKilled=True with a finding and a RaiseMemoryLimit recommendation", async () => {
    const m = await eventually("condition OOMKilled=True", 60_000, async () => {
      const m = await mi();
      return condition(m, "OOMKilled")?.status === "True" && m.status?.recommendations?.length
        ? m
        : undefined;
    });
    expect(condition(m, "Ready")?.status).to.equal("True");
    const f = m.status!.findings!.find((x) => x.rule === "OOMKilled")!;
    expect(f.container).to.equal("hog");
    expect(f.message).to.match(/was OOM-killed by the kernel .* at its 64Mi memory limit/);
    const rec = m.status!.recommendations![0]!;
    expect(rec.type).to.equal("RaiseMemoryLimit");
    expect(rec.suggested.limits?.memory).to.equal("164Mi");
    expect(rec.patch).to.contain("- name: hog");
  });

  it("records a Warning OOMKilled Event regarding the inspection, related the pod, and Normal Recommendation", async () => {
    const ev = await eventually("OOMKilled Event", 30_000, async () => {
      const list = await events(ns);
      const oom = list.items.filter((e) => e.reason === "OOMKilled" && e.regarding.name === "hog");
      return oom.length && list.items.some((e) => e.reason === "Recommendation") ? oom : undefined;
    });
    expect(ev[0]!.related?.name).to.match(/^hog-/);
    expect(await kubectl(["-n", ns, "describe", "mi", "hog"])).to.match(/Warning\s+OOMKilled/);
  });

  it("shows the printer columns in kubectl get mi", async () => {
    const out = await kubectl(["-n", ns, "get", "mi", "hog"]);
    expect(out.split("\n")[0]).to.match(
      /NAME\s+TARGET\s+OOM KILLS\s+LEAK\s+THROTTLED\s+READY\s+LAST INSPECTION\s+AGE/,
    );
    expect(out.split("\n")[1]).to.match(/^hog\s+Deployment\/hog\s+[1-9]/);
  });

  it("counts kills exactly as the kubelet's restarts, repeats as one Event series", async function () {
    this.timeout(180_000);
    // wait for at least three kills; the count may lag the pod, never lead it
    await eventually("three kills", 120_000, async () => ((await terminations(ns)) >= 3 ? true : undefined));
    await eventually("kill count equal to the terminations", 60_000, async () => {
      const counted = (await mi()).status?.oomKills ?? 0;
      const seen = await terminations(ns);
      expect(counted).to.be.at.most(seen);
      return counted === seen ? true : undefined;
    });
    const list = await events(ns);
    const oom = list.items.filter((e) => e.reason === "OOMKilled" && e.regarding.name === "hog");
    expect(oom, "one Event, its series counting the repeats").to.have.length(1);
    expect(oom[0]!.series?.count ?? 1).to.be.at.least(2);
  });

  it("does not count again after the controller restarts", async function () {
    this.timeout(240_000);
    // stop the workload so the true count stops moving, then restart both controller replicas
    await kubectl(["-n", ns, "scale", "deployment/hog", "--replicas=0"]);
    await eventually("hog pods gone", 60_000, async () =>
      (await getJson<PodList>(["-n", ns, "get", "pods", "-l", "app=hog"])).items.length === 0
        ? true
        : undefined,
    );
    const before = (await mi()).status!.oomKills!;
    await kubectl(["-n", "memlens-system", "rollout", "restart", "deployment/memlens-controller"]);
    await kubectl([
      "-n",
      "memlens-system",
      "rollout",
      "status",
      "deployment/memlens-controller",
      "--timeout=120s",
    ]);
    const inspected = (await mi()).status as { lastInspectionTime?: string };
    await eventually("an inspection by the new controller", 90_000, async () => {
      const m = (await mi()).status as { lastInspectionTime?: string };
      return m.lastInspectionTime !== inspected.lastInspectionTime ? true : undefined;
    });
    expect((await mi()).status!.oomKills).to.equal(before);
  });

  it("leaves the manifest as applied: no drift for GitOps", async () => {
    const m = await mi();
    expect(m.metadata.generation).to.equal(1);
    const annotations = Object.keys(m.metadata.annotations ?? {}).filter(
      (a) => a !== "kubectl.kubernetes.io/last-applied-configuration",
    );
    expect(annotations).to.deep.equal([]);
    const doc = readFileSync("examples/stress-oom.yaml", "utf8").split("---\n")[1]!;
    // kubectl diff exits 0 when live and applied agree
    await kubectl(["-n", ns, "diff", "-f", "-"], doc);
  });

  after(async () => {
    await kubectl(["delete", "namespace", ns, "--wait=false"]);
  });
});
