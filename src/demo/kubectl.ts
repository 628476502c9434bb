import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import { packagePath } from "../package-root.js";

const exec = promisify(execFile);

export class KubectlError extends Error {
  constructor(
    readonly output: string,
    readonly code: number,
  ) {
    super(`kubectl failed (${code}): ${output.trim()}`);
  }
}

/** kubectl as a person runs it (KUBECONFIG from the environment), optionally with stdin. */
export async function kubectl(args: string[], stdin?: string): Promise<string> {
  if (stdin === undefined) {
    try {
      const { stdout } = await exec("kubectl", ["--request-timeout=30s", ...args], { maxBuffer: 64 << 20 });
      return stdout;
    } catch (err) {
      const e = err as { stderr?: string; stdout?: string; code?: number };
      throw new KubectlError(e.stderr || e.stdout || String(err), typeof e.code === "number" ? e.code : -1);
    }
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

export async function getJson<T>(args: string[]): Promise<T> {
  return JSON.parse(await kubectl([...args, "-o", "json"])) as T;
}

/** memlens as a user deploys it: `kubectl apply -k config/local`, then wait for its pods. */
export async function deployMemlens(): Promise<void> {
  await kubectl(["apply", "-k", packagePath("config/local")]);
  await kubectl([
    "-n",
    "memlens-system",
    "rollout",
    "status",
    "deployment/memlens-controller",
    "--timeout=180s",
  ]);
  await kubectl(["-n", "memlens-system", "rollout", "status", "daemonset/memlens-agent", "--timeout=180s"]);
}
