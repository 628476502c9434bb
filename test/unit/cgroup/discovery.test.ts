import { expect } from "chai";
import { identifyCgroup, type CgroupIdentity } from "../../../src/cgroup/discovery.js";
import {
  detectCgroupVersion,
  detectRootLayout,
  memoryHierarchyPath,
} from "../../../src/cgroup/root-layout.js";

const UID = "5f6a1c2e-7b8d-4e9f-a0b1-c2d3e4f5a6b7";
const UID_ = UID.replaceAll("-", "_");
const STATIC_UID = "0c3b8d8a2e5f4b6c9d1e7f8a9b0c1d2e"; // kubelet's md5-based UID of a static pod
const ID = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const ID2 = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

describe("identifyCgroup: one row per real layout", () => {
  const rows: [string, string, CgroupIdentity | undefined][] = [
    // systemd driver, containerd
    [
      "systemd burstable pod",
      `kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice`,
      { kind: "pod", podUID: UID, qos: "burstable" },
    ],
    [
      "systemd burstable containerd container",
      `kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/cri-containerd-${ID}.scope`,
      { kind: "container", podUID: UID, qos: "burstable", containerID: ID, runtime: "containerd" },
    ],
    [
      "systemd besteffort containerd container",
      `kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice/cri-containerd-${ID}.scope`,
      { kind: "container", podUID: UID, qos: "besteffort", containerID: ID, runtime: "containerd" },
    ],
    [
      "systemd guaranteed pod directly under kubepods.slice",
      `kubepods.slice/kubepods-pod${UID_}.slice`,
      { kind: "pod", podUID: UID, qos: "guaranteed" },
    ],
    [
      "systemd guaranteed containerd container",
      `kubepods.slice/kubepods-pod${UID_}.slice/cri-containerd-${ID}.scope`,
      { kind: "container", podUID: UID, qos: "guaranteed", containerID: ID, runtime: "containerd" },
    ],
    [
      "systemd CRI-O container",
      `kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/crio-${ID}.scope`,
      { kind: "container", podUID: UID, qos: "burstable", containerID: ID, runtime: "crio" },
    ],
    [
      "systemd CRI-O conmon is not a container",
      `kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/crio-conmon-${ID}.scope`,
      undefined,
    ],
    [
      "systemd CRI-O crun sub-cgroup belongs to its container",
      `kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/crio-${ID}.scope/container`,
      undefined,
    ],
    [
      "systemd Docker container",
      `kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice/docker-${ID}.scope`,
      { kind: "container", podUID: UID, qos: "besteffort", containerID: ID, runtime: "docker" },
    ],
    [
      "systemd with kubelet --cgroup-root=/custom (slice names repeat the parents)",
      `custom.slice/custom-kubepods.slice/custom-kubepods-burstable.slice/custom-kubepods-burstable-pod${UID_}.slice/cri-containerd-${ID}.scope`,
      { kind: "container", podUID: UID, qos: "burstable", containerID: ID, runtime: "containerd" },
    ],
    [
      "systemd inside a kind node container",
      `system.slice/docker-${ID2}.scope/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-pod${UID_}.slice/cri-containerd-${ID}.scope`,
      { kind: "container", podUID: UID, qos: "guaranteed", containerID: ID, runtime: "containerd" },
    ],
    [
      "systemd static pod (32-hex UID)",
      `kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${STATIC_UID}.slice/cri-containerd-${ID}.scope`,
      { kind: "container", podUID: STATIC_UID, qos: "burstable", containerID: ID, runtime: "containerd" },
    ],
    // cgroupfs driver
    [
      "cgroupfs burstable pod",
      `kubepods/burstable/pod${UID}`,
      { kind: "pod", podUID: UID, qos: "burstable" },
    ],
    [
      "cgroupfs burstable container",
      `kubepods/burstable/pod${UID}/${ID}`,
      { kind: "container", podUID: UID, qos: "burstable", containerID: ID, runtime: "cgroupfs" },
    ],
    [
      "cgroupfs besteffort container",
      `kubepods/besteffort/pod${UID}/${ID}`,
      { kind: "container", podUID: UID, qos: "besteffort", containerID: ID, runtime: "cgroupfs" },
    ],
    [
      "cgroupfs guaranteed pod (no qos level)",
      `kubepods/pod${UID}`,
      { kind: "pod", podUID: UID, qos: "guaranteed" },
    ],
    [
      "cgroupfs guaranteed container",
      `kubepods/pod${UID}/${ID}`,
      { kind: "container", podUID: UID, qos: "guaranteed", containerID: ID, runtime: "cgroupfs" },
    ],
    [
      "cgroupfs under a --cgroup-root prefix (this machine's local cluster)",
      `/process_api/de888fd02ea72220eebfe5970e0564a2/kube/kubepods/burstable/pod${UID}/${ID}`,
      { kind: "container", podUID: UID, qos: "burstable", containerID: ID, runtime: "cgroupfs" },
    ],
    [
      "cgroupfs CRI-O container",
      `kubepods/burstable/pod${UID}/crio-${ID}`,
      { kind: "container", podUID: UID, qos: "burstable", containerID: ID, runtime: "crio" },
    ],
    ["cgroupfs CRI-O conmon", `kubepods/burstable/pod${UID}/crio-conmon-${ID}`, undefined],
    // not pod or container cgroups
    ["kubepods root", "kubepods", undefined],
    ["qos level", "kubepods/burstable", undefined],
    ["systemd qos slice", "kubepods.slice/kubepods-besteffort.slice", undefined],
    ["a system service", "system.slice/containerd.service", undefined],
    ["a docker container outside Kubernetes", `system.slice/docker-${ID}.scope`, undefined],
    ["pod<uid> without kubepods parent", `other/pod${UID}/${ID}`, undefined],
    ["not a uid", "kubepods/burstable/podnotauid/" + ID, undefined],
    ["short container id", `kubepods/burstable/pod${UID}/0123abc`, undefined],
    ["empty path", "", undefined],
  ];
  for (const [name, path, want] of rows) {
    it(name, () => expect(identifyCgroup(path)).to.deep.equal(want));
  }
});

