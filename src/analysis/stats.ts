/**
 * Small robust statistics over points that belong to groups (segments of a history split at
 * restarts): slopes and fits are computed within each group, with a shared slope, so a restart
 * that drops memory back to its start is a new group, not negative growth.
 */
export interface Points {
  n: number;
  t: Float64Array;
  y: Float64Array;
  /** group (segment) of each point; points of one group are contiguous and sorted by t */
  g: Int32Array;
}

export function makePoints(capacity: number): Points {
  return { n: 0, t: new Float64Array(capacity), y: new Float64Array(capacity), g: new Int32Array(capacity) };
}

export function addPoint(p: Points, t: number, y: number, g: number): void {
  p.t[p.n] = t;
  p.y[p.n] = y;
  p.g[p.n] = g;
  p.n++;
}

/**
 * Time windows as sample index ranges: window k covers samples [from[k], to[k]) and belongs to
 * group[k]. Computed once per run and window count, they serve every column's minima (the
 * windows depend on the times alone).
 */
export interface Windows {
  n: number;
  from: Int32Array;
  to: Int32Array;
  group: Int32Array;
}

export function makeWindows(capacity: number): Windows {
  return {
    n: 0,
    from: new Int32Array(capacity),
    to: new Int32Array(capacity),
    group: new Int32Array(capacity),
  };
}

/**
 * Appends the `windows` equal time windows of [from, to) that hold samples: sample i is in
 * window min(windows - 1, floor((t[i] - t[from]) × windows / span)), the windows that hold no
 * sample left out. t must not decrease (a Series is in time order): each window is then one
 * range, found by binary search rather than by a look at every sample. `out` grows as needed (in place).
 */
export function addWindows(
  t: Float64Array,
  from: number,
  to: number,
  windows: number,
  group: number,
  out: Windows,
): Windows {
  if (to <= from) return out;
  const t0 = t[from] as number;
  const span = (t[to - 1] as number) - t0;
  const scale = span > 0 ? windows / span : 0;
  const last = windows - 1;
  // the window of sample i, exactly as windowMinima always computed it
  const windowOf = (i: number) => Math.min(last, Math.floor(((t[i] as number) - t0) * scale));
  // samples come at a steady period: the next window most likely begins `step` samples on
  const step = Math.max(1, Math.floor((to - from) / windows));
  let i = from;
  while (i < to) {
    const k = windowOf(i);
    // the first sample past i in a later window (windowOf does not decrease), looked for
    // around the guess: a few looks a window where a sample of every window would be many
    let j = Math.min(to, i + step);
    if (j < to && windowOf(j) <= k) {
      do j++;
      while (j < to && windowOf(j) <= k);
    } else {
      while (j - 1 > i && windowOf(j - 1) > k) j--;
    }
    if (out.n === out.from.length) grow(out);
    out.from[out.n] = i;
    out.to[out.n] = j;
    out.group[out.n] = group;
    out.n++;
    i = j;
  }
  return out;
}

/** More room in w, in place. */
function grow(w: Windows): void {
  const bigger = makeWindows(Math.max(16, w.from.length * 2));
  bigger.from.set(w.from);
  bigger.to.set(w.to);
  bigger.group.set(w.group);
  w.from = bigger.from;
  w.to = bigger.to;
  w.group = bigger.group;
}

/**
 * Lower envelope over given windows: the minimum of y in each window (NaN readings skipped; a
 * window with none left out), at the time it was first read. `out` must have room for w.n points.
 */
export function minimaOver(t: Float64Array, y: Float64Array, w: Windows, out: Points): void {
  // where the last minimum was read: it carries over only within a run (windowMinima's one call)
  let at = -1;
  let group = -1;
  for (let k = 0; k < w.n; k++) {
    const a = w.from[k] as number;
    const b = w.to[k] as number;
    const g = w.group[k] as number;
    if (g !== group) {
      group = g;
      at = -1;
    }
    let minY = Infinity;
    for (let i = a; i < b; i++) {
      const v = y[i] as number;
      if (v < minY) {
        minY = v;
        at = i;
      }
    }
    // nothing below Infinity: a point only if some reading was not NaN (rare)
    if (minY === Infinity && !anyKnown(y, a, b)) continue;
    addPoint(out, at < 0 ? NaN : (t[at] as number), minY, g);
  }
}

function anyKnown(y: Float64Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (!Number.isNaN(y[i])) return true;
  return false;
}

const windowScratch = makeWindows(64);

