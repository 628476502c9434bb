import { expect } from "chai";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { startAgent, type RunningAgent } from "../../../src/agent/agent.js";
import { PodIndex } from "../../../src/agent/pods.js";
import { KernelOomKills } from "../../../src/controller/kernel-oom-kills.js";
import type { Pod } from "../../../src/kube/pod.js";
import { APP, buildTree, UID } from "../agent/cgroup-tree.js";

const agentPod = (uid: string, phase = "Running"): Pod => ({
  metadata: { name: `memlens-agent-${uid}`, namespace: "memlens-system", uid },
  spec: { nodeName: "node-1", containers: [] },
  status: { phase, podIP: "127.0.0.1" },
});

describe("KernelOomKills: the controller's end of the agents' kill streams (a real agent on loopback)", () => {
  let tmp: string;
  let agent: RunningAgent;
  const log = pino({ level: "silent" });

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), "memlens-kill-stream-"));
    await buildTree(tmp);
    agent = await startAgent(
      {
        cgroupRoot: tmp,
        periodS: 0.05,
        retentionS: 60,
        host: "127.0.0.1",
        port: 0,
        auth: "none",
        allowedIdentity: "x",
        nodeName: "node-1",
      },
      { log, pods: new PodIndex() },
    );
    await new Promise((r) => setTimeout(r, 200));
  });
  after(async () => {
    await agent.stop();
    await rm(tmp, { recursive: true, force: true });
  });

  it("learns of a kill as the agent does, once, and forgets the stream of an agent that went", async () => {
    const reported: string[] = [];
    const kills = new KernelOomKills({
      port: agent.address.port,
      bearer: () => Promise.resolve("unused with --auth none"),
      onKill: (uid) => reported.push(uid),
      log,
    });
    kills.sync([agentPod("a"), agentPod("b", "Pending")]);
    await new Promise((r) => setTimeout(r, 200));
    const oomControl = join(tmp, `memory/kubepods/burstable/pod${UID}/${APP}/memory.oom_control`);
    await writeFile(oomControl, "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n");
    for (let i = 0; i < 100 && !reported.length; i++) await new Promise((r) => setTimeout(r, 10));
    expect(reported).to.deep.equal([UID]);
    expect(kills.forPod(UID)).to.deep.include.members([
      { containerID: APP, kills: 1, at: kills.forPod(UID)[0]!.at, node: "node-1" },
    ]);
    // the same agent under a second pod object: the record replayed, not counted as news
    kills.sync([agentPod("c")]);
    await new Promise((r) => setTimeout(r, 200));
    expect(reported).to.have.length(1);
    kills.stop();
    await writeFile(oomControl, "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n");
  });
});
