// The one-pass top (stream-top.ts) gives exactly the table topTable gives of the decoded model,
// in whichever order a writer put the fields (Go's: locations and functions before the samples
// that use them, strings last; pprof's: samples first), in pieces of any size, and rejects what
// decodeProfile rejects.
import { expect } from "chai";
import { readFileSync } from "node:fs";
import path from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import {
  Function as PprofFunction,
  Line,
  Location,
  Profile as PprofProfile,
  Sample,
  StringTable,
  ValueType,
} from "pprof-format";
import { bytesSource, type ProfileSource } from "../../../src/profiling/chunks.js";
import { decodeProfile } from "../../../src/profiling/decode.js";
import { ProfileFormatError, SampleTypeError } from "../../../src/profiling/errors.js";
import { formatTopText } from "../../../src/profiling/format.js";
import { resolveSampleIndex } from "../../../src/profiling/sample-type.js";
import { streamTopTable, type StreamTopOptions } from "../../../src/profiling/stream-top.js";
import { topTable, type TopTable } from "../../../src/profiling/top.js";
import { forAllAsync, mutateBytes, type Rng } from "../prop.js";
import { fixture, FIXTURES, PPROF_CASES } from "./fixtures.js";
import { syntheticProfile, type SyntheticSample } from "./synthetic.js";

/** The model's table for the same options, or the error decodeProfile or topTable throws. */
function modelTop(data: Uint8Array, options: StreamTopOptions): TopTable {
  const p = decodeProfile(data);
  return topTable(p, { ...options, sampleIndex: resolveSampleIndex(p, options.sampleIndex ?? "") });
}

/** The source, and how many times it was read (one per pass). */
function counted(
  data: Uint8Array,
  pieces?: (rest: number) => number,
): { source: ProfileSource; reads: () => number } {
  let reads = 0;
  const source: ProfileSource = async function* () {
    reads++;
    if (!pieces) {
      yield await Promise.resolve(data);
      return;
    }
    for (let at = 0; at < data.length;) {
      const n = Math.max(1, pieces(data.length - at));
      yield data.subarray(at, at + n);
      at += n;
    }
  };
  return { source, reads: () => reads };
}

/** What `run` gives, or the ProfileFormatError or SampleTypeError it throws. */
async function outcome<T>(run: () => T | Promise<T>): Promise<T | ProfileFormatError | SampleTypeError> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof ProfileFormatError || err instanceof SampleTypeError) return err;
    throw err;
  }
}

/** Top-level fields of a raw profile: [field number, the field's bytes, tag included]. */
function topLevelFields(raw: Uint8Array): [number, Uint8Array][] {
  const fields: [number, Uint8Array][] = [];
  let pos = 0;
  const varint = (): number => {
    let v = 0;
    for (let scale = 1; ; scale *= 128) {
      const b = raw[pos++] ?? 0;
      v += (b & 0x7f) * scale;
      if (b < 0x80) return v;
    }
  };
  while (pos < raw.length) {
    const start = pos;
    const tag = varint();
    const value = varint(); // a length (then pos moves past the body) or the value itself
    if (tag % 8 === 2) pos += value;
    fields.push([Math.floor(tag / 8), raw.subarray(start, pos)]);
  }
  return fields;
}

/**
 * The same profile in the order Go's runtime/pprof writes: sample types, then each location with
 * the functions it brings in just before the first sample that uses it, the sample, and the
 * mappings and strings last.
 */
