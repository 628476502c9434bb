import { expect } from "chai";
import { readFileSync } from "node:fs";
import {
  formatTraceLine,
  formatTraceMeta,
  parseTrace,
  TraceFormatError,
  traceToSamples,
} from "../../../src/cgroup/trace.js";
import { TRACE_FILES, tracePath } from "./fixtures.js";

const META = '{"meta":{"format":"cgroup-trace/v1","cgroup_version":"v2","kernel":"6.18"}}';

describe("cgroup-trace/v1", () => {
  describe("parseTrace on the real recordings", () => {
    const expected: Record<(typeof TRACE_FILES)[number], { version: string; samples: number }> = {
      "v2-oom-fast-leak.jsonl": { version: "v2", samples: 16 },
      "v2-memory-high-then-oom.jsonl": { version: "v2", samples: 17 },
      "v1-oom-fast-leak.jsonl": { version: "v1", samples: 17 },
      "v1-slow-leak.jsonl": { version: "v1", samples: 41 },
    };
    for (const file of TRACE_FILES) {
      it(file, () => {
        const trace = parseTrace(readFileSync(tracePath(file), "utf8"));
        expect(trace.meta.format).to.equal("cgroup-trace/v1");
        expect(trace.meta.cgroup_version).to.equal(expected[file].version);
        expect(trace.meta.kernel).to.match(/^6\.18\./);
        expect(trace.samples).to.have.length(expected[file].samples);
        const ts = trace.samples.map((s) => s.t);
        expect(ts[0]).to.equal(0);
        expect([...ts].sort((a, b) => a - b)).to.deep.equal(ts);
        expect(traceToSamples(trace).every((s) => (s.usage ?? 0) > 0)).to.equal(true);
      });
    }
  });

  describe("writers", () => {
    it("round-trips meta and samples through formatTraceMeta/formatTraceLine", () => {
      const text =
        formatTraceMeta({ cgroupVersion: "v1", kernel: "6.1.0" }) +
        formatTraceLine({ t: 0, files: { "memory.usage_in_bytes": "4096\n" } }) +
        formatTraceLine({ t: 0.25, files: { "cgroup.procs": "" } });
      expect(text.split("\n")).to.have.length(4);
      const trace = parseTrace(text);
      expect(trace.meta).to.deep.equal({ format: "cgroup-trace/v1", cgroup_version: "v1", kernel: "6.1.0" });
      expect(trace.samples).to.deep.equal([
        { t: 0, files: { "memory.usage_in_bytes": "4096\n" } },
        { t: 0.25, files: { "cgroup.procs": "" } },
      ]);
    });

    it("rewrites a real recording into a trace that parses back the same", () => {
      const original = readFileSync(tracePath("v2-oom-fast-leak.jsonl"), "utf8");
      const trace = parseTrace(original);
      const again = parseTrace(
        formatTraceMeta({ cgroupVersion: trace.meta.cgroup_version, kernel: trace.meta.kernel }) +
          trace.samples.map(formatTraceLine).join(""),
      );
      expect(again).to.deep.equal(trace);
    });
  });

  describe("errors name the line and the problem", () => {
    const cases: [string, string, RegExp][] = [
      ["empty input", "\n", /line 1: empty recording/],
      ["bad JSON", `${META}\n{"t": 0, "files": {`, /line 2: not valid JSON/],
      ["missing meta", '{"t": 0, "files": {}}', /line 1: missing meta/],
      [
        "wrong format",
        '{"meta":{"format":"cgroup-trace/v9","cgroup_version":"v2"}}',
        /line 1: wrong format "cgroup-trace\/v9"/,
      ],
      [
        "bad cgroup_version",
        '{"meta":{"format":"cgroup-trace/v1","cgroup_version":"v3"}}',
        /line 1: meta.cgroup_version is "v3"/,
      ],
      ["t not a number", `${META}\n{"t": 0, "files": {}}\n{"t": "1", "files": {}}`, /line 3: t is "1"/],
      ["t missing", `${META}\n{"files": {}}`, /line 2: t is undefined/],
      ["files not an object", `${META}\n{"t": 0, "files": []}`, /line 2: files is not an object/],
      [
        "files value not a string",
        `${META}\n{"t": 0, "files": {"memory.current": 4096}}`,
        /line 2: files\["memory.current"\] is not a string/,
      ],
      ["sample not an object", `${META}\n\n[1,2]`, /line 3: expected an object/],
    ];
    for (const [name, text, message] of cases) {
      it(name, () => {
        expect(() => parseTrace(text))
          .to.throw(TraceFormatError, message)
          .with.property("name", "TraceFormatError");
      });
    }
    it("carries the line number as a property", () => {
      try {
        parseTrace(`${META}\n{"t": null, "files": {}}`);
        expect.fail("should throw");
      } catch (err) {
        expect(err).to.be.instanceOf(TraceFormatError);
        expect((err as TraceFormatError).line).to.equal(2);
      }
    });
  });
});
