import { expect } from "chai";
import type { MemoryInspection } from "../../../src/api/memoryinspection.js";
import { candidateWorkloads, TargetIndex } from "../../../src/controller/target-index.js";
import type { OwnerRef, Pod } from "../../../src/kube/pod.js";

const mi = (name: string, spec: unknown, namespace = "shop"): MemoryInspection => ({
  apiVersion: "memlens.dev/v1alpha1",
  kind: "MemoryInspection",
  metadata: { name, namespace, uid: `uid-${name}`, generation: 1 },
  spec,
});

const pod = (
  name: string,
  labels: Record<string, string> = {},
  owners: Omit<OwnerRef, "uid">[] = [],
  namespace = "shop",
): Pod => ({
  metadata: {
    name,
    namespace,
    uid: `uid-${name}`,
    labels,
    ownerReferences: owners.map((o) => ({ ...o, uid: `uid-${o.name}`, controller: true })),
  },
  spec: { containers: [{ name: "app" }] },
  status: {},
});

const index = new TargetIndex();
for (const m of [
  mi("by-deployment", { targetRef: { kind: "Deployment", name: "catalog" } }),
  mi("by-replicaset", { targetRef: { kind: "ReplicaSet", name: "catalog-5d8f7c9b4" } }),
  mi("by-statefulset", { targetRef: { kind: "StatefulSet", name: "db" } }),
  mi("by-daemonset", { targetRef: { kind: "DaemonSet", name: "logs" } }),
  mi("by-job", { targetRef: { kind: "Job", name: "backup-29012345" } }),
  mi("by-cronjob", { targetRef: { kind: "CronJob", name: "backup" } }),
  mi("by-pod", { targetRef: { kind: "Pod", name: "solo" } }),
  mi("by-labels", { selector: { matchLabels: { app: "catalog", tier: "web" } } }),
  mi("by-expression", { selector: { matchExpressions: [{ key: "team", operator: "In", values: ["a"] }] } }),
  mi("other-namespace", { targetRef: { kind: "Deployment", name: "catalog" } }, "elsewhere"),
  mi("suspended", { targetRef: { kind: "Deployment", name: "catalog" }, suspend: true }),
  mi("invalid", {
    targetRef: { kind: "Deployment", name: "catalog" },
    selector: { matchLabels: { a: "b" } },
  }),
])
  index.set(m);

const rs = { kind: "ReplicaSet", name: "catalog-5d8f7c9b4" };
const cases: { what: string; pod: Pod; want: string[] }[] = [
  {
    what: "a Deployment's pod: its Deployment, its ReplicaSet and a matching selector",
    pod: pod("catalog-5d8f7c9b4-x2x9z", { app: "catalog", tier: "web", "pod-template-hash": "5d8f7c9b4" }, [
      rs,
    ]),
    want: ["shop/by-deployment", "shop/by-replicaset", "shop/by-labels"],
  },
  {
    what: "a selector needs all its labels",
    pod: pod("web-1", { app: "catalog" }),
    want: [],
  },
  {
    what: "a selector with only expressions is checked against every pod",
    pod: pod("web-2", { team: "a" }),
    want: ["shop/by-expression"],
  },
  {
    what: "a StatefulSet's pod",
    pod: pod("db-0", {}, [{ kind: "StatefulSet", name: "db" }]),
    want: ["shop/by-statefulset"],
  },
  {
    what: "a DaemonSet's pod",
    pod: pod("logs-abcde", {}, [{ kind: "DaemonSet", name: "logs" }]),
    want: ["shop/by-daemonset"],
  },
  {
    what: "a CronJob's pod: its Job and its CronJob",
    pod: pod("backup-29012345-q8k2p", {}, [{ kind: "Job", name: "backup-29012345" }]),
    want: ["shop/by-job", "shop/by-cronjob"],
  },
  {
    what: "a bare pod by name",
    pod: pod("solo"),
    want: ["shop/by-pod"],
  },
  {
    what: "another namespace's inspections only",
    pod: pod("catalog-5d8f7c9b4-aaaaa", { "pod-template-hash": "5d8f7c9b4" }, [rs], "elsewhere"),
    want: ["elsewhere/other-namespace"],
  },
];

describe("TargetIndex: pod events wake only the inspections that target the pod", () => {
  for (const c of cases) {
    it(c.what, () => {
      expect([...index.inspectionsFor(c.pod)].sort()).to.deep.equal([...c.want].sort());
    });
  }

  it("a pod whose labels changed wakes the inspections of its old labels too", () => {
    const before = pod("web-3", { app: "catalog", tier: "web" });
    const after = pod("web-3", { app: "catalog", tier: "batch" });
    expect([...index.inspectionsFor(after, before)]).to.deep.equal(["shop/by-labels"]);
  });

  it("follows an inspection's spec changes and deletion", () => {
    const idx = new TargetIndex();
    const p = pod("api-1", { app: "api" });
    idx.set(mi("watch", { selector: { matchLabels: { app: "web" } } }));
    expect(idx.inspectionsFor(p).size).to.equal(0);
    idx.set(mi("watch", { selector: { matchLabels: { app: "api" } } }));
    expect([...idx.inspectionsFor(p)]).to.deep.equal(["shop/watch"]);
    idx.set(mi("watch", { selector: { matchLabels: { app: "api" } }, suspend: true }));
    expect(idx.inspectionsFor(p).size).to.equal(0);
    idx.set(mi("watch", { targetRef: { kind: "Pod", name: "api-1" } }));
    expect([...idx.inspectionsFor(p)]).to.deep.equal(["shop/watch"]);
    idx.delete("shop/watch");
    expect(idx.inspectionsFor(p).size).to.equal(0);
    expect(idx.size).to.equal(0);
  });

  it("stays a lookup at 1000 inspections in one namespace", () => {
    const idx = new TargetIndex();
    for (let i = 0; i < 1000; i++)
      idx.set(mi(`mi-${i}`, { selector: { matchLabels: { inspection: `mi-${i}` } } }));
    expect([...idx.inspectionsFor(pod("p", { inspection: "mi-417", app: "x" }))]).to.deep.equal([
      "shop/mi-417",
    ]);
  });
});

describe("candidateWorkloads", () => {
  it("names a ReplicaSet's Deployment only when the pod-template-hash says so", () => {
    const named = (p: Pod) => candidateWorkloads(p).map((w) => `${w.kind}/${w.name}`);
    expect(
      named(pod("x", { "pod-template-hash": "abc" }, [{ kind: "ReplicaSet", name: "web-abc" }])),
    ).to.deep.equal(["Pod/x", "ReplicaSet/web-abc", "Deployment/web"]);
    expect(named(pod("y", {}, [{ kind: "ReplicaSet", name: "web-abc" }]))).to.deep.equal([
      "Pod/y",
      "ReplicaSet/web-abc",
    ]);
  });
});
