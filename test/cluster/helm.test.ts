import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import { parseAllDocuments, stringify } from "yaml";
import { deployMemlens as redeployWithKustomize } from "../../src/demo/kubectl.js";
import { condition, deployMemlens, eventually, getJson, kubectl, testNamespace, type MI } from "./kube.js";

const run = promisify(execFile);
const CHART = "config/helm/memlens";
const helm = async (args: string[]) => (await run("helm", args, { maxBuffer: 64 << 20 })).stdout;

type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
} & Record<string, unknown>;

const objects = (yaml: string): K8sObject[] =>
  parseAllDocuments(yaml)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
const key = (o: K8sObject) => `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`;

/** What Helm adds that says nothing about what runs: its bookkeeping labels, and API defaults spelled out. */
const HELM_LABELS = [
  "helm.sh/chart",
  "app.kubernetes.io/managed-by",
  "app.kubernetes.io/instance",
  "app.kubernetes.io/version",
];
function normalised(o: K8sObject): K8sObject {
  const copy = JSON.parse(JSON.stringify(o)) as K8sObject;
  for (const l of HELM_LABELS) delete copy.metadata.labels?.[l];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (!v || typeof v !== "object") return;
    const rec = v as Record<string, unknown>;
    // the apiserver's default for a tagged image: the same pod either way
    if (rec.imagePullPolicy === "IfNotPresent") delete rec.imagePullPolicy;
    Object.values(rec).forEach(walk);
  };
  walk(copy);
  return copy;
}

