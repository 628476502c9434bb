import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import { parseAllDocuments } from "yaml";
import { deployMemlens, eventually, kubectl, testNamespace } from "./kube.js";

const exec = promisify(execFile);

describe("kubectl memlens: the CLI as a kubectl plugin", function () {
  let ns: string;
  let dir: string;
  /** kubectl with the plugin on its PATH, as a user runs it; resolves to exit code and output */
  const kubectlMemlens = async (args: string[], env: NodeJS.ProcessEnv = process.env) => {
    try {
      const { stdout, stderr } = await exec("kubectl", ["memlens", ...args], {
        env: { ...env, PATH: `${dir}:${process.env.PATH}` },
        maxBuffer: 16 << 20,
      });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };

  before(async function () {
    this.timeout(300_000);
    await deployMemlens();
    ns = await testNamespace("plugin");
    // what `npm install -g` puts on the PATH: a link kubectl-memlens to the CLI, made executable
    dir = mkdtempSync(join(tmpdir(), "memlens-plugin-"));
    const cli = resolve("dist/src/cli/main.js");
    chmodSync(cli, 0o755);
    symlinkSync(cli, join(dir, "kubectl-memlens"));
    // the workload alone: the plugin makes its MemoryInspection
    const [hog] = parseAllDocuments(readFileSync("examples/stress-oom.yaml", "utf8")).map(
      (d) => d.toJS() as unknown,
    );
    await kubectl(["-n", ns, "apply", "-f", "-"], JSON.stringify(hog));
  });

  it("is found by kubectl (kubectl plugin list)", async () => {
    const { stdout } = await exec("kubectl", ["plugin", "list"], {
      env: { ...process.env, PATH: `${dir}:${process.env.PATH}` },
    });
    expect(stdout).to.contain(join(dir, "kubectl-memlens"));
  });

  it("inspect deploy/hog --wait creates the inspection and prints the OOM kill when it comes (exit 3)", async function () {
    this.timeout(240_000);
    const r = await kubectlMemlens([
      "inspect",
      "deploy/hog",
      "-n",
      ns,
      "--interval",
      "15s",
      "--wait",
      "--timeout",
      "3m",
    ]);
    expect(r.stdout).to.contain("memoryinspection.memlens.dev/hog created");
    expect(r.stdout).to.match(/\[Critical\] OOMKilled hog-\S+\/hog/);
    expect(r.stdout).to.match(/RaiseMemoryLimit for Deployment\/hog \(hog\)/);
    expect(r.stdout).to.contain("patch for the manifest in Git:");
    expect(r.code, r.stderr).to.equal(3);
    const mi = JSON.parse(await kubectl(["-n", ns, "get", "mi", "hog", "-o", "json"])) as { spec: unknown };
    expect(mi.spec).to.deep.equal({
      targetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "hog" },
      interval: "15s",
    });
  });

  it("inspect again reuses it; explain mi/hog prints the findings and patches (exit 3)", async function () {
    this.timeout(60_000);
    const again = await kubectlMemlens(["inspect", "deployment/hog", "-n", ns]);
    expect(again.stdout).to.contain("memoryinspection.memlens.dev/hog exists: using it");
    expect(again.code).to.equal(0);
    const r = await kubectlMemlens(["explain", "mi/hog", "-n", ns]);
    expect(r.stdout).to.match(/^mi\/hog in plugin-\S+: Deployment\/hog, 1 pod, last inspected/);
    expect(r.stdout).to.match(/OOMKilled=True/);
    expect(r.stdout).to.match(/limits:\n\s+memory: \d+Mi/);
    expect(r.code).to.equal(3);
  });

  it("takes kubectl's --kubeconfig and --context, and says what is wrong with exit codes scripts can use", async function () {
    this.timeout(60_000);
    const kubeconfig = resolve(".memlens/kubeconfig");
    const noEnv = { ...process.env, KUBECONFIG: "/nonexistent" };
    const ok = await kubectlMemlens(["explain", "mi/hog", "-n", ns, "--kubeconfig", kubeconfig], noEnv);
    expect(ok.code, ok.stderr).to.equal(3);
    const ctx = await kubectlMemlens(["explain", "mi/hog", "-n", ns, "--context", "nowhere"]);
    expect(ctx.stderr).to.contain('context "nowhere" is not in the kubeconfig');
    expect(ctx.code).to.equal(1);
    const missing = await kubectlMemlens(["explain", "mi/absent", "-n", ns]);
    expect(missing.stderr).to.contain('kubectl memlens explain: memoryinspection "absent" not found');
    expect(missing.code).to.equal(1);
    const noWorkload = await kubectlMemlens(["inspect", "sts/absent", "-n", ns]);
    expect(noWorkload.stderr).to.contain('statefulset "absent" not found');
    expect(noWorkload.code).to.equal(1);
    const usage = await kubectlMemlens(["inspect", "service/web", "-n", ns]);
    expect(usage.stderr).to.contain("is not KIND/NAME of a workload");
    expect(usage.code).to.equal(2);
  });

  it("explain of an inspection with nothing to act on exits 0", async function () {
    this.timeout(120_000);
    await kubectl(["-n", ns, "scale", "deployment/hog", "--replicas=0"]);
    await kubectl(
      ["-n", ns, "apply", "-f", "-"],
      JSON.stringify({
        apiVersion: "memlens.dev/v1alpha1",
        kind: "MemoryInspection",
        metadata: { name: "quiet" },
        spec: { selector: { matchLabels: { app: "none" } }, interval: "5s" },
      }),
    );
    const r = await eventually("mi/quiet inspected", 30_000, async () => {
      const r = await kubectlMemlens(["explain", "mi/quiet", "-n", ns]);
      return r.stdout.includes("last inspected") ? r : undefined;
    });
    expect(r.stdout).to.contain("Findings: none");
    expect(r.code).to.equal(0);
  });

  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    if (ns) await kubectl(["delete", "namespace", ns, "--wait=false"]);
  });
});
