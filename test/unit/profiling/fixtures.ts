// The real Go heap profiles in test/fixtures/profiles and the `go tool pprof` runs whose output
// is kept beside them (see regen.sh there). Paths resolve from the repository root (mocha's cwd).
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { decodeProfile } from "../../../src/profiling/decode.js";
import type { Profile } from "../../../src/profiling/model.js";

export const FIXTURES = path.resolve(process.cwd(), "test/fixtures/profiles");

export function fixture(name: string): Buffer {
  return readFileSync(path.join(FIXTURES, name));
}

export function loadFixture(name: string): Profile {
  return decodeProfile(fixture(name));
}

export interface PprofCase {
  /** Expected output file, written by regen.sh. */
  expected: string;
  profile: string;
  base?: string;
  sampleIndex?: string;
  cum?: boolean;
  nodeCount?: number;
}

export const PPROF_CASES: readonly PprofCase[] = [
  { expected: "base.top.txt", profile: "base.pb.gz" },
  { expected: "later.top.txt", profile: "later.pb.gz" },
  { expected: "later.top-cum.txt", profile: "later.pb.gz", cum: true },
  { expected: "later.top-alloc_space.txt", profile: "later.pb.gz", sampleIndex: "alloc_space" },
  {
    expected: "later.top-alloc_space-cum.txt",
    profile: "later.pb.gz",
    sampleIndex: "alloc_space",
    cum: true,
  },
  { expected: "later.top-alloc_objects.txt", profile: "later.pb.gz", sampleIndex: "alloc_objects" },
  { expected: "later.top-nodecount4.txt", profile: "later.pb.gz", nodeCount: 4 },
  {
    expected: "later.top-alloc_space-nodecount7-cum.txt",
    profile: "later.pb.gz",
    sampleIndex: "alloc_space",
    nodeCount: 7,
    cum: true,
  },
  { expected: "later.diff-base.txt", profile: "later.pb.gz", base: "base.pb.gz" },
  {
    expected: "later.diff-base-alloc_space.txt",
    profile: "later.pb.gz",
    base: "base.pb.gz",
    sampleIndex: "alloc_space",
  },
  // Real profiles of the demo workloads in examples/ (capture-demos.sh): Go net/http/pprof and
  // Node.js through @datadog/pprof.
  ...(["catalog", "node"] as const).flatMap((demo): PprofCase[] => [
    { expected: `${demo}-base.top.txt`, profile: `${demo}-base.pb.gz` },
    { expected: `${demo}-later.top.txt`, profile: `${demo}-later.pb.gz` },
    { expected: `${demo}-later.top-cum.txt`, profile: `${demo}-later.pb.gz`, cum: true },
    { expected: `${demo}-later.diff-base.txt`, profile: `${demo}-later.pb.gz`, base: `${demo}-base.pb.gz` },
  ]),
  {
    expected: "catalog-later.top-alloc_space.txt",
    profile: "catalog-later.pb.gz",
    sampleIndex: "alloc_space",
  },
  {
    expected: "catalog-later.diff-base-alloc_space.txt",
    profile: "catalog-later.pb.gz",
    base: "catalog-base.pb.gz",
    sampleIndex: "alloc_space",
  },
];

export function pprofArgs(c: PprofCase): string[] {
  const args = ["tool", "pprof", "-symbolize=none", "-unit=B", "-top"];
  if (c.cum) args.push("-cum");
  if (c.sampleIndex) args.push(`-sample_index=${c.sampleIndex}`);
  if (c.nodeCount) args.push(`-nodecount=${c.nodeCount}`);
  if (c.base) args.push("-diff_base", path.join(FIXTURES, c.base));
  args.push(path.join(FIXTURES, c.profile));
  return args;
}

/** `go tool pprof` runs live when Go is installed, unless MEMLENS_SKIP_LIVE_PPROF is set (it is slow). */
export function goAvailable(): boolean {
  if (process.env.MEMLENS_SKIP_LIVE_PPROF) return false;
  return spawnSync("go", ["version"], { stdio: "ignore" }).status === 0;
}

export interface PprofText {
  type: string;
  shown: string;
  shownPercent: string;
  total: string;
  rows: {
    flat: string;
    flatPercent: string;
    sumPercent: string;
    cum: string;
    cumPercent: string;
    name: string;
  }[];
}

/** Parses `go tool pprof -top` text. */
export function parsePprofText(text: string): PprofText {
  const lines = text.split("\n");
  const type = /^Type: (.*)$/m.exec(text)?.[1] ?? "";
  const showing = /^Showing nodes accounting for (\S+), (\S+) of (\S+) total$/m.exec(text);
  if (!showing) throw new Error("no 'Showing nodes' line");
  const header = lines.findIndex((l) => /^\s+flat\s+flat%\s+sum%\s+cum\s+cum%$/.test(l));
  const rows = lines
    .slice(header + 1)
    .filter((l) => l !== "")
    .map((l) => {
      const m = /^\s*(\S+)\s+(\S+%)\s+(\S+%)\s+(\S+)\s+(\S+%) {2}(.*?)(?: \((?:partial-)?inline\))? ?$/.exec(
        l,
      );
      if (!m) throw new Error(`unparsed row: ${l}`);
      const [, flat = "", flatPercent = "", sumPercent = "", cum = "", cumPercent = "", name = ""] = m;
      return { flat, flatPercent, sumPercent, cum, cumPercent, name };
    });
  return { type, shown: showing[1] ?? "", shownPercent: showing[2] ?? "", total: showing[3] ?? "", rows };
}