/**
 * Lower envelope: the minimum of y over each of `windows` equal time windows of [from, to)
 * (NaN readings skipped), at the time it was read. GC sawtooth, request bursts and child
 * processes sit above the minima; a leak lifts them all. t must not decrease.
 */
export function windowMinima(
  t: Float64Array,
  y: Float64Array,
  from: number,
  to: number,
  windows: number,
  group: number,
  out: Points,
): void {
  windowScratch.n = 0;
  minimaOver(t, y, addWindows(t, from, to, windows, group, windowScratch), out);
}

const scratch = { buf: new Float64Array(1024) };

/**
 * Theil–Sen slope: the median of the slopes between all pairs of points in the same group,
 * optionally only points at or after `after[group]`. Robust to up to ~29 % outliers, unlike
 * least squares. NaN when there is no pair.
 */
export function theilSen(p: Points, after?: Float64Array): number {
  const n = p.n;
  // room for every pair at once: no check in the loop below
  const pairs = (n * (n - 1)) / 2;
  if (scratch.buf.length < pairs) scratch.buf = new Float64Array(Math.max(pairs, 2 * scratch.buf.length));
  const buf = scratch.buf;
  const { t, y, g } = p;
  let k = 0;
  for (let i = 0; i < n; i++) {
    const gi = g[i] as number;
    const ti = t[i] as number;
    if (after && ti < (after[gi] as number)) continue;
    const yi = y[i] as number;
    for (let j = i + 1; j < n && g[j] === gi; j++) {
      const dt = (t[j] as number) - ti;
      if (dt <= 0) continue;
      buf[k++] = ((y[j] as number) - yi) / dt;
    }
  }
  return k === 0 ? NaN : median(buf, k);
}

/** Median of the first `len` values; reorders them (Hoare's quickselect, no allocation). */
export function median(values: Float64Array, len: number): number {
  if (len === 0) return NaN;
  const mid = len >> 1;
  const upper = select(values, len, mid);
  if (len % 2 === 1) return upper;
  let lower = -Infinity;
  for (let i = 0; i < mid; i++) if ((values[i] as number) > lower) lower = values[i] as number;
  return (lower + upper) / 2;
}

function select(a: Float64Array, len: number, k: number): number {
  let lo = 0;
  let hi = len - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1] as number;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while ((a[i] as number) < pivot) i++;
      while ((a[j] as number) > pivot) j--;
      if (i <= j) {
        const tmp = a[i] as number;
        a[i] = a[j] as number;
        a[j] = tmp;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k] as number;
  }
  return a[k] as number;
}

export interface Fit {
  /** least-squares slope shared by all groups, y units per t unit */
  slope: number;
  /** share of the variance within groups that the shared line explains (0..1); NaN when y is constant */
  r2: number;
}

/**
 * Least squares with one intercept per group and one shared slope (a fixed-effects fit), so
 * that restarts do not count as falls.
 */
export function groupedFit(p: Points, use?: Uint8Array): Fit {
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  let start = 0;
  while (start < p.n) {
    let end = start + 1;
    while (end < p.n && p.g[end] === p.g[start]) end++;
    let mt = 0;
    let my = 0;
    let k = 0;
    for (let i = start; i < end; i++) {
      if (use && !use[i]) continue;
      mt += p.t[i] as number;
      my += p.y[i] as number;
      k++;
    }
    mt /= k;
    my /= k;
    for (let i = start; i < end; i++) {
      if (use && !use[i]) continue;
      const dt = (p.t[i] as number) - mt;
      const dy = (p.y[i] as number) - my;
      sxx += dt * dt;
      sxy += dt * dy;
      syy += dy * dy;
    }
    start = end;
  }
  if (sxx === 0) return { slope: NaN, r2: NaN };
  return { slope: sxy / sxx, r2: syy === 0 ? NaN : (sxy * sxy) / (sxx * syy) };
}

/**
 * Points that lie near the robust line (Theil–Sen slope, per-group median intercept): within
 * 4 × 1.4826 × MAD of it, the usual cut for "not an outlier" (MAD scaled to a standard deviation).
 * A reading taken in the second a process restarted, or a one-off trough, then does not decide
 * the fit quality of hours of steady growth. At most a tenth of the points go. `floor`: residuals up to it always count as near
 * (the data's resolution), so a series that fits exactly still has a cut.
 */
const MAX_OUTLIER_SHARE = 0.1;

let inlierScratch = { resid: new Float64Array(64), tmp: new Float64Array(64) };

