import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { diffProfiles } from "../../../src/profiling/diff.js";
import { formatTopText } from "../../../src/profiling/format.js";
import { percentage, scaledLabel } from "../../../src/profiling/measure.js";
import { resolveSampleIndex } from "../../../src/profiling/sample-type.js";
import { topTable, type TopTable } from "../../../src/profiling/top.js";
import type { Profile } from "../../../src/profiling/model.js";
import {
  FIXTURES,
  goAvailable,
  loadFixture,
  parsePprofText,
  PPROF_CASES,
  pprofArgs,
  type PprofCase,
} from "./fixtures.js";

function run(c: PprofCase): { profile: Profile; table: TopTable } {
  let profile = loadFixture(c.profile);
  if (c.base) profile = diffProfiles(profile, loadFixture(c.base));
  const table = topTable(profile, {
    sampleIndex: resolveSampleIndex(profile, c.sampleIndex),
    cum: c.cum ?? false,
    nodeCount: c.nodeCount ?? 0,
  });
  return { profile, table };
}

function describeCase(c: PprofCase): string {
  return pprofArgs(c)
    .slice(2)
    .map((a) => (a.startsWith("/") ? path.basename(a) : a))
    .join(" ");
}

describe("profiling/top against go tool pprof", () => {
  for (const c of PPROF_CASES) {
    describe(describeCase(c), () => {
      const expected = readFileSync(path.join(FIXTURES, c.expected), "utf8");

      it("has pprof's header totals and every row's flat, cum and percentages", () => {
        const { table } = run(c);
        const pprof = parsePprofText(expected);
        const unit = table.unit;
        expect(table.sampleType).to.equal(pprof.type);
        expect(scaledLabel(table.shown, unit)).to.equal(pprof.shown);
        expect(percentage(table.shown, table.total).trim()).to.equal(pprof.shownPercent);
        expect(scaledLabel(table.total, unit)).to.equal(pprof.total);
        expect(table.rows.map((r) => r.function)).to.deep.equal(pprof.rows.map((r) => r.name));
        let sum = 0;
        table.rows.forEach((row, i) => {
          const want = pprof.rows[i];
          sum += row.flat;
          expect(scaledLabel(row.flat, unit), row.function).to.equal(want?.flat);
          expect(scaledLabel(row.cum, unit), row.function).to.equal(want?.cum);
          expect(percentage(row.flat, table.total).trim(), row.function).to.equal(want?.flatPercent);
          expect(percentage(sum, table.total).trim(), row.function).to.equal(want?.sumPercent);
          expect(percentage(row.cum, table.total).trim(), row.function).to.equal(want?.cumPercent);
          expect(row.flatPercent).to.be.closeTo((row.flat / table.total) * 100, 1e-9);
        });
      });

      it("renders byte for byte as pprof's text", () => {
        const { profile, table } = run(c);
        expect(formatTopText(table, profile.info)).to.equal(expected);
      });
    });
  }

  // Without go on PATH the golden files above stand in for it (they are go tool pprof's output).
  const describeLive = goAvailable() ? describe : () => undefined;
  describeLive("live go tool pprof", function () {
    this.timeout(180_000);
    let home = "";
    // the real build cache: a throwaway HOME alone would make go rebuild pprof first
    let gocache = "";
    before(() => {
      home = mkdtempSync(path.join(tmpdir(), "memlens-pprof-"));
      gocache = spawnSync("go", ["env", "GOCACHE"], { encoding: "utf8" }).stdout.trim();
    });
    after(() => rmSync(home, { recursive: true, force: true }));
    for (const c of PPROF_CASES) {
      it(`matches ${describeCase(c)}`, () => {
        // A throwaway HOME keeps pprof from writing into the user's; TZ=UTC matches our Time label.
        const res = spawnSync("go", pprofArgs(c), {
          encoding: "utf8",
          env: { ...process.env, HOME: home, GOCACHE: gocache, PPROF_TMPDIR: home, TZ: "UTC" },
        });
        expect(res.status, res.stderr).to.equal(0);
        const { profile, table } = run(c);
        expect(formatTopText(table, profile.info)).to.equal(res.stdout);
      });
    }
  });
});

describe("profiling/top semantics", () => {
  const later = loadFixture("later.pb.gz");

  it("defaults to the last sample type, inuse_space, as pprof does for Go heap profiles", () => {
    expect(topTable(later).sampleType).to.equal("inuse_space");
  });

  it("counts a recursive function once per sample in cum", () => {
    const t = topTable(later, { sampleIndex: resolveSampleIndex(later, "alloc_space") });
    const tree = t.rows.find((r) => r.function === "main.buildTree");
    expect(tree?.cum).to.equal(tree?.flat);
  });

  it("expands inlined frames: the inlined helper and its inlining caller are separate rows", () => {
    const rows = topTable(later).rows;
    expect(rows.find((r) => r.function === "main.makeBuf")?.inline).to.equal("inline");
    expect(rows.find((r) => r.function === "main.(*MemoryLeaker).OnRequest")?.cum).to.be.greaterThan(0);
  });

  it("sorts by cum with --cum and limits rows with nodeCount", () => {
    const t = topTable(later, { cum: true, nodeCount: 3 });
    expect(t.rows).to.have.length(3);
    const cums = t.rows.map((r) => r.cum);
    expect(cums).to.deep.equal([...cums].sort((a, b) => b - a));
    expect(t.nodesBeforeLimit).to.be.greaterThan(3);
  });
});

describe("profiling/measure", () => {
  const cases: [number, number, string][] = [
    [1, 1, "  100%"],
    [9995, 10000, "  100%"],
    [123, 1000, "12.30%"],
    [5, 1000, "  0.5%"],
    [1, 1000, "  0.1%"],
    [12, 10000, " 0.12%"],
    [96, 100000, "0.096%"],
    [12, 1000000, "0.0012%"],
    [12, 100000000, "1.2e-05%"],
    [0, 100, "    0%"],
    [-50, 100, "50.00%"],
  ];
  for (const [v, total, want] of cases) {
    it(`percentage(${v}, ${total}) is "${want}"`, () => expect(percentage(v, total)).to.equal(want));
  }
  it("labels bytes, counts and time as pprof -unit=B does", () => {
    expect(scaledLabel(0, "bytes")).to.equal("0");
    expect(scaledLabel(2048, "bytes")).to.equal("2048B");
    expect(scaledLabel(-2048, "bytes")).to.equal("-2048B");
    expect(scaledLabel(7, "count")).to.equal("7B");
    expect(scaledLabel(1_500_000_000, "nanoseconds")).to.equal("1.50s");
  });
});
