import { readFile } from "node:fs/promises";
import { analyzeContainer } from "../../analysis/analyze.js";
import { analysisJson, formatAnalysisText } from "../../analysis/report.js";
import { parseDuration } from "../../api/duration.js";
import { parseQuantity } from "../../api/quantity.js";
import { parseTrace, TraceFormatError, traceToSamples } from "../../cgroup/trace.js";
import { outputFormat, UsageError, parseCommandArgs, type Command } from "../command.js";

const HELP = `usage: memlens analyze --trace FILE [--min-observation DURATION] [--requests Q] [--limits Q] [--format text|json]

Runs the OOM, leak, memory.high throttling and pressure rules over a cgroup-trace/v1 recording
of one container (as \`memlens agent record\` writes it) and prints findings and recommendations.

  --trace FILE                the recording (JSON Lines, cgroup-trace/v1)
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
      "min-observation": { type: "string", default: "15m" },
      requests: { type: "string" },
      limits: { type: "string" },
      format: { type: "string", default: "text" },
    },
  });
  if (!parsed) return 0;
  const { values } = parsed;
  const format = outputFormat(values.format);
  const file = values.trace;
  if (!file) throw new UsageError("--trace FILE is required: the cgroup-trace/v1 recording to analyse");
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
  const analysis = analyzeContainer({
    samples,
    ...(requests !== undefined ? { requests } : {}),
    ...(limits !== undefined ? { limits } : {}),
    thresholds: { leak: { minObservationMs } },
  });
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
