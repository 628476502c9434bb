import { expect } from "chai";
import { diffProfiles, grownFunctions } from "../../../src/profiling/diff.js";
import { decodeProfile } from "../../../src/profiling/decode.js";
import { SampleTypeError } from "../../../src/profiling/errors.js";
import { topTable } from "../../../src/profiling/top.js";
import { loadFixture } from "./fixtures.js";
import { syntheticProfile } from "./synthetic.js";

describe("profiling/diff", () => {
  const later = loadFixture("later.pb.gz");
  const base = loadFixture("base.pb.gz");

  it("reports the leaking method among the functions that grew, by how much", () => {
    const grown = grownFunctions(topTable(diffProfiles(later, base)), "cum");
    const names = grown.map((r) => r.function);
    expect(names.slice(0, 4)).to.include.members([
      "main.main",
      "main.makeBuf",
      "main.(*MemoryLeaker).OnRequest",
    ]);
    const before = topTable(base).rows.find((r) => r.function === "main.(*MemoryLeaker).OnRequest")?.cum ?? 0;
    const after = topTable(later).rows.find((r) => r.function === "main.(*MemoryLeaker).OnRequest")?.cum ?? 0;
    expect(grown.find((r) => r.function === "main.(*MemoryLeaker).OnRequest")?.cum).to.equal(after - before);
  });

  it("shows nothing for a profile against itself, with percentages of the baseline's total", () => {
    const t = topTable(diffProfiles(base, base));
    expect(t.rows).to.deep.equal([]);
    expect(t.total).to.equal(topTable(base).total);
  });

  it("merges function names the two profiles share and keeps those only one has", () => {
    const a = decodeProfile(syntheticProfile([{ stack: ["new", "main"], values: [10, 10] }]));
    const b = decodeProfile(syntheticProfile([{ stack: ["old", "main"], values: [4, 4] }]));
    const t = topTable(diffProfiles(a, b), { sampleIndex: 1, nodeFraction: 0 });
    expect(t.rows.map((r) => [r.function, r.flat, r.cum])).to.deep.equal([
      ["new", 10, 10],
      ["old", -4, -4],
      ["main", 0, 6],
    ]);
    expect(t.total).to.equal(4);
  });

  it("refuses a baseline with other sample types", () => {
    const cpu = decodeProfile(
      syntheticProfile([{ stack: ["f"], values: [1, 2] }], {
        sampleTypes: [
          ["samples", "count"],
          ["cpu", "nanoseconds"],
        ],
      }),
    );
    expect(() => diffProfiles(later, cpu)).to.throw(SampleTypeError, /do not match/);
  });
});
