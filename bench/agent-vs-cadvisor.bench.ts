/**
 * The memlens agent and cAdvisor side by side over the same 1000 real (empty) container cgroups
 * (bench/fixture.ts: 500 pods of two containers under this process's own v1 memory cgroup, made
 * once, removed at the end, also on failure or a signal). One after the other, never at once,
 * each in a process of its own, for the same 24 periods of DEFAULT_PERIOD_S in real time:
 *
 * - the agent with the DaemonSet's NODE_OPTIONS and 6 h of history (as agent.bench fills it),
 *   passes at period boundaries as SamplerLoop runs them;
 * - cAdvisor's container manager as the kubelet embeds it (bench/cadvisor/main.go, built from
 *   its Go module by bench/cadvisor/build.sh, cached): the raw factory with the cgroup prefix
 *   allow-list set to these cgroups, memory metrics only, every container housekept at the same
 *   period, its in-memory cache at cAdvisor's default retention (2 min, which 24 periods of 5 s
 *   fill).
 *
 * CPU is the whole process's (getrusage: every thread, the runtime's GC included) over the 24
 * periods after start-up; RSS is VmRSS at the end (each one's retention full) and VmHWM.
 *
 *   node dist/bench/agent-vs-cadvisor.bench.js       (~5 min; needs Go the first time)
 */
import { spawn } from "node:child_process";
import { loadavg } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { DEFAULT_PERIOD_S, DEFAULT_SCAN_EVERY } from "../src/agent/sampler.js";
import {
  MEMORY_HIERARCHY,
  RETENTION_S,
  agentWithHistory,
  createKubepods,
  daemonSetNodeOptions,
  mib,
  peakRssBytes,
} from "./fixture.js";

const CONTAINERS = 1000;
// as agent.bench: whole scan cycles, so the walk's share is what it is in the long run
const PERIODS = 2 * DEFAULT_SCAN_EVERY;

/** What each side reports. */
interface Side {
  cgroups: number;
  /** samples per cgroup in the measured periods (the mean) */
  samples: number;
  cpuS: number;
  rssBytes: number;
  peakBytes: number;
  retentionS: number;
  /** samples per cgroup held at the end */
  heldSamples: number;
}

/** The harness's JSON (bench/cadvisor/main.go). */
interface CadvisorOut {
  cgroups: number;
  minSamples: number;
  meanSamples: number;
  heldSamples: number;
  windowS: number;
  cpuS: number;
  rssBytes: number;
  peakBytes: number;
  retentionS: number;
}

async function agentChild(root: string, cgroups: number): Promise<Side & { tickCpuS: number }> {
  const { sampler, store } = await agentWithHistory(root, Date.now() / 1000);
  const periodMs = DEFAULT_PERIOD_S * 1000;
  const pass = async () => {
    await sleep(periodMs - (Date.now() % periodMs));
    const stats = await sampler.tick();
    if (stats.cgroups !== cgroups) throw new Error(`the agent read ${stats.cgroups} of ${cgroups} cgroups`);
    return stats;
  };
  await pass(); // the first pass in real time: steady state from its end
  const cpu0 = process.cpuUsage();
  let tickCpuS = 0;
  for (let i = 0; i < PERIODS; i++) {
    const stats = await pass();
    tickCpuS += stats.scanCpuS + stats.readCpuS;
  }
  const cpu = process.cpuUsage(cpu0);
  const first = store.all().next();
  return {
    cgroups,
    samples: PERIODS,
    cpuS: (cpu.user + cpu.system) / 1e6,
    tickCpuS,
    rssBytes: process.memoryUsage().rss,
    peakBytes: peakRssBytes(),
    retentionS: RETENTION_S,
    heldSamples: first.done === true ? 0 : first.value.history.toColumns().t.length,
  };
}

let running: ReturnType<typeof spawn> | undefined;
let stopping = false;

/** Runs a command to its end, stderr passed through; resolves to its stdout. */
function output(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    if (stopping) return reject(new Error("stopped by a signal"));
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "inherit"] });
    running = child;
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      running = undefined;
      if (code === 0) resolve(out);
      else reject(new Error(`${relative(process.cwd(), command)} failed (${signal ?? `exit ${code}`})`));
    });
  });
}

function load(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
}

