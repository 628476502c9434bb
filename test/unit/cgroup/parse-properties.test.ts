// Property tests of the cgroup parsers: text built from random values parses back to those
// values, and real kernel texts, mutated as a fuzzer would, never make a parser throw.
import { expect } from "chai";
import { parseFlatKeyed } from "../../../src/cgroup/flat-keyed.js";
import { countProcs } from "../../../src/cgroup/procs.js";
import { parsePressure } from "../../../src/cgroup/psi.js";
import type { PressureLine } from "../../../src/cgroup/sample.js";
import { sampleFromFiles } from "../../../src/cgroup/sample-from-files.js";
import { parseCounter, parseFlag, parseLimit } from "../../../src/cgroup/single-value.js";
import { v1StatToV2Names } from "../../../src/cgroup/v1-stat.js";
import { forAll, mutateText, type Rng } from "../prop.js";
import { TRACE_FILES, loadTrace } from "./fixtures.js";

const KEY_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-";
// Names a plain object already answers for: a parser that indexes objects with read keys trips on them.
const TRICKY_KEYS = [
  "constructor",
  "toString",
  "__proto__",
  "hasOwnProperty",
  "valueOf",
  "total_constructor",
];

function randomKey(rng: Rng): string {
  return rng.bool(0.15) ? rng.pick(TRICKY_KEYS) : rng.string(KEY_CHARS, rng.int(1, 24));
}

const space = (rng: Rng): string => rng.string(" \t", rng.int(1, 3));

/** Any value a parser must survive: random characters, control bytes, huge numbers. */
function junk(rng: Rng): string {
  return rng.pick([
    () => rng.string("\u0000\u00ff\r\n\t -=.0123456789abcdefmax", rng.int(0, 200)),
    () => "9".repeat(rng.int(300, 400)),
    () => `${rng.magnitude()}${rng.pick(["", "\n", " ", ".5", "e3", "\u0000"])}`,
    () => Buffer.from(rng.bytes(rng.int(0, 64))).toString("latin1"),
  ])();
}

