// `memlens profile top|diff|flame`: parse flags, read files, hand over to src/profiling.
import { readFile, writeFile } from "node:fs/promises";
import { parseCommandArgs, UsageError, type Command } from "../command.js";
import {
  decodeProfile,
  diffProfiles,
  flameGraphSvg,
  formatTopJson,
  formatTopText,
  ProfileFormatError,
  resolveSampleIndex,
  SampleTypeError,
  topTable,
  type Profile,
} from "../../profiling/index.js";

export const profileTopCommand: Command = (argv) => top("profile top", argv, false);
export const profileDiffCommand: Command = (argv) => top("profile diff", argv, true);

export const profileFlameCommand: Command = async (argv) => {
  const name = "profile flame";
  const { values, positionals } = parseCommandArgs(argv, {
    allowPositionals: true,
    options: {
      base: { type: "string" },
      "sample-index": { type: "string" },
      output: { type: "string", short: "o" },
      width: { type: "string" },
      title: { type: "string" },
    },
  });
  const file = onePositional(positionals, "usage: memlens profile flame FILE [--base BASE] [-o out.svg]");
  const width = values.width === undefined ? undefined : positiveInt(values.width, "--width");
  return reportingFailures(name, async () => {
    const profile = await load(file);
    const base = values.base === undefined ? undefined : await load(values.base);
    const svg = flameGraphSvg(profile, {
      sampleIndex: sampleIndex(profile, values["sample-index"]),
      ...(base && { base }),
      ...(width !== undefined && { width }),
      ...(values.title !== undefined && { title: values.title }),
    });
    if (values.output === undefined || values.output === "-") process.stdout.write(svg);
    else await writeFile(values.output, svg);
  });
};

async function top(name: string, argv: string[], needsBase: boolean): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    allowPositionals: true,
    options: {
      base: { type: "string" },
      "sample-index": { type: "string" },
      cum: { type: "boolean" },
      nodecount: { type: "string" },
      format: { type: "string", default: "text" },
    },
  });
  const file = onePositional(
    positionals,
    `usage: memlens ${name} FILE ${needsBase ? "--base BASE" : "[--base BASE]"} [--sample-index NAME] [--cum] [--nodecount N] [--format text|json]`,
  );
  if (needsBase && values.base === undefined) throw new UsageError("--base BASE is required");
  if (values.format !== "text" && values.format !== "json") {
    throw new UsageError(`--format must be text or json, not "${values.format}"`);
  }
  const nodeCount = values.nodecount === undefined ? 0 : nonNegativeInt(values.nodecount, "--nodecount");
  return reportingFailures(name, async () => {
    let profile = await load(file);
    if (values.base !== undefined) profile = diffProfiles(profile, await load(values.base));
    const table = topTable(profile, {
      sampleIndex: sampleIndex(profile, values["sample-index"]),
      cum: values.cum ?? false,
      nodeCount,
    });
    process.stdout.write(
      values.format === "json" ? formatTopJson(table) : formatTopText(table, profile.info),
    );
  });
}

/** A file that is not a usable profile (or cannot be read) is the user's input problem: exit 1, no stack. */
class InputError extends Error {}

async function load(file: string): Promise<Profile> {
  let data: Uint8Array;
  try {
    data = await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason =
      code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory" : (err as Error).message;
    throw new InputError(`${file}: ${reason}`);
  }
  try {
    return decodeProfile(data);
  } catch (err) {
    if (err instanceof ProfileFormatError) throw new InputError(`${file}: ${err.message}`);
    throw err;
  }
}

async function reportingFailures(name: string, run: () => Promise<void>): Promise<number> {
  try {
    await run();
    return 0;
  } catch (err) {
    if (err instanceof InputError) {
      process.stderr.write(`memlens ${name}: ${err.message}\n`);
      return 1;
    }
    if (err instanceof SampleTypeError) throw new UsageError(err.message);
    throw err;
  }
}

function sampleIndex(profile: Profile, name: string | undefined): number {
  return resolveSampleIndex(profile, name ?? "");
}

function onePositional(positionals: string[], usage: string): string {
  const [file, ...extra] = positionals;
  if (file === undefined || extra.length > 0) throw new UsageError(usage);
  return file;
}

function nonNegativeInt(s: string, flag: string): number {
  if (!/^\d+$/.test(s)) throw new UsageError(`${flag} must be a whole number, not "${s}"`);
  return Number(s);
}

function positiveInt(s: string, flag: string): number {
  const n = nonNegativeInt(s, flag);
  if (n === 0) throw new UsageError(`${flag} must be above 0`);
  return n;
}