function goOrder(raw: Uint8Array): Uint8Array {
  const p = PprofProfile.decode(raw);
  const fields = topLevelFields(raw);
  const of = (n: number): Uint8Array[] => fields.filter(([f]) => f === n).map(([, b]) => b);
  const [samples, locations, functions] = [of(2), of(4), of(5)];
  const locationAt = new Map(p.location.map((l, i) => [String(l.id), i]));
  const functionAt = new Map(p.function.map((f, i) => [String(f.id), i]));
  const out: Uint8Array[] = [...of(1)];
  const sentLocations = new Set<number>();
  const sentFunctions = new Set<number>();
  const sendLocation = (i: number): void => {
    if (sentLocations.has(i)) return;
    sentLocations.add(i);
    out.push(locations[i] ?? new Uint8Array());
    for (const line of p.location[i]?.line ?? []) {
      const f = functionAt.get(String(line.functionId));
      if (f === undefined || sentFunctions.has(f)) continue;
      sentFunctions.add(f);
      out.push(functions[f] ?? new Uint8Array());
    }
  };
  p.sample.forEach((s, i) => {
    for (const id of s.locationId) sendLocation(locationAt.get(String(id)) ?? -1);
    out.push(samples[i] ?? new Uint8Array());
  });
  locations.forEach((_, i) => sendLocation(i));
  functions.forEach((f, i) => sentFunctions.has(i) || out.push(f));
  for (const [f, bytes] of fields) if (![1, 2, 4, 5].includes(f)) out.push(bytes);
  return Buffer.concat(out);
}

function randomSamples(rng: Rng, names: string[]): SyntheticSample[] {
  return Array.from({ length: rng.int(1, 30) }, () => ({
    stack: Array.from({ length: rng.int(1, 7) }, () =>
      rng.bool(0.2) ? [rng.pick(names), rng.pick(names)] : rng.pick(names),
    ),
    values: [rng.bool(0.1) ? -rng.magnitude(30) : rng.magnitude(30), rng.magnitude(30)],
  }));
}

function randomOptions(rng: Rng): StreamTopOptions {
  return {
    sampleIndex: rng.pick(["", "", "alloc_space", "inuse_space", "0", "1"]),
    cum: rng.bool(),
    nodeCount: rng.pick([0, 0, 3]),
    ...rng.pick([{}, { nodeFraction: 0 }, { nodeFraction: 0.05 }]),
  };
}

