// `memlens inspect KIND/NAME` and `memlens explain mi/NAME` (also `kubectl memlens ...`): the
// ad hoc way in. inspect creates a MemoryInspection of a workload (or reuses the one there) and
// with --wait prints its findings when they come; explain prints one as the demo does.
import { parseDuration } from "../../api/duration.js";
import { API_VERSION, apiPath, KIND, PLURAL } from "../../api/group.js";
import {
  TARGET_API_VERSIONS,
  type MemoryInspectionSpec,
  type TargetKind,
} from "../../api/memoryinspection.js";
import { objectPath } from "../../controller/targets.js";
import { isInvalid, isNotFound } from "../../kube/client.js";
import { connect, getInspection } from "../cluster.js";
import { CLUSTER_FLAGS, inspectionRef } from "../cluster-flags.js";
import {
  CommandError,
  EXIT,
  parseCommandArgs,
  programName,
  reportingErrors,
  UsageError,
} from "../command.js";
import { actionableFindings, formatInspection } from "../explain-format.js";

/** kubectl's names for the kinds a MemoryInspection can target. */
const KINDS: Record<string, TargetKind> = {};
for (const [kind, aliases] of [
  ["Deployment", ["deploy", "deployment", "deployments", "deployments.apps"]],
  ["StatefulSet", ["sts", "statefulset", "statefulsets", "statefulsets.apps"]],
  ["DaemonSet", ["ds", "daemonset", "daemonsets", "daemonsets.apps"]],
  ["ReplicaSet", ["rs", "replicaset", "replicasets", "replicasets.apps"]],
  ["Job", ["job", "jobs", "jobs.batch"]],
  ["CronJob", ["cj", "cronjob", "cronjobs", "cronjobs.batch"]],
  ["Pod", ["po", "pod", "pods"]],
] as const)
  for (const a of aliases) KINDS[a] = kind;

/** "deploy/catalog" → Deployment catalog; anything else is a usage error naming the kinds. */
export function workloadRef(arg: string): { kind: TargetKind; name: string } {
  const [alias, name, ...rest] = arg.split("/");
  const kind = KINDS[(alias ?? "").toLowerCase()];
  if (!kind || !name || rest.length)
    throw new UsageError(
      `"${arg}" is not KIND/NAME of a workload: KIND is deploy, sts, ds, rs, job, cronjob or pod`,
    );
  return { kind, name };
}

const INSPECT_HELP = `usage: ${programName()} inspect KIND/NAME [-n NS] [--name MI] [--interval 1m] [--profile-port PORT]
                       [--wait] [--timeout 2m] [--kubeconfig FILE] [--context NAME]

Creates a MemoryInspection of the workload (named as it, or --name), or reuses the one there.
With --wait, prints its findings as soon as there are any, or how it stands after --timeout.
Exit codes: 0 nothing to act on, 1 an error, 2 bad usage, 3 findings (Warning or Critical).
`;

export const inspectCommand = reportingErrors("inspect", async (argv) => {
  const parsed = parseCommandArgs(argv, {
    allowPositionals: true,
    help: INSPECT_HELP,
    options: {
      ...CLUSTER_FLAGS,
      name: { type: "string" },
      interval: { type: "string" },
      "profile-port": { type: "string" },
      wait: { type: "boolean", default: false },
      timeout: { type: "string", default: "2m" },
    },
  });
  if (!parsed) return EXIT.ok;
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new UsageError(INSPECT_HELP.split("\n\n")[0] ?? "");
  const target = workloadRef(positionals[0] ?? "");
  const timeoutMs = parseDuration(values.timeout);
  if (timeoutMs === undefined) throw new UsageError(`--timeout must be a duration such as 30s or 5m`);
  const port = values["profile-port"];
  if (port !== undefined && !/^\d+$/.test(port)) throw new UsageError(`--profile-port must be a port number`);
  const { client, namespace: ns } = await connect(values);
  const what = `${target.kind.toLowerCase()} "${target.name}"`;
  try {
    await client.get(objectPath(target.kind, ns, target.name));
  } catch (err) {
    if (isNotFound(err)) throw new CommandError(`${what} not found in namespace "${ns}"`);
    throw err;
  }
  const name = values.name ?? target.name;
  const existing = await getInspection(client, ns, name);
  if (existing) {
    const ref = (existing.spec as MemoryInspectionSpec | undefined)?.targetRef;
    if (ref?.kind !== target.kind || ref.name !== target.name)
      throw new CommandError(
        `mi/${name} already exists in "${ns}" and inspects ${ref ? `${ref.kind}/${ref.name}` : "a selector"}: choose another --name`,
      );
    process.stdout.write(
      `memoryinspection.memlens.dev/${name} exists: using it (its spec is left as it is)\n`,
    );
  } else {
    const spec: MemoryInspectionSpec = {
      targetRef: { apiVersion: TARGET_API_VERSIONS[target.kind], kind: target.kind, name: target.name },
      ...(values.interval !== undefined ? { interval: values.interval } : {}),
      ...(port !== undefined ? { profiling: { enabled: true, port: Number(port) } } : {}),
    };
    try {
      await client.request("POST", apiPath(PLURAL, ns), {
        body: { apiVersion: API_VERSION, kind: KIND, metadata: { name, namespace: ns }, spec },
        query: { fieldValidation: "Strict" },
      });
    } catch (err) {
      // admission names the field (an --interval out of range, say)
      if (isInvalid(err)) throw new CommandError(err.message);
      throw err;
    }
    process.stdout.write(`memoryinspection.memlens.dev/${name} created\n`);
  }
  if (!values.wait) return EXIT.ok;
  const until = Date.now() + timeoutMs;
  for (;;) {
    const now = await getInspection(client, ns, name);
    if (!now) throw new CommandError(`mi/${name} was deleted while waiting`);
    const inspected = now.status?.lastInspectionTime !== undefined;
    if ((inspected && actionableFindings(now) > 0) || Date.now() >= until) {
      if (!inspected)
        throw new CommandError(
          `mi/${name} was not inspected within ${values.timeout}: is the memlens controller running?`,
        );
      process.stdout.write(`\n${formatInspection(now, new Date())}`);
      return actionableFindings(now) > 0 ? EXIT.findings : EXIT.ok;
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
});

const EXPLAIN_HELP = `usage: ${programName()} explain mi/NAME [-n NS] [--kubeconfig FILE] [--context NAME]

Prints a MemoryInspection's conditions, findings and recommendations with their patches.
Exit codes: 0 nothing to act on, 1 an error, 2 bad usage, 3 findings (Warning or Critical).
`;

export const explainCommand = reportingErrors("explain", async (argv) => {
  const parsed = parseCommandArgs(argv, {
    allowPositionals: true,
    help: EXPLAIN_HELP,
    options: CLUSTER_FLAGS,
  });
  if (!parsed) return EXIT.ok;
  const { values, positionals } = parsed;
  const name = inspectionRef(positionals[0] ?? "");
  if (positionals.length !== 1 || !name) throw new UsageError(EXPLAIN_HELP.split("\n\n")[0] ?? "");
  const { client, namespace: ns } = await connect(values);
  const mi = await getInspection(client, ns, name);
  if (!mi) throw new CommandError(`memoryinspection "${name}" not found in namespace "${ns}"`);
  process.stdout.write(formatInspection(mi, new Date()));
  return actionableFindings(mi) > 0 ? EXIT.findings : EXIT.ok;
});
