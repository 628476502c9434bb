// `profile top` of one profile in one pass over its bytes, as they are inflated, holding no
// sample: the same table topTable makes of the decoded model (top.ts), in a fraction of the time
// and memory on a large profile (the model of a 22 MB heap profile holds 8.7 million stack
// entries; this holds a few arrays per function).
//
// Go writes each location, and each function, before the first sample that uses it, but the
// strings and mappings last. So a sample is folded into its frames' weights as it arrives, with a
// stand-in for each frame's name (a slot per function id, and one per mapping for frames without
// a name), and the slots are named at the end. When that cannot give the model's answer (another
// writer's order, two slots of one name, a sample type named only at the end), the samples are
// read again with every table known; and again when inline marks need the walk of the functions
// kept (top.ts inlineWalk), which is known only after the first.
import { rawChunks, type ProfileSource } from "./chunks.js";
import { forEachField, malformedSample } from "./fields.js";
import { GraphWalk, LocationFrames, type Edge } from "./graph.js";
import { IdIndex } from "./ids.js";
import type { ProfileInfo } from "./model.js";
import { ProtoReader } from "./proto.js";
import { MALFORMED, SAMPLE_TAG, SampleReader, undefinedLocation, valueCount } from "./sample.js";
import { resolveSampleIndex } from "./sample-type.js";
import { ProfileTables, type RawLocations, type ResolvedTables } from "./tables.js";
import { inlineWalk, topRows, trimNodes, type TopOptions, type TopTable } from "./top.js";

export interface StreamTopOptions extends Omit<TopOptions, "sampleIndex"> {
  /** A sample type as pprof's -sample_index takes it (resolveSampleIndex); "": the default. */
  sampleIndex?: string;
}

/** topTable of the profile `source` holds, and its header. Throws ProfileFormatError and SampleTypeError as decodeProfile and topTable do. */
export async function streamTopTable(
  source: ProfileSource,
  options: StreamTopOptions = {},
): Promise<{ table: TopTable; info: ProfileInfo }> {
  const first = new FirstPass(options.sampleIndex ?? "");
  await forEachField(rawChunks(source), first.visit);
  const t = first.tables.resolve();
  const index = resolveSampleIndex(t, options.sampleIndex ?? "");
  const sampleType = t.sampleTypes[index] ?? { type: "", unit: "" };
  const frames = t.frameNames.length;
  let weights = first.weights(t, index);
  if (weights === undefined) {
    const walk = new GraphWalk(t.locationFrames, frames);
    weights = { flat: walk.flat, cum: walk.cum, total: await walkSamples(source, t, index, walk) };
  }
  const trimmed = trimNodes(t.frameNames, weights.flat, weights.cum, options);
  const inline = inlineWalk(t.locationFrames, frames, trimmed.nodes);
  let edges = inline ? first.keptEdges(inline.kept, inline.inlinable) : [];
  if (inline && edges === undefined) {
    const walk = new GraphWalk(t.locationFrames, frames, 1, inline.kept, inline.inlinable);
    await walkSamples(source, t, index, walk);
    edges = walk.edges;
  }
  const table = topRows(
    sampleType,
    t.frameNames,
    weights.flat,
    weights.cum,
    trimmed,
    weights.total,
    edges ?? [],
  );
  return { table, info: t.info };
}

interface Weights {
  flat: Float64Array;
  cum: Float64Array;
  total: number;
}

/** Frame stand-ins until the strings arrive: one per function id, one per mapping for unnamed frames. */
class FrameSlots {
  /** Slot by function id: an IdIndex, as function ids are dense too. */
  private readonly functionSlots = new IdIndex();
  readonly functions: (number | bigint)[] = [];
  readonly mappings = new Map<number | bigint, number>();
  count = 0;

  /** The slots of the last location `of` read: as many as it returned. */
  slots = new Int32Array(16);

  /**
   * Puts the slots of a location's frames, leaf-most first as ProfileTables.resolve names them,
   * into `slots` (one array for all: no object per location); returns how many.
   */
  of(locations: RawLocations, loc: number): number {
    const first = locations.start[loc] ?? 0;
    const n = (locations.start[loc + 1] ?? 0) - first;
    const mapping = locations.mappings[loc] ?? 0;
    if (n === 0) {
      this.slots[0] = this.mappingSlot(mapping);
      return 1;
    }
    if (n > this.slots.length) this.slots = new Int32Array(2 * n);
    for (let i = 0; i < n; i++) {
      const fn = locations.functions[first + i] ?? 0;
      this.slots[i] = fn === 0 ? this.mappingSlot(mapping) : this.functionSlot(fn);
    }
    return n;
  }

