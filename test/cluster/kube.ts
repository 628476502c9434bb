import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";

const exec = promisify(execFile);

/** kubectl against the local cluster (KUBECONFIG is set by cluster/with-cluster.sh). */
export async function kubectl(args: string[], stdin?: string): Promise<string> {
  if (stdin === undefined) {
    const { stdout } = await exec("kubectl", ["--request-timeout=30s", ...args], { maxBuffer: 64 << 20 });
    return stdout;
  }
  return new Promise((resolve, reject) => {
    const p = spawn("kubectl", ["--request-timeout=30s", ...args]);
    let out = "";
    let err = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    p.stderr.on("data", (d: Buffer) => (err += d.toString()));
    p.on("close", (code) => (code === 0 ? resolve(out) : reject(new KubectlError(err || out, code ?? -1))));
    p.stdin.end(stdin);
  });
}

export class KubectlError extends Error {
  constructor(
    readonly output: string,
    readonly code: number,
  ) {
    super(`kubectl failed (${code}): ${output.trim()}`);
  }
}

export async function getJson<T>(args: string[]): Promise<T> {
  return JSON.parse(await kubectl([...args, "-o", "json"])) as T;
}

/** Polls until `check` returns a value (not undefined), or fails with what it last saw. */
export async function eventually<T>(
  what: string,
  timeoutMs: number,
  check: () => Promise<T | undefined>,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until)
      throw new Error(
        `${what}: not within ${timeoutMs / 1000}s${last ? ` (last error: ${last instanceof Error ? last.message : JSON.stringify(last)})` : ""}`,
      );
    await new Promise((r) => setTimeout(r, 1000));
  }
}

let deployed: Promise<void> | undefined;

/** memlens as a user deploys it on the local cluster: `kubectl apply -k config/local`, once per run. */
export function deployMemlens(): Promise<void> {
  deployed ??= (async () => {
    await kubectl(["apply", "-k", "config/local"]);
    await kubectl([
      "-n",
      "memlens-system",
      "rollout",
      "status",
      "deployment/memlens-controller",
      "--timeout=180s",
    ]);
    await kubectl(["-n", "memlens-system", "rollout", "status", "daemonset/memlens-agent", "--timeout=180s"]);
  })();
  return deployed;
}

let counter = 0;
/** A fresh namespace per test file, so files can run side by side without seeing each other. */
export async function testNamespace(prefix: string): Promise<string> {
  const ns = `${prefix}-${process.pid}-${++counter}`;
  await kubectl(["create", "namespace", ns]);
  return ns;
}

export interface MI {
  metadata: { generation: number; annotations?: Record<string, string> };
  status?: {
    oomKills?: number;
    summary?: string;
    conditions?: { type: string; status: string; reason: string; message: string }[];
    findings?: { rule: string; pod: string; container?: string; count: number; message: string }[];
    recommendations?: { type: string; patch: string; suggested: { limits?: { memory?: string } } }[];
  };
}

export const condition = (mi: MI | undefined, type: string) =>
  mi?.status?.conditions?.find((c) => c.type === type);
