import { closeSync, existsSync, openSync, writeSync } from "node:fs";
import { release } from "node:os";
import { posix } from "node:path";
import type { CgroupVersion } from "../cgroup/files.js";
import { readCgroupFiles } from "../cgroup/scan.js";
import { formatTraceLine, formatTraceMeta } from "../cgroup/trace.js";

export interface RecordOptions {
  /** the cgroup directory (in the memory hierarchy) */
  dir: string;
  out: string;
  periodS: number;
  durationS: number;
  signal?: AbortSignal;
}

export interface RecordResult {
  samples: number;
  version: CgroupVersion;
  stoppedBy: "duration" | "signal" | "cgroup gone";
}

/** v2 cgroups have memory.current, v1 memory cgroups memory.usage_in_bytes. */
export function detectCgroupDirVersion(dir: string): CgroupVersion | undefined {
  if (existsSync(posix.join(dir, "memory.current"))) return "v2";
  if (existsSync(posix.join(dir, "memory.usage_in_bytes"))) return "v1";
  return undefined;
}

/**
 * Records one cgroup into a cgroup-trace/v1 file (the fixtures' format): every interface file
 * the kernel offers, raw, once per period. Each line is written as it is read, so a recording
 * cut short (signal, the cgroup removed after an OOM kill) is still complete up to that point.
 */
export async function recordCgroup(opts: RecordOptions): Promise<RecordResult> {
  const version = detectCgroupDirVersion(opts.dir);
  if (!version)
    throw new Error(
      `${opts.dir} is not a memory cgroup: it has neither memory.current nor memory.usage_in_bytes`,
    );
  const fd = openSync(opts.out, "w");
  try {
    writeSync(fd, formatTraceMeta({ cgroupVersion: version, kernel: release() }));
    const start = performance.now();
    let samples = 0;
    for (let k = 0; ; k++) {
      if (opts.signal?.aborted) return { samples, version, stoppedBy: "signal" };
      const t = (performance.now() - start) / 1000;
      if (t > opts.durationS) return { samples, version, stoppedBy: "duration" };
      const read = await readCgroupFiles(opts.dir, version);
      if (read.gone || Object.keys(read.files).length === 0)
        return { samples, version, stoppedBy: "cgroup gone" };
      writeSync(fd, formatTraceLine({ t: Math.round(t * 1000) / 1000, files: read.files }));
      samples++;
      // on a fixed grid from the start, so slow reads do not stretch the period
      const next = (k + 1) * opts.periodS * 1000 - (performance.now() - start);
      if (next > 0) await sleep(next, opts.signal);
    }
  } finally {
    closeSync(fd);
  }
}

// One listener per wait, removed when the wait ends (a recording makes thousands of waits).
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
