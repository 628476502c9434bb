import type { CgroupVersion } from "./files.js";
import { parseFlatKeyed } from "./flat-keyed.js";
import { parsePids } from "./procs.js";
import { parsePressure } from "./psi.js";
import type { MemorySample } from "./sample.js";
import { parseCounter, parseFlag, parseLimit } from "./single-value.js";
import { v1StatToV2Names } from "./v1-stat.js";

/**
 * Normalises the raw interface files of one memory cgroup (keys: file names as in the
 * cgroup-trace/v1 format) into a MemorySample. A file that is absent, or whose text does not
 * parse, leaves its field undefined: kernels differ in what they offer, and a sample with
 * holes is more useful than none.
 */
export function sampleFromFiles(
  version: CgroupVersion,
  t: number,
  files: Record<string, string>,
): MemorySample {
  const sample: MemorySample = { t, version, ...(version === "v2" ? fromV2(files) : fromV1(files)) };
  const procs = files["cgroup.procs"];
  if (procs !== undefined) {
    sample.pids = parsePids(procs);
    sample.procs = sample.pids.length;
  }
  return dropUndefined(sample);
}

type Fields = Omit<MemorySample, "t" | "version">;

function fromV2(files: Record<string, string>): Fields {
  return {
    usage: read(files["memory.current"], parseCounter),
    limit: read(files["memory.max"], parseLimit),
    high: read(files["memory.high"], parseLimit),
    // memory.low/min may read `max`; the sample has no "unlimited" for protections, so it stays undefined
    low: read(files["memory.low"], parseCounter),
    min: read(files["memory.min"], parseCounter),
    peak: read(files["memory.peak"], parseCounter),
    events: read(files["memory.events"], parseFlatKeyed),
    eventsLocal: read(files["memory.events.local"], parseFlatKeyed),
    stat: read(files["memory.stat"], parseFlatKeyed),
    pressure: read(files["memory.pressure"], parsePressure),
    swapCurrent: read(files["memory.swap.current"], parseCounter),
    swapMax: read(files["memory.swap.max"], parseLimit),
    oomGroup: read(files["memory.oom.group"], parseFlag),
  };
}

function fromV1(files: Record<string, string>): Fields {
  const oomControl = read(files["memory.oom_control"], parseFlatKeyed);
  const stat = read(files["memory.stat"], (text) => v1StatToV2Names(parseFlatKeyed(text)));
  const underOom = oomControl?.under_oom;
  return {
    usage: read(files["memory.usage_in_bytes"], parseCounter),
    limit: read(files["memory.limit_in_bytes"], parseLimit),
    peak: read(files["memory.max_usage_in_bytes"], parseCounter),
    failcnt: read(files["memory.failcnt"], parseCounter),
    oomKill: oomControl?.oom_kill,
    underOom: underOom === undefined ? undefined : underOom !== 0,
    stat,
    // v1 has no memory.swap.current; memory.stat's hierarchical total_swap is the same quantity
    swapCurrent: stat?.swap,
  };
}

function read<T>(text: string | undefined, parse: (text: string) => T): T | undefined {
  return text === undefined ? undefined : parse(text);
}

// Keeps `"key" in sample` meaning "the kernel offered it", which callers and JSON output rely on.
function dropUndefined(sample: MemorySample): MemorySample {
  for (const key of Object.keys(sample) as (keyof MemorySample)[]) {
    if (sample[key] === undefined) delete sample[key];
  }
  return sample;
}
