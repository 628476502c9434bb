import { CgroupHistory } from "../cgroup/history.js";
import {
  decodeValue,
  isView,
  viewColumns,
  type AnyHistory,
  type HistoryColumns,
  type HistoryJSON,
  type WireValue,
} from "../cgroup/history-wire.js";
import { KERNEL_PARTS, type KernelPart } from "../cgroup/memory-stat.js";
import { rowFromSample, type ColumnName } from "../cgroup/reading.js";
import type { MemorySample } from "../cgroup/sample.js";
import { emptySeries, type Series } from "./series.js";

/**
 * The rules' Series from history columns (history-wire.ts): the agent's answer in the
 * controller, a recording's rows in `memlens analyze`. Columns are copied, nothing is derived
 * here: every quantity was computed once, when the reading became a row (reading.ts).
 */

/** One cgroup instance's history: a container has one per restart. */
export interface HistoryInstance {
  history: AnyHistory;
  cgroupVersion: "v1" | "v2";
}

type Column = readonly WireValue[] | Float64Array | undefined;

/** Series column <- history column. */
const COPIED = [
  ["usage", "usage"],
  ["limit", "limit"],
  ["high", "high"],
  ["peak", "peak"],
  ["failcnt", "failcnt"],
  ["procs", "procs"],
  ["procsKept", "procs_kept"],
  ["oomKill", "oom_kill"],
  ["highEvents", "events_high"],
  ["kept", "kept"],
  ["anon", "anon"],
  ["file", "file"],
  ["shmem", "shmem"],
  ["pageCache", "page_cache"],
  ["inactiveFile", "inactive_file"],
  ["kernel", "kernel"],
  ["swap", "swap"],
  ["someTotal", "psi_some_total"],
  ["fullTotal", "psi_full_total"],
  ["someAvg10", "psi_some_avg10"],
] as const satisfies readonly (readonly [keyof Series, ColumnName])[];

/**
 * A container's history (its samples in any order) as a Series, the way the controller would
 * see it had an agent taken the same readings: each sample's row into the agent's history (at
 * full resolution), its wire columns, then the controller's column copy. So a recording gives
 * the numbers live data gives, down to the history's Float32 storage.
 */
export function toSeries(samples: readonly MemorySample[], own = false): Series {
  return seriesFromHistories(
    [{ history: historyOfSamples(samples), cgroupVersion: samples[0]?.version ?? "v2" }],
    -Infinity,
    own,
  );
}

/** The agent's history of these samples (any order; one per time), every one kept at full resolution. */
export function historyOfSamples(samples: readonly MemorySample[]): HistoryColumns {
  const n = Math.max(1, samples.length);
  const history = new CgroupHistory({ periodS: 1, retentionS: n, rawWindowS: n });
  const sorted = samples.every((x, i) => i === 0 || x.t >= (samples[i - 1] as MemorySample).t)
    ? samples
    : [...samples].sort((a, b) => a.t - b.t);
  sorted.forEach((x, i) => history.append(x.t, rowFromSample(x, sorted[i - 1])));
  return history.toColumns();
}

/**
 * Every instance joined in time order (a stable sort: equal times keep the instances' order),
 * readings before `since` (epoch seconds) left out. The Series shares toSeries' buffer unless
 * `own`: it lives until the next call. Column by column: one tight loop per JSON array.
 */
export function seriesFromHistories(
  instances: readonly HistoryInstance[],
  since = -Infinity,
  own = false,
): Series {
  // the readings [from, to) of each instance in the window, and whether they are in time order
  const from: number[] = [];
  const to: number[] = [];
  let n = 0;
  let sorted = true;
  let lastT = -Infinity;
  for (const inst of instances) {
    const t = inst.history.t;
    let i = 0;
    while (i < t.length && !((t[i] as number) >= since)) i++;
    let j = i;
    for (; j < t.length; j++) {
      const tj = t[j] as number;
      if (!(tj >= since)) sorted = false; // a reading before since after one in the window: rare
      if (tj < lastT) sorted = false;
      lastT = tj;
    }
    from.push(i);
    to.push(j);
    n += j - i;
  }
  if (!sorted) return seriesInOrder(instances, since, own);
  const version = instances.find((inst, k) => (to[k] as number) > (from[k] as number))?.cgroupVersion ?? "v2";
  const s = emptySeries(n, version, own);
  // copies history column `key` of every instance's window into col
  const gather = (col: Float64Array, key: ColumnName | "t") => {
    let at = 0;
    instances.forEach((inst, k) => {
      const a = from[k] as number;
      const b = to[k] as number;
      const h = inst.history;
      // a view (the controller's copy) is read in place, straight into the Series
      if (isView(h)) {
        if (key === "t") col.set(h.t.subarray(a, b), at);
        else h.read(key, col, at, a, b);
      } else copyColumn(col, at, h[key], a, b);
      at += b - a;
    });
  };
  gather(s.t, "t");
  for (const [field, key] of COPIED) gather(s[field], key);
  s.hasStat = s.kept.some((v) => !Number.isNaN(v));
  s.kernelParts = () => {
    const cols = new Map<KernelPart, Float64Array>();
    const other = Float64Array.from(s.kernel.subarray(0, n));
    for (const key of KERNEL_PARTS) {
      const col = new Float64Array(n);
      gather(col, key);
      cols.set(key, col);
      for (let i = 0; i < n; i++)
        if (!Number.isNaN(col[i])) other[i] = (other[i] as number) - (col[i] as number);
    }
    // v2 `kernel` minus the parts memory.stat names (io_uring, pipes, bpf, ...); 0 without `kernel`
    for (let i = 0; i < n; i++) other[i] = Math.max(0, other[i] as number);
    cols.set("other_kernel", other);
    return cols;
  };
  return s;
}

/**
 * The general case: readings out of order across instances (or within one). Each reading as an
 * instance of its own, stably sorted by time; only the order costs more.
 */
function seriesInOrder(instances: readonly HistoryInstance[], since: number, own: boolean): Series {
  const refs: [HistoryInstance, number][] = [];
  for (const { history, cgroupVersion } of instances) {
    const inst = { history: isView(history) ? viewColumns(history) : history, cgroupVersion };
    inst.history.t.forEach((t, i) => {
      if (t >= since) refs.push([inst, i]);
    });
  }
  refs.sort((a, b) => (a[0].history.t[a[1]] as number) - (b[0].history.t[b[1]] as number));
  const single = refs.map(([inst, i]): HistoryInstance => ({
    cgroupVersion: inst.cgroupVersion,
    history: Object.fromEntries(
      Object.entries(inst.history as Record<string, ArrayLike<WireValue>>).map(([k, col]) => [
        k,
        [col[i] ?? null],
      ]),
    ) as HistoryJSON,
  }));
  return seriesFromHistories(single, -Infinity, own);
}

/** col[at ..] = decoded h[from .. to); a column the history lacks reads as not offered (NaN). */
function copyColumn(
  col: Float64Array,
  at: number,
  column: Column | readonly number[],
  from: number,
  to: number,
): void {
  if (column === undefined) {
    col.fill(NaN, at, at + to - from);
    return;
  }
  if (column instanceof Float64Array) {
    col.set(column.subarray(from, to), at);
    return;
  }
  const h = column as readonly WireValue[];
  // a whole column of plain numbers (the common case): found and copied in native code
  if (from === 0 && to === h.length && !h.includes(null) && !h.includes("max")) {
    col.set(h as readonly number[], at);
    return;
  }
  for (let i = from; i < to; i++) col[at + i - from] = decodeValue(h[i]);
}
