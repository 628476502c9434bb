import { expect } from "chai";
import { setCondition } from "../../../src/controller/conditions.js";

describe("setCondition", () => {
  const t1 = new Date("2026-01-01T00:00:00Z");
  const t2 = new Date("2026-01-01T01:00:00Z");
  it("keeps lastTransitionTime while the status stays", () => {
    const a = setCondition([], { type: "Ready", status: "True", reason: "Inspected", message: "a" }, t1);
    const b = setCondition(a, { type: "Ready", status: "True", reason: "Inspected", message: "b" }, t2);
    expect(b[0]?.lastTransitionTime).to.equal(t1.toISOString());
    expect(b[0]?.message).to.equal("b");
  });
  it("changes it on a flip", () => {
    const a = setCondition([], { type: "Ready", status: "True", reason: "Inspected", message: "a" }, t1);
    const b = setCondition(a, { type: "Ready", status: "False", reason: "TargetNotFound", message: "b" }, t2);
    expect(b[0]?.lastTransitionTime).to.equal(t2.toISOString());
  });
  it("orders the types as documented", () => {
    let c = setCondition([], { type: "OOMKilled", status: "False", reason: "NoOOMKills", message: "" }, t1);
    c = setCondition(c, { type: "Ready", status: "True", reason: "Inspected", message: "" }, t1);
    expect(c.map((x) => x.type)).to.deep.equal(["Ready", "OOMKilled"]);
  });
});
