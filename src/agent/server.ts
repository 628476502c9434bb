import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { containersResponse, type ContainersQuery } from "./api.js";
import type { TokenAuthorizer } from "./auth.js";
import type { AgentMetrics } from "./metrics.js";
import type { PodSource } from "./pods.js";
import type { Sampler } from "./sampler.js";
import type { HistoryStore } from "./store.js";
import type { OomKillFeed, OomKillsHello } from "./oom-kills.js";

/** An idle stream still says something this often, so that neither side takes it for dead. */
const STREAM_KEEPALIVE_MS = 15_000;

export interface AgentServerOptions {
  tls: { cert: string; key: string };
  store: HistoryStore;
  sampler: Pick<Sampler, "ready" | "version">;
  pods: PodSource;
  node: string;
  periodS: number;
  /** undefined = --auth none (loopback only; checked by the command) */
  auth: TokenAuthorizer | undefined;
  metrics: AgentMetrics;
  oomKills: OomKillFeed;
  log: Logger;
  /** the certificate the controller trusts (ServingCertificate): not ready until it is signed */
  certificate?: { readonly ready: boolean; readonly pending: string };
}

/**
 * The agent's HTTPS API: /v1/* for the controller (bearer token, TokenReview), and the
 * unauthenticated probes and metrics beside it (they reveal no workload data beyond metrics).
 */
export function createAgentServer(opts: AgentServerOptions): Server {
  return createServer({ cert: opts.tls.cert, key: opts.tls.key }, (req, res) => {
    handle(opts, req, res).catch((err: unknown) => {
      opts.log.error(
        { err: err instanceof Error ? err.message : String(err), path: req.url },
        "request failed",
      );
      if (!res.headersSent) send(res, 500, { error: "internal error" });
      else res.destroy();
    });
  });
}

async function handle(opts: AgentServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "https://agent");
  if (req.method !== "GET" && req.method !== "HEAD") return send(res, 405, { error: "only GET" });
  switch (url.pathname) {
    case "/healthz":
      return sendText(res, 200, "ok\n");
    case "/readyz":
      if (!opts.sampler.ready) return sendText(res, 503, "no cgroup scan yet\n");
      if (opts.certificate && !opts.certificate.ready)
        return sendText(res, 503, `no signed serving certificate: ${opts.certificate.pending}\n`);
      return sendText(res, 200, "ok\n");
    case "/metrics": {
      const body = await opts.metrics.scrape();
      res.writeHead(200, { "Content-Type": opts.metrics.registry.contentType });
      res.end(body);
      return;
    }
  }
  if (!url.pathname.startsWith("/v1/")) return send(res, 404, { error: `no route ${url.pathname}` });

  if (opts.auth) {
    const decision = await opts.auth.check(req.headers.authorization);
    if (decision.status !== 200) {
      opts.log.info(
        { path: url.pathname, status: decision.status, reason: decision.reason },
        "request refused",
      );
      if (decision.status === 401) res.setHeader("WWW-Authenticate", 'Bearer realm="memlens-agent"');
      return send(res, decision.status, { error: decision.reason });
    }
  }
  if (url.pathname === "/v1/oom-kills") return streamOomKills(opts, url, res);
  if (url.pathname !== "/v1/containers") return send(res, 404, { error: `no route ${url.pathname}` });

  const query: ContainersQuery = {};
  const podUID = url.searchParams.get("podUID");
  if (podUID) query.podUID = podUID;
  const since = url.searchParams.get("since");
  if (since !== null) {
    const value = Number(since);
    if (!Number.isFinite(value)) return send(res, 400, { error: "since must be epoch seconds" });
    query.since = value;
  }
  const { periodS, retentionS, rawWindowS, bucketS } = opts.store.opts;
  const meta = {
    node: opts.node,
    cgroupVersion: opts.sampler.version,
    periodSeconds: opts.periodS,
    historyOptions: { periodS, retentionS, rawWindowS, bucketS },
  };
  send(res, 200, containersResponse(opts.store, opts.pods, meta, query));
}

/**
 * GET /v1/oom-kills?after=SEQ&agentStartedAt=T[&watch=true]: newline-delimited JSON, a hello
 * line (OomKillsHello), then every kept kill after SEQ, then (watch) each kill as the agent
 * learns of it. `after` counts within the process that started at `agentStartedAt`: a client
 * holding the number of another process gets everything kept.
 */
function streamOomKills(opts: AgentServerOptions, url: URL, res: ServerResponse): void {
  const feed = opts.oomKills;
  const after = Number(url.searchParams.get("after") ?? "0");
  if (!Number.isInteger(after) || after < 0)
    return send(res, 400, { error: "after must be a sequence number" });
  const sameProcess = Number(url.searchParams.get("agentStartedAt")) === feed.startedAt;
  res.writeHead(200, { "Content-Type": "application/x-ndjson", "Cache-Control": "no-store" });
  const line = (o: object) => res.write(`${JSON.stringify(o)}\n`);
  line({ node: opts.node, agentStartedAt: feed.startedAt, seq: feed.lastSeq } satisfies OomKillsHello);
  for (const kill of feed.since(sameProcess ? after : 0)) line(kill);
  if (url.searchParams.get("watch") !== "true") return void res.end();
  const unsubscribe = feed.subscribe(line);
  const keepalive = setInterval(() => res.write("\n"), STREAM_KEEPALIVE_MS);
  res.on("close", () => {
    unsubscribe();
    clearInterval(keepalive);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { "Content-Type": "text/plain" });
  res.end(text);
}

export function listen(server: Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

/** Parses "HOST:PORT", "[v6]:PORT" or ":PORT" (all interfaces). */
export function parseListen(addr: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(addr);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  return { host: m[1] ?? (m[2] || "0.0.0.0"), port };
}
