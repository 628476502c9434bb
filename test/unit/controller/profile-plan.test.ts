import { expect } from "chai";
import { effectiveSpec } from "../../../src/api/defaults.js";
import type { Finding } from "../../../src/api/memoryinspection.js";
import {
  MAX_BASELINES_PER_PASS,
  MAX_KEPT_PODS,
  MAX_REPORTED_PODS,
  planProfiles,
  profiledProcess,
  type KeptState,
} from "../../../src/controller/profile-plan.js";
import type { Pod } from "../../../src/kube/pod.js";

const NOW = new Date("2026-12-02T10:40:00Z");
const ago = (minutes: number) => new Date(NOW.getTime() - minutes * 60_000).toISOString();

/** A pod of the catalog demo's shape: the service declares the profile port, the load generator does not. */
function pod(name: string, startedMinutesAgo: number, loadStartedMinutesAgo = startedMinutesAgo): Pod {
  return {
    metadata: { name, namespace: "shop", uid: `uid-${name}` },
    spec: { containers: [{ name: "catalog", ports: [18080] }, { name: "load" }] },
    status: {
      phase: "Running",
      podIP: "10.1.2.3",
      containerStatuses: [
        { name: "catalog", restartCount: 0, state: { running: { startedAt: ago(startedMinutesAgo) } } },
        { name: "load", restartCount: 0, state: { running: { startedAt: ago(loadStartedMinutesAgo) } } },
      ],
    },
  };
}

const leak = (podName: string, resolved = false): Finding => ({
  rule: "MemoryLeak",
  severity: "Warning",
  pod: podName,
  container: "catalog",
  message: "grows",
  evidence: {},
  firstSeen: ago(1),
  lastSeen: ago(0),
  count: 1,
  ...(resolved ? { resolved } : {}),
});

const spec = effectiveSpec({
  targetRef: { kind: "Deployment", name: "catalog" },
  profiling: { enabled: true, port: 18080, warmUp: "2m", baselineRefresh: "1h" },
});

function plan(pods: Pod[], findings: Finding[] = [], kept = new Map<string, KeptState>()) {
  return planProfiles({ spec, pods, findings, kept, now: NOW }).map((t) => ({
    pod: t.pod.metadata.name,
    ...(t.takeBaseline ? { baseline: true } : {}),
    ...(t.report ? { report: true } : {}),
    ...(t.keepLatest ? { latest: true } : {}),
  }));
}

describe("which heap profiles a pass fetches (planProfiles)", () => {
  it("profiles the container that declares the port, identified by its start", () => {
    const p = pod("catalog-1", 10, 3);
    expect(profiledProcess(p, 18080)).to.deep.equal({ container: "catalog", startedAt: ago(10) });
    // nobody declares the port: any container's restart may be the profiled process's
    expect(profiledProcess(p, 6060)).to.deep.equal({ startedAt: ago(3) });
    const url = planProfiles({ spec, pods: [p], findings: [], kept: new Map(), now: NOW })[0]?.url;
    expect(url).to.equal("http://10.1.2.3:18080/debug/pprof/heap");
  });

  it("takes a baseline after the warm-up, with no finding needed", () => {
    expect(plan([pod("young", 1), pod("warm", 3)])).to.deep.equal([{ pod: "warm", baseline: true }]);
  });

  it("keeps a baseline while it is fresh, and refreshes it once older than baselineRefresh", () => {
    const kept = new Map([
      ["uid-fresh", { processStartedAt: ago(90), baselineAt: ago(30) }],
      ["uid-stale", { processStartedAt: ago(90), baselineAt: ago(61) }],
    ]);
    expect(plan([pod("fresh", 90), pod("stale", 90)], [], kept)).to.deep.equal([
      { pod: "stale", baseline: true },
    ]);
  });

  it("freezes the baseline while a finding is open, compares with it and keeps the latest now and then", () => {
    const kept = new Map([
      ["uid-a", { processStartedAt: ago(90), baselineAt: ago(80) }],
      ["uid-b", { processStartedAt: ago(90), baselineAt: ago(80), latestAt: ago(2) }],
    ]);
    expect(plan([pod("a", 90), pod("b", 90)], [leak("a"), leak("b")], kept)).to.deep.equal([
      { pod: "a", report: true, latest: true },
      { pod: "b", report: true },
    ]);
    // resolved, the finding no longer holds the baseline
    expect(plan([pod("a", 90)], [leak("a", true)], kept)).to.deep.equal([{ pod: "a", baseline: true }]);
  });

  it("a restarted process gets a new baseline after its own warm-up; its old one is never compared", () => {
    const kept = new Map([["uid-a", { processStartedAt: ago(90), baselineAt: ago(80) }]]);
    expect(plan([pod("a", 1)], [leak("a")], kept)).to.deep.equal([{ pod: "a", report: true }]);
    expect(plan([pod("a", 3)], [leak("a")], kept)).to.deep.equal([
      { pod: "a", baseline: true, report: true },
    ]);
  });

  it("retries a profile too large to keep only when a baseline would be refreshed", () => {
    const kept = new Map([["uid-a", { processStartedAt: ago(90), baselineAt: ago(10), tooLarge: 22 << 20 }]]);
    expect(plan([pod("a", 90)], [], kept)).to.deep.equal([]);
    expect(plan([pod("a", 90)], [leak("a")], kept)).to.deep.equal([{ pod: "a", report: true }]);
  });

  it("is bounded: reported pods, baselines per pass, and pods kept per inspection", () => {
    const many = Array.from({ length: 20 }, (_, i) => pod(`p${String(i).padStart(2, "0")}`, 30));
    const first = plan(
      many,
      many.map((p) => leak(p.metadata.name)),
    );
    expect(first.filter((t) => t.report)).to.have.length(MAX_REPORTED_PODS);
    expect(plan(many)).to.have.length(MAX_BASELINES_PER_PASS);
    const kept = new Map(
      many
        .slice(0, MAX_KEPT_PODS)
        .map((p) => [p.metadata.uid, { processStartedAt: ago(30), baselineAt: ago(5) }]),
    );
    expect(plan(many, [], kept)).to.deep.equal([]);
    // kept pods of pods that left do not count
    expect(plan(many.slice(MAX_KEPT_PODS), [], kept)).to.have.length(MAX_BASELINES_PER_PASS);
  });

  it("fetches nothing when profiling is off or the pod is not running", () => {
    const off = effectiveSpec({ targetRef: { kind: "Deployment", name: "catalog" } });
    expect(
      planProfiles({ spec: off, pods: [pod("a", 30)], findings: [], kept: new Map(), now: NOW }),
    ).to.deep.equal([]);
    const pending = pod("b", 30);
    pending.status.phase = "Pending";
    expect(plan([pending], [leak("b")])).to.deep.equal([]);
  });
});
