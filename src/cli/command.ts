/** A CLI command: parses its own argv and resolves to the process exit code. */
export type Command = (argv: string[]) => Promise<number>;

/** An error whose message is meant for the user as is: printed without a stack trace. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}
