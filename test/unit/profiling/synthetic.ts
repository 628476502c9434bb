// Small hand-made profiles, encoded with pprof-format, for cases real Go profiles do not cover.
import {
  Function as PprofFunction,
  Line,
  Location,
  Profile,
  Sample,
  StringTable,
  ValueType,
} from "pprof-format";

export interface SyntheticSample {
  /** Each location's function names, leaf first; an inner array is one location with inlined frames. */
  stack: (string | string[])[];
  values: (number | bigint)[];
}

export interface SyntheticOptions {
  sampleTypes?: [string, string][];
  /** Ids can be large enough that pprof-format decodes them as bigints. */
  idBase?: number;
  defaultSampleType?: string;
}

export function syntheticProfile(samples: SyntheticSample[], options: SyntheticOptions = {}): Uint8Array {
  const strings = new StringTable();
  const idBase = options.idBase ?? 0;
  const functions = new Map<string, PprofFunction>();
  const fn = (name: string): PprofFunction => {
    let f = functions.get(name);
    if (!f) {
      f = new PprofFunction({ id: idBase + functions.size + 1, name: strings.dedup(name) });
      functions.set(name, f);
    }
    return f;
  };
  const locations: Location[] = [];
  const encoded = samples.map((s) => {
    const ids = s.stack.map((frame) => {
      const names = typeof frame === "string" ? [frame] : frame;
      const loc = new Location({
        id: idBase + locations.length + 1,
        line: names.map((n) => new Line({ functionId: fn(n).id })),
      });
      locations.push(loc);
      return loc.id;
    });
    return new Sample({ locationId: ids, value: s.values });
  });
  const types = options.sampleTypes ?? [
    ["alloc_space", "bytes"],
    ["inuse_space", "bytes"],
  ];
  const profile = new Profile({
    sampleType: types.map(([t, u]) => new ValueType({ type: strings.dedup(t), unit: strings.dedup(u) })),
    sample: encoded,
    location: locations,
    function: [...functions.values()],
    stringTable: strings,
    ...(options.defaultSampleType && { defaultSampleType: strings.dedup(options.defaultSampleType) }),
  });
  return profile.encode();
}
