import { readFile } from "node:fs/promises";
import type { ContainersResponse } from "../../agent/api.js";
import { analyzeContainer, analyzeSeries, type Analysis } from "../../analysis/analyze.js";
import { seriesFromHistories, type HistoryInstance } from "../../analysis/history-series.js";
import { analysisJson, formatAnalysisText } from "../../analysis/report.js";
import { parseDuration } from "../../api/duration.js";
import { parseQuantity } from "../../api/quantity.js";
import { parseTrace, TraceFormatError, traceToSamples } from "../../cgroup/trace.js";
import { outputFormat, UsageError, parseCommandArgs, type Command } from "../command.js";

const HELP = `usage: memlens analyze (--trace FILE | --history FILE [--container NAME]) [--min-observation DURATION]
                       [--requests Q] [--limits Q] [--format text|json]

Runs the OOM, leak, memory.high throttling and pressure rules over one container's cgroup
history and prints findings and recommendations: the same rules over the same numbers as the
controller, whether the history is a recording or an agent's answer.

  --trace FILE                a recording (JSON Lines, cgroup-trace/v1, as \`memlens agent record\`
                              writes it)
  --history FILE              an agent's answer to GET /v1/containers (JSON), saved
  --container NAME            with --history: the container (every instance of it, restarts
                              joined in time order); needed when the answer holds several
  --min-observation DURATION  shortest history the leak rule judges (default 15m, as in a cluster;
                              recordings of a few minutes need e.g. 10s)
  --requests Q                the container's memory request (e.g. 100Mi), to check memory.high
                              against MemoryQoS and to write patches
  --limits Q                  its memory limit (default: the limit in the recording)
  --format FORMAT             text (default) or json
`;

export const analyzeCommand: Command = async (argv) => {
  const parsed = parseCommandArgs(argv, {
    help: HELP,
    options: {
      trace: { type: "string" },
      history: { type: "string" },
      container: { type: "string" },
      "min-observation": { type: "string", default: "15m" },
      requests: { type: "string" },
      limits: { type: "string" },
      format: { type: "string", default: "text" },
    },
  });
  if (!parsed) return 0;
  const { values } = parsed;
  const format = outputFormat(values.format);
  const file = values.trace ?? values.history;
  if (!file || (values.trace && values.history))
    throw new UsageError(
      "give one of --trace FILE (a cgroup-trace/v1 recording) or --history FILE (a saved GET /v1/containers answer)",
    );
  const minObservationMs = parseDuration(values["min-observation"]);
  if (minObservationMs === undefined) {
    throw new UsageError(
      `--min-observation must be a duration such as 15m or 10s, not ${JSON.stringify(values["min-observation"])}`,
    );
  }
  const requests = quantityFlag("requests", values.requests);
  const limits = quantityFlag("limits", values.limits);
  if (requests !== undefined && limits !== undefined && requests > limits) {
    throw new UsageError(`--requests (${values.requests}) must not exceed --limits (${values.limits})`);
  }

  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message;
    process.stderr.write(`memlens analyze: cannot read ${file}: ${reason}\n`);
    return 1;
  }
  const thresholds = { leak: { minObservationMs } };
  let analysis: Analysis;
  if (values.history) {
    const picked = pickContainer(text, values.container);
    if (typeof picked === "string") {
      process.stderr.write(`memlens analyze: ${file}: ${picked}\n`);
      return 1;
    }
    analysis = analyzeSeries(seriesFromHistories(picked.instances), {
      requests: requests ?? parseQuantity(picked.requests),
      limits: limits ?? parseQuantity(picked.limits),
      thresholds,
      container: picked.container,
    });
  } else {
    let samples;
    try {
      samples = traceToSamples(parseTrace(text));
    } catch (err) {
      if (err instanceof TraceFormatError) {
        process.stderr.write(`memlens analyze: ${file}: ${err.message}\n`);
        return 1;
      }
      throw err;
    }
    analysis = analyzeContainer({
      samples,
      ...(requests !== undefined ? { requests } : {}),
      ...(limits !== undefined ? { limits } : {}),
      thresholds,
    });
  }
  process.stdout.write(
    format === "json" ? `${JSON.stringify(analysisJson(analysis), null, 2)}\n` : formatAnalysisText(analysis),
  );
  return 0;
};

function quantityFlag(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const bytes = parseQuantity(text);
  if (bytes === undefined || bytes <= 0) {
    throw new UsageError(
      `--${name} must be a memory quantity such as 100Mi or 1Gi, not ${JSON.stringify(text)}`,
    );
  }
  return bytes;
}

/** The instances of one container in a saved agent answer, or why there is none to pick. */
function pickContainer(
  text: string,
  name: string | undefined,
): { instances: HistoryInstance[]; container: string; requests?: string; limits?: string } | string {
  let answer: ContainersResponse;
  try {
    answer = JSON.parse(text) as ContainersResponse;
  } catch {
    return "not JSON: --history takes a saved GET /v1/containers answer";
  }
  if (!Array.isArray(answer?.containers))
    return "no `containers` list: --history takes a saved GET /v1/containers answer";
  const containers = answer.containers.filter((c) => c.kind === "container");
  const names = [...new Set(containers.map((c) => c.container))];
  const chosen = name ?? (names.length === 1 ? names[0] : undefined);
  if (chosen === undefined || !names.includes(chosen))
    return `${name === undefined ? "several containers" : `no container ${JSON.stringify(name)}`}: choose one with --container (${names.join(", ") || "none listed"})`;
  const mine = containers.filter((c) => c.container === chosen);
  const last = mine[mine.length - 1];
  return {
    instances: mine.map((c) => ({ history: c.history, cgroupVersion: c.cgroupVersion })),
    container: chosen,
    ...(last?.requests.memory ? { requests: last.requests.memory } : {}),
    ...(last?.limits.memory ? { limits: last.limits.memory } : {}),
  };
}
