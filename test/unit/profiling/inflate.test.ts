// ReusingGunzip drives Node's zlib handle directly (its internals): it must give what
// gunzipSync gives on real profiles, whatever the size of the pieces written, and fail as zlib
// does on corrupt and cut-short input.
import { expect } from "chai";
import { gunzipSync, gzipSync } from "node:zlib";
import { ReusingGunzip } from "../../../src/profiling/inflate.js";
import { fixture } from "./fixtures.js";

function inflateAll(data: Uint8Array, writeSize: number): Buffer {
  const gunzip = ReusingGunzip.create();
  expect(gunzip, "this Node's Gunzip has the handle ReusingGunzip drives").to.not.equal(undefined);
  const pieces: Buffer[] = [];
  try {
    for (let at = 0; at < data.length; at += writeSize)
      for (const piece of gunzip!.write(data.subarray(at, at + writeSize))) pieces.push(Buffer.from(piece));
    for (const piece of gunzip!.end()) pieces.push(Buffer.from(piece));
  } finally {
    gunzip!.close();
  }
  return Buffer.concat(pieces);
}

/** 1.5 MB that compress about 4:1, as a heap profile does: several output pieces */
function large(): Buffer {
  const out = Buffer.alloc(1_500_000);
  let seed = 7;
  for (let i = 0; i < out.length; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    out[i] = (seed >>> 24) & 0x0f;
  }
  return out;
}

describe("profiling/inflate: ReusingGunzip", () => {
  const cases: [string, Buffer][] = [
    ["base.pb.gz (a real profile)", fixture("base.pb.gz")],
    ["1.5 MB in many output pieces", gzipSync(large())],
  ];
  for (const [name, data] of cases) {
    it(`gives what gunzipSync gives for ${name}, written whole or in small pieces`, () => {
      const expected = gunzipSync(data);
      for (const size of [data.length, 4096, 7])
        expect(inflateAll(data, size).equals(expected)).to.equal(true);
    });
  }

  it("throws zlib's errors on corrupt and on cut-short input", () => {
    const data = gzipSync(large());
    const corrupt = Buffer.from(data);
    corrupt.fill(0xff, 20, 60);
    expect(() => inflateAll(corrupt, 4096)).to.throw(/invalid|incorrect|unknown/i);
    expect(() => inflateAll(data.subarray(0, data.length >> 1), 4096)).to.throw(/unexpected end/i);
  });
});
