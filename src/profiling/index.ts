// The profiling core: pure functions over decoded pprof profiles, and fetch.ts, the HTTP edge.
export { decodeProfile } from "./decode.js";
export { diffProfiles, grownFunctions } from "./diff.js";
export { ProfileFetchError, ProfileFormatError, SampleTypeError } from "./errors.js";
export { fetchHeapProfile, type FetchProfileOptions } from "./fetch.js";
export { flameGraphSvg, flameTree, type FlameNode, type FlameOptions } from "./flame.js";
export { formatTopJson, formatTopText } from "./format.js";
export type { Profile, ProfileInfo, ProfileSamples, ValueType } from "./model.js";
export { sampleValue } from "./model.js";
export { resolveSampleIndex } from "./sample-type.js";
export {
  amount,
  heapMessage,
  heapSummary,
  type HeapGrownEntry,
  type HeapSummary,
  type HeapSummaryOptions,
  type HeapTopEntry,
} from "./summary.js";
export { topTable, type TopOptions, type TopRow, type TopTable } from "./top.js";
