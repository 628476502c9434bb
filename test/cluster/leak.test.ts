import { expect } from "chai";
import {
  condition,
  deployMemlens,
  deploymentManifest,
  events,
  eventually,
  getJson,
  inspectionManifest,
  kubectl,
  testNamespace,
  type MI,
} from "./kube.js";

/** A stress Deployment and its MemoryInspection with short windows, set through the CR's own fields. */
function workload(name: string, rate: number, max: number, limit: string): string {
  const container = {
    image: "localhost/memlens/stress:dev",
    args: ["--rate", String(rate), "--max", String(max)],
    resources: { requests: { memory: limit }, limits: { memory: limit } },
  };
  return JSON.stringify({
    apiVersion: "v1",
    kind: "List",
    items: [deploymentManifest(name, container), inspectionManifest(name, "90s")],
  });
}

describe("leaks found from the node agent's cgroup history", function () {
  let ns: string;
  const mi = (name: string) => getJson<MI>(["-n", ns, "get", "mi", name]);

  before(async function () {
    this.timeout(300_000);
    await deployMemlens();
    ns = await testNamespace("leak");
    await kubectl(["-n", ns, "apply", "-f", "-"], workload("leaky", 1, 0, "512Mi"));
    await kubectl(["-n", ns, "apply", "-f", "-"], workload("steady", 20, 40, "512Mi"));
  });

  it("calls a 1 MiB/s grower a MemoryLeak, with its rate and time to the limit", async function () {
    this.timeout(300_000);
    const m = await eventually("MemoryLeak=True", 240_000, async () => {
      const m = await mi("leaky");
      return condition(m, "MemoryLeak")?.status === "True" ? m : undefined;
    });
    const f = m.status!.findings!.find((x) => x.rule === "MemoryLeak")!;
    expect(f.message).to.match(/grows .*\/h .* will reach the 512 MiB limit in ~/);
    expect(m.status!.recommendations!.map((r) => r.type)).to.include("FixLeak");
    const list = await events(ns);
    expect(
      list.items.filter((e) => e.reason === "MemoryLeak" && e.regarding.name === "leaky"),
    ).to.have.length(1);
  });

  it("leaves a workload that reached its size and holds it alone", async () => {
    const m = await mi("steady");
    expect(condition(m, "Ready")?.status).to.equal("True");
    expect(condition(m, "MemoryLeak")?.status).to.equal("False");
    expect(m.status?.findings ?? []).to.deep.equal([]);
  });

  it("says AgentUnavailable when the node's agent is gone, and recovers when the DaemonSet brings it back", async function () {
    this.timeout(180_000);
    // keep the agent off the node for a while (a deleted agent pod is back within a second or two)
    const patch = (type: string, body: string) =>
      kubectl(["-n", "memlens-system", "patch", "daemonset/memlens-agent", `--type=${type}`, "-p", body]);
    await patch(
      "merge",
      '{"spec":{"template":{"spec":{"nodeSelector":{"memlens.dev/test-no-node":"true"}}}}}',
    );
    const down = await eventually("Ready=False AgentUnavailable", 60_000, async () => {
      const c = condition(await mi("leaky"), "Ready");
      return c?.reason === "AgentUnavailable" ? c : undefined;
    });
    expect(down.message).to.contain("memlens-node");
    // the pod-status rules still ran and the leak already found is kept, not resolved for lack of data
    expect(condition(await mi("leaky"), "MemoryLeak")?.status).to.equal("True");
    await patch("json", '[{"op":"remove","path":"/spec/template/spec/nodeSelector"}]');
    await eventually("Ready=True again", 90_000, async () =>
      condition(await mi("leaky"), "Ready")?.status === "True" ? true : undefined,
    );
  });

  after(async () => {
    await kubectl(["delete", "namespace", ns, "--wait=false"]);
  });
});
