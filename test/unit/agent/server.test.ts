import { expect } from "chai";
import { execFile } from "node:child_process";
import { request } from "node:https";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { pino } from "pino";
import { startAgent, type AgentOptions, type RunningAgent } from "../../../src/agent/agent.js";
import type { ContainersResponse } from "../../../src/agent/api.js";
import { PodIndex, agentPod } from "../../../src/agent/pods.js";
import { APP, buildTree, cgroupDir, PAUSE, UID } from "./cgroup-tree.js";

const run = promisify(execFile);
const CLI = resolve(process.cwd(), "dist/src/cli/main.js");
const CONTROLLER = "system:serviceaccount:memlens-system:memlens-controller";

function get(port: number, path: string, token?: string): Promise<{ status: number; body: string }> {
  return new Promise((res, rej) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path,
        rejectUnauthorized: false,
        headers: token ? { Authorization: `Bearer ${token}` } : {},
      },
      (r) => {
        let body = "";
        r.setEncoding("utf8");
        r.on("data", (c: string) => (body += c));
        r.on("end", () => res({ status: r.statusCode ?? 0, body }));
      },
    );
    req.on("error", rej);
    req.end();
  });
}

async function waitReady(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if ((await get(port, "/readyz")).status === 200) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error("agent not ready");
}

