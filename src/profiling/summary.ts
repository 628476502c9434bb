// What a heap profile says, in a few numbers and one sentence: the functions holding the most
// in-use memory (flat, as `go tool pprof -top` ranks them) and, against a baseline profile, the
// functions whose flat share grew the most (as `-diff_base` computes it). Pure.
import { diffProfiles, grownFunctions } from "./diff.js";
import type { Profile } from "./model.js";
import { resolveSampleIndex } from "./sample-type.js";
import { topTable } from "./top.js";

export interface HeapSummaryOptions {
  /** Sample type to rank by (pprof -sample_index); default: the profile's default (inuse_space for Go). */
  sampleType?: string;
  /** How many functions `top` and `grown` list at most. */
  topN: number;
}

export interface HeapTopEntry {
  function: string;
  /** Flat value: allocated in the function itself (in the sample type's unit, bytes for *_space). */
  bytes: number;
  /** bytes / total * 100. */
  percent: number;
}

export interface HeapGrownEntry {
  function: string;
  /** Flat growth since the baseline, > 0. */
  bytes: number;
}

export interface HeapSummary {
  sampleType: string;
  unit: string;
  /** Sum of the sample type over all samples. */
  total: number;
  /** Largest flat values first, only functions with a positive flat value. */
  top: HeapTopEntry[];
  /** With a baseline: largest positive flat deltas first (empty when nothing grew). */
  grown?: HeapGrownEntry[];
  /** With a baseline: total minus the baseline's total. */
  totalDelta?: number;
  /** With a baseline: the sum of the positive flat deltas (what grew, before what shrank). */
  growth?: number;
}

export function heapSummary(
  current: Profile,
  base: Profile | undefined,
  opts: HeapSummaryOptions,
): HeapSummary {
  const topN = Math.max(0, Math.floor(opts.topN));
  const sampleIndex = resolveSampleIndex(current, opts.sampleType);
  const table = topTable(current, { sampleIndex, nodeFraction: 0 });
  const top = table.rows
    .filter((r) => r.flat > 0)
    .slice(0, topN)
    .map((r): HeapTopEntry => ({ function: r.function, bytes: r.flat, percent: r.flatPercent }));
  const summary: HeapSummary = { sampleType: table.sampleType, unit: table.unit, total: table.total, top };
  if (base !== undefined) {
    const diffed = diffProfiles(current, base);
    const diffTable = topTable(diffed, { sampleIndex, nodeFraction: 0 });
    summary.grown = grownFunctions(diffTable, "flat")
      .slice(0, topN)
      .map((r): HeapGrownEntry => ({ function: r.function, bytes: r.flat }));
    summary.totalDelta = diffTable.rows.reduce((sum, r) => sum + r.flat, 0);
    summary.growth = diffTable.rows.reduce((sum, r) => sum + Math.max(r.flat, 0), 0);
  }
  return summary;
}

/** When the baseline was taken, for the sentence: "at 10:02 UTC (38 min ago)". */
export interface BaselineTime {
  at: Date;
  now: Date;
}

/**
 * One sentence for a finding, e.g. "98% of in-use heap was allocated by
 * `main.(*MemoryLeaker).OnRequest`; since the baseline at 10:02 UTC (38 min ago): +61 MiB in
 * `main.(*MemoryLeaker).OnRequest` (92% of growth)."
 */
export function heapMessage(summary: HeapSummary, baseline?: BaselineTime): string {
  const what = describeType(summary.sampleType);
  const first = summary.top[0];
  if (first === undefined || summary.total === 0) {
    return `The heap profile holds no ${what.noun} (${summary.sampleType} total ${amount(summary.total, summary.unit)}).`;
  }
  let sentence = `${percentText(first.percent)} of ${what.noun} ${what.verb} \`${first.function}\``;
  const grown = summary.grown;
  if (grown !== undefined) {
    const since = baseline ? `the baseline ${baselineWhen(baseline)}` : "the baseline";
    const top = grown[0];
    if (top === undefined) sentence += `; nothing has grown since ${since}`;
    else {
      const share = summary.growth ? ` (${percentText((100 * top.bytes) / summary.growth)} of growth)` : "";
      sentence += `; since ${since}: +${amount(top.bytes, summary.unit)} in \`${top.function}\`${share}`;
    }
  }
  return `${sentence}.`;
}

/** "at 10:02 UTC (38 min ago)"; another day's baseline with its date. */
export function baselineWhen({ at, now }: BaselineTime): string {
  const iso = at.toISOString();
  const sameDay = iso.slice(0, 10) === now.toISOString().slice(0, 10);
  const clock = `${sameDay ? "" : `${iso.slice(0, 10)} `}${iso.slice(11, 16)} UTC`;
  const minutes = Math.max(0, Math.floor((now.getTime() - at.getTime()) / 60_000));
  const ago =
    minutes < 1
      ? "less than a minute ago"
      : minutes < 120
        ? `${minutes} min ago`
        : minutes < 48 * 60
          ? `${Math.floor(minutes / 60)} h ago`
          : `${Math.floor(minutes / 1440)} days ago`;
  return `at ${clock} (${ago})`;
}

function describeType(sampleType: string): { noun: string; verb: string } {
  switch (sampleType) {
    case "inuse_space":
    case "space":
      return { noun: "in-use heap", verb: "was allocated by" };
    case "inuse_objects":
    case "objects":
      return { noun: "in-use heap objects", verb: "were allocated by" };
    case "alloc_space":
      return { noun: "heap allocated since start", verb: "was allocated by" };
    case "alloc_objects":
      return { noun: "heap objects allocated since start", verb: "were allocated by" };
    default:
      return { noun: sampleType, verb: "is in" };
  }
}

function percentText(p: number): string {
  const a = Math.abs(p);
  if (a >= 10) return `${Math.round(a)}%`;
  if (a >= 0.1) return `${a.toFixed(1).replace(/\.0$/, "")}%`;
  return "<0.1%";
}

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

/** Bytes in binary units to about three significant digits ("12 MiB", "1.5 GiB"); other units as counts. */
export function amount(value: number, unit: string): string {
  if (unit !== "bytes") return `${Math.round(value)} ${unit === "count" ? "objects" : unit}`;
  let v = Math.abs(value);
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  const digits = u === 0 || v >= 10 ? 0 : 1;
  const text = v.toFixed(digits).replace(/\.0$/, "");
  return `${value < 0 ? "-" : ""}${text} ${UNITS[u]}`;
}
