// Per-function weights of one sample type, computed as pprof's graph.New computes its nodes:
// cum counts a sample once per function however often the function recurs in its stack; flat
// goes to the leaf frame, and only when the leaf is kept (pprof does not move it to a caller).
import type { Profile } from "./model.js";

export interface Edge {
  readonly caller: number;
  readonly callee: number;
  weight: number;
  /** True while every sample through this edge had the callee inlined into the caller. */
  inline: boolean;
  stamp: number;
}

export interface GraphWeights {
  /** Indexed by frame id. */
  readonly flat: Float64Array;
  readonly cum: Float64Array;
  /** Caller-to-callee edges between kept frames; only when asked for. */
  readonly edges: readonly Edge[];
}

/**
 * Walks every sample once. `kept` (by frame id) leaves the other frames out as pprof's
 * KeptNodes does; edges then jump over them.
 */
export function graphWeights(
  profile: Profile,
  sampleIndex: number,
  kept: Uint8Array | null = null,
  withEdges: boolean | Uint8Array = false,
): GraphWeights {
  const locations = LocationFrames.of(profile.locations);
  const walk = new GraphWalk(locations, profile.frameNames.length, 1, kept, withEdges);
  const { count, stackStart, stacks, values } = profile.samples;
  const types = profile.sampleTypes.length;
  for (let s = 0; s < count; s++) {
    walk.add(stacks, stackStart[s] ?? 0, stackStart[s + 1] ?? 0, values, s * types + sampleIndex);
  }
  return walk;
}

/**
 * The weights graphWeights computes, one sample at a time: for the model's samples and for a
 * stream of them (stream-top.ts), which holds none. It can weigh `width` sample types at once
 * (frame n's weight of the t-th is flat[n * width + t]); edges weigh the first alone.
 */
export class GraphWalk implements GraphWeights {
  flat: Float64Array;
  cum: Float64Array;
  readonly edges: Edge[] = [];
  // "Seen in this sample" as an epoch stamp: no set to clear between samples.
  private seen: Int32Array;
  private epoch = 0;
  private readonly edgeMap = new Map<number, Edge>();
  /** Edges into only these callees (by frame id) when withEdges is an array: the rest cost nothing. */
  private edgeInto: Uint8Array | null;

  constructor(
    private readonly locations: LocationFrames,
    frames: number,
    private readonly width = 1,
    private readonly kept: Uint8Array | null = null,
    private readonly withEdges: boolean | Uint8Array = false,
  ) {
    this.flat = new Float64Array(frames * width);
    this.cum = new Float64Array(frames * width);
    this.seen = new Int32Array(frames);
    this.edgeInto = typeof withEdges === "boolean" ? null : withEdges;
  }

  /** Room for frame ids below `frames`. */
  reserve(frames: number): void {
    if (frames <= this.seen.length) return;
    const size = Math.max(frames, this.seen.length * 2);
    const grow = <A extends Float64Array | Int32Array | Uint8Array>(a: A, b: A): A => {
      b.set(a);
      return b;
    };
    this.flat = grow(this.flat, new Float64Array(size * this.width));
    this.cum = grow(this.cum, new Float64Array(size * this.width));
    this.seen = grow(this.seen, new Int32Array(size));
    if (this.edgeInto) this.edgeInto = grow(this.edgeInto, new Uint8Array(size));
  }

  /** Counts the edges into `frame` from the next sample on (with withEdges an array); false when a sample already went through it. */
  countEdgesInto(frame: number): boolean {
    if (this.edgeInto) this.edgeInto[frame] = 1;
    return this.seen[frame] === 0;
  }

  /** One sample: its stack is locations[stack[first]] .. [stack[end - 1]], leaf first; its weights values[at ..]. */
  add(stack: Int32Array, first: number, end: number, values: Float64Array, at: number): void {
    if (this.width === 1 && this.kept === null) {
      this.addOne(stack, first, end, values[at] ?? 0);
      return;
    }
    const width = this.width;
    const w = values[at] ?? 0;
    let zero = w === 0;
    for (let t = 1; t < width && zero; t++) zero = values[at + t] === 0;
    if (zero) return;
    const { kept, withEdges, edgeInto, seen, flat, cum } = this;
    const epoch = ++this.epoch;
    let parent = -1;
    let residual = false;
    const { frames: locFrames, start: locStart } = this.locations;
    // Root to leaf: locations from the last, and each location's lines from its caller inward.
    for (let i = end - 1; i >= first; i--) {
      const loc = stack[i] ?? 0;
      const callerLine = (locStart[loc + 1] ?? 0) - 1;
      for (let ni = callerLine; ni >= (locStart[loc] ?? 0); ni--) {
        const n = locFrames[ni] ?? 0;
        if (kept !== null && kept[n] === 0) {
          residual = true;
          continue;
        }
        if (seen[n] !== epoch) {
          seen[n] = epoch;
          for (let t = 0; t < width; t++)
            cum[n * width + t] = (cum[n * width + t] ?? 0) + (values[at + t] ?? 0);
        }
        if (withEdges !== false && parent !== -1 && n !== parent && (edgeInto === null || edgeInto[n] === 1))
          this.countEdge(parent, n, epoch, w, ni === callerLine);
        parent = n;
        residual = false;
      }
    }
    if (parent !== -1 && !residual) {
      for (let t = 0; t < width; t++)
        flat[parent * width + t] = (flat[parent * width + t] ?? 0) + (values[at + t] ?? 0);
    }
  }

