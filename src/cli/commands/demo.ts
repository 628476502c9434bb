import { RULE } from "../../api/names.js";
import { parseDuration } from "../../api/duration.js";
import {
  applyRecommendation,
  appPods,
  catalogHeap,
  cgroupV2Node,
  DEMO_NAMESPACE,
  inspections,
  startDemo,
  stopDemo,
  THROTTLE_STORY,
  throttlingFromRecording,
  type DemoInspection,
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
  const v2 = await cgroupV2Node().catch(() => undefined);
  await startDemo(ns, v2 !== undefined);
  say(
    `namespace ${ns}: catalog (leaks per request, limit 200Mi, load generator beside it), healthy (steady)` +
      (v2 ? `, ${THROTTLE_STORY} (the same leak, Burstable: request 100Mi, limit 200Mi, on ${v2})` : ""),
  );

  heading("story 2: allocations throttled at memory.high");
  if (v2) {
    say(
      `Live on ${v2}: cgroup v2, and the kubelet's MemoryQoS (memoryThrottlingFactor 0.9) sets memory.high = ` +
        `100Mi + 0.9 × (200Mi − 100Mi) = 190Mi on ${THROTTLE_STORY}'s container. Watch for MemoryThrottled ` +
        "below; the demo then applies memlens' recommendation as you would in Git.",
    );
  } else {
    say(
      "This cluster has no Ready cgroup v2 node with MemoryQoS (the local VM memlens-node-v2 did not join: " +
        "`cluster/vm.sh status` says why), so story 2 is shown FROM A RECORDING, not live:",
    );
    say("[recording v2-memory-high-then-oom.jsonl, memlens analyze --requests 100Mi --limits 200Mi]");
    say(throttlingFromRecording().trimEnd());
  }
  const story2 = { applied: false, condition: "" };

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
            f.rule === RULE.OOMKilled &&
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
            const heap = await catalogHeap(ns, ".memlens/demo");
            heapShown = true;
            say(`\n[catalog] heap profile against its baseline: ${heap.sentence}`);
            say(
              `[catalog] flame graph, growth since the baseline in red: ${heap.svg}\n` +
                `          (from any terminal: memlens profile flame mi/catalog -n ${ns} -o catalog-heap.svg)`,
            );
          } catch {
            // the catalog is restarting after a kill: try again next round
          }
        }
        if (mi.metadata.name === THROTTLE_STORY) await throttleStory(ns, mi, story2);
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

/** Story 2 after memlens found the throttling: apply its recommendation, show what follows. */
async function throttleStory(
  ns: string,
  mi: DemoInspection,
  state: { applied: boolean; condition: string },
): Promise<void> {
  const c = mi.status?.conditions?.find((x) => x.type === RULE.MemoryThrottled);
  const shown = c ? `${c.status} (${c.reason})` : "";
  if (c && shown !== state.condition && (state.condition || c.status === "True")) {
    say(`\n[${THROTTLE_STORY}] condition MemoryThrottled=${shown}: ${c.message}`);
  }
  state.condition = shown;
  const throttled = mi.status?.findings?.some((f) => f.rule === RULE.MemoryThrottled && !f.resolved);
  if (state.applied || !throttled) return;
  const rec = mi.status?.recommendations?.find((r) => r.type === "SetRequestsEqualLimits");
  if (!rec) return;
  heading(`story 2: requests = limits, as memlens recommends, applied as a GitOps user would`);
  say(`$ ${rec.command ?? `kubectl -n ${ns} patch ${rec.workload} --patch '...'`}`);
  await applyRecommendation(ns, rec);
  state.applied = true;
  for (const p of await appPods(ns, THROTTLE_STORY)) {
    say(
      `new pod ${p.metadata.name}: QoS ${p.status.qosClass}; the kubelet sets no memory.high for it, so the leak`,
    );
  }
  say("now runs into the 200Mi limit: an OOM kill and a restart instead of a hang (watch for OOMKilled).");
}
