import { expect } from "chai";
import { EXIT, programName, UsageError } from "../../../src/cli/command.js";
import { workloadRef } from "../../../src/cli/commands/inspect.js";

describe("kubectl memlens: names as kubectl users write them", () => {
  it("takes kubectl's kinds, short names and plurals", () => {
    expect(workloadRef("deploy/catalog")).to.deep.equal({ kind: "Deployment", name: "catalog" });
    expect(workloadRef("deployments.apps/catalog")).to.deep.equal({ kind: "Deployment", name: "catalog" });
    expect(workloadRef("sts/db")).to.deep.equal({ kind: "StatefulSet", name: "db" });
    expect(workloadRef("CronJob/report")).to.deep.equal({ kind: "CronJob", name: "report" });
    expect(workloadRef("po/web-1")).to.deep.equal({ kind: "Pod", name: "web-1" });
  });

  it("refuses what is not a workload, naming the kinds it takes", () => {
    for (const bad of ["service/web", "catalog", "deploy/", "deploy/a/b"])
      expect(() => workloadRef(bad), bad).to.throw(
        UsageError,
        /KIND is deploy, sts, ds, rs, job, cronjob or pod/,
      );
  });

  it("calls itself what the user typed: kubectl memlens as the plugin, memlens otherwise", () => {
    expect(programName("/usr/local/bin/kubectl-memlens")).to.equal("kubectl memlens");
    expect(programName("/usr/lib/node_modules/memlens/dist/src/cli/main.js")).to.equal("memlens");
    expect(programName("/usr/local/bin/memlens")).to.equal("memlens");
    expect(EXIT).to.deep.equal({ ok: 0, error: 1, usage: 2, findings: 3 });
  });
});
