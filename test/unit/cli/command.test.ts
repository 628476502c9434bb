import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { parseCommandArgs } from "../../../src/cli/command.js";

const CLI = resolve(process.cwd(), "dist/src/cli/main.js");

/** Runs `fn` with process.stdout.write captured. */
function stdoutOf(fn: () => void): string {
  const write = process.stdout.write.bind(process.stdout);
  let out = "";
  process.stdout.write = (chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  };
  try {
    fn();
  } finally {
    process.stdout.write = write;
  }
  return out;
}

describe("cli/parseCommandArgs", () => {
  const options = { out: { type: "string", default: "x" }, cum: { type: "boolean" } } as const;

  it("parses flags with their defaults", () => {
    const parsed = parseCommandArgs(["--cum"], { options, help: "usage\n" });
    expect(parsed?.values).to.deep.equal({ out: "x", cum: true, help: false });
    expect(parseCommandArgs([], { options }).values).to.deep.equal({ out: "x" });
  });

  for (const flag of ["--help", "-h"]) {
    it(`prints the help text for ${flag} and returns undefined`, () => {
      let parsed: unknown = "unset";
      const out = stdoutOf(
        () => (parsed = parseCommandArgs([flag, "--out", "y"], { options, help: "usage: me\n" })),
      );
      expect(out).to.equal("usage: me\n");
      expect(parsed).to.equal(undefined);
    });
  }

  it("is strict: unknown flags, and --help without a help text, are parse errors (exit 2 in main)", () => {
    for (const argv of [["--nope"], ["--help"], ["file"]]) {
      expect(() => parseCommandArgs(argv, { options }), argv.join(" "))
        .to.throw(TypeError)
        .with.property("code")
        .that.matches(/^ERR_PARSE_ARGS/);
    }
  });

  it("takes positionals only when asked", () => {
    expect(parseCommandArgs(["a.pb.gz"], { options, allowPositionals: true }).positionals).to.deep.equal([
      "a.pb.gz",
    ]);
  });
});

describe("memlens <command> --help (through the CLI)", () => {
  const rows: [string[], number, RegExp][] = [
    [["agent", "--help"], 0, /^usage: memlens agent \[flags\]/],
    [["agent", "record", "-h"], 0, /^usage: memlens agent record --cgroup DIR/],
    [["agent", "discover", "--help"], 0, /^usage: memlens agent discover/],
    [["analyze", "--help"], 0, /^usage: memlens analyze \(--trace FILE \| --history FILE/],
    [["profile", "top", "--bogus"], 2, /^$/],
  ];
  for (const [argv, code, stdout] of rows) {
    it(`${argv.join(" ")}: exit ${code}`, () => {
      const r = spawnSync(process.execPath, [CLI, ...argv], { encoding: "utf8", timeout: 10_000 });
      expect(r.status, r.stderr).to.equal(code);
      expect(r.stdout).to.match(stdout);
      if (code === 2) expect(r.stderr).to.match(/^memlens profile top: Unknown option '--bogus'/);
    });
  }
});
