import type { HistoryJSON } from "../agent/history.js";
import type { KernelPart } from "../analysis/memory-stat.js";
import { emptySeries, type Series } from "../analysis/series.js";
import type { MemorySample } from "../cgroup/sample.js";

/**
 * The agent's history columns (GET /v1/containers) as the rules' Series, read straight from the
 * JSON arrays: no MemorySample per reading. The agent writes null both for "no limit" and "not
 * read"; without a limit file there is no limit. Of memory.stat the agent keeps anon, file,
 * shmem, active_file, inactive_file, sock and slab_unreclaimable: the columns derived from
 * memory.stat (kept, page cache, kernel) are computed from those, as toSeries computes them
 * from samplesFromHistory's samples (the reference reading; tests hold both to one Analysis).
 */

/** One cgroup instance's history: a container has one per restart. */
export interface HistoryInstance {
  history: HistoryJSON;
  cgroupVersion: "v1" | "v2";
}

type Column = readonly (number | null)[] | undefined;

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
  let at = 0;
  let hasStat = false;
  instances.forEach((inst, k) => {
    const a = from[k] as number;
    const b = to[k] as number;
    if (b > a && fillRows(s, at, inst, a, b)) hasStat = true;
    at += b - a;
  });
  s.hasStat = hasStat;
  s.kernelParts = () => {
    const cols = new Map<KernelPart, Float64Array>();
    for (const key of ["slab_unreclaimable", "sock"] as const) {
      const col = new Float64Array(n);
      let r = 0;
      instances.forEach((inst, k) => {
        copyColumn(col, r, inst.history[key], from[k] as number, to[k] as number, NaN);
        r += (to[k] as number) - (from[k] as number);
      });
      cols.set(key, col);
    }
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
  for (const inst of instances)
    inst.history.t.forEach((t, i) => {
      if (t >= since) refs.push([inst, i]);
    });
  refs.sort((a, b) => (a[0].history.t[a[1]] as number) - (b[0].history.t[b[1]] as number));
  const single = refs.map(([inst, i]): HistoryInstance => ({
    cgroupVersion: inst.cgroupVersion,
    history: Object.fromEntries(
      Object.entries(inst.history).map(([k, col]) => [k, [col[i] ?? null]]),
    ) as HistoryJSON,
  }));
  return seriesFromHistories(single, -Infinity, own);
}

/** col[at ..] = h[from .. to), null and missing read as `none`. */
function copyColumn(col: Float64Array, at: number, h: Column, from: number, to: number, none: number): void {
  if (h === undefined) {
    col.fill(none, at, at + to - from);
    return;
  }
  // a whole column with no reading missing (the common case): found and copied in native code
  if (from === 0 && to === h.length && !h.includes(null)) {
    col.set(h as readonly number[], at);
    return;
  }
  for (let i = from; i < to; i++) col[at + i - from] = h[i] ?? none;
}

/** Rows [at, at + to - from) of s from readings [from, to) of one instance; true when one had memory.stat anon. */
function fillRows(s: Series, at: number, inst: HistoryInstance, from: number, to: number): boolean {
  const h = inst.history;
  const v2 = inst.cgroupVersion === "v2";
  const end = at + to - from;
  copyColumn(s.t, at, h.t, from, to, NaN);
  copyColumn(s.usage, at, h.usage, from, to, NaN);
  copyColumn(s.limit, at, h.limit, from, to, Infinity);
  if (v2) copyColumn(s.high, at, h.high, from, to, Infinity);
  else s.high.fill(NaN, at, end);
  copyColumn(s.peak, at, h.peak, from, to, NaN);
  copyColumn(s.failcnt, at, h.failcnt, from, to, NaN);
  copyColumn(s.procs, at, h.procs, from, to, NaN);
  // v2 has memory.events: a counter the agent did not read counts as 0 there
  copyColumn(s.oomKill, at, h.oom_kill, from, to, v2 ? 0 : NaN);
  if (v2) copyColumn(s.highEvents, at, h.events_high, from, to, 0);
  else s.highEvents.fill(NaN, at, end);
  s.swap.fill(NaN, at, end);
  // memory.stat: as toSeries reads samplesFromHistory's stat of these seven keys
  const stat = statRows(s, at, h, from, to);
  // PSI: both totals or neither; the agent keeps no avg10
  const some = h.psi_some_total;
  const full = h.psi_full_total;
  const { someTotal, someAvg10, fullTotal } = s;
  for (let i = from, r = at; i < to; i++, r++) {
    const a = some?.[i] ?? null;
    const b = full?.[i] ?? null;
    if (a !== null && b !== null) {
      someTotal[r] = a;
      someAvg10[r] = 0;
      fullTotal[r] = b;
    } else {
      someTotal[r] = NaN;
      someAvg10[r] = NaN;
      fullTotal[r] = NaN;
    }
  }
  return stat;
}

/**
 * The columns toSeries derives from memory.stat, for the keys the agent keeps: kept =
 * unreclaimable() with no `kernel` key (anon + shmem + slab_unreclaimable), pageCacheOf and
 * kernelOf (slab_unreclaimable + sock). A reading with none of the keys has no memory.stat.
 */
