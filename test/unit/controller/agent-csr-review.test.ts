import { expect } from "chai";
import { reviewAgentRequest } from "../../../src/controller/agent-csr-review.js";
import type { Pod } from "../../../src/kube/pod.js";
import type { CertificateSigningRequest } from "../../../src/pki/agent-certificate.js";
import { newKey } from "../../../src/pki/certificate.js";
import { certificateRequestPem, type CertificateRequestSpec } from "../../../src/pki/csr.js";

const AGENT_SA = "system:serviceaccount:memlens-system:memlens-agent";
const agentPod: Pod = {
  metadata: { name: "memlens-agent-x1", namespace: "memlens-system", uid: "pod-uid-1" },
  spec: { nodeName: "node-1", containers: [] },
  status: { phase: "Running", podIP: "10.0.0.7" },
};
const good: CertificateRequestSpec = { commonName: "memlens-agent:node-1", dnsNames: [], ips: ["10.0.0.7"] };

function csr(
  over: {
    request?: CertificateRequestSpec;
    username?: string;
    extra?: Record<string, string[]>;
    usages?: string[];
    forgedKey?: boolean;
  } = {},
): CertificateSigningRequest {
  const key = newKey();
  const signing = over.forgedKey ? { publicKey: key.publicKey, privateKey: newKey().privateKey } : key;
  return {
    metadata: { name: "memlens-agent-node-1-abcde", uid: "csr-uid" },
    spec: {
      request: Buffer.from(certificateRequestPem(over.request ?? good, signing)).toString("base64"),
      signerName: "memlens.dev/agent-serving",
      usages: over.usages ?? ["digital signature", "key encipherment", "server auth"],
      expirationSeconds: 86_400,
      username: over.username ?? AGENT_SA,
      extra: over.extra ?? {
        "authentication.kubernetes.io/node-name": ["node-1"],
        "authentication.kubernetes.io/pod-uid": ["pod-uid-1"],
      },
    },
  };
}

describe("reviewAgentRequest: what the memlens signer signs", () => {
  it("the agent pod's own request for its own IP and node: approved, for the asked lifetime", () => {
    const r = reviewAgentRequest(csr(), [agentPod], AGENT_SA);
    expect(r.verdict).to.equal("approve");
    if (r.verdict === "approve") {
      expect(r.node).to.equal("node-1");
      expect(r.request.ips).to.deep.equal(["10.0.0.7"]);
      expect(r.lifetimeS).to.equal(86_400);
    }
  });

  const refused: [string, CertificateSigningRequest, RegExp][] = [
    [
      "another ServiceAccount",
      csr({ username: "system:serviceaccount:default:intruder" }),
      /not by system:serviceaccount:memlens-system:memlens-agent/,
    ],
    ["a token bound to no pod (no node, no pod in the credentials)", csr({ extra: {} }), /pod-bound token/],
    [
      "another node's name in the certificate",
      csr({ request: { ...good, commonName: "memlens-agent:node-2" } }),
      /runs on node node-1/,
    ],
    ["a DNS name", csr({ request: { ...good, dnsNames: ["kubernetes.default.svc"] } }), /IP addresses only/],
    [
      "an address that is not the agent pod's",
      csr({ request: { ...good, ips: ["10.0.0.8"] } }),
      /has \["10.0.0.7"\]/,
    ],
    ["no address", csr({ request: { ...good, ips: [] } }), /asks for IP \[\]/],
    ["client auth", csr({ usages: ["digital signature", "client auth"] }), /server auth only/],
    ["a key it does not hold", csr({ forgedKey: true }), /not signed by the key/],
    [
      "a pod that is on another node than its token says",
      csr({
        extra: {
          "authentication.kubernetes.io/node-name": ["node-2"],
          "authentication.kubernetes.io/pod-uid": ["pod-uid-1"],
        },
        request: { ...good, commonName: "memlens-agent:node-2" },
      }),
      /runs on node-1, not node-2/,
    ],
  ];
  for (const [what, request, reason] of refused)
    it(`denies ${what}`, () => {
      const r = reviewAgentRequest(request, [agentPod], AGENT_SA);
      expect(r.verdict).to.equal("deny");
      if (r.verdict === "deny") expect(r.reason).to.match(reason);
    });

  it("a malformed request is denied with the parse error", () => {
    const bad = csr();
    bad.spec.request = Buffer.from(
      "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
    ).toString("base64");
    const r = reviewAgentRequest(bad, [agentPod], AGENT_SA);
    expect(r.verdict).to.equal("deny");
    if (r.verdict === "deny") expect(r.reason).to.match(/not a PKCS#10/);
  });

  it("waits while the requesting pod is not (yet) a running agent pod in the cache", () => {
    expect(reviewAgentRequest(csr(), [], AGENT_SA).verdict).to.equal("wait");
  });

  it("caps the lifetime at 7 days", () => {
    const long = csr();
    long.spec.expirationSeconds = 365 * 86_400;
    const r = reviewAgentRequest(long, [agentPod], AGENT_SA);
    expect(r.verdict === "approve" && r.lifetimeS).to.equal(7 * 86_400);
  });
});
