import { expect } from "chai";
import {
  addPoint,
  addWindows,
  makePoints,
  makeWindows,
  minimaOver,
  windowMinima,
  type Points,
} from "../../../src/analysis/stats.js";
import { forAll, type Rng } from "../prop.js";

/** windowMinima as it was: one look at every sample, its window computed from its time. */
function naiveMinima(
  t: Float64Array,
  y: Float64Array,
  from: number,
  to: number,
  windows: number,
  group: number,
  out: Points,
): void {
  const t0 = t[from] as number;
  const span = (t[to - 1] as number) - t0;
  const scale = span > 0 ? windows / span : 0;
  let current = -1;
  let minT = NaN;
  let minY = Infinity;
  for (let i = from; i < to; i++) {
    const v = y[i] as number;
    if (Number.isNaN(v)) continue;
    const ti = t[i] as number;
    const w = Math.min(windows - 1, Math.floor((ti - t0) * scale));
    if (w !== current) {
      if (current >= 0) addPoint(out, minT, minY, group);
      current = w;
      minY = Infinity;
    }
    if (v < minY) {
      minY = v;
      minT = ti;
    }
  }
  if (current >= 0) addPoint(out, minT, minY, group);
}

/** Times in order: a steady period with jitter, repeats, and gaps longer than a window. */
function times(rng: Rng, n: number): Float64Array {
  const t = new Float64Array(n);
  let now = rng.int(0, 1e6) + rng.next();
  const period = rng.pick([0.25, 1, 10, 30, 7.3]);
  for (let i = 0; i < n; i++) {
    t[i] = now;
    const r = rng.next();
    now += r < 0.05 ? 0 : r < 0.1 ? period * rng.int(5, 400) : period * (0.5 + rng.next());
  }
  return t;
}

function values(rng: Rng, n: number): Float64Array {
  const y = new Float64Array(n);
  const nan = rng.pick([0, 0, 0.05, 0.5, 1]);
  for (let i = 0; i < n; i++) {
    const r = rng.next();
    y[i] =
      r < nan
        ? NaN
        : rng.bool(0.02)
          ? rng.pick([Infinity, -Infinity, 0, -0])
          : rng.bool(0.3)
            ? rng.int(0, 8) * 4096
            : rng.next() * 1e9 - 1e8;
  }
  return y;
}

const plain = (p: Points) => ({
  t: Array.from(p.t.subarray(0, p.n)),
  y: Array.from(p.y.subarray(0, p.n)),
  g: Array.from(p.g.subarray(0, p.n)),
});

describe("analysis window minima", () => {
  it("windows found by search hold the samples the per-sample window computation puts in them", () => {
    forAll(300, (rng) => {
      const n = rng.int(1, 3000);
      const t = times(rng, n);
      const windows = rng.int(1, 120);
      const from = rng.int(0, n - 1);
      const to = rng.int(from + 1, n);
      const w = addWindows(t, from, to, windows, 3, makeWindows(rng.int(0, 4)));
      const t0 = t[from] as number;
      const span = (t[to - 1] as number) - t0;
      const scale = span > 0 ? windows / span : 0;
      const windowOf = (i: number) => Math.min(windows - 1, Math.floor(((t[i] as number) - t0) * scale));
      let at = from;
      for (let k = 0; k < w.n; k++) {
        expect(w.from[k]).to.equal(at);
        expect(w.to[k]).to.be.above(at);
        expect(w.group[k]).to.equal(3);
        for (let i = at; i < (w.to[k] as number); i++) expect(windowOf(i)).to.equal(windowOf(at));
        if (k > 0) expect(windowOf(at)).to.be.above(windowOf(at - 1));
        at = w.to[k] as number;
      }
      expect(at).to.equal(to);
    });
  });

  it("minima over shared windows equal the per-sample lower envelope, run by run, on random data", () => {
    forAll(300, (rng) => {
      const n = rng.int(2, 2500);
      const t = times(rng, n);
      const y = values(rng, n);
      // runs: contiguous, with gaps between them, each with its own window count
      const runs: [number, number, number][] = [];
      for (let from = rng.int(0, 3); from < n;) {
        const to = Math.min(n, from + rng.int(1, 900));
        runs.push([from, to, rng.int(1, 64)]);
        from = to + rng.int(0, 5);
      }
      const want = makePoints(n);
      const shared = makeWindows(8);
      runs.forEach(([from, to, windows], g) => {
        naiveMinima(t, y, from, to, windows, g, want);
        addWindows(t, from, to, windows, g, shared);
      });
      const got = makePoints(shared.n);
      minimaOver(t, y, shared, got);
      expect(plain(got)).to.deep.equal(plain(want));
      // and windowMinima run by run, as the leak rule calls it
      const one = makePoints(n);
      runs.forEach(([from, to, windows], g) => windowMinima(t, y, from, to, windows, g, one));
      expect(plain(one)).to.deep.equal(plain(want));
    });
  });
});
