import {
  decodeValue,
  encodeHistory,
  viewColumns,
  type HistoryColumns,
  type HistoryJSON,
  type HistoryView,
} from "./history-wire.js";
import { COLUMNS, COLUMN_COUNT, S, emptyRow, type ColumnName } from "./reading.js";

export interface HistoryOptions {
  /** seconds between samples */
  periodS: number;
  /** how far back the history reaches, seconds */
  retentionS: number;
  /** the most recent part kept at full resolution, seconds (default 10 min) */
  rawWindowS?: number;
  /** width of one downsampled point for older data, seconds (default 2 min) */
  bucketS?: number;
  /**
   * keep a series with one value since the first sample as that value, not a column (see Ring):
   * for copies held by the thousand (the controller's); a writer that samples live (the agent)
   * would grow its rings column by column as values first change, which the allocator keeps as
   * resident memory (measured: 95 -> 119 MiB RSS at 1000 containers)
   */
  foldConstants?: boolean;
}

// Full resolution where it matters (an OOM kill, the minutes before it); 2-minute points older than
// that still give a 1 h leak window 30 points, and keep 6 h of history at 300 points per series
// instead of 4320 (at 5 s): ~15 KB instead of ~200 KB per cgroup.
export const DEFAULT_RAW_WINDOW_S = 10 * 60;
export const DEFAULT_BUCKET_S = 120;

const COUNTER = COLUMNS.map((s) => s.kind === "counter");
/** the column that a column's first value announces for the next reading (-1: none) */
const FOLLOWS = COLUMNS.map((_, s) => (s === S.procs ? S.procs_kept : -1));
const AGG = COLUMNS.map((s): number => (s.agg === "max" ? 1 : s.agg === "min" ? -1 : 0));

// offsets of the per-series state in CgroupHistory.st
const BUCKET = 0;
const LAST_RAW = COLUMN_COUNT;
const OFFSET = 2 * COLUMN_COUNT;
const BASE = 3 * COLUMN_COUNT;
const LAST = 4 * COLUMN_COUNT;
const STORED = 5 * COLUMN_COUNT;

/** Ring.slot: a series never offered, or offered with one value only (kept in Ring.konst) */
const NEVER = -1;
const CONST = -2;

/**
 * A fixed-capacity ring of sample times and Float32 columns, all columns in one array (one
 * allocation per ring, not one per series) holding only the series the cgroup has offered and
 * that have changed: a series with one value since the ring's first sample (a limit, a counter
 * that never moved, swap off) is that value, not a column: 3 to 12 of the 14 columns a v1
 * recording offers over an hour, 8 to 13 of 28 on v2. The controller holds a copy per target
 * container, its largest memory at scale; the agent one per container of its node.
 */
class Ring {
  readonly t: Float64Array;
  /** series -> column slot in `data`, or NEVER, or CONST */
  private readonly slot = new Int8Array(COLUMN_COUNT).fill(NEVER);
  /** the value of a CONST series, as stored (Float32) */
  private readonly konst = new Float32Array(COLUMN_COUNT);
  private data = new Float32Array(0);
  private width = 0;
  head = 0;
  len = 0;
  constructor(
    readonly cap: number,
    private readonly foldConstants: boolean,
  ) {
    this.t = new Float64Array(cap);
  }

  /** appends row[at .. at + COLUMN_COUNT) at time t */
  push(t: number, row: Float64Array, at: number): void {
    const i = this.head;
    this.t[i] = t;
    let grow = false;
    for (let s = 0; s < COLUMN_COUNT; s++) {
      const v = row[at + s] ?? NaN;
      const k = this.slot[s] ?? NEVER;
      if (k >= 0) this.data[k * this.cap + i] = v;
      else if (k === CONST)
        grow ||= Math.fround(v) !== this.konst[s]; // NaN included
      else if (!Number.isNaN(v)) {
        if (this.len > 0 || !this.foldConstants) grow = true;
        else {
          this.slot[s] = CONST;
          this.konst[s] = v;
        }
      }
    }
    if (grow) this.addColumns(row, at, i);
    this.head = (i + 1) % this.cap;
    if (this.len < this.cap) this.len++;
  }

