/**
 * Tells pod and container cgroups apart from every other cgroup by their directory path alone,
 * for the layouts the kubelet and the container runtimes create. Nothing here assumes where the
 * Kubernetes hierarchy starts: kubelets run with --cgroup-root, nodes run inside containers,
 * so any prefix is allowed (e.g. "process_api/abc/kube/kubepods/...").
 *
 * systemd driver (the kubelet's CgroupName.ToSystemd: each level's slice repeats its parents'
 * names joined by "-", and "-" inside a name becomes "_"):
 *   kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid_>.slice/cri-containerd-<id>.scope
 *   kubepods.slice/kubepods-pod<uid_>.slice/...                        (Guaranteed)
 *   <root>.slice/<root>-kubepods.slice/<root>-kubepods-besteffort.slice/<root>-kubepods-besteffort-pod<uid_>.slice/...
 * cgroupfs driver:
 *   <prefix>/kubepods/burstable/pod<uid>/<id>
 *   <prefix>/kubepods/pod<uid>/<id>                                    (Guaranteed)
 * Container cgroup names by runtime: `cri-containerd-<id>.scope` (containerd), `crio-<id>.scope`
 * or `crio-<id>` (CRI-O; its `crio-conmon-<id>` monitor is not a container), `docker-<id>.scope`
 * (Docker), a bare `<id>` (cgroupfs driver, any runtime). The pod sandbox ("pause") container
 * has a cgroup of its own and is reported like any other container.
 */
export type QosClass = "guaranteed" | "burstable" | "besteffort";
export type ContainerRuntime = "containerd" | "crio" | "docker" | "cgroupfs";

export interface CgroupIdentity {
  kind: "pod" | "container";
  /** dashed form, as in Pod.metadata.uid */
  podUID: string;
  /** as in containerStatuses[].containerID without the "<runtime>://" prefix */
  containerID?: string;
  qos: QosClass;
  runtime?: ContainerRuntime;
}

// A UUID (dashes, or underscores in systemd names) or the 32-hex hash the kubelet uses for static pods.
const UID = "[0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12}|[0-9a-f]{32}";
const SYSTEMD_POD = new RegExp(`^(?:.+-)?kubepods(?:-(burstable|besteffort))?-pod(${UID})\\.slice$`);
const CGROUPFS_POD = new RegExp(`^pod(${UID})$`);
const CONTAINER_ID = "[0-9a-f]{64}";
const CONTAINER: [RegExp, ContainerRuntime][] = [
  [new RegExp(`^cri-containerd-(${CONTAINER_ID})\\.scope$`), "containerd"],
  [new RegExp(`^crio-(${CONTAINER_ID})(?:\\.scope)?$`), "crio"],
  [new RegExp(`^docker-(${CONTAINER_ID})\\.scope$`), "docker"],
  [new RegExp(`^(${CONTAINER_ID})$`), "cgroupfs"],
];

/**
 * Identifies a pod or container cgroup from its path relative to a cgroup (memory) root.
 * Returns undefined for every other cgroup, including those nested below a container's own.
 */
export function identifyCgroup(relPath: string): CgroupIdentity | undefined {
  const segments = relPath.split("/").filter((s) => s !== "");
  const last = segments.length - 1;
  const pod = podAt(segments, last);
  if (pod) return { kind: "pod", ...pod };
  const parentPod = podAt(segments, last - 1);
  const container = containerOf(segments[last] ?? "");
  if (!parentPod || !container) return undefined;
  return { kind: "container", ...parentPod, ...container };
}

function podAt(segments: string[], i: number): { podUID: string; qos: QosClass } | undefined {
  const name = segments[i];
  if (name === undefined) return undefined;
  const systemd = SYSTEMD_POD.exec(name);
  if (systemd?.[2]) return { podUID: dashed(systemd[2]), qos: qosOf(systemd[1]) };
  const cgroupfs = CGROUPFS_POD.exec(name);
  if (!cgroupfs?.[1]) return undefined;
  // the cgroupfs driver names are generic ("pod..."), so the kubepods parent must be there too
  const parent = segments[i - 1];
  if (parent === "kubepods") return { podUID: dashed(cgroupfs[1]), qos: "guaranteed" };
  if ((parent === "burstable" || parent === "besteffort") && segments[i - 2] === "kubepods") {
    return { podUID: dashed(cgroupfs[1]), qos: parent };
  }
  return undefined;
}

function containerOf(name: string): { containerID: string; runtime: ContainerRuntime } | undefined {
  for (const [pattern, runtime] of CONTAINER) {
    const match = pattern.exec(name);
    if (match?.[1]) return { containerID: match[1], runtime };
  }
  return undefined;
}

function qosOf(name: string | undefined): QosClass {
  return name === "burstable" || name === "besteffort" ? name : "guaranteed";
}

function dashed(uid: string): string {
  return uid.replaceAll("_", "-");
}
