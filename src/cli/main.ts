#!/usr/bin/env node
import { programName, UsageError, type Command } from "./command.js";
import { commands, usage } from "./commands/index.js";

async function main(argv: string[]): Promise<number> {
  // two-word commands ("agent record", "profile top") come first so "agent" alone still resolves
  const two = argv.slice(0, 2).join(" ");
  const one = argv[0] ?? "";
  const [name, rest]: [string, string[]] = two in commands ? [two, argv.slice(2)] : [one, argv.slice(1)];
  const command: Command | undefined = commands[name];
  if (!command || one === "help" || one === "--help" || one === "-h") {
    process.stderr.write(usage());
    return command || one === "help" || one === "--help" || one === "-h" ? 0 : 2;
  }
  try {
    return await command(rest);
  } catch (err) {
    if (
      err instanceof UsageError ||
      (err instanceof TypeError && "code" in err && String(err.code).startsWith("ERR_PARSE_ARGS"))
    ) {
      process.stderr.write(`${programName()} ${name}: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`${programName()}: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