  // Adds every series of the row that needs a column now, and those that follow them a reading
  // later (procs_kept after procs), at once: growing column by column would leave a trail of
  // freed arrays that the allocator keeps as resident memory (measured: +12 MiB RSS at 1500
  // cgroups). A CONST series' column holds its value where the ring was written, a new one NaN.
  private addColumns(row: Float64Array, at: number, i: number): void {
    const added: number[] = [];
    /** per added series, what the ring's written positions hold: its one value, or NaN */
    const before: number[] = [];
    const add = (s: number, value: number) => {
      this.slot[s] = this.width + added.length;
      added.push(s);
      before.push(value);
    };
    for (let s = 0; s < COLUMN_COUNT; s++) {
      const v = row[at + s] ?? NaN;
      const k = this.slot[s] ?? NEVER;
      if (k === CONST) {
        if (Math.fround(v) !== this.konst[s]) add(s, this.konst[s] as number);
      } else if (k === NEVER && !Number.isNaN(v)) {
        add(s, NaN);
        const next = FOLLOWS[s] ?? -1;
        if (next >= 0 && this.slot[next] === NEVER) add(next, NaN);
      }
    }
    const grown = new Float32Array((this.width + added.length) * this.cap);
    grown.set(this.data);
    added.forEach((s, j) => {
      const from = (this.width + j) * this.cap;
      grown.fill(before[j] as number, from, from + this.cap);
      grown[from + i] = row[at + s] ?? NaN;
    });
    this.data = grown;
    this.width += added.length;
  }

  /**
   * the values of series s by ring position, its one value (CONST), or undefined while it has
   * never had one
   */
  column(s: number): Float32Array | number | undefined {
    const k = this.slot[s] ?? NEVER;
    if (k === CONST) return this.konst[s];
    return k < 0 ? undefined : this.data.subarray(k * this.cap, (k + 1) * this.cap);
  }

  /** ring positions from oldest to newest whose time is >= since and < before */
  indexes(since: number, before: number): number[] {
    const out: number[] = [];
    for (let k = 0; k < this.len; k++) {
      const i = (this.head - this.len + k + this.cap) % this.cap;
      const t = this.t[i] ?? NaN;
      if (t >= since && t < before) out.push(i);
    }
    return out;
  }

  bytes(): number {
    return this.t.byteLength + this.data.byteLength + this.konst.byteLength;
  }
}

/**
 * The bounded memory history of one cgroup: the last `rawWindowS` at every sample, older data
 * (up to `retentionS`) folded into `bucketS`-wide points. Values are Float32 (bytes to within
 * 1e-7 relative; counters exact while their increase stays under 2^24).
 *
 * Counters are kept monotonic: a reading below the previous one is a reset (the cgroup was
 * recreated under the same path, or failcnt was written to), so the previous value becomes an
 * offset added to everything after it. They are stored relative to their first reading so that
 * Float32 holds the increase, not the kernel's absolute count; `latest()` adds it back.
 */
export class CgroupHistory {
  private readonly raw: Ring;
  private readonly coarse: Ring | undefined;
  private readonly bucketS: number;
  private bucketId = NaN;
  private bucketT = NaN;
  /**
   * All per-series state in one array (one allocation, not seven: there is one history per
   * container on the node), COLUMN_COUNT slots each from these offsets: the bucket being folded,
   * the last raw counter reading, the counter reset offset, the counter base, the last value, and
   * the row as stored.
   */
  private readonly st = new Float64Array(6 * COLUMN_COUNT);
  private lastT = NaN;

  constructor(opts: HistoryOptions) {
    const period = opts.periodS;
    const rawWindow = Math.min(opts.rawWindowS ?? DEFAULT_RAW_WINDOW_S, opts.retentionS);
    this.bucketS = Math.max(opts.bucketS ?? DEFAULT_BUCKET_S, period);
    const fold = opts.foldConstants ?? false;
    this.raw = new Ring(Math.max(1, Math.ceil(rawWindow / period)), fold);
    this.coarse =
      opts.retentionS > rawWindow ? new Ring(Math.ceil(opts.retentionS / this.bucketS), fold) : undefined;
    // offset and stored start at 0, the others NaN
    this.st.fill(NaN, BUCKET, BUCKET + 2 * COLUMN_COUNT);
    this.st.fill(NaN, BASE, BASE + 2 * COLUMN_COUNT);
  }

  /** Adds one sample (t in seconds, a row of reading.ts); out-of-order samples are dropped. */
  append(t: number, row: Float64Array): void {
    if (t <= this.lastT) return;
    this.lastT = t;
    const st = this.st;
    for (let s = 0; s < COLUMN_COUNT; s++) {
      let v = row[s] ?? NaN;
      if (COUNTER[s] && !Number.isNaN(v)) {
        const prev = st[LAST_RAW + s] ?? NaN;
        if (v < prev) st[OFFSET + s] = (st[OFFSET + s] ?? 0) + prev;
        st[LAST_RAW + s] = v;
        v += st[OFFSET + s] ?? 0;
        if (Number.isNaN(st[BASE + s] ?? NaN)) st[BASE + s] = v;
        st[LAST + s] = v;
        st[STORED + s] = v - (st[BASE + s] ?? 0);
        continue;
      }
      if (!Number.isNaN(v)) st[LAST + s] = v;
      st[STORED + s] = v;
    }
    this.raw.push(t, st, STORED);
    if (this.coarse) this.fold(t);
  }

