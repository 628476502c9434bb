import { expect } from "chai";
import { gunzipSync, gzipSync } from "node:zlib";
import { decodeProfile } from "../../../src/profiling/decode.js";
import { ProfileFormatError, SampleTypeError } from "../../../src/profiling/errors.js";
import { resolveSampleIndex } from "../../../src/profiling/sample-type.js";
import { topTable } from "../../../src/profiling/top.js";
import { fixture } from "./fixtures.js";
import { syntheticProfile } from "./synthetic.js";

describe("profiling/decode", () => {
  it("decodes a gzip-compressed Go heap profile and the same bytes uncompressed alike", () => {
    const gz = decodeProfile(fixture("later.pb.gz"));
    const raw = decodeProfile(gunzipSync(fixture("later.pb.gz")));
    expect(raw).to.deep.equal(gz);
    expect(gz.sampleTypes).to.deep.equal([
      { type: "alloc_objects", unit: "count" },
      { type: "alloc_space", unit: "bytes" },
      { type: "inuse_objects", unit: "count" },
      { type: "inuse_space", unit: "bytes" },
    ]);
    expect(gz.defaultSampleType).to.equal(3);
    expect(gz.frameNames).to.include("main.(*MemoryLeaker).OnRequest");
    expect(gz.info.mainBinary).to.match(/testprofiles$/);
    expect(gz.samples.count).to.be.greaterThan(10);
  });

  it("puts an inlined callee before the function it was inlined into", () => {
    const p = decodeProfile(fixture("later.pb.gz"));
    const makeBuf = p.frameNames.indexOf("main.makeBuf");
    const onRequest = p.frameNames.indexOf("main.(*MemoryLeaker).OnRequest");
    const loc = p.locations.find((frames) => frames.includes(makeBuf) && frames.includes(onRequest));
    expect(loc && [...loc].indexOf(makeBuf)).to.be.lessThan(loc ? [...loc].indexOf(onRequest) : -1);
  });

  it("reads negative int64 values and bigint ids", () => {
    const data = syntheticProfile(
      [
        { stack: ["leaf", "main"], values: [-5, 2n ** 40n] },
        { stack: [["inlined", "caller"], "main"], values: [7, 3] },
      ],
      { idBase: 2 ** 40 },
    );
    const p = decodeProfile(data);
    expect([...p.samples.values]).to.deep.equal([-5, 2 ** 40, 7, 3]);
    expect(p.locations.map((l) => [...l].map((f) => p.frameNames[f]))).to.deep.equal([
      ["leaf"],
      ["main"],
      ["inlined", "caller"],
      ["main"],
    ]);
    const t = topTable(p, { sampleIndex: 0, nodeFraction: 0 });
    expect(t.total).to.equal(12);
    expect(t.rows.find((r) => r.function === "main")?.cum).to.equal(2);
  });

  it("uses default_sample_type when the profile names one", () => {
    const data = syntheticProfile([{ stack: ["f"], values: [1, 2] }], { defaultSampleType: "alloc_space" });
    expect(decodeProfile(data).defaultSampleType).to.equal(0);
  });

  const later = gunzipSync(fixture("later.pb.gz"));
  const broken: [string, Uint8Array, RegExp][] = [
    ["an empty file", new Uint8Array(0), /empty/],
    ["truncated gzip", fixture("later.pb.gz").subarray(0, 2000), /truncated or corrupt gzip/],
    ["a truncated raw profile", later.subarray(0, Math.floor(later.length / 2)), /truncated|cut off/],
    ["a raw profile cut inside its last field", later.subarray(0, later.length - 3), /not a pprof profile/],
    ["text", Buffer.from("hello, this is not a profile\n"), /not a pprof profile/],
    ["JSON", Buffer.from('{"sampleType": []}'), /not a pprof profile/],
    ["gzip of text", gzipSync(Buffer.from("just text")), /not a pprof profile/],
    [
      "random bytes",
      Uint8Array.from({ length: 4096 }, (_, i) => (i * 2654435761) >>> 24),
      /not a pprof profile|corrupt/,
    ],
  ];
  for (const [what, data, message] of broken) {
    it(`rejects ${what} with a ProfileFormatError`, () => {
      expect(() => decodeProfile(data))
        .to.throw(ProfileFormatError)
        .with.property("message")
        .that.matches(message);
    });
  }

  it("rejects a sample pointing at a location the profile lacks", () => {
    const data = syntheticProfile([{ stack: ["f"], values: [1, 2] }]);
    // The only location's id is 1; rewrite the sample's reference (packed field 1 inside field 2).
    const bytes = Uint8Array.from(data);
    const at = bytes.findIndex((b, i) => b === 0x12 && bytes[i + 2] === 0x0a && bytes[i + 4] === 0x01);
    expect(at).to.be.at.least(0);
    bytes[at + 4] = 0x09;
    expect(() => decodeProfile(bytes)).to.throw(ProfileFormatError, /location 9/);
  });
});

describe("profiling/resolveSampleIndex", () => {
  const p = decodeProfile(fixture("base.pb.gz"));
  const cases: [string, number][] = [
    ["", 3],
    ["alloc_objects", 0],
    ["alloc_space", 1],
    ["inuse_space", 3],
    ["2", 2],
  ];
  for (const [name, want] of cases) {
    it(`"${name}" is index ${want}`, () => expect(resolveSampleIndex(p, name)).to.equal(want));
  }
  it("rejects an unknown type, listing the known ones", () => {
    expect(() => resolveSampleIndex(p, "cpu")).to.throw(SampleTypeError, /alloc_objects, alloc_space/);
    expect(() => resolveSampleIndex(p, "9")).to.throw(SampleTypeError, /\[0\.\.3\]/);
  });
});
