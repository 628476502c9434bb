import { expect } from "chai";
import { soak } from "../../bench/chaos-soak.js";

/**
 * The short version of `make chaos-soak`: three minutes of overlapping faults (leader and agent
 * pods deleted, kubelet and containerd restarted, the apiserver restarted, etcd paused; no VM
 * freeze, which alone takes two minutes) while pods are OOM-killed on both nodes. Every kernel
 * OOM kill, counted from the nodes' kernel logs, must be counted by memlens exactly once.
 */
describe("chaos, short: overlapping faults on both nodes", function () {
  it("counts every kernel OOM kill once, recovers, and does not crash-loop", async function () {
    this.timeout(20 * 60_000);
    const r = await soak({ durationMs: 3 * 60_000, freeze: false });
    expect(r.notRecovered, "recovered within 5 min of the last fault").to.deep.equal([]);
    expect(r.faults).to.be.at.least(4);
    expect(r.kills, "kernel OOM kills during the soak").to.be.at.least(8);
    // the table the soak printed, in the message: a CI log may keep only the failure's lines
    const rows = r.rows.map(
      (k) =>
        `${k.inspection}: kernel ${k.kernel}, status ${k.counted}, Events ${k.occurrences}, kubelet ${k.terminations}`,
    );
    expect(
      { lost: r.lost, doubled: r.doubled },
      [...rows, ...r.disagreements, `faults: ${r.timeline.join(", ")}`].join("; "),
    ).to.deep.equal({ lost: 0, doubled: 0 });
    expect(r.crashLoop).to.equal(false);
  });
});
