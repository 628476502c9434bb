// The controller's profile collector against pprof endpoints that misbehave: loopback HTTP
// servers that are slow, huge, redirect elsewhere or answer garbage. Each failure must add no
// finding, leave the finding's message alone, say why in its evidence, log one line and count,
// and touch nothing kept (the store here has no apiserver: any call to it would fail the pass).
// What the reports add to the findings is pure (withProfiles), checked on the same answers.
import { expect } from "chai";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { pino } from "pino";
import { effectiveSpec } from "../../../src/api/defaults.js";
import type { Finding, MemoryInspectionStatus } from "../../../src/api/memoryinspection.js";
import { controllerMetrics } from "../../../src/controller/metrics.js";
import { HeapProfileStore } from "../../../src/controller/heap-profile-store.js";
import { planProfiles } from "../../../src/controller/profile-plan.js";
import { ProfileCollector, withProfiles } from "../../../src/controller/profiles.js";
import { KubeClient } from "../../../src/kube/client.js";
import type { Pod } from "../../../src/kube/pod.js";
import { fixture } from "../profiling/fixtures.js";

async function serve(handler: http.RequestListener): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

function pod(name: string): Pod {
  return {
    metadata: { name, namespace: "shop", uid: `uid-${name}` },
    spec: { containers: [{ name: "app" }] },
    status: {
      phase: "Running",
      podIP: "127.0.0.1",
      containerStatuses: [
        { name: "app", restartCount: 0, state: { running: { startedAt: "2025-12-31T23:00:00Z" } } },
      ],
    },
  };
}

function leak(podName: string): Finding {
  return {
    rule: "MemoryLeak",
    severity: "Warning",
    pod: podName,
    container: "app",
    message: "Anonymous memory grows 40 MiB/h.",
    evidence: { growthPerHour: 41943040 },
    firstSeen: "2026-01-01T00:00:00Z",
    lastSeen: "2026-01-01T00:00:00Z",
    count: 1,
  };
}

