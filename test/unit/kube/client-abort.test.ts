import { expect } from "chai";
import { getEventListeners } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { KubeClient } from "../../../src/kube/client.js";

describe("KubeClient", () => {
  let server: Server;
  let client: KubeClient;
  before(async () => {
    server = createServer((req, res) => {
      if (req.url?.startsWith("/slow")) return; // never answers
      res.setHeader("Content-Type", "application/json");
      res.end(JSON.stringify({ items: [] }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    client = new KubeClient({
      server: `http://127.0.0.1:${port}`,
      applyToHTTPSOptions: () => Promise.resolve(),
    });
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  it("leaves no abort listener behind on a signal shared by many requests", async () => {
    const abort = new AbortController();
    for (let i = 0; i < 25; i++) await client.get("/api/v1/pods", { signal: abort.signal });
    expect(getEventListeners(abort.signal, "abort")).to.have.length(0);
  });

  it("still aborts a request in flight", async () => {
    const abort = new AbortController();
    const pending = client.get("/slow", { signal: abort.signal });
    setTimeout(() => abort.abort(), 20);
    const err = await pending.then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).to.match(/aborted/);
    expect(getEventListeners(abort.signal, "abort")).to.have.length(0);
  });
});
