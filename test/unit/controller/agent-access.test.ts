import { expect } from "chai";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { AgentAccess } from "../../../src/controller/agent-access.js";
import { AgentClient, type AgentData } from "../../../src/controller/agents.js";
import { controllerMetrics } from "../../../src/controller/metrics.js";
import { podIndexValues } from "../../../src/controller/targets.js";
import type { Pod } from "../../../src/kube/pod.js";
import { createCA } from "../../../src/pki/certificate.js";
import { buildTree, UID } from "../agent/cgroup-tree.js";
import { agentCertFiles, loopbackAgent, testCA, trusting } from "./agent-tls.js";

const log = pino({ level: "silent" });
const pod = (name: string, uid: string, labels: Record<string, string> = {}): Pod => ({
  metadata: { name, namespace: "memlens-system", uid, labels },
  spec: { nodeName: "node-1", containers: [] },
  status: { phase: "Running", podIP: "127.0.0.1" },
});
const target = pod("app", UID);
const agentPod = pod("memlens-agent-x", "agent-uid", { "app.kubernetes.io/name": "memlens-agent" });
const cache = { indexed: (v: string) => [target, agentPod].filter((p) => podIndexValues(p).includes(v)) };

/**
 * The controller's calls to a real agent on loopback (node-1, 127.0.0.1) trust only a
 * certificate the agent CA signed for that address and that node: each wrong one is refused,
 * and the node is reported unavailable with the reason.
 */
describe("AgentAccess: the controller believes only the agent the memlens CA vouches for", () => {
  let tmp: string;
  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), "memlens-agent-tls-"));
    await buildTree(tmp);
    await writeFile(join(tmp, "token"), "unused with --auth none");
  });
  after(() => rm(tmp, { recursive: true, force: true }));

  async function collectFrom(
    tls: { tlsCertFile: string; tlsKeyFile: string } | undefined,
  ): Promise<AgentData<number>> {
    const agent = await loopbackAgent(tmp, 1, tls, log);
    try {
      const client = new AgentClient({
        access: new AgentAccess(join(tmp, "token"), trusting(testCA)),
        namespace: "memlens-system",
        timeoutMs: 2000,
        port: agent.address.port,
        log,
        metrics: controllerMetrics(),
      });
      return await client.collect([target], cache, 600, (_pod, entries) => entries.length);
    } finally {
      await agent.stop();
    }
  }
  const refusal = async (tls: Parameters<typeof collectFrom>[0]) => {
    const data = await collectFrom(tls);
    expect(data.byPod.size).to.equal(0);
    expect(data.unavailable).to.have.length(1);
    return data.unavailable[0]!.reason;
  };

  it("a certificate the CA signed for the agent's address and node: answered", async () => {
    const data = await collectFrom(await agentCertFiles(tmp, { node: "node-1", ip: "127.0.0.1" }));
    expect(data.unavailable).to.deep.equal([]);
    expect(data.byPod.has(UID)).to.equal(true);
  });

  it("a self-signed certificate (what the agent serves until it is signed): refused", async () => {
    expect(await refusal(undefined)).to.match(
      /agent on node node-1 presented a certificate the controller does not trust \(self[- ]signed certificate\)/,
    );
  });

  it("a certificate from another CA: refused", async () => {
    const other = createCA("someone else's CA", 1);
    expect(await refusal(await agentCertFiles(tmp, { node: "node-1", ip: "127.0.0.1", ca: other }))).to.match(
      /does not trust \(unable to verify the first certificate\)/,
    );
  });

  it("an expired certificate from the memlens CA: refused", async () => {
    const expired = new Date(Date.now() - 3_600_000);
    expect(
      await refusal(await agentCertFiles(tmp, { node: "node-1", ip: "127.0.0.1", notAfter: expired })),
    ).to.match(/does not trust \(certificate has expired\)/);
  });

  it("the memlens CA's certificate of another node's agent: refused", async () => {
    expect(await refusal(await agentCertFiles(tmp, { node: "node-2", ip: "127.0.0.1" }))).to.match(
      /its certificate is for memlens-agent:node-2, not for node node-1/,
    );
  });

  it("the memlens CA's certificate for another address: refused", async () => {
    expect(await refusal(await agentCertFiles(tmp, { node: "node-1", ip: "127.0.0.2" }))).to.match(
      /IP: 127\.0\.0\.1 is not in the cert's list: 127\.0\.0\.2/,
    );
  });
});
