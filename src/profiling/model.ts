// The in-memory model every profiling operation reads: a pprof profile decoded once and
// resolved to what pprof's default "functions" granularity needs (frame names, no addresses).

export interface ValueType {
  readonly type: string;
  readonly unit: string;
}

export interface ProfileSample {
  /** Indices into Profile.locations, leaf first (profile.proto order). */
  readonly locations: Int32Array;
  /** One value per sample type. int64 read as a number: exact up to 2^53. */
  readonly values: readonly number[];
  /**
   * True on the negated samples of a baseline merged in by diffProfiles: pprof computes
   * percentages of a diff against the baseline's total (internal/report computeTotal).
   */
  readonly base: boolean;
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
  readonly samples: readonly ProfileSample[];
  readonly info: ProfileInfo;
}