async function main(): Promise<void> {
  const childArg = process.argv.indexOf("--agent-child");
  if (childArg >= 0) {
    const [root, cgroups] = process.argv.slice(childArg + 1);
    process.stdout.write(JSON.stringify(await agentChild(root ?? "", Number(cgroups))));
    return;
  }
  const self = fileURLToPath(import.meta.url);
  const repo = join(dirname(self), "../..");
  const deployed = daemonSetNodeOptions(join(repo, "config/agent/daemonset.yaml"));
  const harness = (await output(join(repo, "bench/cadvisor/build.sh"), [])).trim();
  const version = /cadvisor-(v[^/]+)\//.exec(harness)?.[1] ?? "?";

  for (const signal of ["SIGINT", "SIGTERM"] as const)
    process.on(signal, () => {
      process.exitCode = 130;
      stopping = true;
      running?.kill("SIGTERM"); // its failure removes the cgroups below
    });
  const kubepods = createKubepods(CONTAINERS);
  let agent: Side & { tickCpuS: number; load: string };
  let cadvisor: Side & { load: string; minSamples: number };
  try {
    let loadAt = load();
    const agentOut = await output(process.execPath, [
      ...deployed,
      self,
      "--agent-child",
      kubepods.root,
      String(kubepods.cgroups),
    ]);
    agent = { ...(JSON.parse(agentOut) as Side & { tickCpuS: number }), load: loadAt };
    loadAt = load();
    const cgroup = ["-cgroup", kubepods.root, "-hierarchy", MEMORY_HIERARCHY];
    const c = JSON.parse(
      await output(harness, [...cgroup, "-period", `${DEFAULT_PERIOD_S}s`, "-periods", String(PERIODS)]),
    ) as CadvisorOut;
    // the pod and container cgroups, and kubepods/, burstable/ and the bench's root above them
    if (c.cgroups !== kubepods.cgroups + 3)
      throw new Error(`cAdvisor sampled ${c.cgroups} cgroups, not ${kubepods.cgroups + 3}`);
    cadvisor = { ...c, samples: c.meanSamples, load: loadAt };
  } finally {
    kubepods.remove();
  }

  const fmt = (v: number, digits = 1) => v.toFixed(digits);
  const cpuUs = (s: Side) => (s.cpuS / s.samples / CONTAINERS) * 1e6;
  const retention = (s: Side) =>
    `${s.retentionS >= 3600 ? `${s.retentionS / 3600} h` : `${s.retentionS / 60} min`} (${fmt(s.heldSamples, 0)} samples/cgroup)`;
  const row = (name: string, s: Side & { load: string }) =>
    [
      name,
      s.load,
      s.cgroups,
      fmt(s.samples),
      fmt(cpuUs(s)),
      mib(s.peakBytes),
      mib(s.rssBytes),
      retention(s),
    ].join(" | ");
  const ratio = (a: number, b: number) => fmt(a / b, 2);
  const lower = (a: number, b: number) => (a < b ? "met" : "missed");
  const [cpuA, cpuC] = [cpuUs(agent), cpuUs(cadvisor)];
  process.stdout.write(
    `memlens agent vs cAdvisor ${version} (memory metrics only): ${CONTAINERS} containers in ${CONTAINERS / 2} pods, ` +
      `cgroup v1 (real, empty cgroups), the same cgroups one tool after the other; ${PERIODS} periods of ${DEFAULT_PERIOD_S} s ` +
      `in real time each; CPU = the whole process (getrusage) over those periods\n\n` +
      "tool | load avg at start | cgroups | samples/cgroup | CPU µs/container/sample | peak RSS MiB | RSS with retention MiB | retention (held)\n" +
      "---- | ----------------- | ------- | -------------- | ----------------------- | ------------ | ---------------------- | ----------------\n" +
      `${row(`memlens agent (${deployed.join(" ")})`, agent)}\n` +
      `${row(`cAdvisor ${version} (housekeeping ${DEFAULT_PERIOD_S} s, fixed)`, cadvisor)}\n` +
      `memlens / cAdvisor | | | | ${ratio(cpuA, cpuC)} | ${ratio(agent.peakBytes, cadvisor.peakBytes)} | ${ratio(agent.rssBytes, cadvisor.rssBytes)} |\n\n` +
      `agent CPU inside its passes only (as agent.bench counts it): ${fmt((agent.tickCpuS / agent.samples / CONTAINERS) * 1e6)} µs/container/sample; ` +
      `cAdvisor: fewest samples of a cgroup ${cadvisor.minSamples}; load avg at the end ${load()}\n` +
      `targets: memlens lower on CPU (${lower(cpuA, cpuC)}), on peak RSS (${lower(agent.peakBytes, cadvisor.peakBytes)}), ` +
      `on RSS with retention (${lower(agent.rssBytes, cadvisor.rssBytes)})\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`agent-vs-cadvisor: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(process.exitCode ?? 1);
});