export function inliers(p: Points, slope: number, floor = 0): Uint8Array {
  const use = new Uint8Array(p.n).fill(1);
  if (!Number.isFinite(slope) || p.n === 0) return use;
  if (inlierScratch.resid.length < p.n)
    inlierScratch = { resid: new Float64Array(2 * p.n), tmp: new Float64Array(2 * p.n) };
  const { resid, tmp } = inlierScratch;
  let start = 0;
  while (start < p.n) {
    let end = start + 1;
    while (end < p.n && p.g[end] === p.g[start]) end++;
    for (let i = start; i < end; i++) tmp[i - start] = (p.y[i] as number) - slope * (p.t[i] as number);
    const intercept = median(tmp, end - start);
    for (let i = start; i < end; i++) resid[i] = (p.y[i] as number) - slope * (p.t[i] as number) - intercept;
    start = end;
  }
  for (let i = 0; i < p.n; i++) tmp[i] = Math.abs(resid[i] as number);
  const cut = Math.max(floor, 4 * 1.4826 * median(tmp, p.n));
  // a handful of outliers at most: where more points are far off, the line is what fits badly
  let budget = Math.max(1, Math.floor(p.n * MAX_OUTLIER_SHARE));
  // median() reordered tmp
  for (let i = 0; i < p.n; i++) tmp[i] = Math.abs(resid[i] as number);
  while (budget-- > 0) {
    let worst = -1;
    for (let i = 0; i < p.n; i++)
      if (use[i] && (tmp[i] as number) > cut && (worst < 0 || (tmp[i] as number) > (tmp[worst] as number)))
        worst = i;
    if (worst < 0) break;
    use[worst] = 0;
  }
  return use;
}

/** Share of steps between neighbouring points of a group that rise (a flat step counts half). */
export function risingFraction(p: Points): number {
  let steps = 0;
  let rising = 0;
  for (let i = 1; i < p.n; i++) {
    if (p.g[i] !== p.g[i - 1]) continue;
    const d = (p.y[i] as number) - (p.y[i - 1] as number);
    steps++;
    rising += d > 0 ? 1 : d === 0 ? 0.5 : 0;
  }
  return steps === 0 ? NaN : rising / steps;
}

/** the troughs of cycleLength's zig-zag: reused */
let cycleScratch = new Float64Array(64);

/** share of a run's range a fall (or rise) must span to count as a turn of a cycle */
const CYCLE_SWING = 0.25;

/**
 * How long a recurring fall-and-regrow cycle (GC sawtooth, batch jobs) of y over [from, to)
 * takes, in t units: the troughs are found with a zig-zag whose swing is a quarter of the
 * run's range, and the cycle is 1.5 × the median gap between them (at most the longest gap),
 * so that a window that long holds at least one trough. NaN without three troughs: no cycle.
 * A lower envelope needs windows at least that long; shorter ones sit on the way up.
 */
export function cycleLength(t: Float64Array, y: Float64Array, from: number, to: number, floor = 0): number {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = from; i < to; i++) {
    const v = y[i] as number;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const swing = Math.max(floor, CYCLE_SWING * (hi - lo));
  if (!(swing > 0)) return NaN;
  // the zig-zag starts at the first reading; a NaN reading fails every comparison below, as if skipped
  let i = from;
  while (i < to && Number.isNaN(y[i])) i++;
  if (i === to) return NaN;
  let troughs = cycleScratch;
  let count = 0;
  // falling: looking for the bottom of a fall; rising: for the top of a rise
  let falling = false;
  let ext = y[i] as number;
  let extT = t[i] as number;
  for (i++; i < to; i++) {
    const v = y[i] as number;
    if (falling) {
      if (v < ext) {
        ext = v;
        extT = t[i] as number;
      } else if (v >= ext + swing) {
        if (count === troughs.length) {
          const bigger = new Float64Array(2 * count);
          bigger.set(troughs);
          troughs = cycleScratch = bigger;
        }
        troughs[count++] = extT;
        falling = false;
        ext = v;
      }
    } else if (v > ext) ext = v;
    else if (v <= ext - swing) {
      falling = true;
      ext = v;
      extT = t[i] as number;
    }
  }
  if (count < 3) return NaN;
  // the gaps between troughs, in place
  let longest = 0;
  for (let k = 1; k < count; k++) {
    const gap = (troughs[k] as number) - (troughs[k - 1] as number);
    troughs[k - 1] = gap;
    longest = Math.max(longest, gap);
  }
  return Math.min(longest, 1.5 * median(troughs, count - 1));
}
