import { execFile, spawn } from "node:child_process";
import { get } from "node:https";
import { promisify } from "node:util";
import { expect } from "chai";
import { controllerPods, deployMemlens, kubectl } from "./kube.js";

const run = promisify(execFile);
const RULES = "config/helm/memlens/files/prometheus-rules.yaml";

/** promtool with stdin; resolves to its exit code and output. */
function promtool(args: string[], stdin = ""): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn("promtool", args);
    let out = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    p.stderr.on("data", (d: Buffer) => (out += d.toString()));
    p.on("error", reject);
    p.on("close", (code) => resolve({ code: code ?? -1, out }));
    p.stdin.end(stdin);
  });
}

/** The agent's /metrics: HTTPS with its self-signed certificate, no token needed. */
function agentMetrics(address: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get(`https://${address}:9137/metrics`, { rejectUnauthorized: false }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve(body));
    }).on("error", reject);
  });
}

describe("alert rules and /metrics, checked with the real promtool", function () {
  before(async function () {
    this.timeout(300_000);
    await deployMemlens();
  });

  it("promtool check rules: the chart's alert rules", async () => {
    const { stdout } = await run("promtool", ["check", "rules", RULES]);
    expect(stdout).to.match(/SUCCESS: 4 rules found/);
  });

  it("promtool test rules: each alert fires on its series, with its runbook, and stays silent on the rest", async () => {
    const r = await promtool(["test", "rules", "test/prometheus/rules.test.yaml"]);
    expect(r.out).to.match(/SUCCESS/);
    expect(r.code).to.equal(0);
  });

  it("promtool check metrics: the live /metrics of the controller and of an agent lint clean", async function () {
    this.timeout(60_000);
    const pods = await controllerPods();
    const logs = await kubectl(["-n", "memlens-system", "logs", pods.items[0]?.metadata.name ?? ""]);
    // with port 0 on the local cluster, the bound address is in the start-up line
    const health = /"health":"([^"]+)".*memlens controller starting/.exec(logs)?.[1];
    expect(health, "the controller logs where its /metrics listens").to.match(/^127\.0\.0\.1:\d+$/);
    const controller = await (await fetch(`http://${health}/metrics`)).text();
    expect(controller).to.contain("# HELP memlens_inspection_findings ");
    expect(controller).to.contain("# HELP memlens_leak_seconds_to_limit ");
    const agent = await agentMetrics("127.0.0.1");
    expect(agent).to.contain("# TYPE memlens_container_oom_kills_total counter");
    for (const [who, text] of [
      ["controller", controller],
      ["agent", agent],
    ] as const) {
      const r = await promtool(["check", "metrics"], text);
      expect(r.out.trim(), `${who}: promtool check metrics`).to.equal("");
      expect(r.code, who).to.equal(0);
    }
  });
});
