import { expect } from "chai";
import { decodeProfile } from "../../../src/profiling/decode.js";
import { SampleTypeError } from "../../../src/profiling/errors.js";
import { amount, heapMessage, heapSummary } from "../../../src/profiling/summary.js";
import { fixture, loadFixture, parsePprofText } from "./fixtures.js";
import { syntheticProfile } from "./synthetic.js";

/** pprof -unit=B labels ("24150239B", "0") as numbers. */
function bytesOf(label: string): number {
  return label === "0" ? 0 : Number(label.replace(/B$/, ""));
}

describe("profiling/summary", () => {
  for (const demo of ["catalog", "node"]) {
    describe(`the ${demo} demo's real profiles`, () => {
      const base = loadFixture(`${demo}-base.pb.gz`);
      const later = loadFixture(`${demo}-later.pb.gz`);

      it("lists the top functions by flat in-use bytes with go tool pprof's numbers", () => {
        const pprof = parsePprofText(fixture(`${demo}-later.top.txt`).toString("utf8"));
        const s = heapSummary(later, undefined, { topN: 3 });
        expect(s.sampleType).to.equal("inuse_space");
        expect(s.unit).to.equal("bytes");
        expect(s.total).to.equal(bytesOf(pprof.total));
        expect(s.grown).to.equal(undefined);
        const want = pprof.rows.filter((r) => bytesOf(r.flat) > 0).slice(0, 3);
        expect(s.top.map((t) => [t.function, t.bytes])).to.deep.equal(
          want.map((r) => [r.name, bytesOf(r.flat)]),
        );
        s.top.forEach((t, i) => expect(`${t.percent.toFixed(2)}%`).to.equal(want[i]?.flatPercent));
      });

      it("lists what grew since the baseline with go tool pprof -diff_base's numbers", () => {
        const pprof = parsePprofText(fixture(`${demo}-later.diff-base.txt`).toString("utf8"));
        const s = heapSummary(later, base, { topN: 50 });
        const want = pprof.rows
          .filter((r) => bytesOf(r.flat) > 0)
          .map((r) => [r.name, bytesOf(r.flat)])
          .sort((a, b) => Number(b[1]) - Number(a[1]));
        // pprof leaves out functions below its node fraction (0.5% of the total); the summary does not.
        const shown = new Set(pprof.rows.map((r) => r.name));
        const cutoff = 0.005 * bytesOf(pprof.total);
        const grown = s.grown ?? [];
        expect(grown.filter((g) => shown.has(g.function)).map((g) => [g.function, g.bytes])).to.deep.equal(
          want,
        );
        for (const g of grown.filter((g) => !shown.has(g.function))) expect(g.bytes).to.be.below(cutoff);
        expect(s.totalDelta).to.equal(
          heapSummary(later, undefined, { topN: 1 }).total - heapSummary(base, undefined, { topN: 1 }).total,
        );
      });
    });
  }

  it("names the leaking method of the catalog demo in one sentence", () => {
    const s = heapSummary(loadFixture("catalog-later.pb.gz"), loadFixture("catalog-base.pb.gz"), { topN: 5 });
    expect(s.top[0]?.function).to.equal("main.(*MemoryLeaker).OnRequest");
    expect(s.grown?.[0]?.function).to.equal("main.(*MemoryLeaker).OnRequest");
    expect(heapMessage(s)).to.equal(
      "98% of in-use heap was allocated by `main.(*MemoryLeaker).OnRequest`; since the baseline: +15 MiB in `main.(*MemoryLeaker).OnRequest` (100% of growth).",
    );
  });

  it("names the leaking method of the Node.js demo", () => {
    const s = heapSummary(loadFixture("node-later.pb.gz"), loadFixture("node-base.pb.gz"), { topN: 5 });
    expect(heapMessage(s)).to.match(
      /^79% of in-use heap was allocated by `onRequest`; since the baseline: \+\d+ MiB in `onRequest` \(\d+% of growth\)\.$/,
    );
  });

  const types: [string, string][] = [
    ["alloc_objects", "count"],
    ["alloc_space", "bytes"],
    ["inuse_objects", "count"],
    ["inuse_space", "bytes"],
  ];
  const profile = (leak: number, cache: number): ReturnType<typeof decodeProfile> =>
    decodeProfile(
      syntheticProfile(
        [
          { stack: ["leak", "main"], values: [leak / 1024, leak, leak / 1024, leak] },
          { stack: ["cache", "main"], values: [cache / 1024, cache, cache / 1024, cache] },
          { stack: ["main"], values: [0, 0, 0, 0] },
        ],
        { sampleTypes: types },
      ),
    );

  it("tells the growth's share when several functions grew", () => {
    const s = heapSummary(profile(10 << 20, 32 << 20), profile(4 << 20, 30 << 20), { topN: 5 });
    expect(s.growth).to.equal(8 << 20);
    expect(heapMessage(s)).to.match(/: \+6 MiB in `leak` \(75% of growth\)\.$/);
  });

  it("says which function grew when it is not the largest one", () => {
    const s = heapSummary(profile(10 << 20, 30 << 20), profile(2 << 20, 30 << 20), { topN: 5 });
    expect(s.top.map((t) => t.function)).to.deep.equal(["cache", "leak"]);
    expect(s.grown).to.deep.equal([{ function: "leak", bytes: 8 << 20 }]);
    expect(heapMessage(s)).to.equal(
      "75% of in-use heap was allocated by `cache`; since the baseline: +8 MiB in `leak` (100% of growth).",
    );
    const now = new Date("2026-12-02T10:40:30Z");
    expect(heapMessage(s, { at: new Date("2026-12-02T10:02:10Z"), now })).to.equal(
      "75% of in-use heap was allocated by `cache`; since the baseline at 10:02 UTC (38 min ago): +8 MiB in `leak` (100% of growth).",
    );
  });

  it("says when nothing grew, and limits both lists to topN", () => {
    const s = heapSummary(profile(1 << 20, 3 << 20), profile(1 << 20, 3 << 20), { topN: 1 });
    expect(s.top).to.have.length(1);
    expect(s.grown).to.deep.equal([]);
    expect(s.totalDelta).to.equal(0);
    expect(heapMessage(s)).to.equal(
      "75% of in-use heap was allocated by `cache`; nothing has grown since the baseline.",
    );
    expect(
      heapMessage(s, { at: new Date("2026-11-29T23:50:00Z"), now: new Date("2026-12-02T10:00:00Z") }),
    ).to.equal(
      "75% of in-use heap was allocated by `cache`; nothing has grown since the baseline at 2026-11-29 23:50 UTC (2 days ago).",
    );
  });

  it("ranks by the sample type asked for", () => {
    const s = heapSummary(profile(1 << 20, 3 << 20), undefined, { topN: 2, sampleType: "inuse_objects" });
    expect(s.unit).to.equal("count");
    expect(s.top).to.deep.equal([
      { function: "cache", bytes: 3072, percent: 75 },
      { function: "leak", bytes: 1024, percent: 25 },
    ]);
    expect(heapMessage(s)).to.equal("75% of in-use heap objects were allocated by `cache`.");
    expect(() => heapSummary(profile(1, 1), undefined, { topN: 1, sampleType: "cpu" })).to.throw(
      SampleTypeError,
    );
  });

  it("speaks of an empty profile as empty", () => {
    const s = heapSummary(profile(0, 0), undefined, { topN: 5 });
    expect(s.top).to.deep.equal([]);
    expect(heapMessage(s)).to.equal("The heap profile holds no in-use heap (inuse_space total 0 B).");
  });

  it("writes amounts in binary units", () => {
    expect(amount(0, "bytes")).to.equal("0 B");
    expect(amount(1000, "bytes")).to.equal("1000 B");
    expect(amount(1536, "bytes")).to.equal("1.5 KiB");
    expect(amount(12.4 * 2 ** 20, "bytes")).to.equal("12 MiB");
    expect(amount(-3 * 2 ** 30, "bytes")).to.equal("-3 GiB");
    expect(amount(42, "count")).to.equal("42 objects");
  });
});
