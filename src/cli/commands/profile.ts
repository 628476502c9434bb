// `memlens profile top|diff|flame`: parse flags, read files (or the profiles a MemoryInspection
// keeps in the cluster: `mi/NAME`), hand over to src/profiling.
// `profile top FILE` streams the file through streamTopTable, holding no decoded model; the rest
// decode models. Modules are imported one by one, not through profiling/index.js (which brings
// node:http for fetch.ts), and the cluster's only for mi/NAME: a CLI run pays for what it uses.
import { readFile, writeFile } from "node:fs/promises";
import { fileSource } from "../../profiling/chunks.js";
import { decodeProfile } from "../../profiling/decode.js";
import { diffProfiles } from "../../profiling/diff.js";
import { ProfileFormatError, SampleTypeError } from "../../profiling/errors.js";
import { flameGraphSvg } from "../../profiling/flame.js";
import { formatTopJson, formatTopText } from "../../profiling/format.js";
import type { Profile, ProfileInfo } from "../../profiling/model.js";
import { resolveSampleIndex } from "../../profiling/sample-type.js";
import { streamTopTable } from "../../profiling/stream-top.js";
import { topTable, type TopTable } from "../../profiling/top.js";
import { CLUSTER_OPTIONS, inspectionRef, refuseClusterFlags } from "../cluster-flags.js";
import { CommandError, parseCommandArgs, programName, reportingErrors, UsageError } from "../command.js";

export const profileTopCommand = reportingErrors("profile top", (argv) => top("profile top", argv, false));
export const profileDiffCommand = reportingErrors("profile diff", (argv) => top("profile diff", argv, true));

export const profileFlameCommand = reportingErrors("profile flame", async (argv) => {
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
  return sampleTypeAsUsage(async () => {
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
});

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
  const options = { cum: values.cum ?? false, nodeCount };
  return sampleTypeAsUsage(async () => {
    let table: TopTable;
    let info: ProfileInfo;
    if (!fromCluster && values.base === undefined) {
      refuseClusterFlags(values);
      ({ table, info } = await streamedTop(file, { ...options, sampleIndex: values["sample-index"] ?? "" }));
    } else {
      const loaded = await inputs(file, values);
      if (needsBase && !loaded.base)
        throw new CommandError(`${file}: no finding has been compared with the baseline yet`);
      // `top mi/NAME` is the latest profile itself; `diff mi/NAME` is what grew since the baseline
      const base = needsBase || values.base !== undefined ? loaded.base : undefined;
      const profile = base ? diffProfiles(loaded.profile, base) : loaded.profile;
      table = topTable(profile, { ...options, sampleIndex: sampleIndex(profile, values["sample-index"]) });
      info = profile.info;
    }
    process.stdout.write(values.format === "json" ? formatTopJson(table) : formatTopText(table, info));
  });
}

/** streamTopTable of a file, its errors told as load's are. */
async function streamedTop(
  file: string,
  options: Parameters<typeof streamTopTable>[1],
): Promise<Awaited<ReturnType<typeof streamTopTable>>> {
  try {
    return await streamTopTable(fileSource(file), options);
  } catch (err) {
    if (err instanceof ProfileFormatError) throw new CommandError(`${file}: ${err.message}`);
    if (isFileError(err)) throw new CommandError(`${file}: ${fileErrorReason(err)}`);
    throw err;
  }
}

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
  const { inspectionProfiles, clusterChoice } = await import("../inspection-profiles.js");
  const kept = await inspectionProfiles(inspection, clusterChoice(values));
  process.stderr.write(`${programName()}: ${kept.description}\n`);
  const base = given ?? (kept.base && decoded(kept.base, `${file}: the baseline`));
  return { profile: decoded(kept.current, `${file}: the latest profile`), ...(base && { base }) };
}

async function load(file: string): Promise<Profile> {
  let data: Uint8Array;
  try {
    data = await readFile(file);
  } catch (err) {
    throw new CommandError(`${file}: ${fileErrorReason(err as NodeJS.ErrnoException)}`);
  }
  return decoded(data, file);
}

/** An error of the file system's (it names the system call that failed), as reading a file gives. */
function isFileError(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && "syscall" in err;
}

function fileErrorReason(err: NodeJS.ErrnoException): string {
  return err.code === "ENOENT" ? "no such file" : err.code === "EISDIR" ? "is a directory" : err.message;
}

/** A profile, or a CommandError saying which one is not usable and why. */
function decoded(bytes: Uint8Array, what: string): Profile {
  try {
    return decodeProfile(bytes);
  } catch (err) {
    if (err instanceof ProfileFormatError) throw new CommandError(`${what}: ${err.message}`);
    throw err;
  }
}

/** Runs the command; an unknown --sample-index is a usage error (exit 2). */
async function sampleTypeAsUsage(run: () => Promise<void>): Promise<number> {
  try {
    await run();
    return 0;
  } catch (err) {
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
