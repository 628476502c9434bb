import { closeSync, existsSync, openSync, readSync, statfsSync } from "node:fs";
import type { CgroupVersion } from "../cgroup/files.js";
import { KERNEL_PARTS } from "../cgroup/memory-stat.js";
import { parsePids, survivors } from "../cgroup/procs.js";
import { S, STAT_KEYS_READ, setStatColumns } from "../cgroup/reading.js";
import { KeyedBytes, plainDigits } from "./bytes.js";

/**
 * The sampler's hot path: reads the few interface files of one cgroup with synchronous reads
 * into one shared buffer and picks out only the keys it keeps. cgroup files are tiny and never
 * block on disk, so a sync read beats fs/promises' thread-pool round trip; and the files read
 * every period stay open and are re-read with pread at offset 0 (the kernel regenerates a
 * seq_file from position 0), one syscall instead of open+read+read+close: measured here, 9 µs
 * instead of 53 µs per cgroup for the 5 files. A removed cgroup's open files fail with ENODEV.
 *
 * The meanings match src/cgroup's full parse (sampleFromFiles, then rowFromSample); the tests
 * hold both to the same rows on the real recordings, and every derived column comes from
 * reading.ts' setStatColumns in both. Numbers are read from the buffer's bytes (bytes.ts), so a
 * reading of well-formed files makes no strings.
 */

/** A problem with one file of one cgroup: the sample keeps the other files' values. */
export interface ReadProblem {
  file: string;
  error: string;
}

export interface ReadResult {
  /** the cgroup directory no longer exists */
  gone: boolean;
  problems: readonly ReadProblem[];
}

const UNLIMITED_FROM = 2 ** 62;

const INITIAL_BUFFER = 16 * 1024;
let buf = Buffer.allocUnsafe(INITIAL_BUFFER);

/**
 * cgroup interface files are a few KiB (cgroup.procs of a busy pod some hundred); a larger file
 * is not one, and reading it whole every period would keep a buffer of its size for good.
 */
export const MAX_FILE_BYTES = 4 << 20;

function tooLarge(): Error {
  buf = Buffer.allocUnsafe(INITIAL_BUFFER);
  return new Error(`larger than ${MAX_FILE_BYTES >> 20} MiB: not a cgroup interface file`);
}

/** Re-reads an open file from offset 0 into `buf`, its size; one pread when the buffer holds it all. */
function preadAll(fd: number): number {
  for (;;) {
    const n = readSync(fd, buf, 0, buf.length, 0);
    if (n < buf.length) return n;
    if (buf.length >= MAX_FILE_BYTES) throw tooLarge();
    buf = Buffer.allocUnsafe(buf.length * 2);
  }
}

// Every held descriptor counts against RLIMIT_NOFILE (Node raises the soft limit to the hard one,
// 1048576 under containerd): 9 files for ~1800 cgroups; past this many, files are opened per read.
const MAX_HELD_FDS = 16384;
let heldFds = 0;

/** Reads a whole file into `buf`, its size, or -1 when it does not exist. Other errors throw. */
function readSmall(path: string): number {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return -1;
    throw err;
  }
  try {
    let n = 0;
    for (;;) {
      const r = readSync(fd, buf, n, buf.length - n, null);
      if (r === 0) break;
      n += r;
      if (n === buf.length) {
        if (buf.length >= MAX_FILE_BYTES) throw tooLarge();
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, n);
        buf = bigger;
      }
    }
    return n;
  } finally {
    closeSync(fd);
  }
}

export function parseValue(text: string): number {
  // Number("") and Number(" ") are 0: a value cut off by a truncated read must stay unread
  const first = text.charCodeAt(0);
  if (!(first >= 48 && first <= 57)) return NaN;
  const v = Number(text);
  return Number.isInteger(v) && v >= 0 ? v : NaN;
}

/** A limit; "max" and v1's near-2^63 "no limit" become Infinity, as in single-value.ts. */
export function parseLimit(text: string): number {
  if (text.startsWith("max")) return text.trim() === "max" ? Infinity : NaN;
  const v = parseValue(text);
  return v >= UNLIMITED_FROM ? Infinity : v;
}

// v1 writes "no limit" as 2^63 rounded down to a page: 19 digits, past what plainDigits reads
const NO_LIMIT_V1 = Buffer.from("9223372036854771712\n", "latin1");

