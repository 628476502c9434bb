import { expect } from "chai";
import { catalogHeap, inspections, startDemo, stopDemo, type DemoInspection } from "../../src/demo/demo.js";
import { events, eventually } from "./kube.js";

/** Scenario 1 of `make demo`, through the demo's own code: the leaking catalog, found and explained. */
describe("make demo, scenario 1: the leaking catalog service", function () {
  const ns = `demo-${process.pid}`;
  const catalog = async () => (await inspections(ns)).items.find((i) => i.metadata.name === "catalog");
  const finding = (mi: DemoInspection | undefined, rule: string) =>
    mi?.status?.findings?.find((f) => f.rule === rule && !f.resolved);

  before(async function () {
    this.timeout(300_000);
    await startDemo(ns);
  });

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
        const h = await catalogHeap(".memlens/demo");
        return h.sentence.includes("OnRequest") ? h : undefined;
      },
    );
    expect(heap.svg).to.match(/catalog-heap\.svg$/);
  });

  it("leaves the healthy service without findings", async () => {
    const healthy = (await inspections(ns)).items.find((i) => i.metadata.name === "healthy");
    expect(healthy?.status?.findings ?? []).to.deep.equal([]);
  });

  after(async function () {
    this.timeout(90_000);
    await stopDemo(ns);
  });
});
