/**
 * How the agents' serving certificates are named and asked for: the contract between the agent
 * (which asks, src/agent/serving-certificate.ts) and the controller (which signs,
 * src/controller/agent-signer.ts, and verifies, src/controller/agent-access.ts).
 */

/** The signerName of the agents' CertificateSigningRequests: the controller is its signer. */
export const AGENT_SIGNER_NAME = "memlens.dev/agent-serving";

/** The Secret (in the controller's namespace) holding the CA the signer signs with. */
export const AGENT_CA_SECRET = "memlens-agent-ca";

/** The subject an agent's certificate carries: it names the node, which the controller checks. */
export const agentCommonName = (node: string) => `memlens-agent:${node}`;

/** The key usages an agent asks for, as CertificateSigningRequest spells them. */
export const AGENT_USAGES = ["digital signature", "key encipherment", "server auth"] as const;

/** The longest certificate the signer issues; an agent asks for less and renews at 70–90 % of it. */
export const MAX_AGENT_CERT_S = 7 * 86_400;

/** The credential details the apiserver puts in a request made with a pod-bound ServiceAccount token. */
export const EXTRA_NODE_NAME = "authentication.kubernetes.io/node-name";
export const EXTRA_POD_UID = "authentication.kubernetes.io/pod-uid";

/** The part of a certificates.k8s.io/v1 CertificateSigningRequest memlens reads and writes. */
export interface CertificateSigningRequest {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; uid: string; resourceVersion?: string; creationTimestamp?: string };
  spec: {
    request: string;
    signerName: string;
    usages?: string[];
    expirationSeconds?: number;
    username?: string;
    extra?: Record<string, string[]>;
  };
  status?: {
    certificate?: string;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
  };
}

export const CSR_PATH = "/apis/certificates.k8s.io/v1/certificatesigningrequests";

/** Approved, Denied or Failed: the conditions a signer and an approver set. */
export const csrCondition = (csr: CertificateSigningRequest, type: "Approved" | "Denied" | "Failed") =>
  csr.status?.conditions?.find((c) => c.type === type && c.status === "True");
