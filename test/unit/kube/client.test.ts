import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import { ApiError, isConflict, KubeClient } from "../../../src/kube/client.js";
import { WorkQueue } from "../../../src/kube/workqueue.js";

/**
 * The apiserver's refusals as the client and the work queue see them: 429 with Retry-After (API
 * Priority and Fairness, max-requests-inflight) and 409 (resourceVersion precondition), from a
 * loopback server that answers as the apiserver does (a Status object).
 */
describe("KubeClient: the apiserver's 409 and 429 answers", () => {
  let server: Server;
  let client: KubeClient;
  const answers: { status: number; headers?: Record<string, string>; body: unknown }[] = [];

  before(async () => {
    server = createServer((req, res) => {
      req.resume();
      const a = answers.shift() ?? { status: 200, body: { kind: "MemoryInspection" } };
      res.writeHead(a.status, { "Content-Type": "application/json", ...a.headers });
      res.end(JSON.stringify(a.body));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const { port } = server.address() as AddressInfo;
    client = new KubeClient({ server: `http://127.0.0.1:${port}`, applyToHTTPSOptions: async () => {} });
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const status = (code: number, reason: string, message: string) => ({
    kind: "Status",
    apiVersion: "v1",
    status: "Failure",
    code,
    reason,
    message,
  });

  it("429 carries the server's Retry-After, which the queue waits at least", async () => {
    answers.push({
      status: 429,
      headers: { "Retry-After": "3" },
      body: status(429, "TooManyRequests", "Too many requests, please try again later."),
    });
    const err = await client.request("PATCH", "/apis/x/status", { body: {} }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(ApiError);
    const api = err as ApiError;
    expect(api.status).to.equal(429);
    expect(api.reason).to.equal("TooManyRequests");
    expect(api.retryAfterMs).to.equal(3000);
    const queue = new WorkQueue();
    expect(queue.addRateLimited("ns/mi", api.retryAfterMs)).to.equal(3000);
    // without Retry-After the per-key exponential backoff applies, and it keeps growing
    expect(queue.addRateLimited("ns/mi")).to.be.greaterThan(0);
    queue.shutdown();
  });

  it("409 is a conflict, retried without a server delay; the next request succeeds", async () => {
    answers.push({
      status: 409,
      body: status(
        409,
        "Conflict",
        "the object has been modified; please apply your changes to the latest version",
      ),
    });
    const err = await client.request("PATCH", "/apis/x/status", { body: {} }).catch((e: unknown) => e);
    expect(isConflict(err)).to.equal(true);
    expect((err as ApiError).retryAfterMs).to.equal(undefined);
    expect(await client.request("PATCH", "/apis/x/status", { body: {} })).to.deep.equal({
      kind: "MemoryInspection",
    });
  });
});
