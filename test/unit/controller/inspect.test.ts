import { expect } from "chai";
import { effectiveSpec } from "../../../src/api/defaults.js";
import type { MemoryInspectionStatus } from "../../../src/api/memoryinspection.js";
import { inspect } from "../../../src/controller/inspect.js";
import type { HeapProfileReport } from "../../../src/controller/profiles.js";
import type { ResolvedTarget } from "../../../src/controller/targets.js";
import type { Pod } from "../../../src/kube/pod.js";
import { recordedPodWatch } from "./pod-fixtures.js";
import { bareID, UNNAMED_INSTANCE, type KernelKill } from "../../../src/analysis/oom.js";

const spec = effectiveSpec({ targetRef: { kind: "Deployment", name: "hog" } });
const workload = { kind: "Deployment", name: "hog", namespace: "rec" };
const target = (pods: Pod[]): ResolvedTarget => ({ description: "Deployment/hog", workload, pods });
const T0 = Date.parse("2026-11-26T14:52:20Z");

/** JSON as the apiserver returns a custom resource: object keys sorted (Go maps). */
const throughApiserver = <T>(v: T): T =>
  JSON.parse(
    JSON.stringify(v, (_k, x: unknown) =>
      x && typeof x === "object" && !Array.isArray(x)
        ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => a.localeCompare(b)))
        : x,
    ),
  ) as T;

/** Runs a pass per pod update, carrying the status as the controller does (through the API). */
function replay(
  updates: Pod[],
  name: string,
  opts: { repeatEach?: number; restartAt?: number; kernel?: (i: number) => KernelKill[] } = {},
) {
  let status: MemoryInspectionStatus = {};
  let warnings = 0;
  let recommendationEvents = 0;
  let firstWarningAt: number | undefined;
  updates
    .filter((p) => p.metadata.name.startsWith(name))
    .forEach((pod, i) => {
      for (let r = 0; r < (opts.repeatEach ?? 1); r++) {
        // a restarted controller knows only what the status says: round-trip it through JSON
        if (opts.restartAt === i) status = JSON.parse(JSON.stringify(status)) as MemoryInspectionStatus;
        const res = inspect({
          generation: 1,
          spec,
          previous: status,
          target: target([pod]),
          now: new Date(T0 + i * 1000),
          ...(opts.kernel ? { kernelKills: () => opts.kernel!(i) } : {}),
        });
        status = throughApiserver(res.status);
        // Event occurrences: an Event's series counts each kill a pass found
        warnings += res.happened.reduce((n, h) => n + h.occurrences, 0);
        firstWarningAt ??= res.happened.length ? i : undefined;
        recommendationEvents += res.newRecommendations.length;
      }
    });
  return { status, warnings, recommendationEvents, firstWarningAt };
}

/** Each OOM-killed instance of the recording, and the first update whose status shows the kill. */
function killsInRecording(updates: Pod[], name: string): { id: string; shownAt: number }[] {
  const out = new Map<string, number>();
  updates
    .filter((p) => p.metadata.name.startsWith(name))
    .forEach((pod, i) => {
      const cs = pod.status.containerStatuses?.[0];
      for (const t of [cs?.state?.terminated, cs?.lastState?.terminated]) {
        if (t?.reason === "OOMKilled" && t.containerID && !out.has(t.containerID)) out.set(t.containerID, i);
      }
    });
  return [...out].map(([id, shownAt]) => ({ id, shownAt }));
}

/** The agent's reports as the controller holds them at update i, each kill known `lead` updates before status shows it. */
function kernelReports(updates: Pod[], name: string, lead: number) {
  const kills = killsInRecording(updates, name);
  return (i: number): KernelKill[] =>
    kills
      .filter((k) => k.shownAt - lead <= i)
      .map((k) => ({
        containerID: k.id.replace("containerd://", ""),
        at: (T0 + (k.shownAt - lead) * 1000) / 1000,
        node: "memlens-node-v2",
      }));
}

