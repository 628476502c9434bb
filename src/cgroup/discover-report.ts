import type { DiscoveredCgroup, ScanResult } from "./scan.js";

/** One row of `memlens agent discover`: a container cgroup, with what the agent needs to find it. */
export interface DiscoverEntry {
  podUID: string;
  containerID: string;
  qos: DiscoveredCgroup["qos"];
  runtime?: DiscoveredCgroup["runtime"];
  cgroupVersion: DiscoveredCgroup["version"];
  /** the cgroup mount mode of the root: v1, v2 or hybrid */
  cgroupMode: ScanResult["mode"];
  path: string;
  relPath: string;
}

/** Container cgroups only, sorted by pod then container so the output is stable. */
export function discoverEntries(scan: ScanResult): DiscoverEntry[] {
  const rows: DiscoverEntry[] = [];
  for (const c of scan.cgroups) {
    if (c.kind !== "container" || c.containerID === undefined) continue;
    const row: DiscoverEntry = {
      podUID: c.podUID,
      containerID: c.containerID,
      qos: c.qos,
      cgroupVersion: c.version,
      cgroupMode: scan.mode,
      path: c.path,
      relPath: c.relPath,
    };
    if (c.runtime !== undefined) row.runtime = c.runtime;
    rows.push(row);
  }
  return rows.sort((a, b) => a.podUID.localeCompare(b.podUID) || a.containerID.localeCompare(b.containerID));
}

/** A human-readable table; IDs are printed in full so they can be pasted into kubectl/crictl. */
export function formatDiscoverText(rows: DiscoverEntry[]): string {
  const header = ["POD UID", "CONTAINER ID", "QOS", "RUNTIME", "CGROUP", "PATH"];
  const cells = rows.map((r) => [r.podUID, r.containerID, r.qos, r.runtime ?? "-", r.cgroupVersion, r.path]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? "").length)));
  const line = (c: string[]) =>
    c
      .map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [header, ...cells].map(line).join("\n") + "\n";
}