describe("controller profile collector on misbehaving pprof endpoints", function () {
  this.timeout(10_000);
  const servers: http.Server[] = [];
  const start = async (handler: http.RequestListener): Promise<number> => {
    const { server, port } = await serve(handler);
    servers.push(server);
    return port;
  };
  afterEach(async () => {
    for (const s of servers.splice(0)) {
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
  });

  async function collect(port: number): Promise<{
    status: MemoryInspectionStatus;
    logs: Record<string, unknown>[];
    errors: Record<string, number>;
  }> {
    const logs: Record<string, unknown>[] = [];
    const log = pino(
      { level: "info" },
      { write: (s: string) => logs.push(JSON.parse(s) as Record<string, unknown>) },
    );
    const metrics = controllerMetrics();
    const nowhere = new HeapProfileStore(
      new KubeClient({ server: "http://127.0.0.1:1", applyToHTTPSOptions: () => Promise.resolve() }),
    );
    const collector = new ProfileCollector(nowhere, log, { metrics, timeoutMs: 300, maxBytes: 64 << 10 });
    const findings = [leak("web-1")];
    const spec = effectiveSpec({
      targetRef: { kind: "Deployment", name: "web" },
      profiling: { enabled: true, port, warmUp: "24h" },
    });
    const now = new Date("2026-01-01T00:00:00Z");
    const mi = {
      apiVersion: "memlens.dev/v1alpha1",
      kind: "MemoryInspection",
      metadata: { name: "web", namespace: "shop", uid: "mi-uid" },
    };
    const tasks = planProfiles({ spec, pods: [pod("web-1")], findings, kept: new Map(), now });
    expect(tasks.map((t) => [t.pod.metadata.name, t.report, t.takeBaseline])).to.deep.equal([
      ["web-1", true, false],
    ]);
    const reports = await collector.collect(mi, tasks, new Map(), spec, now);
    const status: MemoryInspectionStatus = { findings: withProfiles(findings, reports, now) };
    expect(findings[0]?.message, "the given findings untouched").to.equal("Anonymous memory grows 40 MiB/h.");
    const errors = Object.fromEntries(
      (await metrics.profileErrors.get()).values.map((v) => [String(v.labels.reason), v.value]),
    );
    return { status, logs, errors };
  }

  function expectFailure(r: Awaited<ReturnType<typeof collect>>, reason: string, message: RegExp): void {
    expect(r.status.findings).to.have.length(1, "no finding added");
    const f = r.status.findings?.[0];
    expect(f?.message).to.equal("Anonymous memory grows 40 MiB/h.");
    expect(String(f?.evidence.profileError)).to.match(message);
    expect(f?.evidence.topAllocators).to.equal(undefined);
    const warned = r.logs.filter((l) => l.msg === "heap profile not fetched");
    expect(warned).to.have.length(1);
    expect(warned[0]).to.include({ key: "shop/web", pod: "web-1", reason });
    expect(r.errors).to.deep.equal({ [reason]: 1 });
  }

  it("annotates the finding from a good profile, counting nothing, and says when the baseline comes", async () => {
    const profile = fixture("catalog-later.pb.gz");
    const r = await collect(await start((_req, res) => res.end(profile)));
    expect(r.status.findings?.[0]?.message).to.match(
      /Heap profile: .*OnRequest`\. \(No baseline yet: it is taken once the container has run 24h\.\)$/,
    );
    expect(r.errors).to.deep.equal({});
  });

  it("a slow endpoint times out", async () => {
    const r = await collect(await start(() => undefined));
    expectFailure(r, "fetch", /no complete response within 300 ms/);
  });

  it("a huge profile is abandoned at the size limit", async () => {
    const port = await start((_req, res) => {
      res.writeHead(200);
      const more = (): void => {
        while (!res.destroyed && res.write(Buffer.alloc(16 << 10, 1)));
        if (!res.destroyed) res.once("drain", more);
      };
      more();
    });
    expectFailure(await collect(port), "fetch", /larger than the limit of 65536 bytes/);
  });

  it("a redirect to another port is not followed", async () => {
    let elsewhere = 0;
    const other = await start((_req, res) => {
      elsewhere++;
      res.end(fixture("catalog-later.pb.gz"));
    });
    const port = await start((_req, res) =>
      res.writeHead(302, { location: `http://127.0.0.1:${other}/debug/pprof/heap` }).end(),
    );
    expectFailure(
      await collect(port),
      "fetch",
      new RegExp(`redirect to http://127.0.0.1:${other}/.*not followed`),
    );
    expect(elsewhere).to.equal(0);
  });

  it("garbage with status 200 is a format failure", async () => {
    const r = await collect(await start((_req, res) => res.end("<html>pprof is disabled</html>")));
    expectFailure(r, "format", /not a pprof profile/);
  });

  it("a cluster without the HeapProfile CRD: what is kept cannot be read, and the error says what to do", async () => {
    const port = await start((_req, res) =>
      res.writeHead(404, { "Content-Type": "application/json" }).end(
        JSON.stringify({
          kind: "Status",
          reason: "NotFound",
          message: "the server could not find the requested resource",
        }),
      ),
    );
    const store = new HeapProfileStore(
      new KubeClient({ server: `http://127.0.0.1:${port}`, applyToHTTPSOptions: () => Promise.resolve() }),
    );
    const mi = {
      apiVersion: "memlens.dev/v1alpha1",
      kind: "MemoryInspection",
      metadata: { name: "web", namespace: "shop", uid: "u" },
    };
    let error: unknown;
    await store.keptFor(mi).catch((err: unknown) => (error = err));
    expect(String(error)).to.match(/the HeapProfile CRD is not installed: kubectl apply -f crds\//);
  });

  it("an HTTP error says the status", async () => {
    const r = await collect(await start((_req, res) => res.writeHead(503).end("overloaded\n")));
    expectFailure(r, "fetch", /503 Service Unavailable: "overloaded"/);
  });
});
