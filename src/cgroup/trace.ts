import type { CgroupVersion } from "./files.js";
import type { MemorySample } from "./sample.js";
import { sampleFromFiles } from "./sample-from-files.js";

/**
 * The cgroup-trace/v1 recording format (JSON Lines; see test/fixtures/cgroup-traces/README.md):
 *   line 1: {"meta": {"format": "cgroup-trace/v1", "cgroup_version": "v1"|"v2", "kernel": "..."}}
 *   others: {"t": <seconds since start>, "files": {"<interface file>": "<raw text>", ...}}
 */
export const TRACE_FORMAT = "cgroup-trace/v1";

export interface TraceMeta {
  format: typeof TRACE_FORMAT;
  cgroup_version: CgroupVersion;
  kernel?: string;
  /** fields a newer writer adds are kept */
  [extra: string]: unknown;
}

export interface TraceSample {
  t: number;
  files: Record<string, string>;
}

export interface Trace {
  meta: TraceMeta;
  samples: TraceSample[];
}

/** A recording that does not follow cgroup-trace/v1; the message names the line and the problem. */
export class TraceFormatError extends Error {
  override readonly name = "TraceFormatError";
  constructor(
    readonly line: number,
    problem: string,
  ) {
    super(`cgroup trace line ${line}: ${problem}`);
  }
}

/** Parses a whole recording; blank lines (such as the trailing newline) are ignored. */
export function parseTrace(text: string): Trace {
  let meta: TraceMeta | undefined;
  const samples: TraceSample[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]?.trim() ?? "";
    if (raw === "") continue;
    const lineNo = i + 1;
    const value = parseJson(raw, lineNo);
    if (meta === undefined) meta = parseMeta(value, lineNo);
    else samples.push(parseSample(value, lineNo));
  }
  if (meta === undefined) throw new TraceFormatError(1, 'empty recording: expected a {"meta": ...} line');
  return { meta, samples };
}

export function traceToSamples(trace: Trace): MemorySample[] {
  return trace.samples.map((s) => sampleFromFiles(trace.meta.cgroup_version, s.t, s.files));
}

/** The first line of a recording, newline included. */
export function formatTraceMeta(meta: { cgroupVersion: CgroupVersion; kernel?: string }): string {
  const body: TraceMeta = { format: TRACE_FORMAT, cgroup_version: meta.cgroupVersion };
  if (meta.kernel !== undefined) body.kernel = meta.kernel;
  return `${JSON.stringify({ meta: body })}\n`;
}

/** One sample line, newline included. */
export function formatTraceLine(sample: TraceSample): string {
  return `${JSON.stringify({ t: sample.t, files: sample.files })}\n`;
}

function parseJson(raw: string, lineNo: number): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch (err) {
    throw new TraceFormatError(
      lineNo,
      `not valid JSON (${err instanceof Error ? err.message : String(err)})`,
    );
  }
}

function parseMeta(value: unknown, lineNo: number): TraceMeta {
  const meta = isObject(value) ? value.meta : undefined;
  if (!isObject(meta)) {
    throw new TraceFormatError(lineNo, 'missing meta: the first line must be {"meta": {...}}');
  }
  if (meta.format !== TRACE_FORMAT) {
    throw new TraceFormatError(
      lineNo,
      `wrong format ${JSON.stringify(meta.format)}, expected "${TRACE_FORMAT}"`,
    );
  }
  if (meta.cgroup_version !== "v1" && meta.cgroup_version !== "v2") {
    throw new TraceFormatError(
      lineNo,
      `meta.cgroup_version is ${JSON.stringify(meta.cgroup_version)}, expected "v1" or "v2"`,
    );
  }
  if (meta.kernel !== undefined && typeof meta.kernel !== "string") {
    throw new TraceFormatError(lineNo, "meta.kernel is not a string");
  }
  return meta as TraceMeta;
}

function parseSample(value: unknown, lineNo: number): TraceSample {
  if (!isObject(value)) throw new TraceFormatError(lineNo, 'expected an object {"t": ..., "files": {...}}');
  if (typeof value.t !== "number" || !Number.isFinite(value.t)) {
    throw new TraceFormatError(lineNo, `t is ${JSON.stringify(value.t)}, expected a number of seconds`);
  }
  const files = value.files;
  if (!isObject(files)) throw new TraceFormatError(lineNo, "files is not an object of file name -> text");
  for (const [name, text] of Object.entries(files)) {
    if (typeof text !== "string") {
      throw new TraceFormatError(lineNo, `files[${JSON.stringify(name)}] is not a string`);
    }
  }
  return { t: value.t, files: files as Record<string, string> };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
