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

  it("hands out urgent keys first, also one already waiting or in progress", async () => {
    const q = new WorkQueue();
    for (const k of ["resync-1", "resync-2", "changed", "resync-3"]) q.add(k);
    q.add("pod-event", true);
    q.add("changed", true);
    expect(q.length).to.equal(5);
    const busy = await q.get();
    expect(busy).to.equal("pod-event");
    q.add("pod-event", true); // changed again while being reconciled
    expect(await q.get()).to.equal("changed");
    q.done(busy!);
    expect(await q.get()).to.equal("pod-event");
    expect([await q.get(), await q.get(), await q.get()]).to.deep.equal(["resync-1", "resync-2", "resync-3"]);
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
