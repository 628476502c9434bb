import { SampleTypeError } from "./errors.js";
import type { Profile } from "./model.js";

/**
 * The index of the sample type `name` picks, as pprof's -sample_index does: empty means the
 * profile's default; a number is an index; "inuse_space" also matches a legacy "space" type.
 */
export function resolveSampleIndex(
  profile: Pick<Profile, "sampleTypes" | "defaultSampleType">,
  name = "",
): number {
  const types = profile.sampleTypes;
  if (name === "") return profile.defaultSampleType;
  if (/^[+-]?\d+$/.test(name)) {
    const i = Number(name);
    if (i < 0 || i >= types.length) {
      throw new SampleTypeError(`sample index ${name} is outside the range [0..${types.length - 1}]`);
    }
    return i;
  }
  const legacy = name.startsWith("inuse_") ? name.slice("inuse_".length) : name;
  const i = types.findIndex((t) => t.type === name || t.type === legacy);
  if (i < 0) {
    throw new SampleTypeError(`sample type "${name}" must be one of: ${types.map((t) => t.type).join(", ")}`);
  }
  return i;
}
