import { programName, type Command } from "../command.js";

interface Entry {
  run: () => Promise<Command>;
  summary: string;
}

// Loaded lazily so `memlens profile top` does not pay for the Kubernetes client's start-up.
const table: Record<string, Entry> = {
  agent: {
    summary: "run the node agent: sample container memory cgroups, serve history over HTTPS :9137",
    run: async () => (await import("./agent.js")).agentCommand,
  },
  "agent record": {
    summary:
      "record one cgroup to a cgroup-trace/v1 file (--cgroup DIR --out FILE [--period 1s] [--duration 5m])",
    run: async () => (await import("./agent.js")).agentRecordCommand,
  },
  "agent discover": {
    summary: "list the pod and container cgroups under a cgroup root (--cgroup-root DIR, --format json|text)",
    run: async () => (await import("./agent-discover.js")).agentDiscoverCommand,
  },
  analyze: {
    summary:
      "run the rules over a cgroup-trace/v1 recording (--trace FILE [--min-observation 15m] [--format json])",
    run: async () => (await import("./analyze.js")).analyzeCommand,
  },
  inspect: {
    summary:
      "create (or reuse) a MemoryInspection of a workload (deploy/NAME [-n NS] [--wait] [--profile-port P]); exit 3 on findings",
    run: async () => (await import("./inspect.js")).inspectCommand,
  },
  explain: {
    summary:
      "a MemoryInspection's findings, recommendations and patches (mi/NAME [-n NS]); exit 3 on findings",
    run: async () => (await import("./inspect.js")).explainCommand,
  },
  demo: {
    summary: "the three memory stories live on the local cluster (make demo) [--duration 10m]",
    run: async () => (await import("./demo.js")).demoCommand,
  },
  controller: {
    summary: "run the MemoryInspection controller",
    run: async () => (await import("./controller.js")).controllerCommand,
  },
  crds: {
    summary: "write the CRD manifests generated from the API schema (--out DIR)",
    run: async () => (await import("./crds.js")).crdsCommand,
  },
  "profile diff": {
    summary:
      "what grew since a baseline heap profile, as go tool pprof -top -diff_base (FILE --base BASE, or mi/NAME [-n NS])",
    run: async () => (await import("./profile.js")).profileDiffCommand,
  },
  "profile flame": {
    summary:
      "a heap profile as a self-contained SVG flame graph, growth marked (FILE [--base BASE] or mi/NAME, -o out.svg)",
    run: async () => (await import("./profile.js")).profileFlameCommand,
  },
  "profile top": {
    summary:
      "top functions of a pprof profile, as go tool pprof -top (FILE or mi/NAME [--cum] [--format json])",
    run: async () => (await import("./profile.js")).profileTopCommand,
  },
};

export const commands: Record<string, Command> = Object.fromEntries(
  Object.entries(table).map(([name, entry]) => [name, async (argv: string[]) => (await entry.run())(argv)]),
);

export function usage(): string {
  const width = Math.max(...Object.keys(table).map((n) => n.length));
  const lines = Object.entries(table).map(([name, e]) => `  ${name.padEnd(width)}  ${e.summary}`);
  return `usage: ${programName()} <command> [flags]\n\ncommands:\n${lines.join("\n")}\n`;
}
