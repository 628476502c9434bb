// Property tests of the cgroup-trace/v1 reader and writer: what the writer writes reads back the
// same, and mutated real recordings either read or fail with a TraceFormatError naming a line.
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { V1_FILES, V2_FILES } from "../../../src/cgroup/files.js";
import {
  formatTraceLine,
  formatTraceMeta,
  parseTrace,
  TraceFormatError,
  traceToSamples,
  type TraceSample,
} from "../../../src/cgroup/trace.js";
import { forAll, mutateBytes, type Rng } from "../prop.js";
import { TRACE_FILES, tracePath } from "./fixtures.js";

/** Kernel-like texts, and the characters JSON must escape: quotes, backslashes, controls, U+2028, lone surrogates. */
function fileText(rng: Rng): string {
  return rng.pick([
    () => `${rng.magnitude()}\n`,
    () => "max\n",
    () => "",
    () => `anon ${rng.magnitude(40)}\nfile ${rng.magnitude(40)}\n`,
    () => rng.string('"\\\u0000\u001f\u2028\ud800\udc00 \n\t\r{}[]:,abcé😀', rng.int(0, 40)),
  ])();
}

function randomSample(rng: Rng, names: readonly string[]): TraceSample {
  const files: Record<string, string> = {};
  for (const name of names) if (rng.bool(0.7)) files[name] = fileText(rng);
  if (rng.bool(0.1)) files[rng.pick(["memory.new_file", "__proto__", 'a"b', ""])] = fileText(rng);
  const t = rng.pick([0, rng.int(0, 100000) / 4, rng.next() * 1e9, -rng.int(1, 10)]);
  return { t, files };
}

describe("cgroup-trace/v1 (properties)", () => {
  it("reads back every recording the writer writes", () => {
    forAll(200, (rng) => {
      const cgroupVersion = rng.pick(["v1", "v2"] as const);
      const kernel = rng.bool(0.8) ? rng.string('0123456789.-abcdefé"\\', rng.int(0, 30)) : undefined;
      const names = cgroupVersion === "v2" ? V2_FILES : V1_FILES;
      const samples = Array.from({ length: rng.int(0, 20) }, () => randomSample(rng, names));
      const text =
        formatTraceMeta({ cgroupVersion, ...(kernel !== undefined ? { kernel } : {}) }) +
        samples.map(formatTraceLine).join("");
      const trace = parseTrace(text);
      expect(trace.meta).to.deep.equal({
        format: "cgroup-trace/v1",
        cgroup_version: cgroupVersion,
        ...(kernel !== undefined ? { kernel } : {}),
      });
      expect(trace.samples).to.deep.equal(samples);
      expect(traceToSamples(trace).map((s) => s.t)).to.deep.equal(samples.map((s) => s.t));
    });
  });

  it("mutated real recordings read, or fail with a TraceFormatError naming a line", () => {
    const originals = TRACE_FILES.map((f) => readFileSync(tracePath(f)));
    let failed = 0;
    forAll(300, (rng) => {
      const bytes = mutateBytes(rng, rng.pick(originals));
      const text = Buffer.from(bytes).toString("utf8");
      const lines = text.split("\n").length;
      try {
        const trace = parseTrace(text);
        for (const s of traceToSamples(trace)) expect(Number.isFinite(s.t)).to.equal(true);
      } catch (err) {
        if (!(err instanceof TraceFormatError)) throw err;
        expect(err.line).to.be.within(1, lines);
        expect(err.message).to.match(/^cgroup trace line \d+: /);
        failed++;
      }
    });
    expect(failed, "some mutations must break the format").to.be.greaterThan(0);
  });
});
