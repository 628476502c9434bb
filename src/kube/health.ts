import { createServer, type Server } from "node:http";
import type { Registry } from "prom-client";

/** /healthz, /readyz and /metrics on a plain HTTP port (probes and Prometheus scrape it). */
export function startHealthServer(opts: {
  host: string;
  port: number;
  ready: () => boolean;
  registry: Registry;
}): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/healthz") return void res.writeHead(200, { "Content-Type": "text/plain" }).end("ok\n");
    if (path === "/readyz") {
      const ok = opts.ready();
      return void res
        .writeHead(ok ? 200 : 503, { "Content-Type": "text/plain" })
        .end(ok ? "ok\n" : "not ready\n");
    }
    if (path === "/metrics") {
      opts.registry.metrics().then(
        (text) => res.writeHead(200, { "Content-Type": opts.registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
      return;
    }
    res.writeHead(404).end();
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => resolve(server));
  });
}

/** Where a server listens, as HOST:PORT. */
export function boundAddress(server: Server): string {
  const a = server.address();
  return a && typeof a === "object"
    ? `${a.address.includes(":") ? `[${a.address}]` : a.address}:${a.port}`
    : String(a);
}

/** "127.0.0.1:8080" or ":8080" to host and port. */
export function parseListen(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(":");
  const port = Number(addr.slice(i + 1));
  if (i < 0 || !Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`'${addr}' is not HOST:PORT`);
  return { host: addr.slice(0, i).replace(/^\[|\]$/g, "") || "0.0.0.0", port };
}
