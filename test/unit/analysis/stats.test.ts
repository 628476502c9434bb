import { expect } from "chai";
import {
  addPoint,
  groupedFit,
  makePoints,
  median,
  risingFraction,
  theilSen,
  windowMinima,
} from "../../../src/analysis/stats.js";

const points = (rows: [number, number, number][]) => {
  const p = makePoints(rows.length);
  for (const [t, y, g] of rows) addPoint(p, t, y, g);
  return p;
};

describe("analysis stats", () => {
  it("median of odd and even counts, any order", () => {
    const cases: [number[], number][] = [
      [[3, 1, 2], 2],
      [[4, 1, 3, 2], 2.5],
      [[5], 5],
      [[7, 7, 7, 1], 7],
      [[9, 8, 7, 6, 5, 4, 3, 2, 1, 0], 4.5],
    ];
    for (const [values, want] of cases)
      expect(median(Float64Array.from(values), values.length)).to.equal(want);
    expect(Number.isNaN(median(new Float64Array(0), 0))).to.equal(true);
  });

  it("Theil–Sen ignores an outlier that least squares follows", () => {
    const p = points([
      [0, 0, 0],
      [1, 1, 0],
      [2, 2, 0],
      [3, 3, 0],
      [4, 40, 0],
      [5, 5, 0],
    ]);
    expect(theilSen(p)).to.equal(1);
    expect(groupedFit(p).slope).to.be.above(3);
  });

  it("slopes and fits within groups: a restart is not a fall", () => {
    // two runs, each rising 2 per unit from a fresh start
    const p = points([
      [0, 10, 0],
      [1, 12, 0],
      [2, 14, 0],
      [3, 10, 1],
      [4, 12, 1],
      [5, 14, 1],
    ]);
    expect(theilSen(p)).to.equal(2);
    expect(groupedFit(p)).to.deep.equal({ slope: 2, r2: 1 });
    expect(risingFraction(p)).to.equal(1);
    // only the later half of each run
    expect(theilSen(p, Float64Array.from([1, 4]))).to.equal(2);
  });

  it("constant data has no fit (R² NaN) and flat steps count half", () => {
    const p = points([
      [0, 5, 0],
      [1, 5, 0],
      [2, 5, 0],
    ]);
    expect(Number.isNaN(groupedFit(p).r2)).to.equal(true);
    expect(risingFraction(p)).to.equal(0.5);
  });

  it("window minima are the lower envelope under a sawtooth, skipping missing readings", () => {
    const t = Float64Array.from({ length: 12 }, (_, i) => i);
    const y = Float64Array.from([1, 5, 9, 2, 6, NaN, 3, 7, 11, 4, 8, 12]);
    const out = makePoints(4);
    windowMinima(t, y, 0, 12, 4, 0, out);
    expect(Array.from(out.y.subarray(0, out.n))).to.deep.equal([1, 2, 3, 4]);
    expect(Array.from(out.t.subarray(0, out.n))).to.deep.equal([0, 3, 6, 9]);
  });
});