describe("the Helm chart (config/helm/memlens), checked with the real helm", function () {
  let ns: string;
  before(async function () {
    this.timeout(300_000);
    await deployMemlens();
    ns = await testNamespace("helm");
  });

  it("passes helm lint, with its options off and on", async function () {
    this.timeout(60_000);
    expect(await helm(["lint", CHART, "--strict"])).to.match(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    const on = [
      "metrics.serviceMonitor.enabled=true",
      "metrics.prometheusRule.enabled=true",
      "metrics.grafanaDashboard.enabled=true",
    ];
    expect(await helm(["lint", CHART, "--strict", "--set", on.join(",")])).to.match(/0 chart\(s\) failed/);
  });

  it("deploys what config/default deploys, object for object (one source of truth)", async function () {
    this.timeout(60_000);
    const chart = objects(
      await helm(["template", "memlens", CHART, "--namespace", "memlens-system", "--include-crds"]),
    );
    const kustomize = objects(await kubectl(["kustomize", "config/default"]));
    const byKey = new Map(chart.map((o) => [key(o), o]));
    // the one difference, documented: Helm installs into a namespace it is given (--create-namespace)
    const expected = kustomize.filter((o) => o.kind !== "Namespace");
    expect([...byKey.keys()].sort()).to.deep.equal(expected.map(key).sort());
    for (const o of expected) {
      expect(normalised(byKey.get(key(o))!), key(o)).to.deep.equal(normalised(o));
      // crds/ is installed as it is, never templated (Helm's CRD convention)
      if (o.kind !== "CustomResourceDefinition")
        expect(byKey.get(key(o))!.metadata.labels?.["app.kubernetes.io/managed-by"], key(o)).to.equal("Helm");
    }
    expect(readFileSync(`${CHART}/crds/memlens.dev_memoryinspections.yaml`, "utf8")).to.equal(
      readFileSync("crds/memlens.dev_memoryinspections.yaml", "utf8"),
    );
  });

  it("renders, with its values changed, objects the apiserver accepts (kubectl apply --dry-run=server)", async function () {
    this.timeout(60_000);
    const set = [
      "logLevel=debug",
      "controller.replicas=1",
      "agent.priorityClassName=system-node-critical",
      "agent.nodeSelector.kubernetes\\.io/os=linux",
      "metrics.grafanaDashboard.enabled=true",
    ];
    const yaml = await helm(["template", "memlens", CHART, "--namespace", ns, "--set", set.join(",")]);
    const rendered = objects(yaml);
    const agent = rendered.find((o) => o.kind === "DaemonSet") as unknown as {
      spec: {
        template: {
          spec: {
            priorityClassName: string;
            nodeSelector: Record<string, string>;
            containers: { env: { name: string; value?: string }[] }[];
          };
        };
      };
    };
    expect(agent.spec.template.spec.priorityClassName).to.equal("system-node-critical");
    expect(agent.spec.template.spec.nodeSelector).to.deep.equal({ "kubernetes.io/os": "linux" });
    expect(agent.spec.template.spec.containers[0]?.env).to.deep.include({
      name: "MEMLENS_LOG_LEVEL",
      value: "debug",
    });
    const dashboard = rendered.find((o) => o.kind === "ConfigMap") as unknown as {
      data: Record<string, string>;
    };
    expect(JSON.parse(dashboard.data["memlens.json"] ?? "{}")).to.have.property("uid", "memlens");
    const out = await kubectl(["apply", "--dry-run=server", "-f", "-"], yaml);
    expect(out).to.match(/daemonset\.apps\/memlens-agent created \(server dry run\)/);
  });

  it("helm install runs memlens on the local cluster: a real inspection; helm uninstall leaves none of it", async function () {
    this.timeout(600_000);
    const dir = mkdtempSync(join(tmpdir(), "memlens-helm-"));
    try {
      // the kustomize deployment goes (not its CRDs: every test's inspections live in them)
      const deployed = objects(await kubectl(["kustomize", "config/local"])).filter(
        (o) => o.kind !== "CustomResourceDefinition" && o.kind !== "Namespace",
      );
      await kubectl(["delete", "--wait=true", "-f", "-"], deployed.map((o) => stringify(o)).join("---\n"));
      const env = readFileSync("config/local/cluster.env", "utf8")
        .split("\n")
        .filter((l) => l.includes("="))
        .map((l) => ({ name: l.slice(0, l.indexOf("=")), value: l.slice(l.indexOf("=") + 1) }));
      const podIP = { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } };
      writeFileSync(
        join(dir, "api.yaml"),
        stringify({ controller: { extraEnv: env }, agent: { extraEnv: [podIP, ...env] } }),
      );
      const installed = await helm([
        "install",
        "memlens",
        CHART,
        "--namespace",
        "memlens-system",
        "-f",
        "config/helm/memlens-local-values.yaml",
        "-f",
        join(dir, "api.yaml"),
        "--wait",
        "--timeout",
        "3m",
      ]);
      expect(installed).to.match(/STATUS: deployed/);
      const controller = await getJson<K8sObject>([
        "-n",
        "memlens-system",
        "get",
        "deployment",
        "memlens-controller",
      ]);
      expect(controller.metadata.labels?.["app.kubernetes.io/managed-by"]).to.equal("Helm");
      await kubectl(["-n", ns, "apply", "-f", "examples/stress-oom.yaml"]);
      const mi = await eventually("OOMKilled=True from the Helm-installed memlens", 240_000, async () => {
        const mi = await getJson<MI>(["-n", ns, "get", "mi", "hog"]);
        return condition(mi, "OOMKilled")?.status === "True" ? mi : undefined;
      });
      expect(mi.status?.findings?.some((f) => f.rule === "OOMKilled")).to.equal(true);
      await kubectl(["-n", ns, "delete", "deployment", "hog"]);
      expect(await helm(["uninstall", "memlens", "--namespace", "memlens-system", "--wait"])).to.match(
        /uninstalled/,
      );
      const left = await kubectl([
        "get",
        "clusterrole,clusterrolebinding",
        "-l",
        "app.kubernetes.io/part-of=memlens",
        "-o",
        "name",
      ]);
      expect(left.trim()).to.equal("");
    } finally {
      rmSync(dir, { recursive: true, force: true });
      // back to the kustomize deployment the other test files share
      await helm(["uninstall", "memlens", "--namespace", "memlens-system", "--wait"]).catch(() => "");
      await redeployWithKustomize();
    }
  });

  after(async () => {
    if (ns) await kubectl(["delete", "namespace", ns, "--wait=false"]);
  });
});
