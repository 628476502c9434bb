// memlens' leaking Node.js demo service: MemoryLeaker.onRequest keeps an array for every
// /products request and never lets go. /debug/pprof/heap serves a gzipped pprof heap profile
// (V8's sampling heap profiler through @datadog/pprof), the profile memlens fetches.
//
//   node server.js [--host 127.0.0.1] [--port 8081] [--leak-kib 16]
//
// PORT and LEAK_KIB in the environment work too. It listens on 127.0.0.1 by default: on memlens'
// local cluster pods use the host network.
import { createServer } from "node:http";
import { parseArgs } from "node:util";
import { heap, encode } from "@datadog/pprof";

const { values: opts } = parseArgs({
  options: {
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: process.env.PORT ?? "8081" },
    "leak-kib": { type: "string", default: process.env.LEAK_KIB ?? "16" },
  },
});
const port = Number(opts.port);
const leakBytes = Number(opts["leak-kib"]) * 1024;
if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`bad --port ${opts.port}`);
if (!(leakBytes >= 0)) throw new Error(`bad --leak-kib ${opts["leak-kib"]}`);

// Sample every ~512 KiB allocated (Go's default rate too), stacks up to 64 frames deep.
heap.start(512 * 1024, 64);

/** The bug: a copy of every request kept "for auditing", forever. */
class MemoryLeaker {
  retained = [];
  bytes = 0;

  onRequest(req) {
    // A plain JS array lives on the V8 heap (a Buffer would not): 8 bytes per element.
    const entries = new Array(Math.max(1, leakBytes >> 3));
    const seed = req.url.length;
    for (let i = 0; i < entries.length; i++) entries[i] = (seed + i) & 0xffff;
    this.retained.push(entries);
    this.bytes += leakBytes;
  }
}

const leaker = new MemoryLeaker();
let served = 0;

/** The request's real work: short-lived garbage, no leak. */
function listProducts(n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    out.push({ id: i, name: `product-${String(i).padStart(4, "0")}`, price: (i % 97) + 0.99, tags: ["catalog", String(i % 7)] });
  }
  return out;
}

async function heapProfile() {
  return encode(heap.profile());
}

const server = createServer((req, res) => {
  const path = (req.url ?? "/").split("?")[0];
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.writeHead(405, { allow: "GET, HEAD" }).end();
  } else if (path === "/products") {
    leaker.onRequest(req);
    served++;
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(listProducts(50)));
  } else if (path === "/healthz") {
    res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
  } else if (path === "/debug/pprof/heap") {
    heapProfile().then(
      (body) =>
        res
          .writeHead(200, {
            "content-type": "application/octet-stream",
            "content-disposition": 'attachment; filename="heap"',
          })
          .end(body),
      (err) => res.writeHead(500, { "content-type": "text/plain" }).end(`heap profile failed: ${err}\n`),
    );
  } else {
    res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
  }
});

server.listen(port, opts.host, () => {
  console.log(`listening on ${opts.host}:${port}, leaking ${leakBytes >> 10} KiB per request`);
});
const report = setInterval(() => {
  console.log(`served ${served} requests, retaining ${Math.round(leaker.bytes / 2 ** 20)} MiB`);
}, 15_000);
report.unref();

for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  });
}
