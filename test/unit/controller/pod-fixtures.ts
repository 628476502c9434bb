import { readFileSync } from "node:fs";
import { slimPod, type Pod } from "../../../src/kube/pod.js";

/**
 * Pod objects as a real kubelet (v1.37.2, local cluster) wrote them, in watch order: a Deployment
 * whose 64Mi container the kernel OOM-killed four times (CrashLoopBackOff in between), and a
 * restartPolicy Never pod killed once. Recorded with `kubectl get pods -w -o json`.
 */
export function recordedPodWatch(): Pod[] {
  return readFileSync("test/fixtures/pods/oom-watch.jsonl", "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => slimPod(JSON.parse(line) as Record<string, unknown>));
}
