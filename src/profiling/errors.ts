/** The input is not a usable pprof profile. The message says why, for a person to read. */
export class ProfileFormatError extends Error {
  override readonly name = "ProfileFormatError";
  readonly code = "MEMLENS_PROFILE_FORMAT";
}

/** A sample type was asked for that the profile does not have, or two profiles do not match. */
export class SampleTypeError extends Error {
  override readonly name = "SampleTypeError";
  readonly code = "MEMLENS_PROFILE_SAMPLE_TYPE";
}
