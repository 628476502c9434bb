import { expect } from "chai";
import { deployMemlens, kubectl } from "./kube.js";

const controller = "system:serviceaccount:memlens-system:memlens-controller";
const agent = "system:serviceaccount:memlens-system:memlens-agent";

async function can(user: string, verb: string, resource: string, ns?: string): Promise<boolean> {
  // "secrets/NAME" is one Secret by name; any other "resource/sub" a subresource
  const [res, sub] = resource.split("/");
  const named = res === "secrets" && sub !== undefined;
  const args = named
    ? ["auth", "can-i", verb, resource, "--as", user]
    : ["auth", "can-i", verb, res!, ...(sub ? [`--subresource=${sub}`] : []), "--as", user];
  const out = await kubectl([...args, ...(ns ? ["-n", ns] : ["--all-namespaces"])]).catch(
    (e: { output?: string }) => e.output ?? "",
  );
  return out.trim() === "yes";
}

describe("least-privilege RBAC (what the deployed identities may do)", function () {
  before(async function () {
    this.timeout(300_000);
    await deployMemlens();
  });

  const allowed: [string, string, string, string?][] = [
    [controller, "watch", "memoryinspections.memlens.dev"],
    [controller, "patch", "memoryinspections.memlens.dev/status"],
    [controller, "list", "pods"],
    [controller, "patch", "heapprofiles.memlens.dev"],
    [controller, "delete", "heapprofiles.memlens.dev"],
    [controller, "create", "events.events.k8s.io"],
    [controller, "update", "leases.coordination.k8s.io", "memlens-system"],
    [controller, "get", "secrets/memlens-agent-ca", "memlens-system"],
    [controller, "watch", "certificatesigningrequests.certificates.k8s.io"],
    [controller, "update", "certificatesigningrequests.certificates.k8s.io/approval"],
    [controller, "update", "certificatesigningrequests.certificates.k8s.io/status"],
    [agent, "create", "tokenreviews.authentication.k8s.io"],
    [agent, "watch", "pods"],
    [agent, "create", "certificatesigningrequests.certificates.k8s.io"],
  ];
  const denied: [string, string, string, string?][] = [
    [controller, "update", "memoryinspections.memlens.dev"],
    [controller, "patch", "memoryinspections.memlens.dev"],
    [controller, "delete", "pods"],
    [controller, "get", "secrets"],
    [controller, "get", "secrets/some-other-secret", "memlens-system"],
    [controller, "update", "certificatesigningrequests.certificates.k8s.io"],
    [controller, "get", "configmaps"],
    [controller, "get", "pods/proxy"],
    [controller, "update", "deployments.apps"],
    [controller, "update", "leases.coordination.k8s.io", "default"],
    [agent, "get", "secrets"],
    [agent, "list", "memoryinspections.memlens.dev"],
    [agent, "list", "heapprofiles.memlens.dev"],
    [agent, "create", "events.events.k8s.io"],
    [agent, "update", "certificatesigningrequests.certificates.k8s.io/approval"],
    [agent, "update", "certificatesigningrequests.certificates.k8s.io/status"],
  ];
  for (const [who, verb, res, ns] of allowed) {
    it(`${who.split(":").at(-1)} may ${verb} ${res}`, async () =>
      expect(await can(who, verb, res, ns)).to.equal(true));
  }
  for (const [who, verb, res, ns] of denied) {
    it(`${who.split(":").at(-1)} may not ${verb} ${res}`, async () =>
      expect(await can(who, verb, res, ns)).to.equal(false));
  }
});
