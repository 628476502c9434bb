import type { Logger } from "pino";
import { isConflict, isNotFound, type KubeClient } from "./client.js";
import { errMessage, sleep } from "./informer.js";
import { microTime } from "./events.js";

export interface LeaderOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

export const LEADER_DEFAULTS = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

interface Lease {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

/**
 * Leader election on a coordination.k8s.io Lease, as client-go's leaderelection does it: a
 * candidate takes the lease when its holder has not renewed it for the lease duration (judged by
 * when this process last saw the record change, not by clocks across machines); the leader
 * renews every retry period and steps down when it cannot renew within the renew deadline.
 */
export class LeaderElector {
  private observed?: { record: string; at: number };
  private leading = false;

  constructor(
    private readonly client: KubeClient,
    private readonly opts: LeaderOptions,
    private readonly log: Logger,
  ) {}

  get isLeader(): boolean {
    return this.leading;
  }

  private get path() {
    return `/apis/coordination.k8s.io/v1/namespaces/${this.opts.namespace}/leases/${this.opts.name}`;
  }

  /** Blocks until this process leads, then calls onStarted; returns when leadership is lost or the signal aborts. */
  async run(signal: AbortSignal, onStarted: () => void): Promise<void> {
    while (!signal.aborted && !(await this.tryAcquireOrRenew())) await sleep(this.opts.retryPeriodMs, signal);
    if (signal.aborted) return;
    this.leading = true;
    this.log.info(
      { lease: `${this.opts.namespace}/${this.opts.name}`, identity: this.opts.identity },
      "became leader",
    );
    onStarted();
    let lastRenew = Date.now();
    while (!signal.aborted) {
      await sleep(this.opts.retryPeriodMs, signal);
      if (signal.aborted) break;
      if (await this.tryAcquireOrRenew()) lastRenew = Date.now();
      else if (Date.now() - lastRenew > this.opts.renewDeadlineMs) {
        this.leading = false;
        this.log.error({ lease: `${this.opts.namespace}/${this.opts.name}` }, "lost leadership");
        return;
      }
    }
  }

  /** Gives the lease up at shutdown so a standby takes over at once. */
  async release(): Promise<void> {
    if (!this.leading) return;
    this.leading = false;
    try {
      const lease = await this.client.get<Lease>(this.path);
      if (lease.spec.holderIdentity !== this.opts.identity) return;
      await this.client.request("PUT", this.path, {
        body: {
          ...lease,
          spec: {
            ...lease.spec,
            holderIdentity: "",
            leaseDurationSeconds: 1,
            renewTime: microTime(new Date()),
          },
        },
      });
      this.log.info({ lease: `${this.opts.namespace}/${this.opts.name}` }, "released leadership");
    } catch (err) {
      this.log.warn({ err: errMessage(err) }, "could not release the lease");
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = new Date();
    const durationS = Math.ceil(this.opts.leaseDurationMs / 1000);
    let lease: Lease | undefined;
    try {
      lease = await this.client.get<Lease>(this.path);
    } catch (err) {
      if (!isNotFound(err)) {
        this.log.warn({ err: errMessage(err) }, "could not read the leader lease");
        return false;
      }
    }
    if (!lease) {
      try {
        await this.client.request(
          "POST",
          `/apis/coordination.k8s.io/v1/namespaces/${this.opts.namespace}/leases`,
          {
            body: {
              apiVersion: "coordination.k8s.io/v1",
              kind: "Lease",
              metadata: { name: this.opts.name, namespace: this.opts.namespace },
              spec: {
                holderIdentity: this.opts.identity,
                leaseDurationSeconds: durationS,
                acquireTime: microTime(now),
                renewTime: microTime(now),
                leaseTransitions: 0,
              },
            },
          },
        );
        return true;
      } catch (err) {
        if (!isConflict(err)) this.log.warn({ err: errMessage(err) }, "could not create the leader lease");
        return false;
      }
    }
    const record = JSON.stringify(lease.spec);
    if (this.observed?.record !== record) this.observed = { record, at: Date.now() };
    const holder = lease.spec.holderIdentity ?? "";
    const mine = holder === this.opts.identity;
    const expired = Date.now() - this.observed.at > (lease.spec.leaseDurationSeconds ?? durationS) * 1000;
    if (!mine && holder !== "" && !expired) return false;
    const spec = {
      holderIdentity: this.opts.identity,
      leaseDurationSeconds: durationS,
      acquireTime: mine ? lease.spec.acquireTime : microTime(now),
      renewTime: microTime(now),
      leaseTransitions: (lease.spec.leaseTransitions ?? 0) + (mine ? 0 : 1),
    };
    try {
      // the resourceVersion in the body makes this a compare-and-swap: two candidates cannot both win
      await this.client.request("PUT", this.path, { body: { ...lease, spec } });
      this.observed = { record: JSON.stringify(spec), at: Date.now() };
      return true;
    } catch (err) {
      if (!isConflict(err)) this.log.warn({ err: errMessage(err) }, "could not update the leader lease");
      return false;
    }
  }
}
