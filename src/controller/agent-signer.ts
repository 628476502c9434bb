import { X509Certificate } from "node:crypto";
import type { Logger } from "pino";
import type { KubeClient } from "../kube/client.js";
import { errMessage, Informer } from "../kube/informer.js";
import {
  AGENT_SIGNER_NAME,
  CSR_PATH,
  csrCondition,
  type CertificateSigningRequest,
} from "../pki/agent-certificate.js";
import { signServingCert } from "../pki/certificate.js";
import type { AgentCA } from "./agent-ca.js";
import { reviewAgentRequest, type Review } from "./agent-csr-review.js";
import { runningAgents } from "./agents.js";
import type { PodLookup } from "./targets.js";

export interface AgentSignerOptions {
  client: KubeClient;
  ca: AgentCA;
  /** the pod cache: the requesting agent pod must be in it, running on the node it names */
  pods: PodLookup;
  /** where the agents run (their ServiceAccount is memlens-agent there) */
  namespace: string;
  log: Logger;
}

/** a request whose agent pod the cache does not show is looked at again after this */
const RECHECK_MS = 2_000;
/** ... and denied when it still does not after this */
const GIVE_UP_MS = 2 * 60_000;

/**
 * The signer of memlens.dev/agent-serving (run by the leading controller): watches the
 * CertificateSigningRequests for it, approves or denies each one after reviewAgentRequest, and
 * signs the approved ones with the agent CA. A request someone else approved is still reviewed
 * before it is signed (a signer must not trust the approver); one that fails is marked Failed.
 */
export class AgentSigner {
  private readonly requests: Informer<CertificateSigningRequest>;
  private readonly busy = new Set<string>();
  private readonly rechecks = new Map<string, NodeJS.Timeout>();

  constructor(private readonly opts: AgentSignerOptions) {
    this.requests = new Informer<CertificateSigningRequest>(opts.client, {
      path: CSR_PATH,
      fieldSelector: `spec.signerName=${AGENT_SIGNER_NAME}`,
      transform: (raw) => raw as unknown as CertificateSigningRequest,
      log: opts.log,
    });
    this.requests.on((event, csr) => {
      if (event !== "delete") void this.handle(csr.metadata.name);
    });
  }

  start(): void {
    this.requests.start();
  }

  async stop(): Promise<void> {
    for (const t of this.rechecks.values()) clearTimeout(t);
    this.rechecks.clear();
    await this.requests.stop();
  }

  private get serviceAccount(): string {
    return `system:serviceaccount:${this.opts.namespace}:memlens-agent`;
  }

  private async handle(name: string): Promise<void> {
    const csr = this.requests.get(name);
    if (!csr || this.busy.has(name) || settled(csr)) return;
    this.busy.add(name);
    const log = this.opts.log.child({ csr: name });
    try {
      const review = reviewAgentRequest(
        csr,
        runningAgents(this.opts.pods, this.opts.namespace),
        this.serviceAccount,
      );
      // awaited here, so that a refused conclusion is caught below: the recheck's timer calls
      // handle without waiting, and a rejection left to it stopped the controller
      if (review.verdict === "wait") return await this.recheck(csr, review.reason);
      if (review.verdict === "deny") {
        log.warn({ username: csr.spec.username, reason: review.reason }, "agent certificate request refused");
        await this.conclude(csr, csrCondition(csr, "Approved") ? "Failed" : "Denied", review.reason);
        return;
      }
      const approved = csrCondition(csr, "Approved") ? csr : await this.approve(csr, review);
      await this.sign(approved, review);
      log.info({ node: review.node, ips: review.request.ips }, "agent serving certificate signed");
    } catch (err) {
      // the next update of the request (or the informer's relist) tries again
      log.warn({ err: errMessage(err) }, "agent certificate request not handled");
    } finally {
      this.busy.delete(name);
    }
  }

  private recheck(csr: CertificateSigningRequest, reason: string): Promise<void> | void {
    const name = csr.metadata.name;
    const age = Date.now() - Date.parse(csr.metadata.creationTimestamp ?? new Date().toISOString());
    if (age > GIVE_UP_MS) return this.conclude(csr, "Denied", reason);
    clearTimeout(this.rechecks.get(name));
    this.rechecks.set(
      name,
      setTimeout(() => {
        this.rechecks.delete(name);
        void this.handle(name);
      }, RECHECK_MS).unref(),
    );
  }

  private approve(csr: CertificateSigningRequest, review: Review & { verdict: "approve" }) {
    const message = `memlens agent on node ${review.node}, for ${review.request.ips.join(", ")}`;
    return this.put(csr, "approval", { conditions: [...conditions(csr), condition("Approved", message)] });
  }

  private async sign(csr: CertificateSigningRequest, review: Review & { verdict: "approve" }): Promise<void> {
    const ca = await this.opts.ca.get();
    const caEnd = Date.parse(new X509Certificate(ca.certPem).validTo);
    const certPem = signServingCert(
      ca,
      {
        commonName: review.request.commonName ?? "",
        publicKey: review.request.publicKey,
        ips: review.request.ips,
      },
      new Date(Math.min(Date.now() + review.lifetimeS * 1000, caEnd)),
    );
    await this.put(csr, "status", {
      conditions: conditions(csr),
      certificate: Buffer.from(certPem).toString("base64"),
    });
  }

  private async conclude(
    csr: CertificateSigningRequest,
    type: "Denied" | "Failed",
    reason: string,
  ): Promise<void> {
    await this.put(csr, type === "Denied" ? "approval" : "status", {
      conditions: [...conditions(csr), condition(type, reason)],
    });
  }

  private put(
    csr: CertificateSigningRequest,
    subresource: "approval" | "status",
    status: NonNullable<CertificateSigningRequest["status"]>,
  ): Promise<CertificateSigningRequest> {
    return this.opts.client.request<CertificateSigningRequest>(
      "PUT",
      `${CSR_PATH}/${csr.metadata.name}/${subresource}`,
      {
        body: { ...csr, apiVersion: "certificates.k8s.io/v1", kind: "CertificateSigningRequest", status },
      },
    );
  }
}

const settled = (csr: CertificateSigningRequest) =>
  Boolean(csr.status?.certificate) ||
  Boolean(csrCondition(csr, "Denied")) ||
  Boolean(csrCondition(csr, "Failed"));

const conditions = (csr: CertificateSigningRequest) => csr.status?.conditions ?? [];

function condition(type: "Approved" | "Denied" | "Failed", message: string) {
  const reason = type === "Approved" ? "MemlensAgentVerified" : "MemlensAgentNotVerified";
  return { type, status: "True", reason, message, lastUpdateTime: new Date().toISOString() };
}
