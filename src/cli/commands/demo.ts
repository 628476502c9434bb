import { parseDuration } from "../../api/duration.js";
import {
  catalogHeap,
  DEMO_NAMESPACE,
  hostHasCgroupV2Memory,
  inspections,
  startDemo,
  stopDemo,
  throttlingFromRecording,
} from "../../demo/demo.js";
import { kubectl } from "../../demo/kubectl.js";
import { parseCommandArgs, UsageError, type Command } from "../command.js";

const say = (line = "") => process.stdout.write(`${line}\n`);
const heading = (text: string) => say(`\n=== ${text}`);

/**
 * `memlens demo`: memlens and three memory stories on the local cluster (KUBECONFIG), shown as
 * they change, until Ctrl-C or --duration; then the demo's namespace is deleted.
 */
export const demoCommand: Command = async (argv) => {
  const { values } = parseCommandArgs(argv, {
    options: { duration: { type: "string" }, namespace: { type: "string", default: DEMO_NAMESPACE } },
  });
  const durationMs = values.duration ? parseDuration(values.duration) : Infinity;
  if (durationMs === undefined) throw new UsageError("--duration wants a duration such as 10m");
  const ns = values.namespace;
  const stop = new AbortController();
  process.once("SIGINT", () => stop.abort());
  process.once("SIGTERM", () => stop.abort());
  const until = Date.now() + durationMs;

  heading("deploying memlens (kubectl apply -k config/local) and the demo workloads");
  await startDemo(ns);
  say(
    `namespace ${ns}: catalog (leaks per request, limit 200Mi, load generator beside it), healthy (steady)`,
  );

  heading("story 2: allocations throttled at memory.high");
  say(
    hostHasCgroupV2Memory()
      ? "This host has cgroup v2 memory, but the local kubelet runs without MemoryQoS: showing the real cgroup v2 recording."
      : "This host's kernel offers the cgroup v1 memory controller: memory.high (MemoryQoS) needs cgroup v2, so here is the same finding from a real cgroup v2 recording.",
  );
  say("[recording v2-memory-high-then-oom.jsonl, memlens analyze --requests 100Mi --limits 200Mi]");
  say(throttlingFromRecording().trimEnd());

  heading(`watching (kubectl -n ${ns} get mi) — Ctrl-C to stop`);
  let lastTable = "";
  const told = new Set<string>();
  let heapShown = false;
  while (!stop.signal.aborted && Date.now() < until) {
    try {
      const table = await kubectl(["-n", ns, "get", "mi"]);
      const shape = table.replace(/\s+\d+[smhd](\d+[smhd])?\s+\d+[smhd](\d+[smhd])?\s*$/gm, "");
      if (shape !== lastTable) {
        say(`\n$ kubectl -n ${ns} get mi   (${new Date().toISOString().slice(11, 19)})`);
        say(table.trimEnd());
        lastTable = shape;
      }
      for (const mi of (await inspections(ns)).items) {
        for (const f of mi.status?.findings ?? []) {
          const key = `${mi.metadata.name}/${f.rule}/${f.pod}/${f.resolved ? "resolved" : "active"}`;
          if (told.has(key)) continue;
          told.add(key);
          say(`\n[${mi.metadata.name}] ${f.resolved ? "resolved" : f.rule}: ${f.message}`);
          if (
            mi.metadata.name === "catalog" &&
            !f.resolved &&
            f.rule === "OOMKilled" &&
            !told.has("describe")
          ) {
            told.add("describe");
            say(`\n$ kubectl -n ${ns} describe mi catalog`);
            say((await kubectl(["-n", ns, "describe", "mi", "catalog"])).trimEnd());
          }
        }
        for (const r of mi.status?.recommendations ?? []) {
          const key = `${mi.metadata.name}/rec/${r.type}/${r.container}`;
          if (told.has(key)) continue;
          told.add(key);
          say(
            `\n[${mi.metadata.name}] recommendation ${r.type} for ${r.workload} (${r.container}): ${r.reason}`,
          );
          say(`patch for the manifest in Git:\n${r.patch.trimEnd()}`);
        }
        if (
          mi.metadata.name === "catalog" &&
          !heapShown &&
          (mi.status?.findings ?? []).some((f) => !f.resolved)
        ) {
          try {
            const heap = await catalogHeap(".memlens/demo");
            heapShown = true;
            say(`\n[catalog] top allocators: ${heap.sentence}`);
            say(`[catalog] flame graph of the in-use heap: ${heap.svg}`);
          } catch {
            // the catalog is restarting after a kill: try again next round
          }
        }
      }
    } catch (err) {
      say(`(${err instanceof Error ? err.message.split("\n")[0] : String(err)}; retrying)`);
    }
    await new Promise((r) => setTimeout(r, 5000));
  }
  heading("stopping: deleting the demo namespace");
  await stopDemo(ns);
  return 0;
};