/** parseValue of bytes[from, to), read in place when they are plain digits. */
export function valueIn(bytes: Uint8Array, from: number, to: number): number {
  const v = plainDigits(bytes, from, to);
  return Number.isNaN(v) ? parseValue(latin1(bytes, from, to)) : v;
}

/** parseLimit of bytes[from, to), read in place when they are plain digits or v1's "no limit". */
export function limitIn(bytes: Uint8Array, from: number, to: number): number {
  const v = plainDigits(bytes, from, to);
  if (!Number.isNaN(v)) return v >= UNLIMITED_FROM ? Infinity : v;
  if (bytes.length >= to && NO_LIMIT_V1.compare(bytes, from, to) === 0) return Infinity;
  return parseLimit(latin1(bytes, from, to));
}

function latin1(bytes: Uint8Array, from: number, to: number): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1", from, to);
}

/**
 * Where the row's values come from in a flat keyed file: per target column, the file's keys to
 * try in order; the first with a well-formed value counts (a cut `total_x ` line: the local twin
 * is next best, as in the reference).
 */
type Wanted = readonly [keys: readonly string[], target: number];
/** The same for the memory.stat keys setStatColumns reads, by their v2 name. */
type StatKey = readonly [name: string, fileKeys: readonly string[]];

/** Picks a keyed file's wanted values: every key looked up in one pass over its bytes. */
class KeyedPick {
  private readonly table: KeyedBytes;
  /** per wanted entry, the table's indexes of its keys */
  private readonly at: number[][];

  constructor(keyLists: readonly (readonly string[])[]) {
    const keys = [...new Set(keyLists.flat())];
    this.table = new KeyedBytes(keys, valueIn);
    this.at = keyLists.map((list) => list.map((k) => keys.indexOf(k)));
  }

  scan(n: number): void {
    this.table.scan(buf, n);
  }

  /** the value of the i-th key list after scan(), NaN when none of its keys had one */
  value(i: number): number {
    const values = this.table.values;
    for (const k of this.at[i] as number[]) {
      const v = values[k] as number;
      if (!Number.isNaN(v)) return v;
    }
    return NaN;
  }
}

/** Fills row[target] for the wanted keys of a flat keyed file. */
function keyed(wanted: readonly Wanted[]): Step[1] {
  const pick = new KeyedPick(wanted.map(([keys]) => keys));
  return (n, row) => {
    pick.scan(n);
    fillWanted(pick, wanted, 0, row);
  };
}

function fillWanted(pick: KeyedPick, wanted: readonly Wanted[], first: number, row: Float64Array): void {
  for (let i = 0; i < wanted.length; i++) {
    const v = pick.value(first + i);
    if (!Number.isNaN(v)) row[(wanted[i] as Wanted)[1]] = v;
  }
}

/** The memory.stat keys the row needs, in v2 names, then every derived column from them (reading.ts). */
function statFile(keys: readonly StatKey[], wanted: readonly Wanted[] = []): Step[1] {
  const pick = new KeyedPick([...keys.map(([, fileKeys]) => fileKeys), ...wanted.map(([k]) => k)]);
  // one record for every reading, the same keys always present (undefined: not in the file), so
  // that setStatColumns reads one object shape rather than a new dictionary per reading
  const stat: Record<string, number | undefined> = Object.fromEntries(
    keys.map(([name]) => [name, undefined]),
  );
  return (n, row) => {
    pick.scan(n);
    for (let i = 0; i < keys.length; i++) {
      const v = pick.value(i);
      stat[(keys[i] as StatKey)[0]] = Number.isNaN(v) ? undefined : v;
    }
    setStatColumns(row, stat);
    fillWanted(pick, wanted, keys.length, row);
  };
}

function countLines(bytes: Uint8Array, n: number): number {
  let lines = n > 0 && bytes[n - 1] !== 10 ? 1 : 0; // a last line without its newline counts
  for (let i = 0; i < n; i++) if (bytes[i] === 10) lines++;
  return lines;
}

/**
 * PSI "total=" of the some/full lines, microseconds -> seconds, and the some line's avg10, a
 * percentage (Documentation/accounting/psi.rst). Both lines or neither, as in psi.ts.
 */