describe("profiling/streamTopTable", () => {
  for (const c of PPROF_CASES.filter((c) => !c.base)) {
    const options: StreamTopOptions = {
      sampleIndex: c.sampleIndex ?? "",
      cum: c.cum ?? false,
      nodeCount: c.nodeCount ?? 0,
    };
    it(`prints go tool pprof's text for ${c.expected}, gzip or raw, whole or in pieces`, async () => {
      const gz = fixture(c.profile);
      const expected = readFileSync(path.join(FIXTURES, c.expected), "utf8");
      for (const data of [gz, gunzipSync(gz)]) {
        for (const pieces of [undefined, () => 1, (rest: number) => Math.min(rest, 7 + (rest % 13))]) {
          const { table, info } = await streamTopTable(counted(data, pieces).source, options);
          expect(formatTopText(table, info)).to.equal(expected);
          expect(table).to.deep.equal(modelTop(data, options));
        }
      }
    });
  }

  it("reads a Go-ordered profile once, inline marks included, when it can tell the edges as it goes", async () => {
    // "inl" is first seen inlined into "caller": the one pass counts every edge into it.
    const raw = syntheticProfile(
      [
        { stack: [["inl", "caller"], "main"], values: [5, 5] },
        { stack: ["inl", "main"], values: [3, 3] },
        { stack: ["other", "main"], values: [1, 1] },
      ],
      {
        sampleTypes: [
          ["alloc_space", "bytes"],
          ["inuse_space", "bytes"],
        ],
      },
    );
    const once = counted(goOrder(raw));
    const { table } = await streamTopTable(once.source);
    expect(table.rows.find((r) => r.function === "inl")?.inline).to.equal("partial-inline");
    expect(table).to.deep.equal(modelTop(raw, {}));
    expect(once.reads()).to.equal(1);
    // in pprof's order the samples come before their locations: a second pass, and a third for the marks
    const thrice = counted(raw);
    expect((await streamTopTable(thrice.source)).table).to.deep.equal(table);
    expect(thrice.reads()).to.equal(3);
  });

  it("reads a Go profile again for the inline marks when a function kept is found inlined late", async () => {
    const later = counted(fixture("later.pb.gz"));
    const { table } = await streamTopTable(later.source);
    expect(table.rows.some((r) => r.inline !== undefined)).to.equal(true);
    expect(later.reads()).to.equal(2);
  });

  it("agrees with the model on random profiles, in pprof's order (samples first) and in Go's", async () => {
    await forAllAsync(150, async (rng) => {
      const names = Array.from({ length: rng.int(1, 10) }, (_, i) => `pkg.f${i}${rng.pick(["", "é", "𝔘"])}`);
      const raw = syntheticProfile(randomSamples(rng, names), {
        sampleTypes: [
          ["alloc_space", "bytes"],
          ["inuse_space", "bytes"],
        ],
        ...(rng.bool(0.3) ? { idBase: 2 ** rng.int(10, 40) } : {}),
        ...(rng.bool(0.2) ? { defaultSampleType: "alloc_space" } : {}),
      });
      const ordered = rng.bool() ? goOrder(raw) : raw;
      const data = rng.bool() ? gzipSync(ordered) : ordered;
      const options = randomOptions(rng);
      const pieces = rng.bool() ? undefined : () => rng.int(1, 64);
      const { table } = await streamTopTable(counted(data, pieces).source, options);
      expect(table).to.deep.equal(modelTop(data, options));
    });
  });

  it("merges functions of one name written under two ids (or two strings) as the model does", async () => {
    // Go dedups its strings and functions; other writers need not: cum must still count a
    // sample once per name.
    const strings = new StringTable();
    const [main, work, leaf, type, unit] = ["main", "work", "leaf", "inuse_space", "bytes"].map((n) =>
      strings.dedup(n),
    );
    // a second "work", appended to the string table below, as a writer without dedup would write it
    const workAgain = strings.strings.length;
    const loc = (id: number, functionId: number): Location =>
      new Location({ id, line: [new Line({ functionId })] });
    const encoded = new PprofProfile({
      sampleType: [new ValueType({ type, unit })],
      sample: [
        new Sample({ locationId: [3, 4, 2, 1], value: [10] }),
        new Sample({ locationId: [3, 2, 1], value: [5] }),
      ],
      location: [loc(1, 1), loc(2, 2), loc(3, 3), loc(4, 4)],
      function: [
        new PprofFunction({ id: 1, name: main }),
        new PprofFunction({ id: 2, name: work }),
        new PprofFunction({ id: 3, name: leaf }),
        new PprofFunction({ id: 4, name: workAgain }),
      ],
      stringTable: strings,
    }).encode();
    const raw = Buffer.concat([encoded, Uint8Array.of((6 << 3) | 2, 4), Buffer.from("work")]);
    for (const data of [raw, goOrder(raw)]) {
      const { table } = await streamTopTable(counted(data).source, { nodeFraction: 0 });
      expect(table).to.deep.equal(modelTop(data, { nodeFraction: 0 }));
      expect(table.rows.find((r) => r.function === "work")?.cum).to.equal(15);
    }
  });

  it("rejects what decodeProfile rejects, and agrees with it on the rest, on mutated real profiles", async () => {
    const raws = ["base.pb.gz", "later.pb.gz", "catalog-later.pb.gz", "node-later.pb.gz"].map((n) =>
      gunzipSync(fixture(n)),
    );
    let rejected = 0;
    await forAllAsync(600, async (rng) => {
      const mutated = mutateBytes(rng, rng.pick(raws));
      const data = rng.bool(0.3) ? gzipSync(mutated) : mutated;
      const options = randomOptions(rng);
      const want = await outcome(() => modelTop(data, options));
      const got = await outcome(
        async () => (await streamTopTable(counted(data, () => rng.int(1, 4096)).source, options)).table,
      );
      if (want instanceof Error) {
        expect(got, want.message).to.be.instanceOf(want.constructor);
        rejected++;
      } else expect(got).to.deep.equal(want);
    });
    expect(rejected).to.be.greaterThan(0);
  });

  it("rejects truncated or corrupt gzip as decodeProfile does", async () => {
    await forAllAsync(150, async (rng) => {
      const data = mutateBytes(rng, fixture(rng.pick(["base.pb.gz", "later.pb.gz"])));
      const want = await outcome(() => modelTop(data, {}));
      const got = await outcome(async () => (await streamTopTable(bytesSource(data))).table);
      if (want instanceof Error) expect(got, want.message).to.be.instanceOf(want.constructor);
      else expect(got).to.deep.equal(want);
    });
  });
});
