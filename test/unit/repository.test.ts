// The repository stands alone: a user's clone has nothing beside it, so no file that the project
// runs, tests or ships may name a path outside it.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { expect } from "chai";

const ROOT = resolve(".");
const CHECKED = [
  "src",
  "test",
  "bench",
  "cluster",
  "config",
  "examples",
  ".ci",
  "Makefile",
  "package.json",
  "Dockerfile",
];
const SKIPPED_DIRS = new Set(["node_modules", "dist", ".memlens"]);
// recordings and lock files are data, not code that reads paths
const SKIPPED_FILES = /\.(jsonl|sum|svg|pb\.gz|pprof|gz)$|package-lock\.json$/;

const THIS_FILE = "test/unit/repository.test.ts"; // its own examples above are meant to be found

function files(path: string): string[] {
  if (statSync(path).isFile()) return [path];
  return readdirSync(path, { withFileTypes: true }).flatMap((e) =>
    SKIPPED_DIRS.has(e.name) ? [] : files(join(path, e.name)),
  );
}

const outside = (path: string) => relative(ROOT, path).startsWith("..");

/**
 * Relative paths in a text that lead out of the repository from the file's folder (for
 * TypeScript, also from the folder it compiles to under dist/, where import.meta.url points).
 */
export function pathsOutside(text: string, file: string): string[] {
  const out: string[] = [];
  if (/\.\.\/shared\b/.test(text)) out.push("../shared");
  const dirs = [dirname(file), ...(file.endsWith(".ts") ? [join("dist", dirname(file))] : [])];
  for (const m of text.matchAll(/(?<![\w./$})-])(?:\.\.\/)+[\w.-]*/g)) {
    if (dirs.every((dir) => outside(resolve(dir, m[0])))) out.push(m[0]);
  }
  return out;
}

describe("the repository stands alone", () => {
  it("finds a path that leaves the repository (the check itself)", () => {
    expect(pathsOutside('readFileSync("../shared/fixtures/x.jsonl")', "test/unit/a.ts")).to.include(
      "../shared",
    );
    expect(pathsOutside('import x from "../../../../lib.js"', "test/unit/a.ts")).to.deep.equal([
      "../../../../lib.js",
    ]);
    expect(pathsOutside('import x from "../../src/a.js"', "test/unit/a.ts")).to.deep.equal([]);
    expect(pathsOutside('resolve(here, "../..")', "bench/a.ts")).to.deep.equal([]); // dist/bench/../..
    expect(pathsOutside('cd "$(dirname "$0")/../.."', "cluster/a.sh")).to.deep.equal([]);
  });

  it("no tracked source, script, manifest or test names a path outside the repository", () => {
    const found: string[] = [];
    for (const top of CHECKED) {
      for (const file of files(top)) {
        if (SKIPPED_FILES.test(file) || file === THIS_FILE) continue;
        for (const p of pathsOutside(readFileSync(file, "utf8"), file)) found.push(`${file}: ${p}`);
      }
    }
    expect(found, "move what these read into the repository").to.deep.equal([]);
  });
});
