import { parseArgs, type ParseArgsConfig } from "node:util";

/**
 * How the user called this CLI: "kubectl memlens" when kubectl found it on the PATH as the
 * plugin kubectl-memlens, else "memlens". Usage and error lines use it.
 */
export function programName(argv1 = process.argv[1] ?? ""): string {
  return /(^|\/)kubectl-memlens(\.js)?$/.test(argv1) ? "kubectl memlens" : "memlens";
}

/** Exit codes scripts can use: 0 nothing wrong, 1 an error, 2 bad usage, 3 findings to act on. */
export const EXIT = { ok: 0, error: 1, usage: 2, findings: 3 } as const;

/** A CLI command: parses its own argv and resolves to the process exit code. */
export type Command = (argv: string[]) => Promise<number>;

/** The command, with its CommandErrors told on stderr as "<program> <name>: <message>" and exit 1. */
export function reportingErrors(name: string, command: Command): Command {
  return async (argv) => {
    try {
      return await command(argv);
    } catch (err) {
      if (!(err instanceof CommandError)) throw err;
      process.stderr.write(`${programName()} ${name}: ${err.message}\n`);
      return EXIT.error;
    }
  };
}

/** An error whose message is meant for the user as is: printed without a stack trace. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/**
 * A failure the user can act on (no such file, no such inspection, an unusable profile): a
 * command made with `reportingErrors` prints its message after the command's name, without a
 * stack trace, and exits 1.
 */
export class CommandError extends Error {
  override readonly name = "CommandError";
}

/** The --format flag of commands that print either a report for people or JSON for programs. */
export function outputFormat(value: string | undefined): "json" | "text" {
  if (value !== "json" && value !== "text") {
    throw new UsageError(`--format must be json or text, not ${JSON.stringify(value)}`);
  }
  return value;
}

type Options = NonNullable<ParseArgsConfig["options"]>;

export interface CommandArgs<O extends Options, P extends boolean> {
  options: O;
  /** the command's help text: adds -h/--help, which prints it to stdout */
  help?: string;
  /** take positional arguments (default: none) */
  allowPositionals?: P;
}

type Parsed<O extends Options, P extends boolean> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: P }>
>;

/**
 * A command's flags, parsed strictly (an unknown flag is a usage error, exit 2). With a help
 * text, -h/--help prints it and the result is undefined: the command then returns 0.
 */
export function parseCommandArgs<const O extends Options, P extends boolean = false>(
  argv: string[],
  args: CommandArgs<O, P> & { help: string },
): Parsed<O, P> | undefined;
export function parseCommandArgs<const O extends Options, P extends boolean = false>(
  argv: string[],
  args: CommandArgs<O, P> & { help?: undefined },
): Parsed<O, P>;
export function parseCommandArgs<const O extends Options, P extends boolean = false>(
  argv: string[],
  args: CommandArgs<O, P>,
): Parsed<O, P> | undefined {
  const options: Options =
    args.help === undefined
      ? args.options
      : { ...args.options, help: { type: "boolean", short: "h", default: false } };
  const parsed = parseArgs({
    args: argv,
    options,
    strict: true,
    allowPositionals: args.allowPositionals ?? false,
  });
  if (args.help !== undefined && parsed.values.help === true) {
    process.stdout.write(args.help);
    return undefined;
  }
  return parsed as Parsed<O, P>;
}
