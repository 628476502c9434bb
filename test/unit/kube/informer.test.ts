import { expect } from "chai";
import { pino } from "pino";
import type { KubeClient, RequestInit } from "../../../src/kube/client.js";
import { Informer, type KubeObject } from "../../../src/kube/informer.js";

/** An apiserver that lists `n` objects in pages of the asked size, and whose watches wait for abort. */
function pagingServer(n: number) {
  const asked: RequestInit["query"][] = [];
  const client = {
    get: (_path: string, init: RequestInit) => {
      asked.push(init.query);
      const limit = Number(init.query?.limit);
      const from = Number(init.query?.continue ?? 0);
      const to = Math.min(n, from + limit);
      const items = Array.from({ length: to - from }, (_, i) => ({
        metadata: { name: `p${from + i}`, namespace: "ns", uid: `u${from + i}`, resourceVersion: "1" },
        spec: { big: "x".repeat(100) },
      }));
      return Promise.resolve({
        metadata: { resourceVersion: "42", ...(to < n ? { continue: String(to) } : {}) },
        items,
      });
    },
    watch: (_p: string, _q: unknown, _on: unknown, opts: { signal?: AbortSignal }) =>
      new Promise<void>((resolve) => opts.signal?.addEventListener("abort", () => resolve())),
  };
  return { client: client as unknown as KubeClient, asked };
}

describe("Informer list", () => {
  it("lists in pages, slimming each page, and watches from the list's resourceVersion", async () => {
    const { client, asked } = pagingServer(1234);
    const seen: string[] = [];
    const informer = new Informer<KubeObject>(client, {
      path: "/api/v1/pods",
      log: pino({ level: "silent" }),
      transform: (raw) => ({ metadata: raw.metadata as KubeObject["metadata"] }),
    }).on((event, obj) => seen.push(`${event} ${obj.metadata.name}`));
    informer.start();
    await informer.waitForSync();
    await informer.stop();
    expect(asked.map((q) => [q?.limit, q?.continue])).to.deep.equal([
      [500, undefined],
      [500, "500"],
      [500, "1000"],
    ]);
    expect(informer.list()).to.have.length(1234);
    expect(informer.list()[0]).to.deep.equal({
      metadata: { name: "p0", namespace: "ns", uid: "u0", resourceVersion: "1" },
    });
    expect(seen).to.have.length(1234);
  });
});
