/**
 * A keyed, de-duplicating work queue in the manner of client-go's: a key waits at most once,
 * is never handed to two workers at once (a key added while in progress waits until done), and
 * failed keys come back after a per-key exponential backoff. Urgent keys (something changed)
 * are handed out before the others (periodic resyncs, retries): a burst of resyncs never holds
 * up the reaction to a change.
 */
export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly urgent: string[] = [];
  private readonly dirty = new Set<string>();
  /** dirty keys that were added as urgent */
  private readonly urgentKeys = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private waiters: ((key: string | undefined) => void)[] = [];
  private closed = false;

  constructor(
    private readonly baseDelayMs = 200,
    private readonly maxDelayMs = 300_000,
  ) {}

  get length(): number {
    return this.urgent.length + this.queue.length;
  }

  add(key: string, urgent = false): void {
    if (this.closed) return;
    if (this.dirty.has(key)) {
      // already waiting: an urgent add moves it ahead of the others
      if (urgent && !this.urgentKeys.has(key)) {
        this.urgentKeys.add(key);
        const i = this.queue.indexOf(key);
        if (i >= 0) {
          this.queue.splice(i, 1);
          this.urgent.push(key);
        }
      }
      return;
    }
    this.dirty.add(key);
    if (urgent) this.urgentKeys.add(key);
    if (this.processing.has(key)) return;
    const waiter = this.waiters.shift();
    if (waiter) {
      this.take(key);
      waiter(key);
    } else (urgent ? this.urgent : this.queue).push(key);
  }

  private take(key: string): void {
    this.dirty.delete(key);
    this.urgentKeys.delete(key);
    this.processing.add(key);
  }

  /** adds the key after a delay; an earlier pending time for the same key wins */
  addAfter(key: string, delayMs: number): void {
    if (this.closed) return;
    if (delayMs <= 0) return this.add(key);
    const at = Date.now() + delayMs;
    const pending = this.timers.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.timers.set(key, { at, timer });
  }

  /** re-adds a failed key after its backoff; returns that delay */
  addRateLimited(key: string, minDelayMs = 0): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    const delay = Math.max(minDelayMs, Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** n));
    this.addAfter(key, delay);
    return delay;
  }

  /** clears a key's backoff after a success */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /** the next key, or undefined once shut down */
  get(): Promise<string | undefined> {
    const key = this.urgent.shift() ?? this.queue.shift();
    if (key !== undefined) {
      this.take(key);
      return Promise.resolve(key);
    }
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key)) {
      const urgent = this.urgentKeys.has(key);
      this.dirty.delete(key);
      this.urgentKeys.delete(key);
      this.add(key, urgent);
    }
  }

  shutdown(): void {
    this.closed = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    for (const w of this.waiters) w(undefined);
    this.waiters = [];
  }
}
