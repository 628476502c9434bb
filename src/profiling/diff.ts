// A profile minus a baseline, as `go tool pprof -diff_base BASE` builds it: the baseline's
// samples are negated and merged in, so every aggregate becomes "now minus then".
import { SampleTypeError } from "./errors.js";
import type { Profile, ProfileSamples } from "./model.js";
import type { TopRow, TopTable } from "./top.js";

/** Merges `base`, negated and marked as baseline, into `current`. Both must have the same sample types. */
export function diffProfiles(current: Profile, base: Profile): Profile {
  checkCompatible(current, base);

  const frameNames = [...current.frameNames];
  const frameIds = new Map(frameNames.map((name, id) => [name, id]));
  const baseFrame = base.frameNames.map((name) => {
    let id = frameIds.get(name);
    if (id === undefined) {
      id = frameNames.push(name) - 1;
      frameIds.set(name, id);
    }
    return id;
  });
  const baseLocations = base.locations.map((frames) => frames.map((f) => baseFrame[f] ?? f));

  const offset = current.locations.length;
  const cur = current.samples;
  const old = base.samples;
  const types = current.sampleTypes.length;
  const stackStart = new Int32Array(cur.count + old.count + 1);
  stackStart.set(cur.stackStart.subarray(0, cur.count));
  const curStacks = cur.stackStart[cur.count] ?? 0;
  for (let i = 0; i <= old.count; i++) stackStart[cur.count + i] = curStacks + (old.stackStart[i] ?? 0);
  const stacks = new Int32Array(curStacks + (old.stackStart[old.count] ?? 0));
  stacks.set(cur.stacks.subarray(0, curStacks));
  for (let i = 0; i < stacks.length - curStacks; i++) stacks[curStacks + i] = (old.stacks[i] ?? 0) + offset;
  const values = new Float64Array((cur.count + old.count) * types);
  values.set(cur.values.subarray(0, cur.count * types));
  for (let i = 0; i < old.count * types; i++) {
    const v = old.values[i] ?? 0;
    values[cur.count * types + i] = v === 0 ? 0 : -v;
  }
  const samples: ProfileSamples = {
    count: cur.count + old.count,
    stackStart,
    stacks,
    values,
    baseFrom: cur.count,
  };

  // Header fields combine as pprof's profile.Merge combines them (combineHeaders).
  const times = [current.info.timeNanos, base.info.timeNanos];
  const timeNanos = times.reduce((min, t) => (min === 0 || t < min ? t : min), 0);
  const ownDefault = current.defaultSampleType !== current.sampleTypes.length - 1;
  return {
    sampleTypes: current.sampleTypes,
    defaultSampleType: ownDefault ? current.defaultSampleType : base.defaultSampleType,
    frameNames,
    locations: [...current.locations, ...baseLocations],
    samples,
    info: {
      ...current.info,
      comments: [...new Set([...current.info.comments, ...base.info.comments])],
      docUrl: current.info.docUrl || base.info.docUrl,
      timeNanos,
      durationNanos: current.info.durationNanos + base.info.durationNanos,
    },
  };
}

function checkCompatible(current: Profile, base: Profile): void {
  const describe = (p: Profile): string => p.sampleTypes.map((t) => `${t.type}/${t.unit}`).join(", ");
  const same =
    current.sampleTypes.length === base.sampleTypes.length &&
    current.sampleTypes.every(
      (t, i) => t.type === base.sampleTypes[i]?.type && t.unit === base.sampleTypes[i]?.unit,
    );
  if (!same) {
    throw new SampleTypeError(
      `the baseline's sample types (${describe(base)}) do not match the profile's (${describe(current)})`,
    );
  }
}

/**
 * The functions that grew between baseline and profile, from a top table of a diffed profile:
 * positive `by` (flat: allocated in the function itself; cum: including its callees), largest first.
 */
export function grownFunctions(table: TopTable, by: "flat" | "cum" = "flat"): TopRow[] {
  return table.rows
    .filter((r) => r[by] > 0)
    .sort((a, b) => b[by] - a[by] || compareNames(a.function, b.function));
}

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
