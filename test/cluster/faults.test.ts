import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
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

const run = promisify(execFile);

interface Finding {
  rule: string;
  firstSeen: string;
  count: number;
}

/** A fault on one of the local cluster's processes (cluster/component.sh). */
const component = (...args: string[]) => run("cluster/component.sh", args, { timeout: 120_000 });

/**
 * The control plane, the node and the agent are disrupted one after the other while a workload
 * is OOM-killed over and over; after each fault memlens must inspect again on its own and what
 * it wrote must still hold: the same first-seen time, a kill count that equals the kubelet's
 * (never above it: nothing counted twice), and one OOMKilled Event whose series counts repeats.
 */
describe("faults: memlens recovers on its own and keeps what it wrote", function () {
  let ns: string;
  let firstSeen: string;
  const mi = () => getJson<MI & { status?: { lastInspectionTime?: string } }>(["-n", ns, "get", "mi", "hog"]);
  const oomFinding = async () =>
    ((await mi()).status?.findings as Finding[] | undefined)?.find((f) => f.rule === "OOMKilled");

  /** After a fault: a new inspection, the count caught up with the kubelet, nothing doubled or lost. */
  async function recovered(since: Date): Promise<void> {
    await eventually("an inspection after the fault", 150_000, async () => {
      const t = (await mi()).status?.lastInspectionTime;
      return t && new Date(t) > since ? true : undefined;
    });
    await eventually("kill count equal to the kubelet's terminations", 90_000, async () => {
      const counted = (await mi()).status?.oomKills ?? 0;
      const seen = await terminations(ns);
      expect(counted, "never more kills than the kubelet saw").to.be.at.most(seen);
      return counted === seen ? true : undefined;
    });
    expect((await oomFinding())?.firstSeen, "the finding is the same one").to.equal(firstSeen);
    const list = await events(ns);
    const oom = list.items.filter((e) => e.reason === "OOMKilled" && e.regarding.name === "hog");
    expect(oom, "one OOMKilled Event, repeats in its series").to.have.length(1);
  }

  before(async function () {
    this.timeout(300_000);
    await deployMemlens();
    ns = await testNamespace("faults");
    await kubectl(["-n", ns, "apply", "-f", "-"], readFileSync("examples/stress-oom.yaml", "utf8"));
    const f = await eventually("an OOMKilled finding", 180_000, oomFinding);
    firstSeen = f.firstSeen;
  });

  for (const [fault, args] of [
    ["kube-apiserver restarted", ["restart", "kube-apiserver"]],
    ["etcd paused (SIGSTOP) for 20 s", ["pause", "etcd", "20"]],
    ["the kubelet restarted", ["restart", "kubelet"]],
    ["containerd restarted", ["restart", "containerd"]],
  ] as const) {
    it(fault, async function () {
      this.timeout(300_000);
      await component(...args);
      await recovered(new Date());
    });
  }

  it("the agent answering nothing (SIGSTOP): AgentUnavailable, inspections go on, then recovery", async function () {
    this.timeout(300_000);
    const { stdout } = await run("pgrep", ["-f", "main.js agent --cgroup-root=/host"]);
    const pids = stdout.trim().split(/\s+/);
    expect(pids, "one agent process on the node").to.have.length(1);
    const paused = new Date();
    process.kill(Number(pids[0]), "SIGSTOP");
    try {
      const m = await eventually("Ready=False AgentUnavailable", 90_000, async () => {
        const m = await mi();
        return condition(m, "Ready")?.reason === "AgentUnavailable" ? m : undefined;
      });
      expect(condition(m, "Ready")?.message).to.contain("memlens-node");
      expect(
        new Date(m.status?.lastInspectionTime as string) > paused,
        "the pass finished without the agent",
      ).to.equal(true);
      expect((await oomFinding())?.firstSeen, "findings kept while the agent is away").to.equal(firstSeen);
    } finally {
      process.kill(Number(pids[0]), "SIGCONT");
    }
    await eventually("Ready=True again", 120_000, async () =>
      condition(await mi(), "Ready")?.status === "True" ? true : undefined,
    );
    await recovered(new Date());
  });

  it("a status written by someone else between passes (a 409 when the cache is stale): the controller's own comes back, nothing lost", async function () {
    this.timeout(300_000);
    const before = (await mi()).status?.oomKills;
    const written = new Date();
    await kubectl([
      "-n",
      ns,
      "patch",
      "mi",
      "hog",
      "--subresource=status",
      "--type=merge",
      "-p",
      JSON.stringify({ status: { summary: "written by the test" } }),
    ]);
    await eventually("the controller's summary back", 120_000, async () => {
      const m = await mi();
      return m.status?.summary !== "written by the test" &&
        new Date(m.status?.lastInspectionTime as string) > written
        ? true
        : undefined;
    });
    expect((await mi()).status?.oomKills).to.be.at.least(before as number);
    await recovered(written);
  });
});
