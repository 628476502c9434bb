import { request as httpsRequest, type RequestOptions } from "node:https";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { simpleKubeconfigAccess } from "./kubeconfig.js";

/** An error answered by the apiserver (or the transport), with the HTTP status when there was one. */
export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly reason?: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

export const isNotFound = (e: unknown) => e instanceof ApiError && e.status === 404;
export const isConflict = (e: unknown) => e instanceof ApiError && e.status === 409;
export const isGone = (e: unknown) => e instanceof ApiError && e.status === 410;
/** 422: admission or validation refused the object (its message names the field) */
export const isInvalid = (e: unknown): e is ApiError => e instanceof ApiError && e.status === 422;

export interface RequestInit {
  body?: unknown;
  contentType?: string;
  query?: Record<string, string | number | boolean | undefined>;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Where the apiserver is and how to authenticate to it: what KubeClient needs of a kubeconfig. */
export interface ClusterAccess {
  server: string;
  /** the kubeconfig context's namespace, where it names one */
  namespace?: string;
  applyToHTTPSOptions(opts: RequestOptions): Promise<void>;
}

const SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/**
 * The pod's ServiceAccount, read directly: the agent and the controller need nothing else of a
 * kubeconfig in a cluster, and @kubernetes/client-node alone costs ~55 MiB of memory to load.
 * The token is re-read every minute (the kubelet rotates it).
 */
export function inClusterAccess(dir = SA_DIR): ClusterAccess {
  const host = process.env.KUBERNETES_SERVICE_HOST ?? "";
  const port = process.env.KUBERNETES_SERVICE_PORT ?? "443";
  const ca = readFileSync(`${dir}/ca.crt`);
  let token = { value: "", readAt: 0 };
  return {
    server: `https://${host.includes(":") ? `[${host}]` : host}:${port}`,
    applyToHTTPSOptions(opts) {
      if (Date.now() - token.readAt > 60_000)
        token = { value: readFileSync(`${dir}/token`, "utf8").trim(), readAt: Date.now() };
      opts.ca = ca;
      opts.headers = { ...opts.headers, Authorization: `Bearer ${token.value}` };
      return Promise.resolve();
    },
  };
}

/** What a person may choose as kubectl lets them: --kubeconfig and --context. */
export interface AccessChoice {
  kubeconfig?: string;
  context?: string;
}

/**
 * The ServiceAccount inside a cluster; else the kubeconfig (--kubeconfig, KUBECONFIG or
 * ~/.kube/config) with its current context or the one chosen, read directly when it holds a token
 * or a client certificate, else through client-node.
 */
export async function loadClusterAccess(choice: AccessChoice = {}): Promise<ClusterAccess> {
  const chosen = choice.kubeconfig ?? process.env.KUBECONFIG;
  if (process.env.KUBERNETES_SERVICE_HOST && !chosen && !choice.context) return inClusterAccess();
  const path = chosen || join(homedir(), ".kube", "config");
  const simple = simpleKubeconfigAccess(path, undefined, choice.context);
  if (simple) return simple;
  // an optional dependency: images for the cluster leave it out (in a pod it is never needed)
  const { KubeConfig } = await import("@kubernetes/client-node").catch(() => {
    throw new Error(
      "this kubeconfig needs more than a token or a client certificate (an exec plugin, an auth provider, " +
        "a proxy or several files): install the optional dependency @kubernetes/client-node",
    );
  });
  const kc = new KubeConfig();
  if (choice.kubeconfig) kc.loadFromFile(choice.kubeconfig);
  else kc.loadFromDefault();
  if (choice.context) kc.setCurrentContext(choice.context);
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error("the kubeconfig has no current cluster");
  const namespace = kc.getContextObject(kc.getCurrentContext())?.namespace;
  return {
    server: cluster.server,
    ...(namespace ? { namespace } : {}),
    applyToHTTPSOptions: (opts) => kc.applyToHTTPSOptions(opts),
  };
}

/**
 * A thin JSON client over the apiserver's REST paths. It owns timeouts, content types and
 * streaming (watch) itself, so that every call is explicit about what it sends; KubeConfig
 * supplies the address, TLS and credentials.
 */
export class KubeClient {
  readonly server: URL;
  constructor(private readonly access: ClusterAccess) {
    this.server = new URL(access.server);
  }

