import { expect } from "chai";
import { formatDuration, parseDuration } from "../../../src/api/duration.js";
import { formatBytes, formatMi, parseQuantity } from "../../../src/api/quantity.js";

describe("durations", () => {
  const table: [string, number | undefined][] = [
    ["15s", 15_000],
    ["1m", 60_000],
    ["1h30m", 5_400_000],
    ["500ms", 500],
    ["1.5h", 5_400_000],
    ["90", undefined],
    ["1d", undefined],
    ["", undefined],
  ];
  for (const [text, ms] of table)
    it(`${JSON.stringify(text)} -> ${ms}`, () => expect(parseDuration(text)).to.equal(ms));
  it("formats compactly", () => {
    expect(formatDuration(95_000)).to.equal("1m35s");
    expect(formatDuration(7_200_000)).to.equal("2h");
  });
});

describe("quantities", () => {
  const table: [string, number | undefined][] = [
    ["64Mi", 64 * 2 ** 20],
    ["1Gi", 2 ** 30],
    ["128M", 128e6],
    ["1.5Gi", 1.5 * 2 ** 30],
    ["1e3", 1000],
    ["12345", 12345],
    ["lots", undefined],
    ["1Xi", undefined],
  ];
  for (const [text, bytes] of table)
    it(`${text} -> ${bytes}`, () => expect(parseQuantity(text)).to.equal(bytes));
  it("formats for manifests and messages", () => {
    expect(formatMi(164 * 2 ** 20)).to.equal("164Mi");
    expect(formatMi(164 * 2 ** 20 + 1)).to.equal("165Mi");
    expect(formatBytes(190 * 2 ** 20)).to.equal("190 MiB");
  });
});
