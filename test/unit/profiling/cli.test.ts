import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { UsageError } from "../../../src/cli/command.js";
import {
  profileDiffCommand,
  profileFlameCommand,
  profileTopCommand,
} from "../../../src/cli/commands/profile.js";
import { FIXTURES } from "./fixtures.js";

interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

async function capture(run: () => Promise<number>): Promise<Captured> {
  const out: string[] = [];
  const err: string[] = [];
  const stdout = process.stdout.write.bind(process.stdout);
  const stderr = process.stderr.write.bind(process.stderr);
  process.stdout.write = (chunk: string | Uint8Array) => out.push(String(chunk)) > 0;
  process.stderr.write = (chunk: string | Uint8Array) => err.push(String(chunk)) > 0;
  try {
    const code = await run();
    return { code, stdout: out.join(""), stderr: err.join("") };
  } finally {
    process.stdout.write = stdout;
    process.stderr.write = stderr;
  }
}

const later = path.join(FIXTURES, "later.pb.gz");
const base = path.join(FIXTURES, "base.pb.gz");

describe("memlens profile", () => {
  let dir = "";
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), "memlens-profile-cli-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("top prints pprof's -top text", async () => {
    const r = await capture(() => profileTopCommand([later, "--cum"]));
    expect(r.code).to.equal(0);
    expect(r.stdout).to.equal(readFileSync(path.join(FIXTURES, "later.top-cum.txt"), "utf8"));
  });

  it("top --format json has exactly sampleType, total and rows", async () => {
    const r = await capture(() =>
      profileTopCommand([later, "--format", "json", "--sample-index", "alloc_space", "--nodecount", "3"]),
    );
    expect(r.code).to.equal(0);
    const json = JSON.parse(r.stdout) as {
      sampleType: string;
      total: number;
      rows: Record<string, unknown>[];
    };
    expect(Object.keys(json)).to.deep.equal(["sampleType", "total", "rows"]);
    expect(json.sampleType).to.equal("alloc_space");
    expect(json.rows).to.have.length(3);
    for (const row of json.rows) {
      expect(Object.keys(row)).to.deep.equal(["function", "flat", "flatPercent", "cum", "cumPercent"]);
    }
    expect(json.rows[0]?.function).to.equal("main.makeBuf");
  });

  it("diff is top --base", async () => {
    const diff = await capture(() => profileDiffCommand([later, "--base", base]));
    const top = await capture(() => profileTopCommand([later, "--base", base]));
    expect(diff.code).to.equal(0);
    expect(diff.stdout).to.equal(top.stdout);
    expect(diff.stdout).to.equal(readFileSync(path.join(FIXTURES, "later.diff-base.txt"), "utf8"));
  });

  it("flame writes an SVG to -o", async () => {
    const out = path.join(dir, "flame.svg");
    const r = await capture(() => profileFlameCommand([later, "--base", base, "-o", out]));
    expect(r.code).to.equal(0);
    expect(readFileSync(out, "utf8")).to.match(/^<\?xml[^]*<\/svg>\n$/);
  });

  it("says which file is not a profile and why, exiting 1", async () => {
    const bad = path.join(dir, "bad.pb.gz");
    writeFileSync(bad, readFileSync(later).subarray(0, 1000));
    const r = await capture(() => profileTopCommand([bad]));
    expect(r.code).to.equal(1);
    expect(r.stdout).to.equal("");
    expect(r.stderr).to.equal(
      `memlens profile top: ${bad}: truncated or corrupt gzip data (unexpected end of file)\n`,
    );
    const missing = await capture(() => profileDiffCommand([later, "--base", path.join(dir, "nope")]));
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.equal(`memlens profile diff: ${path.join(dir, "nope")}: no such file\n`);
  });

  const usage: [string, string[]][] = [
    ["no file", []],
    ["two files", [later, base]],
    ["a bad --format", [later, "--format", "xml"]],
    ["a bad --nodecount", [later, "--nodecount=ten"]],
    ["an unknown sample type", [later, "--sample-index", "cpu"]],
  ];
  for (const [what, argv] of usage) {
    it(`top rejects ${what} as a usage error`, async () => {
      let thrown: unknown;
      await capture(() => profileTopCommand(argv)).catch((e: unknown) => (thrown = e));
      expect(thrown).to.be.instanceOf(UsageError);
    });
  }

  it("diff needs --base", async () => {
    let thrown: unknown;
    await capture(() => profileDiffCommand([later])).catch((e: unknown) => (thrown = e));
    expect(thrown).to.be.instanceOf(UsageError);
  });
});
