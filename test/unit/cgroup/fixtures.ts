import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseTrace, type Trace } from "../../../src/cgroup/trace.js";

/** Real kernel recordings of single containers (see test/fixtures/cgroup-traces/README.md). */
export const TRACE_FILES = [
  "v2-oom-fast-leak.jsonl",
  "v2-memory-high-then-oom.jsonl",
  "v1-oom-fast-leak.jsonl",
  "v1-slow-leak.jsonl",
] as const;

export function tracePath(file: string): string {
  return resolve(process.cwd(), "test/fixtures/cgroup-traces", file);
}

export function loadTrace(file: (typeof TRACE_FILES)[number]): Trace {
  return parseTrace(readFileSync(tracePath(file), "utf8"));
}
