import { discoverEntries, formatDiscoverText } from "../../cgroup/discover-report.js";
import { CgroupRootError, scanCgroupRoot } from "../../cgroup/scan.js";
import { outputFormat, UsageError, parseCommandArgs, type Command } from "../command.js";

const HELP = `usage: memlens agent discover [--cgroup-root DIR] [--format json|text]

Lists the container cgroups under a cgroup root (no API server needed): pod UID, container ID,
QoS class, runtime and cgroup path. The cgroup version is told from the files under the root.

  --cgroup-root DIR   cgroup mount or a copy of one (default /sys/fs/cgroup)
  --format FORMAT     json (default: an array, one object per container) or text
`;

export const agentDiscoverCommand: Command = async (argv) => {
  const parsed = parseCommandArgs(argv, {
    help: HELP,
    options: {
      "cgroup-root": { type: "string", default: "/sys/fs/cgroup" },
      format: { type: "string", default: "json" },
    },
  });
  if (!parsed) return 0;
  const { values } = parsed;
  const format = outputFormat(values.format);
  const root = values["cgroup-root"];
  if (root === "") throw new UsageError("--cgroup-root must not be empty");

  let scan;
  try {
    scan = await scanCgroupRoot(root);
  } catch (err) {
    if (err instanceof CgroupRootError) {
      process.stderr.write(`memlens agent discover: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  const rows = discoverEntries(scan);
  process.stdout.write(format === "json" ? `${JSON.stringify(rows, null, 2)}\n` : formatDiscoverText(rows));
  return 0;
};