describe("inspect: OOM kills from real kubelet pod status", () => {
  const updates = recordedPodWatch();
  const last = (name: string) => updates.filter((p) => p.metadata.name.startsWith(name)).at(-1)!;

  it("counts each kernel OOM kill once across the restart sequence (4 kills)", () => {
    const { status, warnings } = replay(updates, "hog");
    const cs = last("hog").status.containerStatuses![0]!;
    expect(cs.restartCount).to.equal(3);
    expect(cs.state?.terminated?.reason).to.equal("OOMKilled");
    expect(status.oomKills).to.equal(cs.restartCount + 1);
    expect(warnings).to.equal(4);
    expect(status.conditions?.find((c) => c.type === "OOMKilled")?.status).to.equal("True");
  });

  it("does not count again on resyncs (every update seen three times)", () => {
    expect(replay(updates, "hog", { repeatEach: 3 }).status.oomKills).to.equal(4);
  });

  it("does not count again after a controller restart (status is the only memory)", () => {
    expect(replay(updates, "hog", { restartAt: 12 }).status.oomKills).to.equal(4);
  });

  it("counts kills it did not see when it sees the restarts (only every 4th update)", () => {
    const sparse = updates
      .filter((p) => p.metadata.name.startsWith("hog"))
      .filter((_, i, all) => i % 4 === 0 || i === all.length - 1);
    const { status, warnings } = replay(sparse, "hog");
    expect([status.oomKills, warnings], "kills and Event occurrences").to.deep.equal([4, 4]);
  });

  it("counts a kill seen only while the kubelet backs off once (restartCount not yet raised)", () => {
    const backoffOnly = updates.filter((p) => {
      const cs = p.status.containerStatuses?.[0];
      return !(
        p.metadata.name.startsWith("hog") &&
        cs?.state?.terminated &&
        cs.containerID?.endsWith("9eb241")
      );
    });
    expect(replay(backoffOnly, "hog").status.oomKills).to.equal(4);
  });

  it("counts a kill the agent reports before pod status once, when status then shows it (4 kills, 4 Events, one update earlier)", () => {
    const statusOnly = replay(updates, "hog");
    const withKernel = replay(updates, "hog", { kernel: kernelReports(updates, "hog", 1) });
    expect(killsInRecording(updates, "hog")).to.have.length(4);
    expect(withKernel.status.oomKills).to.equal(4);
    expect(withKernel.warnings).to.equal(4);
    expect(withKernel.firstWarningAt).to.equal(statusOnly.firstWarningAt! - 1);
    // on resyncs and after a controller restart too
    expect(
      replay(updates, "hog", { kernel: kernelReports(updates, "hog", 1), repeatEach: 3 }).status.oomKills,
    ).to.equal(4);
    expect(
      replay(updates, "hog", { kernel: kernelReports(updates, "hog", 1), restartAt: 5 }).status.oomKills,
    ).to.equal(4);
  });

  it("says the agent reported a kill pod status does not show yet, then what status says", () => {
    const kernel = kernelReports(updates, "hog", 1);
    const hog = updates.filter((p) => p.metadata.name.startsWith("hog"));
    const first = killsInRecording(updates, "hog")[0]!.shownAt;
    const early = replay(hog.slice(0, first), "hog", { kernel }).status.findings![0]!;
    expect(early.message).to.match(
      /was OOM-killed by the kernel once at its 64Mi memory limit \(last at .*, reported by the memlens agent on memlens-node-v2\); pod status does not show it as OOMKilled \(yet/,
    );
    expect(early.evidence.reportedBy).to.equal("memlens agent on memlens-node-v2");
    const caughtUp = replay(hog.slice(0, first + 1), "hog", { kernel }).status.findings![0]!;
    expect(caughtUp.count).to.equal(1);
    expect(caughtUp.message).to.match(/once at its 64Mi memory limit \(last at .*, exit code 137\)/);
    expect(caughtUp.evidence.reportedBy).to.equal(undefined);
  });

  it("counts a kill the agent reports before status named the instance (the pod's only container) once: 4 kills, the first Event at once", () => {
    const hog = updates.filter((p) => p.metadata.name.startsWith("hog"));
    const [first] = killsInRecording(updates, "hog");
    // the kubelet has posted the container as waiting (ContainerCreating), with no ID yet
    const unnamed = hog.findIndex((p) => {
      const cs = p.status.containerStatuses?.[0];
      return cs !== undefined && !cs.containerID;
    });
    expect(unnamed).to.be.within(0, first!.shownAt - 2);
    const firstID = first!.id.replace("containerd://", "");
    const later = kernelReports(updates, "hog", 1);
    const kernel = (i: number): KernelKill[] => [
      ...(i >= unnamed
        ? [{ containerID: firstID, at: (T0 + unnamed * 1000) / 1000, node: "memlens-node-v2" }]
        : []),
      ...later(i).filter((k) => k.containerID !== firstID),
    ];
    const { status, warnings, firstWarningAt } = replay(updates, "hog", { kernel });
    expect(status.oomKills).to.equal(4);
    expect(warnings).to.equal(4);
    expect(firstWarningAt).to.equal(unnamed);
    expect(replay(updates, "hog", { kernel, restartAt: unnamed + 1 }).status.oomKills).to.equal(4);
    // the same when only the pod's counter told (the container's cgroup gone before the agent read it)
    const podOnly = (i: number) =>
      kernel(i).map((k) => (k.containerID === firstID ? { ...k, containerID: UNNAMED_INSTANCE } : k));
    const fromPod = replay(updates, "hog", { kernel: podOnly });
    expect([fromPod.status.oomKills, fromPod.warnings, fromPod.firstWarningAt]).to.deep.equal([
      4,
      4,
      unnamed,
    ]);
    const named = fromPod.status.findings!.find((f) => f.rule === "OOMKilled")!;
    expect(named.evidence.lastKillID).to.not.equal(UNNAMED_INSTANCE);
  });

  it("counts the same kills when the agent reports them after pod status (v1: the sampler's period)", () => {
    const late = kernelReports(updates, "hog", -2);
    expect(replay(updates, "hog", { kernel: late }).status.oomKills).to.equal(4);
    expect(replay(updates, "hog", { kernel: late }).warnings).to.equal(4);
  });

  it("reports a restartPolicy Never pod killed once, and that it stays terminated", () => {
    const { status } = replay(updates, "once");
    expect(status.oomKills).to.equal(1);
    expect(status.findings?.[0]?.message).to.contain("restartPolicy Never");
  });

  it("counts a kill the runtime reported as Error (exit code 137) from the pod's counter alone, once", () => {
    // containerd sometimes misses the OOM event of a container that dies at once: the same updates, as the kubelet then says it
    const asError = updates.map((p) =>
      p.metadata.name !== "once"
        ? p
        : (JSON.parse(JSON.stringify(p).replaceAll('"reason":"OOMKilled"', '"reason":"Error"')) as Pod),
    );
    const once = asError.filter((p) => p.metadata.name === "once");
    const ended = once.findIndex((p) => p.status.containerStatuses?.[0]?.state?.terminated);
    expect(once[ended]!.status.containerStatuses![0]!.state!.terminated!.reason).to.equal("Error");
    expect(replay(asError, "once").status.oomKills ?? 0, "pod status alone").to.equal(0);
    const kernel = (i: number): KernelKill[] =>
      i >= ended
        ? [{ containerID: UNNAMED_INSTANCE, at: (T0 + ended * 1000) / 1000, node: "memlens-node-v2" }]
        : [];
    const { status, warnings } = replay(asError, "once", { kernel, repeatEach: 2 });
    expect([status.oomKills, warnings]).to.deep.equal([1, 1]);
    expect(status.findings?.[0]?.message).to.contain("reported by the memlens agent on memlens-node-v2");
    // the agent restarted after telling of the kill by its container's ID: the new agent's report
    // from the pod's counter ("agent start") is the same kill, on resyncs and after a controller restart
    const killedID = bareID(once[ended]!.status.containerStatuses![0]!.containerID)!;
    const toldTwice = (i: number): KernelKill[] => [
      ...(i >= ended
        ? [{ containerID: killedID, at: (T0 + ended * 1000) / 1000, node: "memlens-node-v2" }]
        : []),
      ...(i >= ended + 2
        ? [{ containerID: UNNAMED_INSTANCE, at: (T0 + (ended + 2) * 1000) / 1000, node: "memlens-node-v2" }]
        : []),
    ];
    // told by an agent that started 20 s after the kill: the time is when the container ended
    const finishedAt = once[ended]!.status.containerStatuses![0]!.state!.terminated!.finishedAt!;
    const late = (i: number): KernelKill[] =>
      i >= ended
        ? [{ containerID: UNNAMED_INSTANCE, at: Date.parse(finishedAt) / 1000 + 20, node: "memlens-node-v2" }]
        : [];
    const lateFinding = replay(asError, "once", { kernel: late }).status.findings![0]!;
    expect(lateFinding.evidence.lastKilledAt).to.equal(new Date(finishedAt).toISOString());
    for (const opts of [{ repeatEach: 2 }, { restartAt: ended + 1 }, { restartAt: ended + 3 }]) {
      const twice = replay(asError, "once", { kernel: toldTwice, ...opts });
      expect([twice.status.oomKills, twice.warnings], JSON.stringify(opts)).to.deep.equal([1, 1]);
    }
    // the other order: the pod's counter told first, before the kubelet named the container
    // (its cgroup not read yet), then the container's own counter, by its ID
    const unnamed = once.findIndex((p) => {
      const cs = p.status.containerStatuses?.[0];
      return cs !== undefined && !cs.containerID;
    });
    expect(unnamed).to.be.within(0, ended - 1);
    const podFirst = (i: number): KernelKill[] => [
      ...(i >= unnamed
        ? [{ containerID: UNNAMED_INSTANCE, at: (T0 + unnamed * 1000) / 1000, node: "memlens-node-v2" }]
        : []),
      ...(i >= ended + 2
        ? [{ containerID: killedID, at: (T0 + (ended + 2) * 1000) / 1000, node: "memlens-node-v2" }]
        : []),
    ];
    for (const opts of [{ repeatEach: 2 }, { restartAt: ended + 3 }]) {
      const twice = replay(asError, "once", { kernel: podFirst, ...opts });
      expect([twice.status.oomKills, twice.warnings], `pod first ${JSON.stringify(opts)}`).to.deep.equal([
        1, 1,
      ]);
    }
  });

  it("counts a crash-looping container's kills the runtime reported as Error (exit code 137) from the pod's counter, once each", () => {
    // the chaos soak's OOM loop on the v2 node: containerd missed the OOM event, and the killed
    // container's cgroup was gone before the agent read it (a report for the pod, no container ID)
    const asError = updates.map((p) =>
      !p.metadata.name.startsWith("hog")
        ? p
        : (JSON.parse(JSON.stringify(p).replaceAll('"reason":"OOMKilled"', '"reason":"Error"')) as Pod),
    );
    expect(replay(asError, "hog").status.oomKills ?? 0, "pod status alone").to.equal(0);
    const kills = killsInRecording(updates, "hog");
    const finishedAt = (id: string) =>
      updates
        .flatMap((p) => [p.status.containerStatuses?.[0]?.state, p.status.containerStatuses?.[0]?.lastState])
        .find((s) => s?.terminated?.containerID === id)!.terminated!.finishedAt!;
    // the controller holds the pod's latest report; the agent learnt of the kill as it happened
    const podCounter = (i: number): KernelKill[] => {
      const told = kills.filter((k) => k.shownAt <= i).at(-1);
      return told
        ? [
            {
              containerID: UNNAMED_INSTANCE,
              at: Date.parse(finishedAt(told.id)) / 1000 + 0.3,
              node: "memlens-node-v2",
            },
          ]
        : [];
    };
    for (const opts of [{ repeatEach: 2 }, { restartAt: kills[1]!.shownAt + 1 }]) {
      const { status, warnings } = replay(asError, "hog", { kernel: podCounter, ...opts });
      expect([status.oomKills, warnings], JSON.stringify(opts)).to.deep.equal([4, 4]);
    }
    // the same by each container's ID, also once the kubelet has started the next instance
    const byID = (i: number): KernelKill[] =>
      kills
        .filter((k) => k.shownAt <= i)
        .map((k) => ({
          containerID: bareID(k.id)!,
          at: Date.parse(finishedAt(k.id)) / 1000,
          node: "memlens-node-v2",
        }));
    const named = replay(asError, "hog", { kernel: byID, repeatEach: 2 });
    expect([named.status.oomKills, named.warnings]).to.deep.equal([4, 4]);
  });

  it("recommends RaiseMemoryLimit with the VPA bump and a patch for the Deployment", () => {
    const rec = replay(updates, "hog").status.recommendations?.[0];
    expect(rec?.type).to.equal("RaiseMemoryLimit");
    expect(rec?.current.limits?.memory).to.equal("64Mi");
    expect(rec?.suggested.limits?.memory).to.equal("164Mi");
    expect(rec?.suggested.requests?.memory, "a Guaranteed pod stays Guaranteed").to.equal("164Mi");
    expect(rec?.patch).to.match(/spec:\n {2}template:\n {4}spec:\n {6}containers:\n {6}- name: hog/);
  });

  it("announces the recommendation once while its numbers stay the same", () => {
    expect(replay(updates, "hog", { repeatEach: 2 }).recommendationEvents).to.equal(1);
  });

  it("a finding's message is one sentence with the numbers", () => {
    const f = replay(updates, "hog").status.findings![0]!;
    expect(f.message).to.match(
      /^Container hog of pod hog-\S+ was OOM-killed by the kernel 4 times at its 64Mi memory limit .*\.$/,
    );
    expect(f.evidence.terminations).to.equal(4);
    expect(f.count).to.equal(4);
  });

  it("resolves the OOMKilled condition once no kill happened within the window", () => {
    const { status } = replay(updates, "hog");
    const later = inspect({
      generation: 1,
      spec,
      previous: status,
      target: target([last("hog")]),
      now: new Date(T0 + 2 * 3_600_000),
    });
    const cond = later.status.conditions?.find((c) => c.type === "OOMKilled");
    expect(cond?.status).to.equal("False");
    expect(cond?.reason).to.equal("NoRecentOOMKills");
    expect(later.happened).to.have.length(0);
  });

  it("says so when the target has no pods", () => {
    const res = inspect({ generation: 1, spec, previous: {}, target: target([]), now: new Date(T0) });
    expect(res.status.conditions?.find((c) => c.type === "Ready")?.reason).to.equal("NoPods");
    expect(res.status.oomKills).to.equal(0);
  });
});

describe("inspect with heap profiles: a pure pass, the Event says what the status says", () => {
  it("puts the profile's sentence into the OOMKilled finding and its Event, the previous status untouched", () => {
    const pod = recordedPodWatch()
      .filter((p) => p.metadata.name.startsWith("hog"))
      .at(-1)!;
    const profiled = effectiveSpec({
      targetRef: { kind: "Deployment", name: "hog" },
      profiling: { enabled: true, port: 6060 },
    });
    const input = { generation: 1, spec: profiled, previous: {}, target: target([pod]), now: new Date(T0) };
    const plain = inspect(input);
    expect(plain.status.findings?.find((f) => f.rule === "OOMKilled")?.pod).to.equal(pod.metadata.name);
    const summary = {
      sampleType: "inuse_space",
      unit: "bytes",
      total: 64 << 20,
      top: [{ function: "main.leak", bytes: 64 << 20, percent: 100 }],
      grown: [{ function: "main.leak", bytes: 61 << 20 }],
      growth: 66 << 20,
    };
    const baselineAt = new Date(T0 - 38 * 60_000 - 5_000).toISOString();
    const profiles = new Map<string, HeapProfileReport>([[pod.metadata.name, { summary, baselineAt }]]);
    const res = inspect({ ...input, profiles });
    const oom = res.status.findings?.find((f) => f.rule === "OOMKilled");
    const clock = baselineAt.slice(11, 16);
    expect(oom?.message).to.match(
      new RegExp(
        ` Heap profile: 100% of in-use heap was allocated by \`main.leak\`; since the baseline at ${clock} UTC \\(38 min ago\\): \\+61 MiB in \`main.leak\` \\(92% of growth\\)\\.$`,
      ),
    );
    expect(oom?.evidence.baselineTakenAt).to.equal(baselineAt);
    expect(oom?.evidence.grownSinceBaseline).to.equal("main.leak +62464 KiB");
    expect(res.happened.find((h) => h.finding.rule === "OOMKilled")?.finding.message).to.equal(oom?.message);
    // the next pass carries the finding over: its sentence is this pass's, never appended twice
    const next = inspect({ ...input, previous: res.status, profiles, now: new Date(T0 + 60_000) });
    const again = next.status.findings?.find((f) => f.rule === "OOMKilled");
    expect(again?.message.match(/Heap profile/g)).to.have.length(1);
    expect(again?.message).to.contain("(39 min ago)");
    expect(plain.status.findings?.find((f) => f.rule === "OOMKilled")?.message).not.to.match(/Heap profile/);
  });
});

describe("inspect while a node's agent does not answer", () => {
  const pod = recordedPodWatch()
    .filter((p) => p.metadata.name.startsWith("hog"))
    .at(-1)!;
  const node = pod.spec.nodeName ?? "";
  const leak = {
    rule: "MemoryLeak",
    severity: "Warning" as const,
    pod: pod.metadata.name,
    container: "hog",
    message: "Container hog grows 12 MiB/h.",
    evidence: {},
    firstSeen: new Date(T0 - 600_000).toISOString(),
    lastSeen: new Date(T0 - 60_000).toISOString(),
    count: 9,
  };
  const pass = (previous: MemoryInspectionStatus, unavailable: { node: string; reason: string }[]) =>
    inspect({
      generation: 1,
      spec,
      previous,
      target: target([pod]),
      now: new Date(T0),
      cgroups: { analyses: [], unavailable },
    }).status;

  it("keeps its cgroup findings, saying they were not checked, why and since when; the next answer drops the note", () => {
    const reason = `the memlens agent on node ${node} did not answer: no answer in 5000 ms`;
    const kept = pass({ findings: [leak] }, [{ node, reason }]).findings?.find(
      (f) => f.rule === "MemoryLeak",
    );
    expect(kept?.resolved).to.equal(undefined);
    expect(kept?.count).to.equal(9);
    expect(kept?.unverified).to.equal(`not checked since ${leak.lastSeen}: ${reason}`);
    // the agent answers again but has no data for the container: still kept, no longer "unreachable"
    const later = pass({ findings: [kept!] }, []).findings?.find((f) => f.rule === "MemoryLeak");
    expect(later?.unverified).to.equal(undefined);
  });
});