describe("agent HTTPS server", () => {
  let tmp: string;
  let opts: AgentOptions;
  const agents: RunningAgent[] = [];
  const log = pino({ level: "silent" });
  const pods = new PodIndex();
  pods.set(
    agentPod({
      metadata: { name: "web-1", namespace: "shop", uid: UID, resourceVersion: "1" },
      spec: {
        containers: [
          { name: "app", resources: { requests: { memory: "32Mi" }, limits: { memory: "64Mi" } } },
        ],
      },
      status: { containerStatuses: [{ name: "app", containerID: `containerd://${APP}` }] },
    }),
  );

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), "memlens-agent-server-"));
    await buildTree(tmp);
    opts = {
      cgroupRoot: tmp,
      periodS: 0.05,
      retentionS: 60,
      host: "127.0.0.1",
      port: 0,
      auth: "none",
      allowedIdentity: CONTROLLER,
      nodeName: "node-1",
    };
  });
  afterEach(async () => {
    for (const a of agents.splice(0)) await a.stop();
  });
  after(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it("serves the containers of the node with names, kinds, limits and history (--auth none)", async () => {
    const agent = await startAgent(opts, { log, pods });
    agents.push(agent);
    const port = agent.address.port;
    await waitReady(port);
    await new Promise((r) => setTimeout(r, 150));

    expect(await get(port, "/healthz")).to.deep.equal({ status: 200, body: "ok\n" });
    const res = await get(port, `/v1/containers?podUID=${UID}`);
    expect(res.status).to.equal(200);
    const body = JSON.parse(res.body) as ContainersResponse;
    expect(body.node).to.equal("node-1");
    expect(body.cgroupVersion).to.equal("v1");
    const byKind = Object.fromEntries(body.containers.map((c) => [c.kind, c]));
    expect(Object.keys(byKind)).to.have.members(["pod", "container", "sandbox"]);
    const app = byKind.container;
    expect(app).to.include({
      namespace: "shop",
      pod: "web-1",
      container: "app",
      containerID: APP,
      gone: false,
    });
    expect(app?.cgroup).to.equal(`kubepods/burstable/pod${UID}/${APP}`);
    expect(app?.limits).to.deep.equal({ memory: "64Mi" });
    expect(app?.history.t.length).to.be.greaterThan(1);
    expect(app?.history.limit[0]).to.equal(64 * 1024 * 1024);
    expect(byKind.pod?.limits).to.deep.equal({ memory: "64Mi" });
    expect(byKind.sandbox?.history.usage[0]).to.equal(4096);

    const other = JSON.parse((await get(port, "/v1/containers?podUID=nope")).body) as ContainersResponse;
    expect(other.containers).to.deep.equal([]);
    expect((await get(port, "/v1/containers?since=abc")).status).to.equal(400);

    const metrics = await get(port, "/metrics");
    expect(metrics.status).to.equal(200);
    expect(metrics.body).to.match(
      /memlens_container_memory_limit_bytes\{namespace="shop",pod="web-1",container="app",kind="container"\} 67108864/,
    );
    expect(metrics.body).to.include("memlens_agent_sample_duration_seconds_count");
    expect(metrics.body).to.include("memlens_container_memory_working_set_bytes");
  });

  it("marks a vanished container gone and keeps serving its history", async () => {
    const agent = await startAgent(opts, { log, pods });
    agents.push(agent);
    await waitReady(agent.address.port);
    await new Promise((r) => setTimeout(r, 100));
    await rm(join(tmp, `memory/kubepods/burstable/pod${UID}/${PAUSE}`), { recursive: true });
    await new Promise((r) => setTimeout(r, 150));
    const body = JSON.parse((await get(agent.address.port, "/v1/containers")).body) as ContainersResponse;
    const pause = body.containers.find((c) => c.containerID === PAUSE);
    expect(pause?.gone).to.equal(true);
    expect(pause?.history.usage[0]).to.equal(4096);
    await cgroupDir(join(tmp, `memory/kubepods/burstable/pod${UID}/${PAUSE}`), {
      "memory.usage_in_bytes": "4096\n",
    });
  });

  it("streams OOM kills: the counter's rise once, resumed after the last number, all kept for another process's number", async () => {
    const agent = await startAgent(opts, { log, pods });
    agents.push(agent);
    const port = agent.address.port;
    await waitReady(port);
    await new Promise((r) => setTimeout(r, 100));
    const app = join(tmp, `memory/kubepods/burstable/pod${UID}/${APP}`);
    const oomControl = join(app, "memory.oom_control");
    const procs = await readFile(join(app, "cgroup.procs"), "utf8");
    await writeFile(join(app, "cgroup.procs"), ""); // the main process died: the container ended
    await writeFile(oomControl, "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n");
    await new Promise((r) => setTimeout(r, 200));
    const lines = (body: string) =>
      body
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    const [hello, ...kills] = lines((await get(port, "/v1/oom-kills")).body);
    expect(hello).to.include({ node: "node-1", seq: 1 });
    expect(kills).to.have.length(1);
    expect(kills[0]).to.include({
      seq: 1,
      podUID: UID,
      containerID: APP,
      kills: 1,
      source: "sampling",
      process: "main",
    });
    const started = hello!.agentStartedAt as number;
    expect(lines((await get(port, `/v1/oom-kills?after=1&agentStartedAt=${started}`)).body)).to.have.length(
      1,
    );
    expect(
      lines((await get(port, `/v1/oom-kills?after=1&agentStartedAt=${started - 1}`)).body),
    ).to.have.length(2);
    expect((await get(port, "/v1/oom-kills?after=x")).status).to.equal(400);
    await writeFile(oomControl, "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n");
    await writeFile(join(app, "cgroup.procs"), procs);
  });

  it("asks for the controller's token on /v1/ only", async () => {
    const agent = await startAgent(
      { ...opts, auth: "tokenreview" },
      {
        log,
        pods,
        tokenReview: (token) =>
          Promise.resolve({
            authenticated: token !== "bad",
            username: token === "ctl" ? CONTROLLER : "system:serviceaccount:x:y",
          }),
      },
    );
    agents.push(agent);
    const port = agent.address.port;
    await waitReady(port);
    expect((await get(port, "/v1/containers")).status).to.equal(401);
    expect((await get(port, "/v1/containers", "bad")).status).to.equal(401);
    expect((await get(port, "/v1/containers", "other")).status).to.equal(403);
    expect((await get(port, "/v1/containers", "ctl")).status).to.equal(200);
    expect((await get(port, "/v1/nothing", "ctl")).status).to.equal(404);
    expect((await get(port, "/metrics")).status).to.equal(200);
    expect((await get(port, "/healthz")).status).to.equal(200);
  });

  it("refuses --auth none on a non-loopback address (exit 2)", async () => {
    let err: { code?: number; stderr?: string } = {};
    await run(process.execPath, [
      CLI,
      "agent",
      "--auth",
      "none",
      "--listen",
      "0.0.0.0:9137",
      "--cgroup-root",
      tmp,
    ]).catch((e: { code?: number; stderr?: string }) => (err = e));
    expect(err.code).to.equal(2);
    expect(err.stderr).to.match(/--auth none is refused on 0\.0\.0\.0.*loopback/);
  });
});
