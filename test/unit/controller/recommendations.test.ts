import { expect } from "chai";
import type { Finding } from "../../../src/api/memoryinspection.js";
import { FIND_THE_LEAK, fixLeak } from "../../../src/analysis/recommend.js";
import type { ContainerAnalysis } from "../../../src/controller/cgroup-findings.js";
import { inspectionRecommendations } from "../../../src/controller/inspection-recommendations.js";
import type { Pod } from "../../../src/kube/pod.js";

describe("FixLeak where the heap profile named the code", () => {
  const pod: Pod = {
    metadata: { name: "catalog-1", namespace: "shop", uid: "u1" },
    spec: { containers: [{ name: "catalog" }] },
    status: { phase: "Running" },
  };
  const workload = { kind: "Deployment", name: "catalog", apiVersion: "apps/v1", namespace: "shop" };
  const rule = "Anonymous memory grows 40 MiB/h (R² 0.98).";
  const analysis: ContainerAnalysis = {
    pod,
    container: "catalog",
    judged: true,
    findings: [],
    recommendations: [fixLeak({ workload, container: "catalog", limit: "200Mi", finding: rule, kills: 0 })],
  };
  const leak = (evidence: Finding["evidence"], message: string): Finding => ({
    rule: "MemoryLeak",
    severity: "Warning",
    pod: "catalog-1",
    container: "catalog",
    message,
    evidence,
    firstSeen: "2026-12-02T10:00:00Z",
    lastSeen: "2026-12-02T10:40:00Z",
    count: 3,
  });
  const recommend = (findings: Finding[]) =>
    inspectionRecommendations({
      findings,
      activeOom: [],
      workload,
      pods: new Map([["catalog-1", pod]]),
      analyses: [analysis],
      evictions: [],
      inspection: { name: "catalog", namespace: "shop" },
    })[0];

  it("says to enable profiling only when no profile named anything", () => {
    expect(recommend([leak({}, rule)])?.reason).to.equal(
      `${rule} A larger limit only delays the next OOM kill: ${FIND_THE_LEAK}.`,
    );
  });

  it("with a profile, tells its sentence and where its growth is drawn", () => {
    const told = `${rule} Heap profile: 98% of in-use heap was allocated by \`main.leak\`.`;
    const r = recommend([leak({ topAllocators: "main.leak 1024 KiB (98.0%)" }, told)]);
    expect(r?.reason).to.equal(
      `${told} A larger limit only delays the next OOM kill: fix the code the heap profile names ` +
        "(`memlens profile flame mi/catalog -n shop` draws what grew since the baseline).",
    );
    expect(r?.type).to.equal("FixLeak");
  });
});
