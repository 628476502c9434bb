import { expect } from "chai";
import { CgroupHistory } from "../../../src/cgroup/history.js";
import { COLUMNS, S, emptyRow, rowFromSample } from "../../../src/cgroup/reading.js";
import { traceToSamples } from "../../../src/cgroup/trace.js";
import { HistoryStore } from "../../../src/agent/store.js";
import type { DiscoveredCgroup } from "../../../src/cgroup/scan.js";
import { loadTrace, TRACE_FILES } from "../cgroup/fixtures.js";

function row(values: Partial<Record<keyof typeof S, number>>): Float64Array {
  const r = emptyRow();
  for (const [k, v] of Object.entries(values)) r[S[k as keyof typeof S]] = v;
  return r;
}

describe("CgroupHistory", () => {
  it("keeps the last raw-window samples in a ring that wraps", () => {
    const h = new CgroupHistory({ periodS: 1, retentionS: 5 });
    for (let t = 1; t <= 8; t++) h.append(t, row({ usage: t * 100 }));
    const json = h.toJSON();
    expect(json.t).to.deep.equal([4, 5, 6, 7, 8]);
    expect(json.usage).to.deep.equal([400, 500, 600, 700, 800]);
    expect(json.limit).to.deep.equal([null, null, null, null, null]);
  });

  it('serves "max" for no limit and null for a limit not read', () => {
    const h = new CgroupHistory({ periodS: 1, retentionS: 10 });
    h.append(1, row({ limit: 4096, high: Infinity }));
    h.append(2, row({ limit: Infinity }));
    const json = JSON.parse(JSON.stringify(h.toJSON())) as ReturnType<CgroupHistory["toJSON"]>;
    expect(json.limit).to.deep.equal([4096, "max"]);
    expect(json.high).to.deep.equal(["max", null]);
    expect(h.latest("limit")).to.equal(Infinity);
  });

  it("filters by sinceT and derives the working set", () => {
    const h = new CgroupHistory({ periodS: 1, retentionS: 10 });
    for (let t = 1; t <= 4; t++) h.append(t, row({ usage: 1000, inactive_file: t * 100 }));
    const json = h.toJSON(3);
    expect(json.t).to.deep.equal([3, 4]);
    expect(json.working_set).to.deep.equal([700, 600]);
  });

  it("keeps counters monotonic across a reset", () => {
    const h = new CgroupHistory({ periodS: 1, retentionS: 10 });
    [5, 7, 2, 3].forEach((failcnt, i) => h.append(i + 1, row({ failcnt, oom_kill: i < 2 ? 1 : 0 })));
    const json = h.toJSON();
    expect(json.failcnt).to.deep.equal([5, 7, 9, 10]);
    expect(json.oom_kill).to.deep.equal([1, 1, 1, 1]);
    expect(h.latest("failcnt")).to.equal(10);
  });

  it("holds a large counter exactly by storing its increase", () => {
    const h = new CgroupHistory({ periodS: 1, retentionS: 10 });
    h.append(1, row({ failcnt: 123_456_789_012 }));
    h.append(2, row({ failcnt: 123_456_789_013 }));
    expect(h.toJSON().failcnt).to.deep.equal([123_456_789_012, 123_456_789_013]);
  });

  it("downsamples data older than the raw window: max for levels, last for counters", () => {
    const h = new CgroupHistory({ periodS: 1, retentionS: 100, rawWindowS: 10, bucketS: 10 });
    for (let t = 0; t < 40; t++) h.append(t, row({ usage: t % 10 === 3 ? 999 : t, failcnt: t, limit: 5000 }));
    const json = h.toJSON();
    // buckets [0,10) and [10,20) folded (stamped at their last sample), raw from t=30
    expect(json.t.slice(0, 3)).to.deep.equal([9, 19, 29]);
    expect(json.usage.slice(0, 3)).to.deep.equal([999, 999, 999]);
    expect(json.failcnt.slice(0, 3)).to.deep.equal([9, 19, 29]);
    expect(json.t.slice(3)).to.deep.equal([30, 31, 32, 33, 34, 35, 36, 37, 38, 39]);
    expect(json.limit.every((v) => v === 5000)).to.equal(true);
  });

  it("drops out-of-order samples", () => {
    const h = new CgroupHistory({ periodS: 1, retentionS: 10 });
    h.append(2, row({ usage: 1 }));
    h.append(1, row({ usage: 2 }));
    expect(h.toJSON().usage).to.deep.equal([1]);
  });

  it("allocates only the series a cgroup offers", () => {
    const h = new CgroupHistory({ periodS: 5, retentionS: 6 * 3600 });
    const empty = h.bytes();
    h.append(1, row({ usage: 1 }));
    expect(h.bytes() - empty).to.be.lessThan(2 * (180 + 180) * 4 + 1);
  });
});

