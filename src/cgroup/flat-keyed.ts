/**
 * Parses a "flat keyed" cgroup file: one `key value` pair per line (memory.stat, memory.events,
 * memory.events.local, memory.swap.events, v1 memory.oom_control). Keys come in any order and
 * kernels add new ones, so every well-formed line is kept; a malformed line is skipped rather
 * than failing the whole read, because one odd line must not hide the other counters.
 * Format: Documentation/admin-guide/cgroup-v2.rst, "Conventions" (flat keyed).
 */
export function parseFlatKeyed(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const match = /^\s*([A-Za-z0-9_.-]+)\s+(-?\d+)\s*$/.exec(line);
    if (!match?.[1] || match[2] === undefined) continue;
    const value = Number(match[2]);
    if (Number.isFinite(value)) setOwn(out, match[1], value); // hundreds of digits are junk, not Infinity
  }
  return out;
}

/** out[key] = value as an own property, even for a key such as `__proto__` that assignment would not store. */
export function setOwn(out: Record<string, number>, key: string, value: number): void {
  Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
}
