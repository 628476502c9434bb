// Property tests of the hand-written pprof decoder: it agrees with pprof-format (the general
// protobuf decoder) on real and random profiles, and mutated real profiles either decode into a
// consistent model or fail with a ProfileFormatError; top, diff and flame never see a broken model.
import { expect } from "chai";
import { gunzipSync, gzipSync } from "node:zlib";
import { Profile as PprofProfile } from "pprof-format";
import { decodeProfile } from "../../../src/profiling/decode.js";
import { diffProfiles } from "../../../src/profiling/diff.js";
import { ProfileFormatError } from "../../../src/profiling/errors.js";
import { flameTree } from "../../../src/profiling/flame.js";
import type { Profile } from "../../../src/profiling/model.js";
import { topTable } from "../../../src/profiling/top.js";
import { forAll, mutateBytes, type Rng } from "../prop.js";
import { fixture } from "./fixtures.js";
import { syntheticProfile, type SyntheticSample } from "./synthetic.js";

const PROFILES = [
  "base.pb.gz",
  "later.pb.gz",
  "catalog-base.pb.gz",
  "catalog-later.pb.gz",
  "node-base.pb.gz",
  "node-later.pb.gz",
];

/** What pprof-format reads: sample types, per-type sums, and each sample's frame names leaf first. */
function reference(data: Uint8Array): { types: string[]; sums: number[]; stacks: string[][] } {
  const p = PprofProfile.decode(gunzipIfNeeded(data));
  const str = (i: number | bigint): string => p.stringTable.strings[Number(i)] ?? "";
  const fnName = new Map(p.function.map((f) => [String(f.id), str(f.name)]));
  const locFrames = new Map(
    p.location.map((l) => [String(l.id), l.line.map((line) => fnName.get(String(line.functionId)) ?? "")]),
  );
  return {
    types: p.sampleType.map((t) => str(t.type)),
    sums: p.sampleType.map((_, i) => p.sample.reduce((sum, s) => sum + int64(s.value[i] ?? 0), 0)),
    stacks: p.sample.map((s) => s.locationId.flatMap((id) => locFrames.get(String(id)) ?? [])),
  };
}

/** profile.proto's values are int64; pprof-format hands them over as unsigned. */
function int64(v: number | bigint): number {
  return typeof v === "bigint" ? Number(BigInt.asIntN(64, v)) : v;
}

function gunzipIfNeeded(data: Uint8Array): Uint8Array {
  return data[0] === 0x1f && data[1] === 0x8b ? gunzipSync(data) : data;
}

function summary(p: Profile): { types: string[]; sums: number[]; stacks: string[][] } {
  const n = p.sampleTypes.length;
  const { count, stackStart, stacks, values } = p.samples;
  const sums = p.sampleTypes.map((_, t) => {
    let sum = 0;
    for (let i = 0; i < count; i++) sum += values[i * n + t] ?? 0;
    return sum;
  });
  const frames: string[][] = [];
  for (let i = 0; i < count; i++) {
    const names: string[] = [];
    for (let j = stackStart[i] ?? 0; j < (stackStart[i + 1] ?? 0); j++)
      for (const f of p.locations[stacks[j] ?? -1] ?? []) names.push(p.frameNames[f] ?? "?");
    frames.push(names);
  }
  return { types: p.sampleTypes.map((t) => t.type), sums, stacks: frames };
}

/** The model's own invariants: every index points inside its array. */
function expectConsistent(p: Profile): void {
  const { count, stackStart, stacks, values, baseFrom } = p.samples;
  expect(stackStart.length).to.equal(count + 1);
  expect(stackStart[0]).to.equal(0);
  expect(stackStart[count]).to.equal(stacks.length);
  for (let i = 0; i < count; i++) expect(stackStart[i + 1]).to.be.at.least(stackStart[i] ?? 0);
  for (const s of stacks) expect(s).to.be.within(0, p.locations.length - 1);
  for (const frames of p.locations)
    for (const f of frames) expect(f).to.be.within(0, p.frameNames.length - 1);
  expect(values.length).to.equal(count * p.sampleTypes.length);
  expect(baseFrom).to.equal(count);
  expect(p.defaultSampleType).to.be.within(0, p.sampleTypes.length - 1);
}

/** Everything memlens does with a profile, on every sample type. */
function useEverywhere(p: Profile): void {
  for (let t = 0; t < p.sampleTypes.length; t++) {
    const table = topTable(p, { sampleIndex: t, nodeFraction: 0 });
    for (const row of table.rows) expect(Number.isNaN(row.flat) || Number.isNaN(row.cum)).to.equal(false);
    flameTree(p, t);
  }
  topTable(diffProfiles(p, p));
}

function randomSamples(rng: Rng): SyntheticSample[] {
  const names = Array.from(
    { length: rng.int(1, 12) },
    (_, i) => `pkg.fn${i}${rng.pick(["", "·", "é", " x"])}`,
  );
  return Array.from({ length: rng.int(0, 40) }, () => ({
    stack: Array.from({ length: rng.int(1, 8) }, () =>
      rng.bool(0.2) ? [rng.pick(names), rng.pick(names)] : rng.pick(names),
    ),
    values: [rng.bool(0.1) ? -rng.magnitude(40) : rng.magnitude(40), rng.magnitude(50)],
  }));
}

describe("profiling/decode (properties)", () => {
  for (const name of PROFILES) {
    it(`agrees with pprof-format on ${name}: types, sums per type and every stack`, () => {
      const data = fixture(name);
      expect(summary(decodeProfile(data))).to.deep.equal(reference(data));
    });
  }

  it("agrees with pprof-format on random profiles", function () {
    this.timeout(30_000); // 150 profiles decoded twice: ~1 s idle, past mocha's 2 s on a loaded machine
    forAll(150, (rng) => {
      const data = syntheticProfile(
        randomSamples(rng),
        rng.bool(0.3) ? { idBase: 2 ** rng.int(10, 40) } : {},
      );
      const p = decodeProfile(rng.bool() ? gzipSync(data) : data);
      expectConsistent(p);
      expect(summary(p)).to.deep.equal(reference(data));
      useEverywhere(p);
    });
  });

  it("mutated real profiles decode into a consistent model or fail with a ProfileFormatError", () => {
    const raws = PROFILES.map((n) => gunzipSync(fixture(n)));
    let rejected = 0;
    forAll(1500, (rng) => {
      const mutated = mutateBytes(rng, rng.pick(raws));
      const data = rng.bool(0.3) ? gzipSync(mutated) : mutated;
      let p: Profile;
      try {
        p = decodeProfile(data);
      } catch (err) {
        if (!(err instanceof ProfileFormatError)) throw err;
        rejected++;
        return;
      }
      expectConsistent(p);
      useEverywhere(p);
    });
    expect(rejected).to.be.greaterThan(0);
  });

  it("truncated or corrupted gzip never escapes as anything but a ProfileFormatError", () => {
    const gzs = PROFILES.map(fixture);
    forAll(300, (rng) => {
      const data = mutateBytes(rng, rng.pick(gzs));
      try {
        expectConsistent(decodeProfile(data));
      } catch (err) {
        if (!(err instanceof ProfileFormatError)) throw err;
      }
    });
  });
});
