// Renders a top table as `go tool pprof -top -unit=B` prints it (internal/report printText),
// or as the JSON the CLI promises.
import { percentage, scaledLabeler } from "./measure.js";
import type { ProfileInfo } from "./model.js";
import type { TopTable } from "./top.js";

/**
 * pprof's text report. Lines match pprof's byte for byte, trailing space included, except
 * "Time:", which is always UTC here (pprof uses the local zone).
 */
export function formatTopText(table: TopTable, info: ProfileInfo, outputUnit = "B"): string {
  const value = scaledLabeler(table.unit, outputUnit);
  const lines = profileLabels(table, info);
  lines.push(
    `Showing nodes accounting for ${value(table.shown)}, ${percentage(table.shown, table.total).trim()} of ${value(table.total)} total`,
  );
  if (table.total !== 0) {
    if (table.droppedNodes > 0) {
      const nodes = table.droppedNodes > 1 ? "nodes" : "node";
      lines.push(`Dropped ${table.droppedNodes} ${nodes} (cum <= ${value(table.droppedCutoff)})`);
    }
    const shownNodes = table.rows.length;
    if (shownNodes > 0 && shownNodes < table.nodesBeforeLimit) {
      lines.push(`Showing top ${shownNodes} nodes out of ${table.nodesBeforeLimit}`);
    }
  }
  lines.push(
    `${"flat".padStart(10)} ${"flat".padStart(5)}% ${"sum".padStart(5)}% ${"cum".padStart(10)} ${"cum".padStart(5)}%`,
  );
  let flatSum = 0;
  for (const row of table.rows) {
    flatSum += row.flat;
    const inline = row.inline ? ` (${row.inline})` : "";
    lines.push(
      `${value(row.flat).padStart(10)} ${percentage(row.flat, table.total)} ${percentage(flatSum, table.total)} ` +
        `${value(row.cum).padStart(10)} ${percentage(row.cum, table.total)}  ${row.function}${inline}`,
    );
  }
  return lines.join("\n") + "\n";
}

function profileLabels(table: TopTable, info: ProfileInfo): string[] {
  const labels: string[] = [];
  if (info.mainBinary !== "")
    labels.push(`File: ${info.mainBinary.slice(info.mainBinary.lastIndexOf("/") + 1)}`);
  if (info.buildId !== "") labels.push(`Build ID: ${info.buildId}`);
  labels.push(...info.comments.filter((c) => !c.startsWith("#")));
  labels.push(`Type: ${table.sampleType}`);
  if (info.docUrl !== "") labels.push(`Doc: ${info.docUrl}`);
  if (info.timeNanos !== 0) {
    const iso = new Date(Math.floor(info.timeNanos / 1e6)).toISOString();
    labels.push(`Time: ${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`);
  }
  if (info.durationNanos !== 0) labels.push(`Duration: ${goDuration(info.durationNanos)}`);
  return labels;
}

/** Go's time.Duration.String, e.g. "30s", "1m30.5s", "250ms". */
export function goDuration(ns: number): string {
  if (ns < 0) return `-${goDuration(-ns)}`;
  if (ns === 0) return "0s";
  if (ns < 1e3) return `${ns}ns`;
  if (ns < 1e6) return `${fraction(ns, 1e3)}µs`;
  if (ns < 1e9) return `${fraction(ns, 1e6)}ms`;
  const hours = Math.floor(ns / 3600e9);
  const minutes = Math.floor((ns % 3600e9) / 60e9);
  const seconds = fraction(ns % 60e9, 1e9) + "s";
  if (hours > 0) return `${hours}h${minutes}m${seconds}`;
  if (minutes > 0) return `${minutes}m${seconds}`;
  return seconds;
}

function fraction(ns: number, unit: number): string {
  const whole = Math.floor(ns / unit);
  const rest = Math.round(ns % unit);
  if (rest === 0) return String(whole);
  const digits = String(rest)
    .padStart(String(unit).length - 1, "0")
    .replace(/0+$/, "");
  return `${whole}.${digits}`;
}

/** The CLI's JSON: exactly sampleType, total and rows of function, flat, flatPercent, cum, cumPercent. */
export function formatTopJson(table: TopTable): string {
  const rows = table.rows.map((r) => ({
    function: r.function,
    flat: r.flat,
    flatPercent: r.flatPercent,
    cum: r.cum,
    cumPercent: r.cumPercent,
  }));
  return JSON.stringify({ sampleType: table.sampleType, total: table.total, rows }, null, 2) + "\n";
}
