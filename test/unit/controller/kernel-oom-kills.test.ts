import { expect } from "chai";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import type { RunningAgent } from "../../../src/agent/agent.js";
import { runningAgents } from "../../../src/controller/agents.js";
import { KernelOomKills } from "../../../src/controller/kernel-oom-kills.js";
import { podIndexValues } from "../../../src/controller/targets.js";
import type { Pod } from "../../../src/kube/pod.js";
import { APP, buildTree, UID } from "../agent/cgroup-tree.js";
import { AgentAccess } from "../../../src/controller/agent-access.js";
import { agentCertFiles, loopbackAgent, testCA, trusting } from "./agent-tls.js";

const agentPod = (uid: string, phase = "Running"): Pod => ({
  metadata: {
    name: `memlens-agent-${uid}`,
    namespace: "memlens-system",
    uid,
    labels: { "app.kubernetes.io/name": "memlens-agent" },
  },
  spec: { nodeName: "node-1", containers: [] },
  status: { phase, podIP: "127.0.0.1" },
});

/** The agent pods the manager streams from, as its pod cache's index finds them. */
const running = (...pods: Pod[]) =>
  runningAgents({ indexed: (v) => pods.filter((p) => podIndexValues(p).includes(v)) }, "memlens-system");

describe("KernelOomKills: the controller's end of the agents' kill streams (a real agent on loopback)", () => {
  let tmp: string;
  let agent: RunningAgent;
  const log = pino({ level: "silent" });

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), "memlens-kill-stream-"));
    await buildTree(tmp);
    await writeFile(join(tmp, "token"), "unused with --auth none");
    const tls = await agentCertFiles(tmp, { node: "node-1", ip: "127.0.0.1" });
    agent = await loopbackAgent(tmp, 0.05, tls, log);
    await new Promise((r) => setTimeout(r, 200));
  });
  after(async () => {
    await agent.stop();
    await rm(tmp, { recursive: true, force: true });
  });

  it("learns of kills as the agent does, once each, keeps those that ended the container, forgets the stream of an agent that went", async () => {
    const reported: string[] = [];
    const kills = new KernelOomKills({
      port: agent.address.port,
      access: new AgentAccess(join(tmp, "token"), trusting(testCA)),
      onKill: (uid) => reported.push(uid),
      log,
    });
    kills.sync(running(agentPod("a"), agentPod("b", "Pending")));
    await new Promise((r) => setTimeout(r, 200));
    const app = join(tmp, `memory/kubepods/burstable/pod${UID}/${APP}`);
    const killed = async (count: number, procs: string, reports: number) => {
      await writeFile(join(app, "cgroup.procs"), procs);
      await writeFile(
        join(app, "memory.oom_control"),
        `oom_kill_disable 0\nunder_oom 0\noom_kill ${count}\n`,
      );
      for (let i = 0; i < 300 && reported.length < reports; i++) await new Promise((r) => setTimeout(r, 10));
    };
    // a worker killed, the main process living on: inspect now, but not an OOMKilled container
    await killed(1, "4242\n", 1);
    expect(reported).to.deep.equal([UID]);
    expect(kills.forPod(UID)).to.deep.equal([]);
    // then the main process: the container ended
    await killed(2, "", 2);
    expect(reported).to.deep.equal([UID, UID]);
    expect(kills.forPod(UID)).to.deep.equal([
      { containerID: APP, at: kills.forPod(UID)[0]!.at, node: "node-1" },
    ]);
    // the same agent under a second pod object: the records replayed, not news
    kills.sync(running(agentPod("c")));
    await new Promise((r) => setTimeout(r, 200));
    expect(reported).to.have.length(2);
    kills.stop();
    await writeFile(join(app, "memory.oom_control"), "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n");
  });
});
