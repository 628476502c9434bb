import { expect } from "chai";
import type { ContainersResponse } from "../../../src/agent/api.js";
import { seriesFromHistories } from "../../../src/analysis/history-series.js";
import type { Series } from "../../../src/analysis/series.js";
import { CgroupHistory, type HistoryOptions } from "../../../src/cgroup/history.js";
import { encodeHistory, viewColumns, type HistoryView } from "../../../src/cgroup/history-wire.js";
import { COLUMNS, rowFromSample } from "../../../src/cgroup/reading.js";
import { traceToSamples } from "../../../src/cgroup/trace.js";
import { HistoryCache } from "../../../src/controller/history-cache.js";
import { loadTrace, TRACE_FILES } from "../cgroup/fixtures.js";

const UID = "pod-uid";
// a short raw window and small buckets, so that the copy has to fold as the agent does
const OPTIONS: HistoryOptions = { periodS: 1, retentionS: 40, rawWindowS: 8, bucketS: 3 };

/** What the agent answers about one cgroup, history from `since` (as its API does). */
function answer(history: CgroupHistory, since: number | undefined): ContainersResponse {
  return {
    node: "n",
    cgroupVersion: "v2",
    periodSeconds: OPTIONS.periodS,
    historyOptions: OPTIONS,
    containers: [
      {
        podUID: UID,
        namespace: "ns",
        pod: "p",
        container: "app",
        containerID: "c1",
        kind: "container",
        qos: "burstable",
        cgroup: "/kubepods/pod/c1",
        cgroupVersion: "v2",
        requests: { memory: null },
        limits: { memory: null },
        gone: false,
        goneAt: null,
        history: JSON.parse(JSON.stringify(history.toJSON(since))) as ReturnType<CgroupHistory["toJSON"]>,
      },
    ],
  };
}

