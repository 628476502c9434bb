import type { Logger } from "pino";
import { ApiError, type KubeClient } from "../kube/client.js";
import { errMessage } from "../kube/informer.js";
import { AGENT_CA_SECRET } from "../pki/agent-certificate.js";
import { createCA, type KeyPairPem } from "../pki/certificate.js";

const CA_YEARS = 10;
/** after a failed read, callers get the same error for this long instead of a request each */
const RETRY_MS = 5_000;

interface TlsSecret {
  data?: { "tls.crt"?: string; "tls.key"?: string };
}

/**
 * The CA that signs the agents' serving certificates, kept in the Secret memlens-agent-ca in the
 * controller's namespace: made by the first controller that finds none (a concurrent maker
 * loses the create and reads the winner's), read by every replica, since all of them verify
 * agents. Only the controller's ServiceAccount may read that Secret.
 */
export class AgentCA {
  private pair?: KeyPairPem;
  private failed?: { err: Error; at: number };
  private loading?: Promise<KeyPairPem>;

  constructor(
    private readonly client: KubeClient,
    private readonly namespace: string,
    private readonly log: Logger,
  ) {}

  /** the CA, loaded (or made) on first use */
  async get(): Promise<KeyPairPem> {
    if (this.pair) return this.pair;
    if (this.failed && Date.now() - this.failed.at < RETRY_MS) throw this.failed.err;
    this.loading ??= this.load().finally(() => (this.loading = undefined));
    return this.loading;
  }

  private async load(): Promise<KeyPairPem> {
    try {
      this.pair = (await this.read()) ?? (await this.create());
      this.failed = undefined;
      return this.pair;
    } catch (err) {
      const e = new Error(
        `the agent CA (Secret ${this.namespace}/${AGENT_CA_SECRET}) could not be loaded: ${errMessage(err)}`,
      );
      this.failed = { err: e, at: Date.now() };
      throw e;
    }
  }

  private get path(): string {
    return `/api/v1/namespaces/${this.namespace}/secrets`;
  }

  private async read(): Promise<KeyPairPem | undefined> {
    try {
      const secret = await this.client.request<TlsSecret>("GET", `${this.path}/${AGENT_CA_SECRET}`);
      const cert = secret.data?.["tls.crt"];
      const key = secret.data?.["tls.key"];
      if (!cert || !key) throw new Error("the Secret has no tls.crt and tls.key");
      return {
        certPem: Buffer.from(cert, "base64").toString(),
        keyPem: Buffer.from(key, "base64").toString(),
      };
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  private async create(): Promise<KeyPairPem> {
    const pair = createCA("memlens agent CA", CA_YEARS);
    try {
      await this.client.request("POST", this.path, {
        body: {
          apiVersion: "v1",
          kind: "Secret",
          type: "kubernetes.io/tls",
          metadata: { name: AGENT_CA_SECRET, labels: { "app.kubernetes.io/name": "memlens" } },
          data: {
            "tls.crt": Buffer.from(pair.certPem).toString("base64"),
            "tls.key": Buffer.from(pair.keyPem).toString("base64"),
          },
        },
      });
      this.log.info({ secret: `${this.namespace}/${AGENT_CA_SECRET}` }, "agent CA created");
      return pair;
    } catch (err) {
      // another replica made it first: theirs is the one
      if (err instanceof ApiError && err.status === 409) {
        const theirs = await this.read();
        if (theirs) return theirs;
      }
      throw err;
    }
  }
}
