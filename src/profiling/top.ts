// The rows of `go tool pprof -top`: trimmed, sorted and limited exactly as pprof's
// report.newTrimmedGraph does for text output.
import { SampleTypeError } from "./errors.js";
import { graphWeights, LocationFrames, profileTotal, type Edge } from "./graph.js";
import type { Profile, ValueType } from "./model.js";
import { compareCodePoints } from "./strings.js";

export interface TopOptions {
  /** Index into profile.sampleTypes; default: the profile's default sample type. */
  sampleIndex?: number;
  /** Sort by cum instead of flat (pprof -cum). */
  cum?: boolean;
  /** Show at most this many rows after trimming (pprof -nodecount); 0 or absent: all, as -top does. */
  nodeCount?: number;
  /** Drop functions whose |cum| is below this fraction of the flat total (pprof -nodefraction). */
  nodeFraction?: number;
  /** Edges below this fraction do not count when marking a row inline (pprof -edgefraction). */
  edgeFraction?: number;
}

export interface TopRow {
  function: string;
  flat: number;
  /** flat / total * 100, signed (pprof prints the magnitude). */
  flatPercent: number;
  cum: number;
  cumPercent: number;
  /** pprof's "(inline)" / "(partial-inline)": every / some call into the function was inlined. */
  inline?: "inline" | "partial-inline";
}

export interface TopTable {
  sampleType: string;
  unit: string;
  /** What percentages are of: all samples' absolute values, or the baseline's for a diff. */
  total: number;
  rows: TopRow[];
  /** Flat sum of the rows shown ("Showing nodes accounting for"). */
  shown: number;
  /** Functions left out for falling below nodeFraction, and the cut-off pprof's label prints. */
  droppedNodes: number;
  droppedCutoff: number;
  /** Functions left before nodeCount applied ("Showing top N nodes out of M"). */
  nodesBeforeLimit: number;
}

const DEFAULT_NODE_FRACTION = 0.005;
const DEFAULT_EDGE_FRACTION = 0.001;

export function topTable(profile: Profile, options: TopOptions = {}): TopTable {
  const index = options.sampleIndex ?? profile.defaultSampleType;
  const sampleType = profile.sampleTypes[index];
  if (!sampleType) throw new SampleTypeError(`sample index ${index} is outside the profile's sample types`);
  const { flat, cum } = graphWeights(profile, index);
  const trimmed = trimNodes(profile.frameNames, flat, cum, options);
  const walk = inlineWalk(LocationFrames.of(profile.locations), profile.frameNames.length, trimmed.nodes);
  const { edges } = walk ? graphWeights(profile, index, walk.kept, walk.inlinable) : { edges: [] };
  return topRows(sampleType, profile.frameNames, flat, cum, trimmed, profileTotal(profile, index), edges);
}

/** The functions -top shows, in order, and what the trimming left out. */
export interface TrimmedNodes {
  readonly nodes: readonly number[];
  readonly droppedNodes: number;
  readonly nodesBeforeLimit: number;
  readonly nodeFraction: number;
  readonly edgeCutoff: number;
}

/** pprof's trimming and sorting of the functions with weights `flat` and `cum` (by frame id). */
export function trimNodes(
  names: readonly string[],
  flat: Float64Array,
  cum: Float64Array,
  options: Omit<TopOptions, "sampleIndex">,
): TrimmedNodes {
  const nodeFraction = options.nodeFraction ?? DEFAULT_NODE_FRACTION;
  const edgeFraction = options.edgeFraction ?? DEFAULT_EDGE_FRACTION;
  let nodes: number[] = [];
  let flatTotal = 0;
  for (let n = 0; n < flat.length; n++) {
    const f = flat[n] ?? 0;
    flatTotal += f;
    if (f !== 0 || cum[n] !== 0) nodes.push(n);
  }
  // float64 product truncated to int64, as in pprof.
  const nodeCutoff = Math.abs(Math.trunc(flatTotal * nodeFraction));
  const edgeCutoff = Math.abs(Math.trunc(flatTotal * edgeFraction));

  let droppedNodes = 0;
  if (nodeCutoff > 0) {
    const kept = nodes.filter((n) => Math.abs(cum[n] ?? 0) >= nodeCutoff);
    droppedNodes = nodes.length - kept.length;
    nodes = kept;
  }
  const nodesBeforeLimit = nodes.length;

  const name = (n: number): string => names[n] ?? "";
  const byFlat = (a: number, b: number): number =>
    Math.abs(flat[b] ?? 0) - Math.abs(flat[a] ?? 0) ||
    compareCodePoints(name(a), name(b)) ||
    Math.abs(cum[b] ?? 0) - Math.abs(cum[a] ?? 0);
  const byCum = (a: number, b: number): number =>
    Math.abs(cum[b] ?? 0) - Math.abs(cum[a] ?? 0) ||
    compareCodePoints(name(a), name(b)) ||
    Math.abs(flat[b] ?? 0) - Math.abs(flat[a] ?? 0);
  nodes.sort(options.cum ? byCum : byFlat);
  const nodeCount = options.nodeCount ?? 0;
  if (nodeCount > 0 && nodes.length > nodeCount) nodes = nodes.slice(0, nodeCount);
  return { nodes, droppedNodes, nodesBeforeLimit, nodeFraction, edgeCutoff };
}

