import { readFileSync } from "node:fs";
import { expect } from "chai";
import type { Finding } from "../../../src/api/memoryinspection.js";
import { setCondition } from "../../../src/controller/conditions.js";
import { inspectionConditions } from "../../../src/controller/inspection-conditions.js";
import { notReadySince, slimPod, type Pod } from "../../../src/kube/pod.js";

describe("setCondition", () => {
  const t1 = new Date("2026-01-01T00:00:00Z");
  const t2 = new Date("2026-01-01T01:00:00Z");
  it("keeps lastTransitionTime while the status stays", () => {
    const a = setCondition([], { type: "Ready", status: "True", reason: "Inspected", message: "a" }, t1);
    const b = setCondition(a, { type: "Ready", status: "True", reason: "Inspected", message: "b" }, t2);
    expect(b[0]?.lastTransitionTime).to.equal(t1.toISOString());
    expect(b[0]?.message).to.equal("b");
  });
  it("changes it on a flip", () => {
    const a = setCondition([], { type: "Ready", status: "True", reason: "Inspected", message: "a" }, t1);
    const b = setCondition(a, { type: "Ready", status: "False", reason: "TargetNotFound", message: "b" }, t2);
    expect(b[0]?.lastTransitionTime).to.equal(t2.toISOString());
  });
  it("orders the types as documented", () => {
    let c = setCondition([], { type: "OOMKilled", status: "False", reason: "NoOOMKills", message: "" }, t1);
    c = setCondition(c, { type: "Ready", status: "True", reason: "Inspected", message: "" }, t1);
    expect(c.map((x) => x.type)).to.deep.equal(["Ready", "OOMKilled"]);
  });
});

describe("inspectionConditions: MemoryThrottled on real pods of the cgroup v2 node", () => {
  // recorded on the local cluster's memlens-node-v2 (Kubernetes 1.37, MemoryQoS): the throttling
  // test's pod while throttled (Burstable, readiness probe failing), and its replacement once
  // requests = limits were applied (Guaranteed)
  const pod = (file: string) =>
    slimPod(JSON.parse(readFileSync(`test/fixtures/pods/${file}`, "utf8")) as Record<string, unknown>);
  const throttledPod = pod("v2-throttled-notready.json");
  const fixedPod = pod("v2-guaranteed-after-fix.json");
  const finding = (resolved: boolean): Finding => ({
    rule: "MemoryThrottled",
    severity: "Warning",
    pod: throttledPod.metadata.name,
    container: "app",
    message: "memory.high (190 MiB) throttles allocations below the 200 MiB limit",
    evidence: {},
    firstSeen: "2026-12-02T08:37:00Z",
    lastSeen: "2026-12-02T08:37:30Z",
    count: 2,
    ...(resolved ? { resolved } : {}),
  });
  const throttledCondition = (pods: Pod[], findings: Finding[]) =>
    inspectionConditions({
      previous: undefined,
      target: {
        description: "Deployment/stuck",
        workload: { kind: "Deployment", name: "stuck", namespace: "t" },
        pods,
      },
      unavailable: [],
      findings,
      activeOom: [],
      windowMs: 600_000,
      now: new Date("2026-12-02T08:38:30Z"),
      generation: 1,
    }).find((c) => c.type === "MemoryThrottled");

  it("keeps only what it reads of the pods: NotReady since the kubelet's transition, for a running container", () => {
    expect(notReadySince(throttledPod, "app")).to.equal(Date.parse("2026-12-02T08:37:41Z") / 1000);
    expect(notReadySince(fixedPod, "app")).to.equal(undefined);
    expect(throttledPod.status.conditions?.map((c) => c.type)).to.deep.equal(["Ready"]);
  });

  it("is True while the finding is active, then False with ThrottlingStopped and why", () => {
    expect(throttledCondition([throttledPod], [finding(false)])?.reason).to.equal("ThrottledAtMemoryHigh");
    const stopped = throttledCondition([fixedPod], [finding(true)]);
    expect(stopped?.status).to.equal("False");
    expect(stopped?.reason).to.equal("ThrottlingStopped");
    expect(stopped?.message).to.contain("memory request equals its limit");
    // stopped while the pods still have memory.high (requests < limits): no such claim
    expect(throttledCondition([throttledPod], [finding(true)])?.message).not.to.contain("memory request");
    expect(throttledCondition([fixedPod], [])?.reason).to.equal("NotThrottled");
  });
});
