import { existsSync, readFileSync } from "node:fs";
import { Agent } from "node:https";
import { dirname, isAbsolute, join } from "node:path";
import { parse } from "yaml";
import type { ClusterAccess } from "./client.js";

interface Kubeconfig {
  "current-context"?: string;
  contexts?: { name: string; context?: { cluster?: string; user?: string; namespace?: string } }[];
  clusters?: { name: string; cluster?: Record<string, unknown> }[];
  users?: { name: string; user?: Record<string, unknown> }[];
}

/** what this reader understands of a cluster and a user; anything else goes to client-node */
const CLUSTER_KEYS = new Set([
  "server",
  "certificate-authority",
  "certificate-authority-data",
  "insecure-skip-tls-verify",
  "tls-server-name",
]);
const USER_KEYS = new Set([
  "token",
  "tokenFile",
  "client-certificate",
  "client-certificate-data",
  "client-key",
  "client-key-data",
]);

/**
 * A kubeconfig file whose current context authenticates with a bearer token or a client
 * certificate, read directly: @kubernetes/client-node costs ~80 MiB of memory to load and makes
 * a new HTTPS agent (a new TLS connection) per request. Requests here share one keep-alive
 * agent. Undefined for anything more (exec plugins, auth providers, proxies, several files):
 * the caller then uses client-node.
 */
export function simpleKubeconfigAccess(
  path: string,
  now = () => Date.now(),
  context?: string,
): ClusterAccess | undefined {
  if (path.includes(":") || !existsSync(path)) return undefined;
  const kc = parse(readFileSync(path, "utf8")) as Kubeconfig | null;
  const ctx = kc?.contexts?.find((c) => c.name === (context ?? kc["current-context"]))?.context;
  if (context !== undefined && !ctx) throw new Error(`context "${context}" is not in the kubeconfig ${path}`);
  const cluster = kc?.clusters?.find((c) => c.name === ctx?.cluster)?.cluster;
  const user = kc?.users?.find((u) => u.name === ctx?.user)?.user ?? {};
  if (!cluster || typeof cluster.server !== "string") return undefined;
  if (Object.keys(cluster).some((k) => !CLUSTER_KEYS.has(k))) return undefined;
  if (Object.keys(user).some((k) => !USER_KEYS.has(k))) return undefined;

  const dir = dirname(path);
  const file = (p: unknown) => readFileSync(isAbsolute(String(p)) ? String(p) : join(dir, String(p)));
  const pem = (data: unknown, p: unknown) =>
    typeof data === "string" ? Buffer.from(data, "base64") : p !== undefined ? file(p) : undefined;
  // as Node's global agent: idle sockets closed after 5 s, before the server drops them
  const agent = new Agent({
    keepAlive: true,
    timeout: 5000,
    scheduling: "lifo",
    ca: pem(cluster["certificate-authority-data"], cluster["certificate-authority"]),
    cert: pem(user["client-certificate-data"], user["client-certificate"]),
    key: pem(user["client-key-data"], user["client-key"]),
    rejectUnauthorized: cluster["insecure-skip-tls-verify"] !== true,
    ...(typeof cluster["tls-server-name"] === "string" ? { servername: cluster["tls-server-name"] } : {}),
  });
  let token = { value: typeof user.token === "string" ? user.token : "", readAt: now() };
  const tokenFile = user.tokenFile;
  return {
    server: cluster.server,
    ...(ctx?.namespace ? { namespace: ctx.namespace } : {}),
    applyToHTTPSOptions(opts) {
      // a token file is re-read every minute, as client-go does (it may be rotated)
      if (tokenFile !== undefined && (!token.value || now() - token.readAt > 60_000))
        token = { value: file(tokenFile).toString("utf8").trim(), readAt: now() };
      opts.agent = agent;
      if (token.value) opts.headers = { ...opts.headers, Authorization: `Bearer ${token.value}` };
      return Promise.resolve();
    },
  };
}
