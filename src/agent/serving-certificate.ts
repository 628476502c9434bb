import { X509Certificate } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import type { KubeClient } from "../kube/client.js";
import { errMessage } from "../kube/informer.js";
import {
  AGENT_SIGNER_NAME,
  AGENT_USAGES,
  agentCommonName,
  CSR_PATH,
  csrCondition,
  type CertificateSigningRequest,
} from "../pki/agent-certificate.js";
import { newKey, privateKeyPem, type KeyPairPem } from "../pki/certificate.js";
import { certificateRequestPem } from "../pki/csr.js";

export interface ServingCertificateOptions {
  kube: KubeClient;
  node: string;
  /** the addresses the controller reaches this agent on (its pod IPs) */
  ips: string[];
  lifetimeS: number;
  /** hands a new certificate to the server (new connections use it; open ones keep theirs) */
  install: (pair: KeyPairPem, notAfter: Date) => void;
  log: Logger;
}

const RETRY_MIN_MS = 5_000;
const RETRY_MAX_MS = 5 * 60_000;
/** a request nobody signs in this long is given up and asked again (the controller may be down) */
const SIGN_WAIT_MS = 5 * 60_000;

/**
 * When to ask for the next certificate: at 70–90 % of this one's life, spread by `random` (0–1)
 * so that agents started together do not all ask at once (the kubelet's rule for its own).
 */
export const renewalTime = (validFrom: number, validTo: number, random: number) =>
  validFrom + (validTo - validFrom) * (0.7 + 0.2 * random);

/**
 * The agent's serving certificate from the memlens signer, kept fresh: a new key and a
 * CertificateSigningRequest (signerName memlens.dev/agent-serving, the agent's pod IPs, CN naming
 * its node) made with the agent pod's own ServiceAccount token, which tells the signer which pod
 * and node ask; then, as the kubelet does for its own, a renewal at a random 70–90 % of the
 * lifetime, retried with backoff while the current one still serves. The private key never
 * leaves the process.
 */
export class ServingCertificate {
  private timer?: NodeJS.Timeout;
  private readonly stopped = new AbortController();
  private retryMs = RETRY_MIN_MS;
  /** when the signed certificate in use expires */
  private notAfter?: Date;
  /** why there is no signed certificate (yet), for /readyz */
  pending = "no CertificateSigningRequest made yet";

  constructor(private readonly opts: ServingCertificateOptions) {}

  get ready(): boolean {
    return this.notAfter !== undefined && this.notAfter.getTime() > Date.now();
  }

  start(): void {
    void this.renew();
  }

  stop(): void {
    this.stopped.abort();
    clearTimeout(this.timer);
  }

  private async renew(): Promise<void> {
    const { log, node } = this.opts;
    try {
      const { pair, csr } = await this.obtain();
      if (this.stopped.signal.aborted) return;
      const cert = new X509Certificate(pair.certPem);
      const [from, to] = [Date.parse(cert.validFrom), Date.parse(cert.validTo)];
      this.opts.install(pair, new Date(to));
      this.notAfter = new Date(to);
      this.retryMs = RETRY_MIN_MS;
      const renewAt = renewalTime(from, to, Math.random());
      log.info(
        { node, csr, notAfter: cert.validTo, renewAt: new Date(renewAt).toISOString() },
        "serving certificate issued by the memlens signer",
      );
      this.schedule(Math.max(renewAt - Date.now(), 1000));
    } catch (err) {
      if (this.stopped.signal.aborted) return;
      this.pending = errMessage(err);
      log.warn({ node, err: this.pending, retryInMs: this.retryMs }, "serving certificate not obtained");
      this.schedule(this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
    }
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.renew(), Math.min(ms, 2 ** 31 - 1)).unref();
  }

  private async obtain(): Promise<{ pair: KeyPairPem; csr: string }> {
    const { kube, node, ips, lifetimeS } = this.opts;
    const key = newKey();
    const request = certificateRequestPem({ commonName: agentCommonName(node), dnsNames: [], ips }, key);
    const created = await kube.request<CertificateSigningRequest>("POST", CSR_PATH, {
      body: {
        apiVersion: "certificates.k8s.io/v1",
        kind: "CertificateSigningRequest",
        metadata: { generateName: `memlens-agent-${node}-`.slice(0, 200) },
        spec: {
          request: Buffer.from(request).toString("base64"),
          signerName: AGENT_SIGNER_NAME,
          usages: AGENT_USAGES,
          expirationSeconds: lifetimeS,
        },
      },
    });
    const name = created.metadata.name;
    this.pending = `CertificateSigningRequest ${name} not signed yet`;
    const deadline = Date.now() + SIGN_WAIT_MS;
    for (let delay = 250; ; delay = Math.min(delay * 2, 5000)) {
      await sleep(delay, undefined, { signal: this.stopped.signal });
      const csr = await kube.request<CertificateSigningRequest>("GET", `${CSR_PATH}/${name}`);
      const refused = csrCondition(csr, "Denied") ?? csrCondition(csr, "Failed");
      if (refused)
        throw new Error(
          `CertificateSigningRequest ${name} ${refused.type.toLowerCase()}: ${refused.message ?? ""}`,
        );
      const certificate = csr.status?.certificate;
      if (certificate) {
        const certPem = Buffer.from(certificate, "base64").toString("utf8");
        const ours = key.publicKey.export({ type: "spki", format: "der" });
        const theirs = new X509Certificate(certPem).publicKey.export({ type: "spki", format: "der" });
        if (!ours.equals(theirs))
          throw new Error(`CertificateSigningRequest ${name} was signed for another key`);
        return { pair: { certPem, keyPem: privateKeyPem(key.privateKey) }, csr: name };
      }
      if (Date.now() > deadline)
        throw new Error(
          `CertificateSigningRequest ${name} not signed in ${SIGN_WAIT_MS / 60_000} min: is the memlens controller running?`,
        );
    }
  }
}