describe("CgroupHistory: a series with one value is held as that value (foldConstants, the controller's copies)", () => {
  it("without it (the agent's live histories) every offered series has its column from the first sample", () => {
    const h = new CgroupHistory({ periodS: 1, retentionS: 4 });
    const empty = h.bytes();
    h.append(1, row({ usage: 7, limit: 100 }));
    const first = h.bytes();
    expect(first, "columns made at once").to.be.greaterThan(empty);
    for (let t = 2; t <= 6; t++) h.append(t, row({ usage: 7 + t, limit: 200 }));
    expect(h.bytes(), "and never grown again").to.equal(first);
    expect(h.toJSON().limit).to.deep.equal([200, 200, 200, 200]);
  });

  it("keeps it until it changes, then gives every sample its own again, across the ring's wrap", () => {
    const h = new CgroupHistory({ periodS: 1, retentionS: 4, foldConstants: true });
    const empty = h.bytes();
    for (let t = 1; t <= 3; t++) h.append(t, row({ usage: 7, limit: 100 }));
    expect(h.bytes(), "two values, no column").to.equal(empty);
    h.append(4, row({ usage: 7, limit: 200 }));
    h.append(5, row({ usage: 7 })); // limit not read: NaN is a change too
    h.append(6, row({ usage: 7, limit: 200, swap: 0 }));
    const json = h.toJSON();
    expect(json.t).to.deep.equal([3, 4, 5, 6]);
    expect(json.usage).to.deep.equal([7, 7, 7, 7]);
    expect(json.limit).to.deep.equal([100, 200, null, 200]);
    expect(json.swap).to.deep.equal([null, null, null, 0]);
  });

  it("a value first seen after the first sample takes a column: before it, nothing was read", () => {
    const h = new CgroupHistory({ periodS: 1, retentionS: 3, foldConstants: true });
    h.append(1, row({ usage: 1 }));
    h.append(2, row({ usage: 1, procs: 2 }));
    h.append(3, row({ usage: 1, procs: 2, procs_kept: 2 }));
    expect(h.toJSON().procs).to.deep.equal([null, 2, 2]);
    expect(h.toJSON().procs_kept).to.deep.equal([null, null, 2]);
  });

  it("a counter that never moves reads back as itself, and its increase once it does", () => {
    const h = new CgroupHistory({ periodS: 1, retentionS: 10, foldConstants: true });
    for (let t = 1; t <= 3; t++) h.append(t, row({ oom_kill: 2 ** 40 }));
    h.append(4, row({ oom_kill: 2 ** 40 + 3 }));
    expect(h.toJSON().oom_kill).to.deep.equal([2 ** 40, 2 ** 40, 2 ** 40, 2 ** 40 + 3]);
  });

  for (const file of TRACE_FILES) {
    it(`${file}: every reading comes back as stored (Float32), folded or not`, () => {
      const samples = traceToSamples(loadTrace(file));
      const rows = samples.map((x, i) => rowFromSample(x, samples[i - 1]));
      const n = rows.length;
      const h = new CgroupHistory({ periodS: 1, retentionS: n, rawWindowS: n, foldConstants: true });
      samples.forEach((x, i) => h.append(x.t, rows[i] as Float64Array));
      const cols = h.toColumns();
      COLUMNS.forEach(({ name, kind }, s) => {
        const values = rows.map((r) => r[s] as number);
        const base = values.find((v) => !Number.isNaN(v)) ?? 0;
        const stored = values.map((v) =>
          kind === "counter" ? Math.fround(v - base) + base : Math.fround(v),
        );
        expect([...cols[name]], name).to.deep.equal(stored);
      });
      // and a copy that folds and wraps serves what the same history without the elision would:
      // the same readings, every column made to change once, then restored
      const folded = new CgroupHistory({
        periodS: 1,
        retentionS: 40,
        rawWindowS: 8,
        bucketS: 3,
        foldConstants: true,
      });
      const moved = new CgroupHistory({
        periodS: 1,
        retentionS: 40,
        rawWindowS: 8,
        bucketS: 3,
        foldConstants: true,
      });
      const nudge = emptyRow().fill(1);
      samples.forEach((x, i) => {
        folded.append(x.t, rows[i] as Float64Array);
        if (i === 0) moved.append(x.t - 10, nudge); // in a bucket of its own, before the window
        moved.append(x.t, rows[i] as Float64Array);
      });
      const a = folded.toColumns(samples[0]!.t);
      const b = moved.toColumns(samples[0]!.t);
      for (const { name, kind } of COLUMNS)
        if (kind === "gauge") expect([...a[name]], name).to.deep.equal([...b[name]]);
    });
  }
});

describe("HistoryStore", () => {
  const cg = (path: string): DiscoveredCgroup => ({
    kind: "container",
    podUID: "u",
    containerID: path,
    qos: "burstable",
    path,
    relPath: path,
    version: "v1",
  });

  it("keeps a vanished cgroup's history for the retention, then drops it", () => {
    const store = new HistoryStore({ periodS: 1, retentionS: 60, goneRetentionS: 900 });
    const e = store.track(cg("/a"));
    e.history.append(1, row({ oom_kill: 1 }));
    store.markGone("/a", 100);
    store.markGone("/a", 200); // the first sighting counts
    expect(store.prune(1000)).to.deep.equal([]);
    expect(store.get("/a")?.goneAt).to.equal(100);
    expect(store.get("/a")?.history.latest("oom_kill")).to.equal(1);
    expect(store.prune(1001).map((d) => d.cgroup.path)).to.deep.equal(["/a"]);
    expect(store.size).to.equal(0);
  });

  it("revives a cgroup that reappears", () => {
    const store = new HistoryStore({ periodS: 1, retentionS: 60 });
    store.track(cg("/a"));
    store.markGone("/a", 5);
    expect(store.track(cg("/a")).goneAt).to.equal(undefined);
  });
});