function pickPressure(text: string, row: Float64Array): void {
  let some = NaN;
  let full = NaN;
  let avg10 = NaN;
  for (const line of text.split("\n")) {
    const at = line.indexOf("total=");
    if (at < 0) continue;
    const v = parseValue(line.slice(at + 6).trim()) / 1e6;
    if (line.startsWith("some")) {
      some = v;
      const a = line.indexOf("avg10=");
      avg10 = a < 0 ? NaN : Number(line.slice(a + 6, line.indexOf(" ", a)));
    } else if (line.startsWith("full")) full = v;
  }
  if (Number.isNaN(some) || Number.isNaN(full) || Number.isNaN(avg10)) return;
  row[S.psi_some_total] = some;
  row[S.psi_full_total] = full;
  row[S.psi_some_avg10] = avg10;
}

// v1 prints local and hierarchical (total_*) twins: total_* first, as v1StatToV2Names does
// (v2's memory.stat is hierarchical). v1's memory.stat holds no kernel memory (that is in
// memory.kmem.*): only the page counters are looked for, not a dozen keys that are never there.
const V1_STAT: StatKey[] = STAT_KEYS_READ.filter((k) => !isKernelKey(k)).map((k) => [
  k,
  [`total_${v1Name(k)}`, v1Name(k)],
]);
const V1_SWAP: Wanted[] = [[["total_swap", "swap"], S.swap]];
const V1_OOM: Wanted[] = [[["oom_kill"], S.oom_kill]];
function isKernelKey(k: string): boolean {
  return k === "kernel" || (KERNEL_PARTS as readonly string[]).includes(k);
}
function v1Name(v2: string): string {
  return v2 === "anon" ? "rss" : v2 === "file" ? "cache" : v2;
}

const V2_STAT: StatKey[] = STAT_KEYS_READ.map((k) => [k, [k]]);
const V2_EVENTS: Wanted[] = [
  [["high"], S.events_high],
  [["max"], S.events_max],
  [["oom"], S.events_oom],
  [["oom_kill"], S.oom_kill],
];

/** One file of a reading: its name, and what fills the row from its `n` bytes in `buf`. */
type Step = [file: string, apply: (n: number, row: Float64Array, reader: CgroupReader) => void];

const single =
  (target: number, parse: (bytes: Uint8Array, from: number, to: number) => number): Step[1] =>
  (n, row) => {
    const v = parse(buf, 0, n);
    if (Number.isNaN(v))
      throw new Error(`malformed value ${JSON.stringify(latin1(buf, 0, Math.min(n, 40)))}`);
    row[target] = v;
  };
const text =
  (apply: (text: string, row: Float64Array) => void): Step[1] =>
  (n, row) =>
    apply(latin1(buf, 0, n), row);
const procs: Step = ["cgroup.procs", (n, row, reader) => reader.trackProcs(n, row)];

/**
 * The files of a reading, in order, each re-read every period from a held descriptor. Settings
 * (limits) and high-water marks are read as often as the levels: a reading is the same whether
 * the agent takes it or a recording replays it, and a pread is ~1.5 µs.
 */
const PLAN: Record<CgroupVersion, Step[]> = {
  v1: [
    ["memory.usage_in_bytes", single(S.usage, valueIn)],
    ["memory.limit_in_bytes", single(S.limit, limitIn)],
    ["memory.max_usage_in_bytes", single(S.peak, valueIn)],
    ["memory.failcnt", single(S.failcnt, valueIn)],
    ["memory.oom_control", keyed(V1_OOM)],
    ["memory.stat", statFile(V1_STAT, V1_SWAP)],
    procs,
  ],
  v2: [
    ["memory.current", single(S.usage, valueIn)],
    ["memory.max", single(S.limit, limitIn)],
    ["memory.high", single(S.high, limitIn)],
    ["memory.peak", single(S.peak, valueIn)],
    ["memory.swap.current", single(S.swap, valueIn)],
    ["memory.events", keyed(V2_EVENTS)],
    ["memory.stat", statFile(V2_STAT)],
    ["memory.pressure", text(pickPressure)],
    procs,
  ],
};

// statfs f_type of the cgroup (v1) and cgroup2 file systems (linux/magic.h)
const CGROUP_SUPER_MAGIC = 0x27e0eb;
const CGROUP2_SUPER_MAGIC = 0x63677270;