  /**
   * Appends the samples of a served history (toJSON of another CgroupHistory kept with the same
   * options) that are newer than this one's newest: a copy kept in step, folding old samples as
   * the original does.
   */
  appendJSON(h: HistoryJSON): void {
    const row = emptyRow();
    for (let i = 0; i < h.t.length; i++) {
      const t = h.t[i] as number;
      if (t <= this.lastT) continue; // NaN before the first: nothing to skip
      for (let s = 0; s < COLUMN_COUNT; s++)
        row[s] = decodeValue(h[(COLUMNS[s] as (typeof COLUMNS)[number]).name]?.[i]);
      this.append(t, row);
    }
  }

  private fold(t: number): void {
    const st = this.st;
    const id = Math.floor(t / this.bucketS);
    if (id !== this.bucketId) {
      if (!Number.isNaN(this.bucketId)) this.coarse?.push(this.bucketT, st, BUCKET);
      this.bucketId = id;
      st.fill(NaN, BUCKET, BUCKET + COLUMN_COUNT);
    }
    this.bucketT = t;
    for (let s = 0; s < COLUMN_COUNT; s++) {
      const v = st[STORED + s] ?? NaN;
      if (Number.isNaN(v)) continue;
      const cur = st[BUCKET + s] ?? NaN;
      const agg = AGG[s];
      st[BUCKET + s] = Number.isNaN(cur) || agg === 0 ? v : agg === 1 ? Math.max(cur, v) : Math.min(cur, v);
    }
  }

  /** time of the newest sample (NaN before the first) */
  get lastTime(): number {
    return this.lastT;
  }

  /**
   * the newest reading of a series (counters monotonic, as the kernel would count without
   * resets; Infinity for no limit)
   */
  latest(name: ColumnName): number | undefined {
    const v = this.st[LAST + S[name]] ?? NaN;
    return Number.isNaN(v) ? undefined : v;
  }

  /** bytes held by the typed arrays, for the agent's own memory accounting */
  bytes(): number {
    return this.raw.bytes() + (this.coarse?.bytes() ?? 0) + this.st.byteLength;
  }

  /**
   * Columns from the oldest point at or after `sinceT`: downsampled points first (each stamped
   * with the time of the last sample folded into it), then every raw sample.
   */
  toJSON(sinceT = -Infinity): HistoryJSON {
    return encodeHistory(this.toColumns(sinceT));
  }

  /** The same decoded, as typed arrays (what a Series is copied from). */
  toColumns(sinceT = -Infinity): HistoryColumns {
    return viewColumns(this.view(sinceT));
  }

  /**
   * The same read in place: the times copied, each column read from the rings only when asked
   * for, straight into the caller's buffer (the controller's Series), so that a pass over its
   * copies allocates no columns. Valid until the next append.
   */
  view(sinceT = -Infinity): HistoryView {
    const rawIdx = this.raw.indexes(sinceT, Infinity);
    const firstRawT = rawIdx.length > 0 ? (this.raw.t[rawIdx[0] ?? 0] ?? Infinity) : Infinity;
    const parts: [Ring, number[]][] = [];
    if (this.coarse) parts.push([this.coarse, this.coarse.indexes(sinceT, firstRawT)]);
    parts.push([this.raw, rawIdx]);
    let n = 0;
    for (const [, idx] of parts) n += idx.length;
    const t = new Float64Array(n);
    let k = 0;
    // to the millisecond, as served
    for (const [ring, idx] of parts)
      for (const i of idx) t[k++] = Math.round((ring.t[i] as number) * 1000) / 1000;
    const st = this.st;
    return {
      t,
      read(name, out, at, from, to) {
        const s = S[name];
        const base = COUNTER[s] ? (st[BASE + s] ?? 0) : 0;
        let start = 0; // of the part, in the view
        for (const [ring, idx] of parts) {
          const end = start + idx.length;
          const a = Math.max(start, from);
          const b = Math.min(end, to);
          if (a < b) {
            const values = ring.column(s);
            if (values === undefined) out.fill(NaN, at + a - from, at + b - from);
            else if (typeof values === "number") out.fill(values + base, at + a - from, at + b - from);
            else
              for (let j = a; j < b; j++)
                out[at + j - from] = (values[idx[j - start] as number] as number) + base;
          }
          start = end;
        }
      },
    };
  }
}
