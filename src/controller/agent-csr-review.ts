import type { Pod } from "../kube/pod.js";
import {
  AGENT_USAGES,
  agentCommonName,
  EXTRA_NODE_NAME,
  EXTRA_POD_UID,
  MAX_AGENT_CERT_S,
  type CertificateSigningRequest,
} from "../pki/agent-certificate.js";
import { fromPem } from "../pki/der.js";
import { parseCertificateRequest, type CertificateRequest } from "../pki/csr.js";

export type Review =
  | { verdict: "approve"; request: CertificateRequest; node: string; lifetimeS: number }
  | { verdict: "deny"; reason: string }
  /** not decidable yet (the agent pod is not in the cache yet): asked again later */
  | { verdict: "wait"; reason: string };

/**
 * Whether a CertificateSigningRequest for the memlens signer may be signed. The apiserver writes
 * who made the request (spec.username, spec.extra) and nobody can forge it; with a pod-bound
 * ServiceAccount token that names the pod and its node. So a certificate is signed only when the
 * memlens-agent ServiceAccount asks from a running memlens-agent pod, for that pod's own IP
 * addresses and its own node's name, with a key it proves it holds: a stolen agent token cannot
 * get a certificate for another node's address.
 */
export function reviewAgentRequest(
  csr: CertificateSigningRequest,
  agentPods: Pod[],
  agentServiceAccount: string,
): Review {
  const deny = (reason: string): Review => ({ verdict: "deny", reason });
  const { spec } = csr;
  if (spec.username !== agentServiceAccount)
    return deny(`requested by ${spec.username ?? "(nobody)"}, not by ${agentServiceAccount}`);
  const node = spec.extra?.[EXTRA_NODE_NAME]?.[0];
  const podUID = spec.extra?.[EXTRA_POD_UID]?.[0];
  if (!node || !podUID)
    return deny("not requested with a pod-bound token: the requester's credentials name no pod and node");

  let request: CertificateRequest;
  try {
    request = parseCertificateRequest(
      fromPem("CERTIFICATE REQUEST", Buffer.from(spec.request, "base64").toString()),
    );
  } catch (err) {
    return deny(
      `the request is not a PKCS#10 certificate request: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  if (!request.signatureValid) return deny("the request is not signed by the key it asks a certificate for");
  if (request.commonName !== agentCommonName(node))
    return deny(`asks for CN=${request.commonName ?? ""}, but the requester runs on node ${node}`);
  if (request.dnsNames.length > 0 || request.otherNames > 0)
    return deny("an agent certificate names IP addresses only");
  const usages = spec.usages ?? [];
  const allowed: readonly string[] = AGENT_USAGES;
  if (!usages.includes("server auth") || usages.some((u) => !allowed.includes(u)))
    return deny(`usages ${JSON.stringify(usages)}: an agent certificate is for server auth only`);

  const pod = agentPods.find((p) => p.metadata.uid === podUID);
  if (!pod) return { verdict: "wait", reason: `no running memlens-agent pod with UID ${podUID} (yet)` };
  if (pod.spec.nodeName !== node)
    return deny(`the agent pod runs on ${pod.spec.nodeName ?? "no node"}, not ${node}`);
  const podIPs = pod.status.podIP ? [pod.status.podIP] : [];
  const foreign = request.ips.filter((ip) => !podIPs.includes(ip));
  if (request.ips.length === 0 || foreign.length > 0)
    return deny(
      `asks for IP ${JSON.stringify(request.ips)}, the agent pod ${pod.metadata.name} has ${JSON.stringify(podIPs)}`,
    );
  const lifetimeS = Math.min(spec.expirationSeconds ?? MAX_AGENT_CERT_S, MAX_AGENT_CERT_S);
  return { verdict: "approve", request, node, lifetimeS };
}