/**
 * What the walk for the inline marks needs (graphWeights' kept and withEdges): keeping fewer
 * functions changes no flat or cum value (flat only ever goes to the leaf frame), only which
 * edges exist, so one more walk with the final set gives the marks. Only a function that is some
 * location's inlined frame (not its last line) can be marked: edges into the others need not be
 * counted, and without any such function, no walk at all (undefined).
 */
export function inlineWalk(
  locations: LocationFrames,
  frames: number,
  nodes: readonly number[],
): { kept: Uint8Array; inlinable: Uint8Array } | undefined {
  const kept = new Uint8Array(frames);
  for (const n of nodes) kept[n] = 1;
  const inlinable = new Uint8Array(frames);
  let any = false;
  for (let loc = 0; loc < locations.count; loc++) {
    // Every line but the location's last (its caller's) is inlined.
    const last = (locations.start[loc + 1] ?? 0) - 1;
    for (let i = locations.start[loc] ?? 0; i < last; i++) {
      const n = locations.frames[i] ?? 0;
      if (kept[n] === 1) {
        inlinable[n] = 1;
        any = true;
      }
    }
  }
  return any ? { kept, inlinable } : undefined;
}

/** The table: the trimmed functions' rows, with their inline marks from the kept walk's `edges`. */
export function topRows(
  sampleType: ValueType,
  names: readonly string[],
  flat: Float64Array,
  cum: Float64Array,
  trimmed: TrimmedNodes,
  total: number,
  edges: readonly Edge[],
): TopTable {
  const inline = inlineMarks(edges, trimmed.edgeCutoff);
  const percent = (v: number): number => (total === 0 ? 0 : (v / total) * 100);
  let shown = 0;
  const rows = trimmed.nodes.map((n): TopRow => {
    const row: TopRow = {
      function: names[n] ?? "",
      flat: flat[n] ?? 0,
      flatPercent: percent(flat[n] ?? 0),
      cum: cum[n] ?? 0,
      cumPercent: percent(cum[n] ?? 0),
    };
    shown += row.flat;
    const mark = inline.get(n);
    if (mark !== undefined) row.inline = mark;
    return row;
  });

  return {
    sampleType: sampleType.type,
    unit: sampleType.unit,
    total,
    rows,
    shown,
    droppedNodes: trimmed.droppedNodes,
    droppedCutoff: Math.abs(Math.trunc(total * trimmed.nodeFraction)),
    nodesBeforeLimit: trimmed.nodesBeforeLimit,
  };
}

function inlineMarks(edges: readonly Edge[], edgeCutoff: number): Map<number, "inline" | "partial-inline"> {
  const inlined = new Set<number>();
  const called = new Set<number>();
  for (const e of edges) {
    // pprof trims light edges (TrimLowFrequencyEdges) before it reads them for the marks.
    if (Math.abs(e.weight) < edgeCutoff) continue;
    (e.inline ? inlined : called).add(e.callee);
  }
  const marks = new Map<number, "inline" | "partial-inline">();
  for (const n of inlined) marks.set(n, called.has(n) ? "partial-inline" : "inline");
  return marks;
}