  private async open(method: string, path: string, init: RequestInit): Promise<IncomingMessage> {
    const url = new URL(path, this.server);
    for (const [k, v] of Object.entries(init.query ?? {}))
      if (v !== undefined) url.searchParams.set(k, String(v));
    const opts: RequestOptions = {
      method,
      hostname: url.hostname,
      port: url.port,
      path: url.pathname + url.search,
      headers: { Accept: "application/json" },
    };
    await this.access.applyToHTTPSOptions(opts);
    const body = init.body === undefined ? undefined : JSON.stringify(init.body);
    if (body !== undefined) {
      opts.headers = {
        ...opts.headers,
        "Content-Type": init.contentType ?? "application/json",
        "Content-Length": Buffer.byteLength(body),
      };
    }
    const send = url.protocol === "https:" ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(opts, resolve);
      const timeout = init.timeoutMs ?? 30_000;
      req.setTimeout(timeout, () =>
        req.destroy(
          new ApiError(`${method} ${url.pathname}: no answer in ${timeout} ms`, undefined, "Timeout"),
        ),
      );
      req.on("error", (err) =>
        reject(
          err instanceof ApiError
            ? err
            : new ApiError(`${method} ${url.pathname}: ${err.message}`, undefined, "Transport"),
        ),
      );
      // removed when the request closes: an informer passes one signal to every list and
      // watch it makes, and each listener would keep its finished request alive
      const signal = init.signal;
      if (signal) {
        const onAbort = () => req.destroy(new ApiError("aborted", undefined, "Aborted"));
        signal.addEventListener("abort", onAbort, { once: true });
        req.once("close", () => signal.removeEventListener("abort", onAbort));
      }
      req.end(body);
    });
  }

  /** One request; resolves to the parsed JSON answer, rejects with ApiError on non-2xx. */
  async request<T>(method: string, path: string, init: RequestInit = {}): Promise<T> {
    const res = await this.open(method, path, init);
    const chunks: Buffer[] = [];
    for await (const chunk of res) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    const status = res.statusCode ?? 0;
    if (status < 200 || status > 299) {
      let message = text.slice(0, 500);
      let reason: string | undefined;
      try {
        const s = JSON.parse(text) as { message?: string; reason?: string };
        message = s.message ?? message;
        reason = s.reason;
      } catch {
        // not a Status object: keep the raw text
      }
      const retryAfter = Number(res.headers["retry-after"]);
      throw new ApiError(
        `${method} ${path}: ${status} ${message}`,
        status,
        reason,
        Number.isFinite(retryAfter) ? retryAfter * 1000 : undefined,
      );
    }
    return (text ? JSON.parse(text) : {}) as T;
  }

  get<T>(path: string, init?: RequestInit) {
    return this.request<T>("GET", path, init);
  }

  /**
   * A watch stream: calls onEvent per event until the server closes it (resolves), or fails
   * (rejects). `idleMs` ends a stream that stays silent past it: a stalled watch is not an error.
   */
  async watch(
    path: string,
    query: Record<string, string | number | boolean | undefined>,
    onEvent: (type: string, object: Record<string, unknown>) => void,
    opts: { idleMs: number; signal?: AbortSignal },
  ): Promise<void> {
    const res = await this.open("GET", path, {
      query: { ...query, watch: true },
      timeoutMs: opts.idleMs,
      signal: opts.signal,
    });
    if (res.statusCode !== 200) {
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      throw new ApiError(
        `watch ${path}: ${res.statusCode} ${Buffer.concat(chunks).toString("utf8").slice(0, 300)}`,
        res.statusCode,
      );
    }
    res.socket.setKeepAlive(true, 15_000);
    let idle = setTimeout(() => res.destroy(), opts.idleMs);
    let buffer = "";
    try {
      for await (const chunk of res) {
        clearTimeout(idle);
        idle = setTimeout(() => res.destroy(), opts.idleMs);
        buffer += (chunk as Buffer).toString("utf8");
        let nl: number;
        while ((nl = buffer.indexOf("\n")) >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          if (!line.trim()) continue;
          const ev = JSON.parse(line) as { type: string; object: Record<string, unknown> };
          onEvent(ev.type, ev.object);
        }
      }
    } catch (err) {
      // a destroyed (idle or aborted) stream ends the watch quietly; the caller re-watches
      if (!res.destroyed) throw err;
    } finally {
      clearTimeout(idle);
    }
  }
}
