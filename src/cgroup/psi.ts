import type { PressureLine } from "./sample.js";

/**
 * Parses a PSI file (memory.pressure):
 *   some avg10=0.00 avg60=0.00 avg300=0.00 total=0
 *   full avg10=0.00 avg60=0.00 avg300=0.00 total=0
 * avg* are percentages of wall time; total is cumulative stall time in microseconds
 * (Documentation/accounting/psi.rst), converted here to seconds so rates read directly as
 * "seconds stalled per second". Returns undefined unless both lines parse.
 */
export function parsePressure(text: string): { some: PressureLine; full: PressureLine } | undefined {
  let some: PressureLine | undefined;
  let full: PressureLine | undefined;
  for (const line of text.split("\n")) {
    const [kind, ...pairs] = line.trim().split(/\s+/);
    if (kind !== "some" && kind !== "full") continue;
    const parsed = parsePressureFields(pairs);
    if (!parsed) continue;
    if (kind === "some") some = parsed;
    else full = parsed;
  }
  return some && full ? { some, full } : undefined;
}

function parsePressureFields(pairs: string[]): PressureLine | undefined {
  const fields: Record<string, number> = {};
  for (const pair of pairs) {
    const match = /^([a-z0-9]+)=(\d+(?:\.\d+)?)$/.exec(pair);
    if (match?.[1] && match[2] !== undefined) fields[match[1]] = Number(match[2]);
  }
  const { avg10, avg60, avg300, total } = fields;
  if (avg10 === undefined || avg60 === undefined || avg300 === undefined || total === undefined) {
    return undefined;
  }
  return { avg10, avg60, avg300, total: total / 1e6 };
}
