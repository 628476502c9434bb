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
  // Edges into only these callees (by frame id) when withEdges is an array: the rest cost nothing.
  const edgeInto = typeof withEdges === "boolean" ? null : withEdges;
  const frames = profile.frameNames.length;
  const flat = new Float64Array(frames);
  const cum = new Float64Array(frames);
  // "Seen in this sample" as an epoch stamp: no set to clear between samples.
  const seen = new Int32Array(frames);
  const edgeMap = new Map<number, Edge>();
  const edges: Edge[] = [];
  let epoch = 0;

  const { count, stackStart, stacks, values } = profile.samples;
  const types = profile.sampleTypes.length;
  for (let s = 0; s < count; s++) {
    const w = values[s * types + sampleIndex] ?? 0;
    if (w === 0) continue;
    epoch++;
    let parent = -1;
    let residual = false;
    // Root to leaf: locations from the last, and each location's lines from its caller inward.
    const first = stackStart[s] ?? 0;
    for (let i = (stackStart[s + 1] ?? 0) - 1; i >= first; i--) {
      const locFrames = profile.locations[stacks[i] ?? 0] ?? EMPTY;
      for (let ni = locFrames.length - 1; ni >= 0; ni--) {
        const n = locFrames[ni] ?? 0;
        if (kept !== null && kept[n] === 0) {
          residual = true;
          continue;
        }
        if (seen[n] !== epoch) {
          seen[n] = epoch;
          cum[n] = (cum[n] ?? 0) + w;
        }
        if (
          withEdges !== false &&
          parent !== -1 &&
          n !== parent &&
          (edgeInto === null || edgeInto[n] === 1)
        ) {
          const key = parent * frames + n;
          let e = edgeMap.get(key);
          if (e === undefined) {
            e = { caller: parent, callee: n, weight: 0, inline: true, stamp: 0 };
            edgeMap.set(key, e);
            edges.push(e);
          }
          if (e.stamp !== epoch) {
            e.stamp = epoch;
            e.weight += w;
            // A frame other than its location's last line was inlined into the one above it.
            if (ni === locFrames.length - 1) e.inline = false;
          }
        }
        parent = n;
        residual = false;
      }
    }
    if (parent !== -1 && !residual) flat[parent] = (flat[parent] ?? 0) + w;
  }
  return { flat, cum, edges };
}

const EMPTY = new Int32Array(0);

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