  /**
   * Each slot's frame, once the tables are resolved; undefined unless that is one frame per slot
   * and one slot per frame (a function without a name takes its frame from each location's
   * mapping; two functions, or two mappings' files, can have one name).
   */
  frames(t: ResolvedTables): Int32Array | undefined {
    const frameIds = new Map(t.frameNames.map((name, id) => [name, id]));
    const taken = new Uint8Array(t.frameNames.length);
    const frameOf = new Int32Array(this.count);
    const named = (slot: number, name: string | undefined): boolean => {
      const frame = name === undefined ? undefined : frameIds.get(name);
      if (frame === undefined || taken[frame] === 1) return false;
      taken[frame] = 1;
      frameOf[slot] = frame;
      return true;
    };
    for (const id of this.functions) {
      if (!named(this.functionSlot(id), t.functionName(id))) return undefined;
    }
    for (const [id, slot] of this.mappings) if (!named(slot, t.unnamedFrame(id))) return undefined;
    return frameOf;
  }

  private functionSlot(id: number | bigint): number {
    let slot = this.functionSlots.get(id);
    if (slot === undefined) {
      slot = this.count++;
      this.functionSlots.set(id, slot);
      this.functions.push(id);
    }
    return slot;
  }

  private mappingSlot(id: number | bigint): number {
    let slot = this.mappings.get(id);
    if (slot === undefined) {
      slot = this.count++;
      this.mappings.set(id, slot);
    }
    return slot;
  }
}

/**
 * The tables, and every sample folded by slot as it arrives: the sample type asked for when the
 * first sample can tell which it is, else every one at once (its name is in the strings).
 */
class FirstPass {
  readonly tables = new ProfileTables();
  private readonly r = new ProtoReader();
  private readonly reader = new SampleReader(this.r);
  private readonly slots = new FrameSlots();
  /** Slots of each location's frames, by location index. */
  private readonly slotLocations = new LocationFrames();
  private walk: GraphWalk | undefined;
  /** Sample types when the first sample came. */
  private types = 0;
  /** The one sample type folded, or -1 when the walk folds all `types` (width). */
  private column = -1;
  private width = 0;
  private values = new Float64Array(0);
  private totals = new Float64Array(0);
  private stack = new Int32Array(256);
  /** False once a sample could not be folded when it came (its location had not come yet). */
  private folded = true;
  /**
   * Slots some location has inlined (not its last line): the walk counts the edges into them,
   * which give the inline marks without another pass when every caller is kept (keptEdges).
   */
  private readonly inlinedSlots: number[] = [];
  /** False once a slot was found inlined after a sample had gone through it uncounted. */
  private edgesComplete = true;
  /** Each slot's frame, once weights has named them. */
  private frameOfSlot: Int32Array | undefined;
  private buf: Uint8Array | undefined;

  constructor(private readonly sampleIndex: string) {}

  readonly visit = (
    buf: Uint8Array,
    tag: number,
    valueStart: number,
    bodyStart: number,
    end: number,
    base: number,
  ): void => {
    if (buf !== this.buf) {
      this.r.reset(buf);
      this.buf = buf;
    }
    if (tag === SAMPLE_TAG) {
      if (this.folded) this.fold(bodyStart, end, base);
      return;
    }
    this.r.pos = valueStart;
    this.tables.read(this.r, tag >>> 3, tag & 7);
    const locations = this.tables.locations;
    if (locations.count > this.slotLocations.count) {
      const n = this.slots.of(locations, locations.count - 1);
      const slots = this.slots.slots;
      this.slotLocations.push(slots, n);
      this.walk?.reserve(this.slots.count);
      for (let i = 0; i < n - 1; i++) this.countEdgesInto(slots[i] ?? 0);
    }
  };

  private countEdgesInto(slot: number): void {
    if (this.walk === undefined) this.inlinedSlots.push(slot);
    else if (!this.walk.countEdgesInto(slot)) this.edgesComplete = false;
  }

