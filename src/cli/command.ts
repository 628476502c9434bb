/** A CLI command: parses its own argv and resolves to the process exit code. */
export type Command = (argv: string[]) => Promise<number>;

/** An error whose message is meant for the user as is: printed without a stack trace. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** The --format flag of commands that print either a report for people or JSON for programs. */
export function outputFormat(value: string | undefined): "json" | "text" {
  if (value !== "json" && value !== "text") {
    throw new UsageError(`--format must be json or text, not ${JSON.stringify(value)}`);
  }
  return value;
}
