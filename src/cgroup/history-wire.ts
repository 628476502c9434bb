import { workingSet } from "./memory-stat.js";
import { COLUMNS, type ColumnName } from "./reading.js";

/**
 * A cgroup's history on the wire: one JSON array per column of reading.ts, plus the sample
 * times (seconds) and the kubelet's working set. Served by the agent (GET /v1/containers),
 * read by the controller, and what `memlens analyze` builds from a recording before the rules
 * run, so that both see the same numbers.
 *
 * A value is a number, `null` when the kernel did not offer it (or it was not read), or `"max"`
 * for no limit (limit, high): the kernel's own word, and JSON has no Infinity.
 */
export type WireValue = number | null | "max";
export type HistoryJSON = { t: number[] } & Record<ColumnName | "working_set", WireValue[]>;

/**
 * The same history decoded, as it is held in memory: one Float64Array per column, NaN for not
 * read, Infinity for no limit. What the rules' Series is copied from without a value-by-value
 * decode.
 */
export type HistoryColumns = { t: Float64Array } & Record<ColumnName, Float64Array>;

/**
 * A history read where it is kept, without a copy (CgroupHistory.view): the sample times, and
 * each column read on demand into the caller's buffer, decoded as HistoryColumns would hold it.
 * Valid until its history next changes: read it before anything else appends to it.
 */
export interface HistoryView {
  readonly t: Float64Array;
  /** out[at + k] = column `name` at index from + k, for k < to - from */
  read(name: ColumnName, out: Float64Array, at: number, from: number, to: number): void;
}

/** A history as any of its forms: served JSON, decoded columns, or a view of where it is kept. */
export type AnyHistory = HistoryJSON | HistoryColumns | HistoryView;

export function isView(h: AnyHistory): h is HistoryView {
  return typeof (h as Partial<HistoryView>).read === "function";
}

/** A view's columns, copied. */
export function viewColumns(view: HistoryView): HistoryColumns {
  const n = view.t.length;
  const out = { t: view.t } as HistoryColumns;
  for (const { name } of COLUMNS) {
    const column = new Float64Array(n);
    view.read(name, column, 0, 0, n);
    out[name] = column;
  }
  return out;
}

export function encodeValue(v: number): WireValue {
  if (Number.isNaN(v)) return null;
  return v === Infinity ? "max" : v;
}

export function decodeValue(v: WireValue | undefined): number {
  if (v === null || v === undefined) return NaN;
  return v === "max" ? Infinity : v;
}

/** Decoded columns as JSON, with the working set (usage - inactive_file) the kubelet shows. */
export function encodeHistory(cols: HistoryColumns): HistoryJSON {
  const n = cols.t.length;
  const out = { t: Array.from(cols.t) } as HistoryJSON;
  for (const { name } of COLUMNS) {
    const values = cols[name];
    const column = new Array<WireValue>(n);
    for (let i = 0; i < n; i++) column[i] = encodeValue(values[i] as number);
    out[name] = column;
  }
  const ws = new Array<WireValue>(n);
  for (let i = 0; i < n; i++)
    ws[i] = encodeValue(workingSet(cols.usage[i] as number, cols.inactive_file[i] as number));
  out.working_set = ws;
  return out;
}
