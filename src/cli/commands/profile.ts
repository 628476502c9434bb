// `memlens profile top|diff|flame`: parse flags, read files (or the profiles a MemoryInspection
// keeps in the cluster: `mi/NAME`), hand over to src/profiling.
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
import {
  CLUSTER_OPTIONS,
  clusterChoice,
  inspectionProfiles,
  inspectionRef,
  ProfileSourceError,
  refuseClusterFlags,
} from "../inspection-profiles.js";

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
      ...CLUSTER_OPTIONS,
    },
  });
  const file = onePositional(
    positionals,
    "usage: memlens profile flame FILE|mi/NAME [--base BASE] [-o out.svg] [-n NS] [--pod POD] [--kubeconfig F] [--context C]",
  );
  const width = values.width === undefined ? undefined : positiveInt(values.width, "--width");
  return reportingFailures(name, async () => {
    const { profile, base } = await inputs(file, values);
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
      ...CLUSTER_OPTIONS,
    },
  });
  const file = onePositional(
    positionals,
    `usage: memlens ${name} FILE ${needsBase ? "--base BASE" : "[--base BASE]"} [--sample-index NAME] [--cum] [--nodecount N] [--format text|json]\n` +
      `       memlens ${name} mi/NAME [-n NS] [--pod POD] [--kubeconfig F] [--context C] (the profiles the inspection keeps)`,
  );
  const fromCluster = inspectionRef(file) !== undefined;
  if (needsBase && values.base === undefined && !fromCluster) throw new UsageError("--base BASE is required");
  if (values.format !== "text" && values.format !== "json") {
    throw new UsageError(`--format must be text or json, not "${values.format}"`);
  }
  const nodeCount = values.nodecount === undefined ? 0 : nonNegativeInt(values.nodecount, "--nodecount");
  return reportingFailures(name, async () => {
    const loaded = await inputs(file, values);
    if (needsBase && !loaded.base)
      throw new InputError(`${file}: no finding has been compared with the baseline yet`);
    // `top mi/NAME` is the latest profile itself; `diff mi/NAME` is what grew since the baseline
    const base = needsBase || values.base !== undefined ? loaded.base : undefined;
    const profile = base ? diffProfiles(loaded.profile, base) : loaded.profile;
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

/**
 * The profile and its baseline: from files (FILE, --base BASE), or what a MemoryInspection keeps
 * for a pod (mi/NAME: the latest profile and the baseline; --base still overrides the baseline).
 */
async function inputs(
  file: string,
  values: { base?: string; namespace?: string; pod?: string; kubeconfig?: string; context?: string },
): Promise<{ profile: Profile; base?: Profile }> {
  const given = values.base === undefined ? undefined : await load(values.base);
  const inspection = inspectionRef(file);
  if (inspection === undefined) {
    refuseClusterFlags(values);
    return { profile: await load(file), ...(given && { base: given }) };
  }
  let kept;
  try {
    kept = await inspectionProfiles(inspection, clusterChoice(values));
  } catch (err) {
    if (err instanceof ProfileSourceError) throw new InputError(err.message);
    throw err;
  }
  process.stderr.write(`memlens: ${kept.description}\n`);
  const decode = (bytes: Uint8Array, what: string) => {
    try {
      return decodeProfile(bytes);
    } catch (err) {
      if (err instanceof ProfileFormatError) throw new InputError(`${file}: ${what}: ${err.message}`);
      throw err;
    }
  };
  const base = given ?? (kept.base && decode(kept.base, "the baseline"));
  return { profile: decode(kept.current, "the latest profile"), ...(base && { base }) };
}

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
