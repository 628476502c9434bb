import { readdirSync, readFileSync } from "node:fs";
import { expect } from "chai";
import { MemoryInspectionSpecSchema } from "../../../src/api/memoryinspection.js";
import { describeSpecProblem } from "../../../src/controller/reconciler.js";
import { CRD_DIRS, CRD_FILES, crdYaml } from "../../../src/cli/commands/crds.js";
import { effectiveSpec } from "../../../src/api/defaults.js";
import { deploy, INVALID_SPECS } from "./invalid-specs.js";

describe("MemoryInspection spec validation (zod, as the controller checks it)", () => {
  for (const [what, spec, word] of INVALID_SPECS) {
    it(`refuses ${what}, naming the field`, () => {
      const r = MemoryInspectionSpecSchema.safeParse(spec);
      expect(r.success, JSON.stringify(spec)).to.equal(false);
      if (!r.success) expect(describeSpecProblem(r.error.issues)).to.contain(word);
    });
  }

  it("accepts the documented examples", () => {
    for (const spec of [
      { targetRef: deploy },
      { targetRef: { apiVersion: "apps/v1", ...deploy }, interval: "15s", window: "10m" },
      { selector: { matchLabels: { app: "catalog" } }, schedule: "*/5 * * * *", timeZone: "Europe/Berlin" },
      {
        targetRef: { kind: "CronJob", name: "report" },
        rules: { leak: { enabled: true, minObservation: "2m" } },
      },
      { targetRef: deploy, profiling: { enabled: true, port: 6060 } },
    ]) {
      const r = MemoryInspectionSpecSchema.safeParse(spec);
      expect(r.success, JSON.stringify(r.error?.issues)).to.equal(true);
    }
  });

  it("fills defaults in code, not in the spec", () => {
    const spec = MemoryInspectionSpecSchema.parse({ targetRef: deploy });
    const eff = effectiveSpec(spec);
    expect(eff.intervalMs).to.equal(60_000);
    expect(eff.windowMs).to.equal(3_600_000);
    expect(eff.rules.leak.minObservationMs).to.equal(15 * 60_000);
    expect(eff.profiling.enabled).to.equal(false);
    expect(spec).to.deep.equal({ targetRef: deploy });
  });
});

describe("CRD", () => {
  for (const dir of CRD_DIRS) {
    it(`${dir}/ is what \`make crds\` generates from the schemas (run \`make crds\` if this fails)`, () => {
      for (const file of CRD_FILES)
        expect(readFileSync(`${dir}/${file}`, "utf8"), file).to.equal(crdYaml(file));
    });
  }

  it("crds/ holds only CustomResourceDefinitions, so that `kubectl apply -f crds/` works", () => {
    for (const file of readdirSync("crds")) {
      expect(readFileSync(`crds/${file}`, "utf8"), file).to.match(/^kind: CustomResourceDefinition$/m);
    }
  });

  it("carries the admission rules as CEL with the same messages", () => {
    const yaml = crdYaml(CRD_FILES[0] ?? "");
    expect(yaml).to.contain("x-kubernetes-validations");
    expect(yaml).to.contain("spec.targetRef and spec.selector are mutually exclusive");
    expect(yaml).not.to.contain("additionalProperties: false");
  });
});
