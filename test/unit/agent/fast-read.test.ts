import { expect } from "chai";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CgroupReader } from "../../../src/agent/fast-read.js";
import { COLUMNS, emptyRow, rowFromSample } from "../../../src/cgroup/reading.js";
import { sampleFromFiles } from "../../../src/cgroup/sample-from-files.js";
import { TRACE_FILES, loadTrace } from "../cgroup/fixtures.js";

async function writeDir(dir: string, files: Record<string, string>): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
}

const asObject = (r: Float64Array) =>
  Object.fromEntries(COLUMNS.map((s, i) => [s.name, Number.isNaN(r[i] ?? NaN) ? null : r[i]]));

describe("CgroupReader (the sampler's fast path)", () => {
  let tmp: string;
  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), "memlens-agent-read-"));
  });
  after(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  for (const file of TRACE_FILES) {
    it(`reads the same row as the reference parse: ${file}`, async () => {
      const trace = loadTrace(file);
      const picks = [0, Math.floor(trace.samples.length / 2), trace.samples.length - 1];
      for (const k of picks) {
        const sample = trace.samples[k];
        if (!sample) continue;
        const dir = join(tmp, `${file}-${k}`);
        await writeDir(dir, sample.files);
        const row = emptyRow();
        const result = new CgroupReader(dir, trace.meta.cgroup_version).read(row);
        expect(result.problems).to.deep.equal([]);
        const expected = rowFromSample(sampleFromFiles(trace.meta.cgroup_version, sample.t, sample.files));
        expect(asObject(row), `${file} sample ${k}`).to.deep.equal(asObject(expected));
      }
    });
  }

  it("sees a new limit at the next read (an in-place resize), and no limit as Infinity", async () => {
    const dir = join(tmp, "resize");
    await writeDir(dir, { "memory.current": "100\n", "memory.max": "4096\n", "memory.high": "max\n" });
    const reader = new CgroupReader(dir, "v2");
    const row = emptyRow();
    reader.read(row);
    expect(asObject(row)).to.include({ usage: 100, limit: 4096, high: Infinity });
    await writeFile(join(dir, "memory.max"), "8192\n");
    reader.read(row);
    expect(asObject(row)).to.include({ usage: 100, limit: 8192 });
    await writeFile(join(dir, "memory.max"), "max\n");
    reader.read(row);
    expect(asObject(row).limit).to.equal(Infinity);
    reader.close();
  });

  it("reports a malformed file and keeps the others", async () => {
    const dir = join(tmp, "bad");
    await writeDir(dir, { "memory.usage_in_bytes": "garbage\n", "memory.failcnt": "3\n" });
    const row = emptyRow();
    const result = new CgroupReader(dir, "v1").read(row);
    expect(result.gone).to.equal(false);
    expect(result.problems.map((p) => p.file)).to.deep.equal(["memory.usage_in_bytes"]);
    expect(asObject(row).failcnt).to.equal(3);
  });

  it("tells a vanished cgroup", () => {
    const result = new CgroupReader(join(tmp, "never-was"), "v2").read(emptyRow());
    expect(result).to.deep.equal({ gone: true, problems: [] });
  });
});
