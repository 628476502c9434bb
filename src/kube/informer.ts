import type { Logger } from "pino";
import { ApiError, isGone, type KubeClient } from "./client.js";

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid: string;
  resourceVersion?: string;
  labels?: Record<string, string>;
}
export interface KubeObject {
  metadata: ObjectMeta;
}

export type InformerEvent = "add" | "update" | "delete";
type Handler<T> = (event: InformerEvent, obj: T, old?: T) => void;

export interface InformerOptions<T> {
  /** collection path, e.g. /api/v1/pods */
  path: string;
  fieldSelector?: string;
  labelSelector?: string;
  /** keeps only the fields the caller uses: the cache holds these */
  transform: (raw: Record<string, unknown>) => T;
  /** full relist this often, even when watches are healthy (default 10 min) */
  relistMs?: number;
  /** objects per list page (default 500, as client-go's pager): a big list never sits in memory whole */
  pageSize?: number;
  /** the values an object is filed under for `indexed(value)` (client-go's indexers, in one) */
  index?: (obj: T) => string[];
  log: Logger;
}

export const objectKey = (m: ObjectMeta) => (m.namespace ? `${m.namespace}/${m.name}` : m.name);

/**
 * List + watch into a local cache, supervised: any error (not only 410 Gone) relists after a
 * capped backoff, a watch that stays silent past its server-side timeout is dropped and
 * re-opened, and a full relist runs periodically so a missed event cannot persist.
 */
export class Informer<T extends KubeObject> {
  private readonly store = new Map<string, T>();
  /** index value -> the objects filed under it, by key */
  private readonly byIndex = new Map<string, Map<string, T>>();
  private readonly handlers: Handler<T>[] = [];
  private resourceVersion = "";
  private syncedOnce = false;
  private readonly abort = new AbortController();
  private running?: Promise<void>;

  constructor(
    private readonly client: KubeClient,
    private readonly opts: InformerOptions<T>,
  ) {}

  on(handler: Handler<T>): this {
    this.handlers.push(handler);
    return this;
  }
  get synced(): boolean {
    return this.syncedOnce;
  }
  get(key: string): T | undefined {
    return this.store.get(key);
  }
  /** the objects filed under an index value (opts.index), without a pass over the others */
  indexed(value: string): T[] {
    return [...(this.byIndex.get(value)?.values() ?? [])];
  }
  list(namespace?: string): T[] {
    const all = [...this.store.values()];
    return namespace === undefined ? all : all.filter((o) => o.metadata.namespace === namespace);
  }

  start(): void {
    this.running ??= this.run();
  }
  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
  }

  /** resolves once the first list has been loaded (or the informer stopped) */
  async waitForSync(): Promise<void> {
    while (!this.syncedOnce && !this.abort.signal.aborted) await sleep(50);
  }

  private put(key: string, obj: T): T | undefined {
    const old = this.store.get(key);
    if (old) this.unindex(key, old);
    this.store.set(key, obj);
    for (const v of this.opts.index?.(obj) ?? []) {
      const filed = this.byIndex.get(v) ?? new Map<string, T>();
      this.byIndex.set(v, filed.set(key, obj));
    }
    return old;
  }
  private remove(key: string): T | undefined {
    const old = this.store.get(key);
    if (old) this.unindex(key, old);
    this.store.delete(key);
    return old;
  }
  private unindex(key: string, obj: T): void {
    for (const v of this.opts.index?.(obj) ?? []) {
      const filed = this.byIndex.get(v);
      filed?.delete(key);
      if (filed?.size === 0) this.byIndex.delete(v);
    }
  }

  private emit(event: InformerEvent, obj: T, old?: T): void {
    for (const h of this.handlers) {
      try {
        h(event, obj, old);
      } catch (err) {
        this.opts.log.error({ err, path: this.opts.path }, "informer handler failed");
      }
    }
  }

  private async run(): Promise<void> {
    let failures = 0;
    const relistMs = this.opts.relistMs ?? 600_000;
    while (!this.abort.signal.aborted) {
      try {
        await this.relist();
        failures = 0;
        const relistAt = Date.now() + relistMs * (0.9 + Math.random() * 0.2);
        while (!this.abort.signal.aborted && Date.now() < relistAt) await this.watchOnce();
      } catch (err) {
        if (this.abort.signal.aborted) break;
        failures++;
        const delay = Math.min(30_000, 500 * 2 ** Math.min(failures, 6));
        if (isGone(err)) this.opts.log.info({ path: this.opts.path }, "watch expired (410): relisting");
        else
          this.opts.log.warn(
            { path: this.opts.path, err: errMessage(err), retryInMs: delay },
            "list/watch failed; retrying",
          );
        if (!isGone(err)) await sleep(delay, this.abort.signal);
      }
    }
  }

  private async relist(): Promise<void> {
    // page by page, each slimmed by transform before the next is read; an expired continue
    // token (410) fails the relist, which then starts over
    const fresh = new Map<string, T>();
    let resourceVersion = "";
    let cont: string | undefined;
    do {
      const page: {
        metadata: { resourceVersion: string; continue?: string };
        items: Record<string, unknown>[];
      } = await this.client.get(this.opts.path, {
        query: {
          fieldSelector: this.opts.fieldSelector,
          labelSelector: this.opts.labelSelector,
          limit: this.opts.pageSize ?? 500,
          continue: cont,
        },
        timeoutMs: 60_000,
        signal: this.abort.signal,
      });
      for (const raw of page.items) {
        const obj = this.opts.transform(raw);
        fresh.set(objectKey(obj.metadata), obj);
      }
      resourceVersion = page.metadata.resourceVersion;
      cont = page.metadata.continue || undefined;
    } while (cont);
    for (const [key, old] of this.store) {
      if (!fresh.has(key)) {
        this.remove(key);
        this.emit("delete", old);
      }
    }
    for (const [key, obj] of fresh) {
      const old = this.put(key, obj);
      if (!old) this.emit("add", obj);
      else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) this.emit("update", obj, old);
    }
    this.resourceVersion = resourceVersion;
    this.syncedOnce = true;
  }

  private async watchOnce(): Promise<void> {
    // the server ends the watch after timeoutSeconds; silence well past that means a stalled stream
    const timeoutSeconds = 60 + Math.floor(Math.random() * 60);
    await this.client.watch(
      this.opts.path,
      {
        resourceVersion: this.resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds,
        fieldSelector: this.opts.fieldSelector,
        labelSelector: this.opts.labelSelector,
      },
      (type, raw) => this.apply(type, raw),
      { idleMs: (timeoutSeconds + 15) * 1000, signal: this.abort.signal },
    );
  }

  private apply(type: string, raw: Record<string, unknown>): void {
    if (type === "ERROR") {
      const status = raw as { code?: number; message?: string };
      throw new ApiError(`watch ${this.opts.path}: ${status.message ?? "error"}`, status.code);
    }
    const rv = (raw.metadata as { resourceVersion?: string } | undefined)?.resourceVersion;
    if (rv) this.resourceVersion = rv;
    if (type === "BOOKMARK") return;
    const obj = this.opts.transform(raw);
    const key = objectKey(obj.metadata);
    if (type === "DELETED") {
      const old = this.remove(key);
      this.emit("delete", old ?? obj);
    } else {
      const old = this.put(key, obj);
      this.emit(old ? "update" : "add", obj, old);
    }
  }
}

export function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