describe("cgroup root layout", () => {
  const rows: [string, string[], ReturnType<typeof detectRootLayout>][] = [
    [
      "v2 unified mount",
      ["cgroup.controllers", "cgroup.procs", "kubepods.slice", "system.slice", "memory.stat"],
      { mode: "v2", version: "v2", memoryDir: "" },
    ],
    [
      "v1 (legacy)",
      ["blkio", "cpu", "memory", "pids", "systemd"],
      { mode: "v1", version: "v1", memoryDir: "memory" },
    ],
    [
      "hybrid (this machine)",
      ["blkio", "cpu", "cpuacct", "memory", "pids", "systemd", "unified"],
      { mode: "hybrid", version: "v1", memoryDir: "memory" },
    ],
    [
      "a v1 memory hierarchy given directly",
      ["cgroup.procs", "memory.usage_in_bytes", "memory.stat", "kubepods"],
      { mode: "v1", version: "v1", memoryDir: "" },
    ],
    ["an empty or unrelated directory", ["etc", "usr"], undefined],
  ];
  for (const [name, entries, want] of rows) {
    it(name, () => {
      expect(detectRootLayout(entries)).to.deep.equal(want);
      expect(detectCgroupVersion(entries)).to.equal(want?.mode);
    });
  }

  it("puts the memory hierarchy at the root on v2 and under memory/ on v1", () => {
    expect(memoryHierarchyPath("/sys/fs/cgroup", { mode: "v2", version: "v2", memoryDir: "" })).to.equal(
      "/sys/fs/cgroup",
    );
    expect(
      memoryHierarchyPath("/sys/fs/cgroup", { mode: "hybrid", version: "v1", memoryDir: "memory" }),
    ).to.equal("/sys/fs/cgroup/memory");
  });
});
