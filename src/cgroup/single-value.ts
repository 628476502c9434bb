/**
 * Single-value cgroup files. The kernel prints a limit either as a byte count or, for "no
 * limit", as `max` (v2) or PAGE_COUNTER_MAX * PAGE_SIZE (v1: 9223372036854771712 on 4 KiB
 * pages, which varies with the page size), so anything at or above 2^62 is read as unlimited.
 */
const UNLIMITED_FROM = 2 ** 62;

/** A byte count or counter: a non-negative integer, else undefined. */
export function parseCounter(text: string): number | undefined {
  const trimmed = text.trim();
  if (!/^\d+$/.test(trimmed)) return undefined;
  const value = Number(trimmed);
  return Number.isFinite(value) ? value : undefined; // hundreds of digits are junk, not Infinity
}

/** A limit: bytes, `null` for unlimited (`max` or >= 2^62), undefined when unparseable. */
export function parseLimit(text: string): number | null | undefined {
  const trimmed = text.trim();
  if (trimmed === "max") return null;
  const value = parseCounter(trimmed);
  if (value === undefined) return undefined;
  return value >= UNLIMITED_FROM ? null : value;
}

/** A 0/1 switch such as memory.oom.group. */
export function parseFlag(text: string): boolean | undefined {
  const trimmed = text.trim();
  if (trimmed === "0") return false;
  if (trimmed === "1") return true;
  return undefined;
}
