import { expect } from "chai";
import { WorkQueue } from "../../../src/kube/workqueue.js";

describe("WorkQueue", () => {
  it("holds a key once however often it is added", async () => {
    const q = new WorkQueue();
    q.add("a");
    q.add("a");
    q.add("b");
    expect(q.length).to.equal(2);
    expect(await q.get()).to.equal("a");
    expect(await q.get()).to.equal("b");
    q.shutdown();
  });

  it("never hands a key to two workers: added while in progress, it comes back after done", async () => {
    const q = new WorkQueue();
    q.add("a");
    const k = await q.get();
    q.add("a");
    expect(q.length).to.equal(0);
    q.done(k!);
    expect(q.length).to.equal(1);
    q.shutdown();
  });

  it("backs off exponentially per key and forgets on success", () => {
    const q = new WorkQueue(100, 1000);
    expect([q.addRateLimited("a"), q.addRateLimited("a"), q.addRateLimited("a")]).to.deep.equal([
      100, 200, 400,
    ]);
    expect(q.addRateLimited("b")).to.equal(100);
    for (let i = 0; i < 10; i++) q.addRateLimited("a");
    expect(q.addRateLimited("a")).to.equal(1000);
    q.forget("a");
    expect(q.addRateLimited("a")).to.equal(100);
    q.shutdown();
  });

  it("releases waiting workers on shutdown", async () => {
    const q = new WorkQueue();
    const waiting = q.get();
    q.shutdown();
    expect(await waiting).to.equal(undefined);
  });
});
