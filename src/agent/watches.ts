import { watch, type FSWatcher } from "node:fs";

/** inotify watches by key, each closed when removed, or when what it watched goes away. */
export class Watches {
  private readonly watchers = new Map<string, FSWatcher>();

  get size(): number {
    return this.watchers.size;
  }

  has(key: string): boolean {
    return this.watchers.has(key);
  }

  keys(): string[] {
    return [...this.watchers.keys()];
  }

  /** Watches `path` under `key`, once; throws when `path` cannot be watched (it is gone). */
  add(key: string, path: string, listener: (event: string, name: string | null) => void): void {
    if (this.watchers.has(key)) return;
    const watcher = watch(path, { persistent: false }, listener);
    watcher.on("error", () => this.remove(key));
    this.watchers.set(key, watcher);
  }

  remove(key: string): void {
    this.watchers.get(key)?.close();
    this.watchers.delete(key);
  }

  close(): void {
    for (const key of this.keys()) this.remove(key);
  }
}