  private fold(start: number, end: number, base: number): void {
    if (this.walk === undefined) {
      this.types = this.tables.sampleTypeCount;
      this.column = likelyColumn(this.sampleIndex, this.types);
      this.width = this.column < 0 ? this.types : 1;
      // Edges weigh one sample type: counted only when the walk folds only one.
      const edgesInto = this.width === 1 ? new Uint8Array(this.slots.count) : false;
      this.walk = new GraphWalk(this.slotLocations, this.slots.count, this.width, null, edgesInto);
      this.edgesComplete = this.width === 1;
      for (const slot of this.inlinedSlots) this.walk.countEdgesInto(slot);
      this.values = new Float64Array(this.types);
      this.totals = new Float64Array(this.types);
    }
    if (this.stack.length < end - start) this.stack = new Int32Array(2 * (end - start));
    const types = this.types;
    const n = this.reader.read(start, end, this.tables.locationIndex, this.stack, 0, this.values, 0, types);
    if (n === MALFORMED) throw malformedSample(this.r.buf, start, end, base);
    if (n < 0 || this.reader.values !== types || types === 0) {
      this.folded = false;
      return;
    }
    this.walk.add(this.stack, 0, n, this.values, Math.max(this.column, 0));
    for (let t = 0; t < types; t++) this.totals[t] = (this.totals[t] ?? 0) + Math.abs(this.values[t] ?? 0);
  }

  /**
   * The weights of sample type `index` by frame, when the fold gives the model's: every sample
   * folded, no location id defined twice, no sample type added after the first sample, and one
   * frame per slot and one slot per frame. Else undefined.
   */
  weights(t: ResolvedTables, index: number): Weights | undefined {
    const frames = t.frameNames.length;
    const flat = new Float64Array(frames);
    const cum = new Float64Array(frames);
    const walk = this.walk;
    if (walk === undefined) return this.folded ? { flat, cum, total: 0 } : undefined;
    if (!this.folded || this.tables.duplicateLocationIds || this.types !== t.sampleTypes.length)
      return undefined;
    if (this.column >= 0 && this.column !== index) return undefined;
    const at = this.column < 0 ? index : 0;
    const frameOf = this.slots.frames(t);
    if (frameOf === undefined) return undefined;
    frameOf.forEach((frame, slot) => {
      flat[frame] = walk.flat[slot * this.width + at] ?? 0;
      cum[frame] = walk.cum[slot * this.width + at] ?? 0;
    });
    this.frameOfSlot = frameOf;
    return { flat, cum, total: this.totals[index] ?? 0 };
  }

  /**
   * The edges the walk of the functions kept (top.ts inlineWalk) would count, from this pass's
   * walk of all: the same when every edge into an inlined function kept comes from a function
   * kept, as the kept walk then jumps over nothing on the way in. Else (or when this pass could
   * not count them all) undefined: the samples must be read again.
   */
  keptEdges(kept: Uint8Array, inlinable: Uint8Array): Edge[] | undefined {
    const frameOf = this.frameOfSlot;
    if (frameOf === undefined || !this.edgesComplete || this.walk === undefined) return undefined;
    const edges: Edge[] = [];
    for (const e of this.walk.edges) {
      const callee = frameOf[e.callee] ?? -1;
      const caller = frameOf[e.caller] ?? -1;
      if (inlinable[callee] !== 1) continue;
      if (kept[caller] !== 1) return undefined;
      edges.push({ ...e, caller, callee });
    }
    return edges;
  }
}

/**
 * The sample type resolveSampleIndex will pick, when the first sample can tell: a number picks
 * itself, and no name the last type unless the profile names a default (field 14, which Go never
 * writes and other writers put after the samples). -1 for a name: the strings come last.
 */
function likelyColumn(sampleIndex: string, types: number): number {
  if (sampleIndex === "") return types - 1;
  return /^\d+$/.test(sampleIndex) && Number(sampleIndex) < types ? Number(sampleIndex) : -1;
}

/** Reads the samples again, every table known, into `walk` (sample type `index`); returns the total. */
async function walkSamples(
  source: ProfileSource,
  t: ResolvedTables,
  index: number,
  walk: GraphWalk,
): Promise<number> {
  const r = new ProtoReader();
  const reader = new SampleReader(r);
  const types = t.sampleTypes.length;
  const values = new Float64Array(types);
  let stack = new Int32Array(256);
  let sample = 0;
  let total = 0;
  let current: Uint8Array | undefined;
  await forEachField(rawChunks(source), (buf, tag, _valueStart, start, end, base) => {
    if (tag !== SAMPLE_TAG) return;
    if (buf !== current) {
      r.reset(buf);
      current = buf;
    }
    if (stack.length < end - start) stack = new Int32Array(2 * (end - start));
    const n = reader.read(start, end, t.locationIndex, stack, 0, values, 0, types);
    if (n === MALFORMED) throw malformedSample(buf, start, end, base);
    if (n < 0) throw undefinedLocation(sample, reader.missing);
    if (reader.values !== types) throw valueCount(sample, reader.values, types);
    walk.add(stack, 0, n, values, index);
    total += Math.abs(values[index] ?? 0);
    sample++;
  });
  return total;
}