/** Whether dir is on a cgroup file system, where reading a removed cgroup's open file fails. */
function onCgroupFs(dir: string): boolean {
  try {
    const { type } = statfsSync(dir);
    return type === CGROUP_SUPER_MAGIC || type === CGROUP2_SUPER_MAGIC;
  } catch {
    return false;
  }
}

// The result of a read without problems, shared: callers only look at it.
const READ_OK: ReadResult = Object.freeze({ gone: false, problems: Object.freeze([]) });

/**
 * Reads one cgroup directory into rows; one instance per tracked cgroup (it holds their files open).
 * Kept small, as there is one per container on the node: the file plan is shared per cgroup
 * version and file paths are built from `dir` only when a file is opened, so an instance holds
 * its directory and its open descriptors.
 */
export class CgroupReader {
  private readonly plan: Step[];
  /** open descriptors of the plan's files (-1: not open, read by path) */
  private readonly fds: number[];
  /**
   * Look for the directory at every read: on a cgroup fs a removed cgroup's held files fail with
   * ENODEV, but anywhere else (a copied tree, tests) they stay readable after the directory is
   * gone, and the scan that would notice runs only every DEFAULT_SCAN_EVERY periods.
   */
  private readonly checkDir: boolean;

  /** cgroup.procs as last read, its PIDs, and how many distinct ones: for procs_kept */
  private procsBytes: Uint8Array | undefined;
  private pids: readonly number[] | undefined;
  private distinctPids = 0;

  constructor(
    readonly dir: string,
    readonly version: CgroupVersion,
  ) {
    this.checkDir = !onCgroupFs(dir);
    this.plan = PLAN[version];
    this.fds = this.plan.map(() => -1);
  }

  /** Closes the held descriptors; the reader is not used after this. */
  close(): void {
    for (let i = 0; i < this.fds.length; i++) {
      const fd = this.fds[i] ?? -1;
      if (fd >= 0) {
        closeSync(fd);
        heldFds--;
      }
      this.fds[i] = -1;
    }
  }

  /** Reads the plan's i-th file into `buf`: its size, or -1 when there is no such file. */
  private readFile(i: number, file: string): number {
    let fd = this.fds[i] ?? -1;
    if (fd < 0) {
      const path = `${this.dir}/${file}`;
      if (heldFds >= MAX_HELD_FDS) return readSmall(path);
      try {
        fd = openSync(path, "r");
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return -1;
        throw err;
      }
      this.fds[i] = fd;
      heldFds++;
    }
    try {
      return preadAll(fd);
    } catch (err) {
      // ENODEV: the cgroup was removed under the open file; reopen next time (or find it gone)
      closeSync(fd);
      heldFds--;
      this.fds[i] = -1;
      if ((err as NodeJS.ErrnoException).code === "ENODEV") return -1;
      throw err;
    }
  }

  /**
   * procs, and procs_kept (how many of the processes listed last time are still there). The
   * list is parsed only when its text changed: most readings list the same processes.
   */
  trackProcs(n: number, row: Float64Array): void {
    row[S.procs] = countLines(buf, n);
    const last = this.procsBytes;
    if (last !== undefined && last.length === n && buf.compare(last, 0, n, 0, n) === 0) {
      row[S.procs_kept] = this.distinctPids;
      return;
    }
    const pids = parsePids(buf.toString("latin1", 0, n));
    if (this.pids !== undefined) row[S.procs_kept] = survivors(this.pids, pids);
    this.procsBytes = new Uint8Array(buf.subarray(0, n)); // its own copy, not a slice of a shared pool
    this.pids = pids;
    this.distinctPids = new Set(pids).size;
  }

  /** Fills `row` (all series; NaN where nothing was read). Never throws. */
  read(row: Float64Array): ReadResult {
    let problems: ReadProblem[] | undefined;
    row.fill(NaN);
    const plan = this.plan;
    let found = 0;
    for (let i = 0; i < plan.length; i++) {
      const [file, apply] = plan[i] as Step;
      try {
        const n = this.readFile(i, file);
        if (n < 0) continue;
        found++;
        apply(n, row, this);
      } catch (err) {
        (problems ??= []).push({ file, error: errorText(err) });
      }
    }
    if (problems === undefined && (found === 0 || this.checkDir) && !existsSync(this.dir)) {
      this.close();
      return { gone: true, problems: [] };
    }
    return problems ? { gone: false, problems } : READ_OK;
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