function statRows(s: Series, at: number, h: HistoryJSON, from: number, to: number): boolean {
  const { anon: anonH, file: fileH, shmem: shmemH, active_file: activeH, inactive_file: inactiveH } = h;
  const { sock: sockH, slab_unreclaimable: slabH } = h;
  const { kept, anon: anonCol, file: fileCol, shmem: shmemCol, pageCache, inactiveFile, kernel } = s;
  if (anonH && fileH && shmemH && activeH && inactiveH && sockH && slabH) {
    // every key read in every reading (the common case, found in native code): the formulas
    // below with no null to look for
    const whole = (c: Column) => !(c as readonly (number | null)[]).includes(null);
    if (
      to > from &&
      whole(anonH) &&
      whole(fileH) &&
      whole(shmemH) &&
      whole(activeH) &&
      whole(inactiveH) &&
      whole(sockH) &&
      whole(slabH)
    ) {
      for (let i = from, r = at; i < to; i++, r++) {
        const anon = anonH[i] as number;
        const shmem = shmemH[i] as number;
        const slab = slabH[i] as number;
        kept[r] = anon + shmem + Math.max(0, slab);
        anonCol[r] = anon;
        fileCol[r] = fileH[i] as number;
        shmemCol[r] = shmem;
        pageCache[r] = (activeH[i] as number) + (inactiveH[i] as number);
        inactiveFile[r] = inactiveH[i] as number;
        kernel[r] = slab + (sockH[i] as number);
      }
      return true;
    }
  }
  let hasStat = false;
  for (let i = from, r = at; i < to; i++, r++) {
    const anon = anonH?.[i] ?? null;
    const file = fileH?.[i] ?? null;
    const shmem = shmemH?.[i] ?? null;
    const active = activeH?.[i] ?? null;
    const inactive = inactiveH?.[i] ?? null;
    const sock = sockH?.[i] ?? null;
    const slab = slabH?.[i] ?? null;
    if (
      anon === null &&
      file === null &&
      shmem === null &&
      active === null &&
      inactive === null &&
      sock === null &&
      slab === null
    ) {
      kept[r] = NaN;
      anonCol[r] = NaN;
      fileCol[r] = NaN;
      shmemCol[r] = NaN;
      pageCache[r] = NaN;
      inactiveFile[r] = NaN;
      kernel[r] = NaN;
      continue;
    }
    if (anon !== null) {
      kept[r] = anon + (shmem ?? 0) + Math.max(0, slab ?? 0);
      anonCol[r] = anon;
      hasStat = true;
    } else {
      kept[r] = NaN;
      anonCol[r] = NaN;
    }
    fileCol[r] = file ?? NaN;
    shmemCol[r] = shmem ?? NaN;
    pageCache[r] =
      active !== null || inactive !== null
        ? (active ?? 0) + (inactive ?? 0)
        : file === null
          ? NaN
          : Math.max(0, file - (shmem ?? 0));
    inactiveFile[r] = inactive ?? NaN;
    kernel[r] = slab === null && sock === null ? NaN : (slab ?? 0) + (sock ?? 0);
  }
  return hasStat;
}

const num = (v: number | null | undefined) => (v === null || v === undefined ? undefined : v);

/**
 * An agent's history columns as samples: the reference reading that seriesFromHistories
 * follows (toSeries of these samples gives the same Series), kept for the tests.
 */
export function samplesFromHistory(h: HistoryJSON, version: "v1" | "v2"): MemorySample[] {
  const out: MemorySample[] = [];
  for (let i = 0; i < h.t.length; i++) {
    const at = (k: keyof HistoryJSON) => num((h[k] as (number | null)[] | undefined)?.[i]);
    const stat: Record<string, number> = {};
    for (const k of [
      "anon",
      "file",
      "shmem",
      "active_file",
      "inactive_file",
      "sock",
      "slab_unreclaimable",
    ] as const) {
      const v = at(k);
      if (v !== undefined) stat[k] = v;
    }
    const some = at("psi_some_total");
    const full = at("psi_full_total");
    const oomKill = at("oom_kill");
    out.push({
      t: h.t[i]!,
      version,
      usage: at("usage"),
      // the agent writes null both for "no limit" and "not read"; without a limit file there is no limit
      limit: h.limit?.[i] ?? null,
      high: version === "v2" ? (h.high?.[i] ?? null) : undefined,
      peak: at("peak"),
      failcnt: at("failcnt"),
      procs: at("procs"),
      ...(version === "v2"
        ? {
            events: {
              high: at("events_high") ?? 0,
              max: at("events_max") ?? 0,
              oom: at("events_oom") ?? 0,
              oom_kill: oomKill ?? 0,
            },
          }
        : { oomKill }),
      ...(Object.keys(stat).length ? { stat } : {}),
      ...(some !== undefined && full !== undefined
        ? {
            pressure: {
              some: { avg10: 0, avg60: 0, avg300: 0, total: some },
              full: { avg10: 0, avg60: 0, avg300: 0, total: full },
            },
          }
        : {}),
    });
  }
  return out;
}
