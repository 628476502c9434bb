// The sampler on bad cgroup files: real files in a temporary directory (not cgroupfs) that are
// truncated, huge, removed between discovery and read, or unreadable. It must keep sampling,
// say what happened in one log line, and count it in memlens_agent_sample_errors_total.
import { expect } from "chai";
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino, type Logger } from "pino";
import { CgroupReader } from "../../../src/agent/fast-read.js";
import { AgentMetrics } from "../../../src/agent/metrics.js";
import { Sampler } from "../../../src/agent/sampler.js";
import { COLUMNS, emptyRow, rowFromSample, type ColumnName } from "../../../src/cgroup/reading.js";
import { HistoryStore } from "../../../src/agent/store.js";
import { sampleFromFiles } from "../../../src/cgroup/sample-from-files.js";
import { TRACE_FILES, loadTrace } from "../cgroup/fixtures.js";
import { forAllAsync } from "../prop.js";

const UID = "11111111-2222-4333-8444-555555555555";
const APP = "a".repeat(64);
const V1 = loadTrace("v1-oom-fast-leak.jsonl").samples[3]?.files ?? {};

async function writeFiles(dir: string, files: Record<string, string>): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
}

interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** A pino logger whose lines land in an array. */
function capture(): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const log = pino({ level: "info" }, { write: (s: string) => lines.push(JSON.parse(s) as LogLine) });
  return { log, lines };
}

const asObject = (r: Float64Array) =>
  Object.fromEntries(COLUMNS.map((s, i) => [s.name, Number.isNaN(r[i] ?? NaN) ? null : r[i]]));

describe("agent sampler on bad cgroup files", function () {
  this.timeout(20_000);
  let root: string;
  let app: string;
  let sampler: Sampler;
  let store: HistoryStore;
  let metrics: AgentMetrics;
  let lines: LogLine[];

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "memlens-sampler-"));
    await writeFiles(join(root, "memory"), { "memory.usage_in_bytes": "1\n" });
    app = join(root, `memory/kubepods/burstable/pod${UID}/${APP}`);
    await writeFiles(app, V1);
    store = new HistoryStore({ periodS: 1, retentionS: 60 });
    metrics = new AgentMetrics(store, (e) => ({
      namespace: "",
      pod: "",
      container: "",
      kind: e.cgroup.kind,
    }));
    const c = capture();
    lines = c.lines;
    sampler = new Sampler({ cgroupRoot: root, store, log: c.log, metrics, scanEvery: 1000 });
  });
  afterEach(async () => {
    sampler.close();
    await rm(root, { recursive: true, force: true });
  });

  const errors = async (file: string): Promise<number> =>
    (await metrics.sampleErrors.get()).values.find((v) => v.labels.file === file)?.value ?? 0;
  const latest = (name: ColumnName) => store.get(app)?.history.latest(name);

  it("reads a healthy tree (the baseline of the cases below)", async () => {
    const stats = await sampler.tick(1000);
    expect(stats.cgroups).to.equal(2);
    expect(latest("usage")).to.be.greaterThan(0);
    expect(await errors("memory.stat")).to.equal(0);
  });

  it("a huge memory.stat (50 MB) is skipped with a log line and a count; the other files are kept", async () => {
    await writeFile(join(app, "memory.stat"), `${V1["memory.stat"] ?? ""}${"x 1\n".repeat(50 << 18)}`);
    await sampler.tick(1000);
    await sampler.tick(1001);
    expect(await errors("memory.stat")).to.equal(2);
    expect(latest("usage")).to.be.greaterThan(0);
    expect(latest("anon")).to.equal(undefined);
    const skipped = lines.filter((l) => l.msg === "cgroup file skipped");
    expect(skipped).to.have.length(1, "logged once per cgroup and file, counted every time");
    expect(skipped[0]).to.include({ file: "memory.stat" });
    expect(String(skipped[0]?.error)).to.match(/larger than/);
  });

  it("a cgroup removed between discovery and read is marked gone, not an error", async () => {
    await sampler.tick(1000);
    await rm(app, { recursive: true });
    const stats = await sampler.tick(1001);
    expect(stats.cgroups).to.equal(1);
    expect(store.get(app)?.goneAt).to.equal(1001);
    expect(store.get(app)?.history.latest("usage")).to.be.greaterThan(0);
    expect(lines.some((l) => l.msg === "cgroup gone; keeping its history")).to.equal(true);
    expect((await metrics.sampleErrors.get()).values).to.deep.equal([]);
  });

  it("a file missing at read time leaves its series empty, without an error", async () => {
    await rm(join(app, "memory.stat"));
    await sampler.tick(1000);
    expect(store.get(app)?.goneAt).to.equal(undefined);
    expect(latest("anon")).to.equal(undefined);
    expect(latest("usage")).to.be.greaterThan(0);
    expect((await metrics.sampleErrors.get()).values).to.deep.equal([]);
  });

  it("an unreadable file (a directory, or mode 000 when not root) is logged and counted", async () => {
    await rm(join(app, "memory.stat"));
    await mkdir(join(app, "memory.stat"));
    await writeFile(join(app, "memory.failcnt"), "3\n");
    await chmod(join(app, "memory.failcnt"), 0);
    const isRoot = process.getuid?.() === 0;
    await sampler.tick(1000);
    expect(await errors("memory.stat")).to.equal(1);
    expect(await errors("memory.failcnt")).to.equal(isRoot ? 0 : 1);
    const skipped = lines.find((l) => l.msg === "cgroup file skipped" && l.file === "memory.stat");
    expect(String(skipped?.error)).to.match(/EISDIR/);
    expect(latest("usage")).to.be.greaterThan(0);
  });

  it("the cgroup root vanishing is logged; known cgroups are then found gone", async () => {
    await sampler.tick(1000);
    await rm(root, { recursive: true });
    sampler.requestScan();
    await sampler.tick(1001);
    expect(lines.some((l) => l.msg === "cgroup scan failed")).to.equal(true);
    expect(store.get(app)?.goneAt).to.equal(1001);
  });

  it("truncated files read as the reference parse reads them: a cut value is no value, never 0", async () => {
    const traces = TRACE_FILES.map(loadTrace);
    await forAllAsync(60, async (rng) => {
      const trace = rng.pick(traces);
      const sample = rng.pick(trace.samples);
      const files: Record<string, string> = {};
      for (const [name, text] of Object.entries(sample.files))
        files[name] = rng.bool(0.6) ? text.slice(0, rng.int(0, text.length)) : text;
      const dir = join(root, `cut-${rng.seed}`);
      await writeFiles(dir, files);
      const row = emptyRow();
      const result = new CgroupReader(dir, trace.meta.cgroup_version).read(row);
      expect(result.gone).to.equal(false);
      const want = rowFromSample(sampleFromFiles(trace.meta.cgroup_version, sample.t, files));
      const got = asObject(row);
      const expected = asObject(want);
      // PSI: the reference wants both lines; the fast path keeps an intact `some` line of a cut file
      for (const psi of ["psi_some_total", "psi_full_total"]) {
        if (expected[psi] !== null) continue;
        delete got[psi];
        delete expected[psi];
      }
      expect(got, JSON.stringify(files)).to.deep.equal(expected);
    });
  });
});
