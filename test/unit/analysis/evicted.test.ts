import { expect } from "chai";
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { evictionFindings, parseEvictionMessage, qosClassOf } from "../../../src/analysis/evicted.js";
import { slimPod, type Pod } from "../../../src/kube/pod.js";

const KI = 1024;
const MI = 2 ** 20;
const GI = 2 ** 30;

/** The kubelet's message for a real eviction on the local cluster (LOCAL-CLUSTER.md "Real evictions"). */
const REAL =
  "The node was low on resource: memory. Threshold quantity: 23Gi, available: 23546668Ki. Container agent was using 1008Ki, request is 0, has larger consumption of memory. ";

function evictedPod(message: string, containers: Pod["spec"]["containers"], qosClass?: string): Pod {
  return {
    metadata: { name: "agent-7d9f", namespace: "ops", uid: "u1" },
    spec: { containers },
    status: { phase: "Failed", reason: "Evicted", message, ...(qosClass ? { qosClass } : {}) },
  };
}

describe("Evicted: the kubelet's eviction message and pod status", () => {
  describe("parseEvictionMessage", () => {
    it("the real message from the local cluster", () => {
      expect(parseEvictionMessage(REAL)).to.deep.equal({
        resource: "memory",
        threshold: "23Gi",
        thresholdBytes: 23 * GI,
        available: "23546668Ki",
        availableBytes: 23546668 * KI,
        containers: [
          { name: "agent", usage: "1008Ki", usageBytes: 1008 * KI, request: "0", requestBytes: 0 },
        ],
      });
    });

    it("Mi and Gi quantities, several containers, decimal SI units", () => {
      const m = parseEvictionMessage(
        "The node was low on resource: memory. Threshold quantity: 100Mi, available: 51200Ki. " +
          "Container app was using 1536Mi, request is 1Gi, has larger consumption of memory. " +
          "Container sidecar-proxy was using 200M, request is 64Mi, has larger consumption of memory. ",
      );
      expect(m.thresholdBytes).to.equal(100 * MI);
      expect(m.availableBytes).to.equal(50 * MI);
      expect(m.containers.map((c) => [c.name, c.usageBytes, c.requestBytes])).to.deep.equal([
        ["app", 1536 * MI, GI],
        ["sidecar-proxy", 200e6, 64 * MI],
      ]);
    });

    it("available below zero, and the older 'which exceeds its request of' wording", () => {
      const m = parseEvictionMessage(
        "The node was low on resource: memory. Threshold quantity: 500Mi, available: -120Ki. Container web was using 2Gi, which exceeds its request of 1Gi. ",
      );
      expect(m.availableBytes).to.equal(-120 * KI);
      expect(m.containers).to.deep.equal([
        { name: "web", usage: "2Gi", usageBytes: 2 * GI, request: "1Gi", requestBytes: GI },
      ]);
    });

    it("an admission rejection under MemoryPressure has a condition and no numbers", () => {
      expect(parseEvictionMessage("The node had condition: [MemoryPressure]. ")).to.deep.equal({
        conditions: ["MemoryPressure"],
        containers: [],
      });
    });
  });

  describe("evictionFindings", () => {
    it("the real eviction: BestEffort pod over its (zero) request, RaiseMemoryRequest with a patch", () => {
      const pod = evictedPod(REAL, [{ name: "agent" }], "BestEffort");
      const a = evictionFindings(pod, undefined, { kind: "DaemonSet", name: "agent", namespace: "ops" });
      expect(a.container).to.equal("agent");
      const [f] = a.findings;
      expect(f?.rule).to.equal("Evicted");
      expect(f?.severity).to.equal("Warning");
      expect(f?.evidence).to.include({
        thresholdBytes: 23 * GI,
        availableBytes: 23546668 * KI,
        workingSetBytes: 1008 * KI,
        requestBytes: 0,
        qosClass: "BestEffort",
      });
      expect(f?.message).to.match(
        /the node was low on memory \(memory\.available 22 GiB, eviction threshold 23Gi\)/,
      );
      expect(f?.message).to.match(/container agent used 1008 KiB against a request of 0/);
      expect(f?.message).to.match(/working set 1008 KiB exceeded its memory request \(none\)/);
      expect(f?.message).to.match(/QoS class is BestEffort/);

      const [rec] = a.recommendations;
      expect(rec?.type).to.equal("RaiseMemoryRequest");
      expect(rec?.suggested).to.deep.equal({ requests: { memory: "1Mi" } });
      expect(parse(rec?.patch ?? "")).to.deep.equal({
        spec: {
          template: { spec: { containers: [{ name: "agent", resources: { requests: { memory: "1Mi" } } }] } },
        },
      });
      expect(rec?.command).to.match(/^kubectl -n ops patch daemonset agent --type strategic/);
    });

    it("the pod's working set from cgroup data wins over the message's sum", () => {
      const pod = evictedPod(
        REAL,
        [{ name: "agent", resources: { requests: { memory: "64Mi" } } }],
        "Burstable",
      );
      const [f] = evictionFindings(pod, 300 * MI).findings;
      expect(f?.evidence.workingSetBytes).to.equal(300 * MI);
      expect(f?.message).to.match(/working set 300 MiB exceeded its memory request \(64 MiB\)/);
    });

    it("several containers: one recommendation each; a request raised to the limit becomes SetRequestsEqualLimits", () => {
      const pod = evictedPod(
        "The node was low on resource: memory. Threshold quantity: 100Mi, available: 90Mi. " +
          "Container app was using 1536Mi, request is 1Gi, has larger consumption of memory. " +
          "Container proxy was using 100Mi, request is 64Mi, has larger consumption of memory. ",
        [
          { name: "app", resources: { requests: { memory: "1Gi" }, limits: { memory: "2Gi" } } },
          { name: "proxy", resources: { requests: { memory: "64Mi" }, limits: { memory: "96Mi" } } },
        ],
        "Burstable",
      );
      const a = evictionFindings(pod);
      expect(a.container).to.equal("app");
      expect(a.findings[0]?.evidence.workingSetBytes).to.equal(1636 * MI);
      expect(a.findings[0]?.evidence.requestBytes).to.equal(1088 * MI);
      expect(a.recommendations.map((r) => [r.type, r.container, r.suggested.requests?.memory])).to.deep.equal(
        [
          ["RaiseMemoryRequest", "app", "1536Mi"],
          ["SetRequestsEqualLimits", "proxy", "96Mi"],
        ],
      );
      expect(a.recommendations[0]?.workload).to.equal("Deployment/<your-workload>");
    });

    it("no finding for running pods or evictions for disk", () => {
      const running = { ...evictedPod(REAL, [{ name: "agent" }]), status: { phase: "Running" } } as Pod;
      expect(evictionFindings(running).findings).to.deep.equal([]);
      const disk = evictedPod(
        "The node was low on resource: ephemeral-storage. Threshold quantity: 10Gi, available: 2Gi. Container x was using 5Gi, request is 0, has larger consumption of ephemeral-storage. ",
        [{ name: "x" }],
      );
      expect(evictionFindings(disk).findings).to.deep.equal([]);
    });

    it("a real eviction whose container exited 0: phase Succeeded, the message only in DisruptionTarget", () => {
      // recorded on the local cluster (Kubernetes 1.37): a BestEffort stress pod, restartPolicy Never
      const raw = JSON.parse(readFileSync("test/fixtures/pods/evicted-exit-0.json", "utf8")) as Record<
        string,
        unknown
      >;
      const pod = slimPod(raw);
      expect(pod.status.phase).to.equal("Succeeded");
      expect(pod.status.reason).to.equal(undefined);
      const { findings, recommendations, container } = evictionFindings(pod);
      expect(container).to.equal("hog");
      expect(findings).to.have.length(1);
      expect(findings[0]?.message).to.contain("eviction threshold 19051Mi");
      expect(findings[0]?.message).to.contain("container hog used 3.6 GiB against a request of 0");
      expect(findings[0]?.message).to.contain("QoS class is BestEffort");
      expect(findings[0]?.evidence.availableBytes).to.equal(18219320 * KI);
      expect(recommendations.map((r) => r.type)).to.deep.equal(["RaiseMemoryRequest"]);
    });

    it("other terminations by the kubelet (node shutdown) are not evictions for memory", () => {
      const pod = {
        ...evictedPod("", [{ name: "a" }]),
        status: {
          phase: "Failed",
          conditions: [
            {
              type: "DisruptionTarget",
              status: "True",
              reason: "TerminationByKubelet",
              message: "Pod was terminated in response to imminent node shutdown.",
            },
          ],
        },
      } as Pod;
      expect(evictionFindings(pod).findings).to.deep.equal([]);
    });

    it("QoS class from the resources when status has none", () => {
      expect(qosClassOf(evictedPod("", [{ name: "a" }]))).to.equal("BestEffort");
      expect(
        qosClassOf(evictedPod("", [{ name: "a", resources: { limits: { memory: "1Gi", cpu: "1" } } }])),
      ).to.equal("Guaranteed");
      expect(
        qosClassOf(evictedPod("", [{ name: "a", resources: { requests: { memory: "1Gi" } } }])),
      ).to.equal("Burstable");
    });
  });
});
