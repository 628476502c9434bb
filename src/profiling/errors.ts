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

/** A heap profile could not be fetched over HTTP(S). The message names the URL and the cause. */
export class ProfileFetchError extends Error {
  override readonly name = "ProfileFetchError";
  readonly code = "MEMLENS_PROFILE_FETCH";

  constructor(
    message: string,
    readonly url: string,
  ) {
    super(message);
  }
}
