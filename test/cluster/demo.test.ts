import { expect } from "chai";
import {
  applyRecommendation,
  appPods,
  catalogHeap,
  cgroupV2Node,
  inspections,
  startDemo,
  stopDemo,
  THROTTLE_STORY,
  type DemoInspection,
} from "../../src/demo/demo.js";
import { events, eventually, NODE_V2 } from "./kube.js";

/** `make demo`'s stories, through the demo's own code, all three side by side as the demo runs them. */
describe("make demo", function () {
  const ns = `demo-${process.pid}`;
  const inspection = async (name: string) =>
    (await inspections(ns)).items.find((i) => i.metadata.name === name);
  const catalog = () => inspection("catalog");
  const finding = (mi: DemoInspection | undefined, rule: string) =>
    mi?.status?.findings?.find((f) => f.rule === rule && !f.resolved);

  before(async function () {
    this.timeout(300_000);
    expect(await cgroupV2Node(), "a Ready cgroup v2 node (cluster/vm.sh status)").to.equal(NODE_V2);
    await startDemo(ns, true);
  });

  describe("scenario 1: the leaking catalog service", function () {
    it("finds the leak with its rate, and names the allocating function from the pod's heap profile", async function () {
      this.timeout(300_000);
      const mi = await eventually("MemoryLeak with top allocators", 280_000, async () => {
        const mi = await catalog();
        return finding(mi, "MemoryLeak")?.evidence.topAllocators ? mi : undefined;
      });
      const leak = finding(mi, "MemoryLeak")!;
      expect(leak.message).to.match(/grows .*\/h/);
      expect(String(leak.evidence.topAllocators)).to.contain("(*MemoryLeaker).OnRequest");
      expect(leak.message).to.contain("(*MemoryLeaker).OnRequest");
      // later passes compare with the first profile taken (the baseline): what grew since
      const grown = await eventually("functions grown since the baseline", 120_000, async () => {
        const f = finding(await catalog(), "MemoryLeak");
        const grown = f?.evidence.grownSinceBaseline;
        return typeof grown === "string" ? grown : undefined;
      });
      expect(grown).to.contain("(*MemoryLeaker).OnRequest");
    });

    it("reports the kernel's OOM kill and recommends fixing the leak before raising the limit", async function () {
      this.timeout(300_000);
      const mi = await eventually("OOMKilled", 280_000, async () => {
        const mi = await catalog();
        return finding(mi, "OOMKilled") ? mi : undefined;
      });
      const types = mi.status!.recommendations!.map((r) => r.type);
      expect(types[0]).to.equal("FixLeak");
      expect(types).to.include("RaiseMemoryLimit");
      const list = await events(ns);
      const mine = list.items.filter((e) => e.regarding.name === "catalog");
      expect(mine.map((e) => e.reason)).to.include.members(["MemoryLeak", "OOMKilled", "Recommendation"]);
    });

    it("draws the heap as a flame graph", async function () {
      this.timeout(60_000);
      // right after a restart the heap is still small and anything may lead: wait for the leak to show
      const heap = await eventually(
        "the leaking function at the top of the catalog's heap",
        50_000,
        async () => {
          const h = await catalogHeap(ns, ".memlens/demo");
          return h.sentence.includes("OnRequest") ? h : undefined;
        },
      );
      expect(heap.svg).to.match(/catalog-heap\.svg$/);
    });
  });

  describe("scenario 2: the same leak throttled at memory.high on the cgroup v2 node", function () {
    it("finds MemoryThrottled; requests = limits applied, the pod is Guaranteed and the leak ends in an OOM kill", async function () {
      this.timeout(600_000);
      const mi = await eventually("MemoryThrottled with SetRequestsEqualLimits", 400_000, async () => {
        const mi = await inspection(THROTTLE_STORY);
        const rec = mi?.status?.recommendations?.find((r) => r.type === "SetRequestsEqualLimits");
        return finding(mi, "MemoryThrottled") && rec ? { mi, rec } : undefined;
      });
      expect(finding(mi.mi, "MemoryThrottled")?.message).to.match(
        /memory\.high \(190 MiB\) throttles allocations/,
      );
      await applyRecommendation(ns, mi.rec);
      const [pod] = await appPods(ns, THROTTLE_STORY);
      expect(pod?.status.qosClass).to.equal("Guaranteed");
      const after = await eventually(
        "MemoryThrottled=False and an OOM kill of the new pod",
        400_000,
        async () => {
          const mi = await inspection(THROTTLE_STORY);
          const c = mi?.status?.conditions?.find((x) => x.type === "MemoryThrottled");
          const killed = mi?.status?.findings?.find(
            (f) => f.rule === "OOMKilled" && f.pod === pod?.metadata.name,
          );
          return c?.status === "False" && killed ? c : undefined;
        },
      );
      expect(after.reason).to.equal("ThrottlingStopped");
    });
  });

  describe("scenario 3: a healthy service", function () {
    it("is left without findings", async () => {
      const healthy = await inspection("healthy");
      expect(healthy?.status?.findings ?? []).to.deep.equal([]);
    });
  });

  after(async function () {
    this.timeout(90_000);
    await stopDemo(ns);
  });
});
