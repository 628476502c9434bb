import { readFile } from "node:fs/promises";
import type { RequestOptions } from "node:https";
import { checkServerIdentity, type PeerCertificate } from "node:tls";
import { errMessage } from "../kube/informer.js";
import { agentCommonName } from "../pki/agent-certificate.js";
import type { AgentCA } from "./agent-ca.js";

/**
 * How the controller calls an agent, both ways authenticated: it shows its token for the agent
 * audience, and believes only an agent whose certificate the memlens agent CA signed for the
 * address it dials (the agent pod's IP) and for the node it expects that agent on.
 */
export class AgentAccess {
  private token?: { value: string; readAt: number };

  constructor(
    /** the ServiceAccount token the agents check (re-read: the kubelet rotates it) */
    private readonly tokenFile: string,
    private readonly ca: Pick<AgentCA, "get">,
  ) {}

  async bearer(): Promise<string> {
    if (!this.token || Date.now() - this.token.readAt > 60_000) {
      this.token = { value: (await readFile(this.tokenFile, "utf8")).trim(), readAt: Date.now() };
    }
    return this.token.value;
  }

  /** The options of a request to the agent of `node`, reached on `host` (its pod IP). */
  async request(node: string, host: string, port: number, path: string): Promise<RequestOptions> {
    const [token, ca] = await Promise.all([this.bearer(), this.ca.get()]);
    return {
      host,
      port,
      path,
      headers: { Authorization: `Bearer ${token}` },
      ca: ca.certPem,
      checkServerIdentity: (name: string, cert: PeerCertificate) => {
        const wrongAddress = checkServerIdentity(name, cert);
        if (wrongAddress) return wrongAddress;
        const cn = cert.subject?.CN;
        if (cn !== agentCommonName(node))
          return Object.assign(new Error(`its certificate is for ${String(cn)}, not for node ${node}`), {
            code: "ERR_MEMLENS_AGENT_CERT_NODE",
          });
        return undefined;
      },
    };
  }
}

/** Why a call to a node's agent failed, in the words an AgentUnavailable condition uses. */
export function agentFailure(node: string, err: unknown): string {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code === "string" && /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)/.test(code))
    return `the memlens agent on node ${node} presented a certificate the controller does not trust (${errMessage(err)}): only certificates from the memlens agent signer are accepted`;
  return `the memlens agent on node ${node} did not answer: ${errMessage(err)}`;
}
