import { expect } from "chai";
import { parseFlatKeyed } from "../../../src/cgroup/flat-keyed.js";
import { countProcs } from "../../../src/cgroup/procs.js";
import { parsePressure } from "../../../src/cgroup/psi.js";
import { parseCounter, parseFlag, parseLimit } from "../../../src/cgroup/single-value.js";
import { v1StatToV2Names } from "../../../src/cgroup/v1-stat.js";

describe("cgroup file parsers", () => {
  describe("parseFlatKeyed", () => {
    const cases: [string, string, Record<string, number>][] = [
      [
        "v2 memory.events",
        "low 0\nhigh 534\nmax 35\noom 1\noom_kill 1\noom_group_kill 0\n",
        { low: 0, high: 534, max: 35, oom: 1, oom_kill: 1, oom_group_kill: 0 },
      ],
      [
        "v1 memory.oom_control",
        "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n",
        { oom_kill_disable: 0, under_oom: 0, oom_kill: 1 },
      ],
      ["keys in any order, unknown keys kept", "zz_new 7\nanon 4096\n", { zz_new: 7, anon: 4096 }],
      ["malformed lines skipped", "anon 1\ngarbage\nfile x\n\n  \nshmem 2 3\nsock 5", { anon: 1, sock: 5 }],
      ["empty file", "", {}],
      ["CRLF and extra spaces", "anon  12\r\nfile\t3\r\n", { anon: 12, file: 3 }],
      [
        "values above 2^53 kept as numbers",
        "hierarchical_memsw_limit 9223372036854771712\n",
        { hierarchical_memsw_limit: 9223372036854771712 },
      ],
    ];
    for (const [name, text, want] of cases) {
      it(name, () => expect(parseFlatKeyed(text)).to.deep.equal(want));
    }
  });

  describe("single values", () => {
    const limits: [string, number | null | undefined][] = [
      ["67108864\n", 67108864],
      ["max\n", null],
      ["9223372036854771712\n", null], // v1 "unlimited" on 4 KiB pages
      ["9223372036854710272\n", null], // v1 "unlimited" on 64 KiB pages
      [String(2 ** 62 - 4096), 2 ** 62 - 4096],
      ["0\n", 0],
      ["", undefined],
      ["-1\n", undefined],
      ["12abc\n", undefined],
    ];
    for (const [text, want] of limits) {
      it(`parseLimit(${JSON.stringify(text)}) = ${String(want)}`, () =>
        expect(parseLimit(text)).to.equal(want));
    }
    it("parseCounter reads integers, undefined for max and junk", () => {
      expect(parseCounter("1835008\n")).to.equal(1835008);
      expect(parseCounter("max\n")).to.equal(undefined);
      expect(parseCounter("1.5")).to.equal(undefined);
    });
    it("parseFlag reads 0/1 only", () => {
      expect([parseFlag("0\n"), parseFlag("1\n"), parseFlag("2")]).to.deep.equal([false, true, undefined]);
    });
  });

  describe("parsePressure", () => {
    it("converts total microseconds to seconds and keeps averages in percent", () => {
      const got = parsePressure(
        "some avg10=15.71 avg60=3.69 avg300=0.80 total=2411522\nfull avg10=15.70 avg60=3.68 avg300=0.79 total=2400000\n",
      );
      expect(got).to.deep.equal({
        some: { avg10: 15.71, avg60: 3.69, avg300: 0.8, total: 2.411522 },
        full: { avg10: 15.7, avg60: 3.68, avg300: 0.79, total: 2.4 },
      });
    });
    it("accepts fields in any order and ignores unknown ones", () => {
      const got = parsePressure(
        "some total=1000000 avg300=0 avg60=0 avg10=1.00 new=3\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
      );
      expect(got?.some).to.deep.equal({ avg10: 1, avg60: 0, avg300: 0, total: 1 });
    });
    for (const [name, text] of [
      ["empty", ""],
      ["missing full line", "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"],
      [
        "missing total",
        "some avg10=0.00 avg60=0.00 avg300=0.00\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0",
      ],
      ["garbage", "hello world\n"],
    ] as const) {
      it(`is undefined when ${name}`, () => expect(parsePressure(text)).to.equal(undefined));
    }
  });

  describe("countProcs", () => {
    const cases: [string, number][] = [
      ["", 0],
      ["4385\n", 1],
      ["1\n22\n333\n", 3],
      ["1\n\nbad\n2", 2],
    ];
    for (const [text, want] of cases) {
      it(`${JSON.stringify(text)} -> ${want}`, () => expect(countProcs(text)).to.equal(want));
    }
  });

  describe("v1StatToV2Names", () => {
    it("prefers hierarchical total_* values under their v2 names", () => {
      const got = v1StatToV2Names({
        cache: 1,
        rss: 2,
        shmem: 3,
        mapped_file: 4,
        hierarchical_memory_limit: 67108864,
        total_cache: 10,
        total_rss: 20,
        total_rss_huge: 25,
        total_shmem: 30,
        total_mapped_file: 40,
        total_dirty: 50,
        total_writeback: 60,
        total_swap: 70,
        total_active_anon: 80,
        total_inactive_anon: 90,
        total_active_file: 100,
        total_inactive_file: 110,
        total_unevictable: 120,
        total_pgfault: 130,
      });
      expect(got).to.deep.equal({
        hierarchical_memory_limit: 67108864,
        file: 10,
        anon: 20,
        anon_thp: 25,
        shmem: 30,
        file_mapped: 40,
        file_dirty: 50,
        file_writeback: 60,
        swap: 70,
        active_anon: 80,
        inactive_anon: 90,
        active_file: 100,
        inactive_file: 110,
        unevictable: 120,
        pgfault: 130,
      });
    });
    it("falls back to the local counters when no total_* twin exists", () => {
      expect(v1StatToV2Names({ rss: 5, cache: 6, new_counter: 7 })).to.deep.equal({
        anon: 5,
        file: 6,
        new_counter: 7,
      });
    });
  });
});
