// The in-memory model every profiling operation reads: a pprof profile decoded once and
// resolved to what pprof's default "functions" granularity needs (frame names, no addresses).
// Samples are held column-wise in typed arrays: real profiles have hundreds of thousands.

export interface ValueType {
  readonly type: string;
  readonly unit: string;
}

export interface ProfileSamples {
  readonly count: number;
  /**
   * Sample i's stack is stacks[stackStart[i] .. stackStart[i + 1]): indices into
   * Profile.locations, leaf first (profile.proto order). stackStart has count + 1 entries.
   */
  readonly stackStart: Int32Array;
  readonly stacks: Int32Array;
  /** Sample i's value of sample type t is values[i * sampleTypes.length + t]: int64 as a number, exact up to 2^53. */
  readonly values: Float64Array;
  /**
   * Samples from this index on are the negated samples of a baseline merged in by diffProfiles
   * (pprof computes percentages of a diff against the baseline's total, internal/report
   * computeTotal); count when there is no baseline.
   */
  readonly baseFrom: number;
}

export interface ProfileInfo {
  /** File of the first mapping (the main binary), as pprof's "File:" label. */
  readonly mainBinary: string;
  readonly buildId: string;
  readonly comments: readonly string[];
  readonly docUrl: string;
  readonly timeNanos: number;
  readonly durationNanos: number;
}

export interface Profile {
  readonly sampleTypes: readonly ValueType[];
  /** The sample type pprof picks when none is asked for. */
  readonly defaultSampleType: number;
  /** Distinct frame names; a frame id is an index into this. One pprof graph node per name. */
  readonly frameNames: readonly string[];
  /**
   * Frame ids of each location, leaf-most first: inlined callees before the function they were
   * inlined into, which comes last (profile.proto: "the last entry represents the caller").
   */
  readonly locations: readonly Int32Array[];
  readonly samples: ProfileSamples;
  readonly info: ProfileInfo;
}

/** Sample `sample`'s value of sample type `type`. */
export function sampleValue(profile: Profile, sample: number, type: number): number {
  return profile.samples.values[sample * profile.sampleTypes.length + type] ?? 0;
}