describe("HistoryCache: the controller's copy of an agent's history, fed only what is new", () => {
  for (const every of [1, 3, 7]) {
    it(`polled every ${every} samples, the copy serves what the agent serves, and less travels`, () => {
      const samples = traceToSamples(loadTrace("v2-memory-high-then-oom.jsonl"));
      const agent = new CgroupHistory(OPTIONS);
      const cache = new HistoryCache();
      let sent = 0;
      let full = 0;
      samples.forEach((x, i) => {
        agent.append(x.t, rowFromSample(x, samples[i - 1]));
        if (i % every !== every - 1 && i !== samples.length - 1) return;
        const since = cache.sinceFor(UID);
        if (i >= every) expect(since, "a copy exists").to.not.equal(undefined);
        const got = answer(agent, since);
        sent += JSON.stringify(got).length;
        full += JSON.stringify(answer(agent, undefined)).length;
        const [entry] = cache.merge(UID, got, 0);
        expect(encodeHistory(viewColumns(entry?.history as HistoryView))).to.deep.equal(
          answer(agent, undefined).containers[0]?.history,
        );
      });
      expect(sent).to.be.below(full);
    });
  }

  it("with a window, asks for the window only, copies no more, and asks again for a longer one", () => {
    const samples = traceToSamples(loadTrace("v2-memory-high-then-oom.jsonl"));
    const agent = new CgroupHistory(OPTIONS);
    samples.forEach((x, i) => agent.append(x.t, rowFromSample(x, samples[i - 1])));
    const now = agent.lastTime;
    const window = 12;
    const cache = new HistoryCache();
    expect(cache.sinceFor(UID, window, now)).to.equal(now - window);
    const [entry] = cache.merge(UID, answer(agent, now - window), 0, window);
    // what a full copy would show from the window's start on
    const full = new HistoryCache();
    const [whole] = full.merge(UID, answer(agent, undefined), 0);
    const from = (h: HistoryView | undefined) => {
      const json = encodeHistory(viewColumns(h as HistoryView));
      const first = json.t.findIndex((t) => t >= now - window);
      return json.usage.slice(first);
    };
    expect(from(entry?.history)).to.deep.equal(from(whole?.history));
    expect(cache.bytes()).to.be.below(full.bytes());
    // a shorter window is covered by the copy; a longer one is asked for again, from its start
    expect(cache.sinceFor(UID, window / 2, now)).to.be.closeTo(now, 0.001);
    expect(cache.sinceFor(UID, 3 * window, now)).to.equal(now - 3 * window);
    expect(full.sinceFor(UID, 3 * window, now)).to.be.closeTo(now, 0.001);
  });

  it("copies no sandbox: no rule reads it", () => {
    const agent = new CgroupHistory(OPTIONS);
    agent.append(1, rowFromSample({ t: 1, version: "v2", usage: 4096 }));
    const got = answer(agent, undefined);
    const app = got.containers[0]!;
    got.containers.push({
      ...app,
      kind: "sandbox",
      container: "",
      containerID: "s1",
      cgroup: "/kubepods/pod/s1",
    });
    const cache = new HistoryCache();
    expect(cache.merge(UID, got, 0).map((e) => e.kind)).to.deep.equal(["container"]);
  });

  it("drops a cgroup the agent stopped listing, and pods nobody asked about", () => {
    const agent = new CgroupHistory(OPTIONS);
    agent.append(1, rowFromSample({ t: 1, version: "v2", usage: 4096 }));
    const cache = new HistoryCache();
    cache.merge(UID, answer(agent, undefined), 1000);
    expect(cache.sinceFor(UID)).to.be.closeTo(1, 0.001);
    expect(cache.merge(UID, { ...answer(agent, 2), containers: [] }, 2000)).to.deep.equal([]);
    expect(cache.sinceFor(UID)).to.equal(undefined);
    cache.merge(UID, answer(agent, undefined), 3000);
    cache.prune(4000);
    expect(cache.sinceFor(UID)).to.equal(undefined);
    expect(cache.bytes()).to.equal(0);
  });

  /** Every column of a Series, and the kernel parts, as plain arrays. */
  const plain = (x: Series) => ({
    ...Object.fromEntries(
      Object.entries(x)
        .filter(([, v]) => v instanceof Float64Array)
        .map(([k, v]) => [k, [...(v as Float64Array)]]),
    ),
    parts: [...x.kernelParts()].map(([k, v]) => [k, [...v]]),
    n: x.n,
    hasStat: x.hasStat,
  });

  for (const file of TRACE_FILES) {
    it(`${file}: the views, read in any slice, are the columns a copy would give, and so is their Series`, () => {
      const samples = traceToSamples(loadTrace(file));
      const version = samples[0]?.version ?? "v2";
      // two instances of the container (a restart), the older folded into buckets
      const mid = samples[samples.length >> 1]?.t ?? 0;
      const [older, newer] = [samples.filter((x) => x.t < mid), samples.filter((x) => x.t >= mid)].map(
        (part) => {
          const h = new CgroupHistory(OPTIONS);
          part.forEach((x, i) => h.append(x.t, rowFromSample(x, part[i - 1])));
          return h;
        },
      ) as [CgroupHistory, CgroupHistory];
      for (const h of [older, newer]) {
        const view = h.view();
        const whole = viewColumns(view);
        const n = view.t.length;
        for (const { name } of COLUMNS)
          for (const [from, to] of [
            [0, n],
            [1, n - 1],
            [n >> 1, n],
            [0, 1],
            [2, 2],
          ] as const) {
            const out = new Float64Array(to - from + 3).fill(-1);
            view.read(name, out, 3, from, to);
            expect([...out.subarray(0, 3)], name).to.deep.equal([-1, -1, -1]);
            expect([...out.subarray(3)], name).to.deep.equal([...whole[name].subarray(from, to)]);
          }
      }
      const instances = (views: boolean) =>
        [older, newer].map((h) => ({
          history: views ? h.view() : viewColumns(h.view()),
          cgroupVersion: version,
        }));
      for (const since of [-Infinity, mid - 5, mid + 2]) {
        const copied = plain(seriesFromHistories(instances(false), since, true));
        expect(plain(seriesFromHistories(instances(true), since, true))).to.deep.equal(copied);
        // listed newest first: the out-of-order path
        const reversed = plain(seriesFromHistories(instances(true).reverse(), since, true));
        expect(reversed).to.deep.equal(plain(seriesFromHistories(instances(false).reverse(), since, true)));
      }
    });
  }
});
