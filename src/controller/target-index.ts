import {
  MemoryInspectionSpecSchema,
  type LabelSelector,
  type MemoryInspection,
} from "../api/memoryinspection.js";
import { objectKey } from "../kube/informer.js";
import type { Pod } from "../kube/pod.js";
import { matchesSelector } from "./targets.js";

/** What one inspection was indexed under, so that a change or a delete removes exactly that. */
interface Entry {
  refKey?: string;
  labelKey?: string;
  namespace: string;
}

const refKey = (namespace: string, kind: string, name: string) => `${namespace}/${kind}/${name}`;
const labelKey = (namespace: string, k: string, v: string) => `${namespace}/${k}=${v}`;

/**
 * The workloads a pod can belong to, by name from its owner references: the owner itself, a
 * ReplicaSet's Deployment (name minus the pod-template-hash) and a Job's CronJob (name minus the
 * scheduled time). A name guess can only add an inspection to wake, never lose one: the
 * reconcile resolves the target exactly (by UIDs) anyway.
 */
export function candidateWorkloads(pod: Pod): { kind: string; name: string }[] {
  const out = [{ kind: "Pod", name: pod.metadata.name }];
  const hash = pod.metadata.labels?.["pod-template-hash"];
  for (const o of pod.metadata.ownerReferences ?? []) {
    out.push({ kind: o.kind, name: o.name });
    if (o.kind === "ReplicaSet" && hash && o.name.endsWith(`-${hash}`))
      out.push({ kind: "Deployment", name: o.name.slice(0, -hash.length - 1) });
    const cron = o.kind === "Job" ? /^(.+)-\d+$/.exec(o.name) : null;
    if (cron?.[1]) out.push({ kind: "CronJob", name: cron[1] });
  }
  return out;
}

/**
 * Which MemoryInspections target a pod, without looking at the other inspections: targetRefs are
 * indexed by (namespace, kind, name), selectors by their first matchLabels pair (a selector with
 * no matchLabels is checked against every pod of its namespace). Kept up to date from the
 * inspection informer's events, so a pod event wakes only the inspections it concerns.
 */
export class TargetIndex {
  private readonly entries = new Map<string, Entry>();
  private readonly byRef = new Map<string, Bucket>();
  /** selector inspections, by their first matchLabels pair or (none) by namespace */
  private readonly byLabel = new Map<string, Bucket>();
  private readonly unkeyed = new Map<string, Bucket>();

  get size(): number {
    return this.entries.size;
  }

  /** (re)indexes an inspection from its spec; an invalid or suspended one targets nothing */
  set(mi: MemoryInspection): void {
    const key = objectKey(mi.metadata);
    this.delete(key);
    const parsed = MemoryInspectionSpecSchema.safeParse(mi.spec ?? {});
    if (!parsed.success || parsed.data.suspend) return;
    const ns = mi.metadata.namespace;
    const entry: Entry = { namespace: ns };
    const { targetRef, selector } = parsed.data;
    if (targetRef) {
      entry.refKey = refKey(ns, targetRef.kind, targetRef.name);
      addTo(this.byRef, entry.refKey, key);
    } else if (selector) {
      const first = Object.entries(selector.matchLabels ?? {})[0];
      if (first) {
        entry.labelKey = labelKey(ns, first[0], first[1]);
        addTo(this.byLabel, entry.labelKey, key, selector);
      } else addTo(this.unkeyed, ns, key, selector);
    }
    this.entries.set(key, entry);
  }

  delete(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    if (e.refKey) removeFrom(this.byRef, e.refKey, key);
    if (e.labelKey) removeFrom(this.byLabel, e.labelKey, key);
    removeFrom(this.unkeyed, e.namespace, key);
  }

  /** the keys of the inspections that target this pod (or its previous version, whose labels may differ) */
  inspectionsFor(pod: Pod, old?: Pod): Set<string> {
    const out = new Set<string>();
    for (const p of old ? [pod, old] : [pod]) {
      const ns = p.metadata.namespace ?? "default";
      for (const w of candidateWorkloads(p))
        for (const k of this.byRef.get(refKey(ns, w.kind, w.name))?.keys() ?? []) out.add(k);
      const labels = p.metadata.labels ?? {};
      for (const [k, v] of Object.entries(labels))
        for (const [key, sel] of this.byLabel.get(labelKey(ns, k, v)) ?? [])
          if (sel && matchesSelector(labels, sel)) out.add(key);
      for (const [key, sel] of this.unkeyed.get(ns) ?? [])
        if (sel && matchesSelector(labels, sel)) out.add(key);
    }
    return out;
  }
}

/** key -> selector (undefined for a targetRef: no label check) */
type Bucket = Map<string, LabelSelector | undefined>;

function addTo(index: Map<string, Bucket>, at: string, key: string, sel?: LabelSelector) {
  index.set(at, (index.get(at) ?? new Map<string, LabelSelector | undefined>()).set(key, sel));
}

function removeFrom(index: Map<string, Bucket>, at: string, key: string) {
  const b = index.get(at);
  if (!b) return;
  b.delete(key);
  if (b.size === 0) index.delete(at);
}
