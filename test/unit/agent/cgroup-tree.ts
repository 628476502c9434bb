import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { loadTrace } from "../cgroup/fixtures.js";

export const UID = "11111111-2222-4333-8444-555555555555";
export const [APP, PAUSE] = ["a".repeat(64), "b".repeat(64)];

export async function cgroupDir(dir: string, files: Record<string, string>): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
}

/** A copied v1 /sys/fs/cgroup (cgroupfs driver): one burstable pod with an app and its pause container. */
export async function buildTree(root: string): Promise<void> {
  const files = loadTrace("v1-oom-fast-leak.jsonl").samples[3]?.files ?? {};
  await cgroupDir(join(root, "memory"), { "memory.usage_in_bytes": "1\n" });
  const pod = join(root, `memory/kubepods/burstable/pod${UID}`);
  await cgroupDir(pod, files);
  await cgroupDir(join(pod, APP), files);
  await cgroupDir(join(pod, PAUSE), { "memory.usage_in_bytes": "4096\n", "cgroup.procs": "1\n" });
}

export const v2PodDir = (root: string) =>
  join(
    root,
    `kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID.replaceAll("-", "_")}.slice`,
  );

/** A copied v2 /sys/fs/cgroup (systemd driver): the same pod, its app container only. */
export async function buildTreeV2(root: string): Promise<Record<string, string>> {
  const files = loadTrace("v2-oom-fast-leak.jsonl").samples[3]?.files ?? {};
  await cgroupDir(root, { "cgroup.controllers": "cpuset cpu io memory pids\n" });
  await cgroupDir(v2PodDir(root), files);
  await cgroupDir(join(v2PodDir(root), `cri-containerd-${APP}.scope`), files);
  return files;
}