  /**
   * add for one sample type with every frame kept (the one-pass top's case, for millions of
   * stack entries): the same walk without the loops over types and the checks of kept.
   */
  private addOne(stack: Int32Array, first: number, end: number, w: number): void {
    if (w === 0) return;
    const { withEdges, edgeInto, seen, cum } = this;
    const epoch = ++this.epoch;
    let parent = -1;
    const { frames: locFrames, start: locStart } = this.locations;
    for (let i = end - 1; i >= first; i--) {
      const loc = stack[i] ?? 0;
      const callerLine = (locStart[loc + 1] ?? 0) - 1;
      const leafLine = locStart[loc] ?? 0;
      for (let ni = callerLine; ni >= leafLine; ni--) {
        const n = locFrames[ni] ?? 0;
        if (seen[n] !== epoch) {
          seen[n] = epoch;
          cum[n] = (cum[n] ?? 0) + w;
        }
        if (withEdges !== false && parent !== -1 && n !== parent && (edgeInto === null || edgeInto[n] === 1))
          this.countEdge(parent, n, epoch, w, ni === callerLine);
        parent = n;
      }
    }
    if (parent !== -1) this.flat[parent] = (this.flat[parent] ?? 0) + w;
  }

  /** The edge caller -> callee of sample `epoch`, once per sample; `outermost`: the callee is its location's last line, not inlined. */
  private countEdge(caller: number, callee: number, epoch: number, w: number, outermost: boolean): void {
    const key = caller * EDGE_KEY_BASE + callee;
    let e = this.edgeMap.get(key);
    if (e === undefined) {
      e = { caller, callee, weight: 0, inline: true, stamp: 0 };
      this.edgeMap.set(key, e);
      this.edges.push(e);
    }
    if (e.stamp !== epoch) {
      e.stamp = epoch;
      e.weight += w;
      // A frame other than its location's last line was inlined into the one above it.
      if (outermost) e.inline = false;
    }
  }
}

/**
 * The frames of every location in one array: location i's are frames[start[i] .. start[i + 1]),
 * leaf-most first. One array instead of one per location: the walk reads them in order, and a
 * stream adds locations without an object each.
 */
export class LocationFrames {
  frames: Int32Array = new Int32Array(1024);
  start: Int32Array = new Int32Array(256);
  count = 0;

  static of(locations: readonly Int32Array[]): LocationFrames {
    const table = new LocationFrames();
    for (const frames of locations) table.push(frames);
    return table;
  }

  /** Adds a location whose frames are the first `length` of `frames`. */
  push(frames: ArrayLike<number>, length = frames.length): void {
    const at = this.start[this.count] ?? 0;
    if (this.count + 2 > this.start.length) this.start = grown(this.start, this.count + 2);
    if (at + length > this.frames.length) this.frames = grown(this.frames, at + length);
    for (let i = 0; i < length; i++) this.frames[at + i] = frames[i] ?? 0;
    this.start[++this.count] = at + length;
  }
}

/** `a` copied into an array of at least `size` entries, twice its length at least. */
function grown(a: Int32Array, size: number): Int32Array {
  const b = new Int32Array(Math.max(size, a.length * 2));
  b.set(a);
  return b;
}
/** Edge keys are caller * EDGE_KEY_BASE + callee: exact doubles for up to 2^26 frames, and fixed while reserve adds frames. */
const EDGE_KEY_BASE = 2 ** 26;

/**
 * The total pprof shows percentages against (internal/report computeTotal): the sum of absolute
 * sample values, or, for a diff, of the baseline's samples alone.
 */
export function profileTotal(profile: Profile, sampleIndex: number): number {
  let total = 0;
  let baseTotal = 0;
  const { count, values, baseFrom } = profile.samples;
  const types = profile.sampleTypes.length;
  for (let s = 0; s < count; s++) {
    const v = Math.abs(values[s * types + sampleIndex] ?? 0);
    total += v;
    if (s >= baseFrom) baseTotal += v;
  }
  return baseTotal > 0 ? baseTotal : total;
}
