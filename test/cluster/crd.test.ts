import { expect } from "chai";
import { INVALID_SPECS } from "../unit/api/invalid-specs.js";
import {
  condition,
  deployMemlens,
  eventually,
  getJson,
  KubectlError,
  kubectl,
  testNamespace,
  type MI,
} from "./kube.js";

const manifest = (name: string, spec: unknown) =>
  JSON.stringify({ apiVersion: "memlens.dev/v1alpha1", kind: "MemoryInspection", metadata: { name }, spec });

describe("the MemoryInspection CRD on a real apiserver", function () {
  let ns: string;
  before(async function () {
    this.timeout(300_000);
    await deployMemlens();
    ns = await testNamespace("crd");
  });

  it("installs from crds/ with `kubectl apply -f crds/` (only CRDs there)", async () => {
    expect(await kubectl(["apply", "-f", "crds/"])).to.match(
      /^customresourcedefinition.apiextensions.k8s.io\/memoryinspections.memlens.dev (unchanged|configured|created)$/m,
    );
  });

  it("installs everything with `kubectl apply -k config/default` (the apiserver checks each object)", async () => {
    const out = await kubectl(["apply", "-k", "config/default", "--dry-run=server"]);
    for (const kind of [
      "customresourcedefinition",
      "serviceaccount",
      "clusterrole",
      "deployment",
      "daemonset",
      "networkpolicy",
    ]) {
      expect(out).to.match(new RegExp(`^${kind}[./]\\S+ \\S+ \\(server dry run\\)$`, "m"));
    }
  });

  it("applies the examples with kubectl", async () => {
    for (const f of [
      "examples/memoryinspection-all-fields.yaml",
      "examples/memoryinspection-selector.yaml",
    ]) {
      expect(await kubectl(["-n", ns, "apply", "-f", f])).to.match(
        /memoryinspection.memlens.dev\/\S+ (created|configured)/,
      );
    }
  });

  it("teaches the API through kubectl explain", async () => {
    const out = await kubectl(["explain", "memoryinspection.spec"]);
    expect(out).to.contain("targetRef");
    expect(out).to.contain("How often to inspect (default 1m)");
  });

  for (const [i, [what, spec, word]] of INVALID_SPECS.entries()) {
    it(`refuses at admission: ${what}`, async () => {
      const err = await kubectl(["-n", ns, "apply", "-f", "-"], manifest(`bad-${i}`, spec)).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, "accepted").to.be.instanceOf(KubectlError);
      expect((err as KubectlError).output).to.contain(word);
    });
  }

  it("reports what only the controller can check as a condition naming the field (a bad cron)", async () => {
    await kubectl(
      ["-n", ns, "apply", "-f", "-"],
      manifest("bad-cron", { targetRef: { kind: "Deployment", name: "x" }, schedule: "61 * * * *" }),
    );
    const ready = await eventually("InvalidSpec condition", 60_000, async () => {
      const c = condition(await getJson<MI>(["-n", ns, "get", "mi", "bad-cron"]), "Ready");
      return c?.reason === "InvalidSpec" ? c : undefined;
    });
    expect(ready.status).to.equal("False");
    expect(ready.message).to.contain("spec.schedule");
  });

  it("says which target does not exist", async () => {
    await kubectl(
      ["-n", ns, "apply", "-f", "-"],
      manifest("ghost", { targetRef: { kind: "StatefulSet", name: "ghost" } }),
    );
    const ready = await eventually("TargetNotFound condition", 60_000, async () => {
      const c = condition(await getJson<MI>(["-n", ns, "get", "mi", "ghost"]), "Ready");
      return c?.reason === "TargetNotFound" ? c : undefined;
    });
    expect(ready.message).to.contain(`StatefulSet ${ns}/ghost does not exist`);
  });

  after(async () => {
    await kubectl(["delete", "namespace", ns, "--wait=false"]);
  });
});