describe("cgroup parsers (properties)", () => {
  it("parseFlatKeyed returns the pairs of any well-formed flat keyed text", () => {
    forAll(300, (rng) => {
      const want: Record<string, number> = {};
      const lines: string[] = [];
      for (let i = rng.int(0, 30); i > 0; i--) {
        const key = randomKey(rng);
        const value = rng.bool(0.1) ? -rng.magnitude() || 0 : rng.magnitude();
        lines.push(`${rng.bool(0.1) ? " " : ""}${key}${space(rng)}${value}${rng.pick(["", " ", "\r"])}`);
        Object.defineProperty(want, key, { value, enumerable: true, writable: true, configurable: true });
      }
      const text = lines.join("\n") + rng.pick(["", "\n"]);
      const got = parseFlatKeyed(text);
      expect(Object.entries(got), JSON.stringify(text)).to.deep.equal(Object.entries(want));
    });
  });

  it("v1StatToV2Names maps hierarchical values under v2 names and keeps unknown keys as read", () => {
    const TWINS = ["rss", "cache", "rss_huge", "mapped_file", "dirty", "writeback", "shmem", "swap"];
    const V2: Record<string, string> = {
      rss: "anon",
      cache: "file",
      rss_huge: "anon_thp",
      mapped_file: "file_mapped",
      dirty: "file_dirty",
      writeback: "file_writeback",
    };
    forAll(200, (rng) => {
      const stat: Record<string, number> = {};
      const want: Record<string, number> = {};
      for (const local of TWINS) {
        const total = rng.magnitude(40);
        const name = V2[local] ?? local;
        if (rng.bool(0.8)) stat[local] = rng.magnitude(40);
        if (rng.bool(0.8)) {
          stat[`total_${local}`] = total;
          want[name] = total;
        } else if (stat[local] !== undefined) want[name] = stat[local];
      }
      for (let i = rng.int(0, 5); i > 0; i--) {
        const key = rng.pick(TRICKY_KEYS.filter((k) => !k.startsWith("total_")).concat(["new_counter"]));
        const value = rng.magnitude(20);
        Object.defineProperty(stat, key, { value, enumerable: true, writable: true, configurable: true });
        Object.defineProperty(want, key, { value, enumerable: true, writable: true, configurable: true });
      }
      const got = v1StatToV2Names(stat);
      expect(Object.fromEntries(Object.entries(got).sort()), JSON.stringify(stat)).to.deep.equal(
        Object.fromEntries(Object.entries(want).sort()),
      );
    });
  });

  it("parsePressure returns the averages and the total (in seconds) of any well-formed PSI text", () => {
    const line = (rng: Rng): PressureLine => ({
      avg10: rng.int(0, 10000) / 100,
      avg60: rng.int(0, 10000) / 100,
      avg300: rng.int(0, 10000) / 100,
      total: rng.magnitude(50),
    });
    forAll(200, (rng) => {
      const some = line(rng);
      const full = line(rng);
      const render = (kind: string, l: PressureLine): string => {
        const fields = [
          `avg10=${l.avg10.toFixed(2)}`,
          `avg60=${l.avg60.toFixed(2)}`,
          `avg300=${l.avg300.toFixed(2)}`,
          `total=${l.total}`,
        ];
        if (rng.bool(0.2)) fields.push(`new${rng.int(0, 9)}=${rng.int(0, 99)}`);
        if (rng.bool(0.3)) fields.sort(() => rng.next() - 0.5);
        return `${kind} ${fields.join(" ")}`;
      };
      const lines = [render("some", some), render("full", full)];
      if (rng.bool()) lines.reverse();
      const got = parsePressure(`${lines.join("\n")}\n`);
      expect(got).to.deep.equal({
        some: { ...some, total: some.total / 1e6 },
        full: { ...full, total: full.total / 1e6 },
      });
    });
  });

  it("single values: counters, limits and flags read back; junk is undefined, never a throw", () => {
    forAll(300, (rng) => {
      const n = rng.magnitude();
      const nl = rng.pick(["", "\n", " \n"]);
      expect(parseCounter(`${n}${nl}`)).to.equal(n);
      expect(parseLimit(`${n}${nl}`)).to.equal(n >= 2 ** 62 ? null : n);
      expect(parseLimit(`max${nl}`)).to.equal(null);
      const bit = rng.int(0, 1);
      expect(parseFlag(`${bit}${nl}`)).to.equal(bit === 1);

      const text = junk(rng);
      const counter = parseCounter(text);
      expect(counter === undefined || (Number.isInteger(counter) && counter >= 0), text).to.equal(true);
      const limit = parseLimit(text);
      expect(limit === undefined || limit === null || Number.isInteger(limit), text).to.equal(true);
      expect([undefined, true, false]).to.include(parseFlag(text));
    });
  });

  it("countProcs counts the PIDs of any cgroup.procs text", () => {
    forAll(200, (rng) => {
      const pids = Array.from({ length: rng.int(0, 50) }, () => rng.int(1, 4194304));
      expect(countProcs(pids.map((p) => `${p}\n`).join(""))).to.equal(pids.length);
      expect(countProcs(pids.join("\n"))).to.equal(pids.length);
    });
  });

  it("no parser throws on junk, and parseFlatKeyed keeps only numbers", () => {
    forAll(400, (rng) => {
      const text = junk(rng);
      const keyed = parseFlatKeyed(text);
      for (const v of Object.values(keyed))
        expect(typeof v === "number" && !Number.isNaN(v), String(v)).to.equal(true);
      expect(() => v1StatToV2Names(keyed)).not.to.throw();
      const psi = parsePressure(text);
      if (psi)
        for (const l of [psi.some, psi.full]) expect(Object.values(l).every(Number.isFinite)).to.equal(true);
      expect(countProcs(text)).to.be.at.least(0);
    });
  });

  it("sampleFromFiles survives mutated real kernel texts, with numbers or nothing in every field", () => {
    const traces = TRACE_FILES.map(loadTrace);
    forAll(300, (rng) => {
      const trace = rng.pick(traces);
      const sample = rng.pick(trace.samples);
      const files: Record<string, string> = {};
      for (const [name, text] of Object.entries(sample.files)) {
        if (rng.bool(0.1)) continue; // vanished file
        files[name] = rng.bool(0.5) ? mutateText(rng, text) : text;
      }
      const got = sampleFromFiles(trace.meta.cgroup_version, sample.t, files);
      const numbers = [got.usage, got.peak, got.failcnt, got.low, got.min, got.procs, got.swapCurrent];
      for (const v of numbers)
        if (v !== undefined) expect(Number.isFinite(v) && v >= 0, String(v)).to.equal(true);
      for (const v of [got.limit, got.high, got.swapMax])
        if (v !== undefined && v !== null) expect(Number.isFinite(v)).to.equal(true);
      for (const map of [got.stat, got.events, got.eventsLocal])
        for (const v of Object.values(map ?? {}))
          expect(typeof v === "number" && !Number.isNaN(v), String(v)).to.equal(true);
      expect(JSON.parse(JSON.stringify(got))).to.be.an("object");
    });
  });
});
