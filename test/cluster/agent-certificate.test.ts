import { expect } from "chai";
import { X509Certificate } from "node:crypto";
import { connect, type PeerCertificate } from "node:tls";
import {
  AGENT_CA_SECRET,
  AGENT_SIGNER_NAME,
  type CertificateSigningRequest,
} from "../../src/pki/agent-certificate.js";
import { newKey } from "../../src/pki/certificate.js";
import { certificateRequestPem } from "../../src/pki/csr.js";
import { agentPodOn, deployMemlens, eventually, getJson, kubectl, NODE_V1, NODE_V2 } from "./kube.js";

/** The agents' addresses on this cluster (config/local/agent.yaml): their pod IPs. */
const AGENTS = [
  { node: NODE_V1, ip: "127.0.0.1" },
  { node: NODE_V2, ip: "127.0.0.2" },
] as const;

/** The certificate an agent presents on its port, and whether it verifies against `ca`. */
function presented(
  ip: string,
  ca: string,
): Promise<{ cert: X509Certificate; authorized: boolean; error?: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: ip, port: 9137, ca, rejectUnauthorized: false }, () => {
      const peer: PeerCertificate = socket.getPeerCertificate();
      resolve({
        cert: new X509Certificate(peer.raw),
        authorized: socket.authorized,
        error: socket.authorizationError?.message,
      });
      socket.end();
    });
    socket.on("error", reject);
    socket.setTimeout(10_000, () => socket.destroy(new Error("timeout")));
  });
}

/** A CertificateSigningRequest for the memlens signer, made by whoever `token` is (default: the admin). */
async function requestCertificate(
  name: string,
  commonName: string,
  ips: string[],
  token?: string,
): Promise<void> {
  const csr = {
    apiVersion: "certificates.k8s.io/v1",
    kind: "CertificateSigningRequest",
    metadata: { name },
    spec: {
      request: Buffer.from(certificateRequestPem({ commonName, dnsNames: [], ips }, newKey())).toString(
        "base64",
      ),
      signerName: AGENT_SIGNER_NAME,
      usages: ["digital signature", "key encipherment", "server auth"],
      expirationSeconds: 3600,
    },
  };
  await kubectl([...(token ? [`--token=${token}`] : []), "create", "-f", "-"], JSON.stringify(csr));
}

/** How the signer concluded on a request: the Denied condition's message, and no certificate. */
async function denial(name: string): Promise<string> {
  return eventually(`${name} denied`, 30_000, async () => {
    const csr = await getJson<CertificateSigningRequest>(["get", "csr", name]);
    const denied = csr.status?.conditions?.find((c) => c.type === "Denied");
    if (!denied) return undefined;
    expect(csr.status?.certificate).to.equal(undefined);
    return denied.message ?? "";
  });
}

describe("agent serving certificates: signed by memlens for each agent pod, verified by the controller", function () {
  const made: string[] = [];
  let caPem: string;

  before(async function () {
    this.timeout(300_000);
    await deployMemlens();
    const secret = await getJson<{ type: string; data: Record<string, string> }>([
      "-n",
      "memlens-system",
      "get",
      "secret",
      AGENT_CA_SECRET,
    ]);
    expect(secret.type).to.equal("kubernetes.io/tls");
    caPem = Buffer.from(secret.data["tls.crt"] ?? "", "base64").toString();
  });
  after(async () => {
    if (made.length) await kubectl(["delete", "csr", ...made, "--ignore-not-found"]);
  });

  for (const { node, ip } of AGENTS)
    it(`the agent on ${node} serves a certificate from the memlens agent CA for ${ip} and its node`, async function () {
      this.timeout(90_000);
      const ca = new X509Certificate(caPem);
      const { cert, authorized, error } = await eventually(
        `a signed certificate on ${ip}:9137`,
        60_000,
        async () => {
          const p = await presented(ip, caPem);
          return p.authorized ? p : undefined;
        },
      );
      expect(authorized, error).to.equal(true);
      expect(cert.subject).to.equal(`CN=memlens-agent:${node}`);
      expect(cert.verify(ca.publicKey)).to.equal(true);
      expect(cert.checkIP(ip)).to.equal(ip);
      expect(cert.subjectAltName).to.equal(`IP Address:${ip}`);
      const lifetimeH = (Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / 3_600_000;
      expect(lifetimeH).to.be.within(24, 24.2); // asked-for 24 h, valid from 5 min before signing
    });

  it("the agents' requests were made with their pod-bound tokens and approved by the controller", async () => {
    const csrs = await getJson<{ items: CertificateSigningRequest[] }>(["get", "csr"]);
    const ours = csrs.items.filter((c) => c.spec.signerName === AGENT_SIGNER_NAME && c.status?.certificate);
    for (const { node } of AGENTS) {
      const mine = ours.filter((c) => c.spec.extra?.["authentication.kubernetes.io/node-name"]?.[0] === node);
      expect(mine.length, `issued requests from ${node}`).to.be.greaterThan(0);
      for (const c of mine) {
        expect(c.spec.username).to.equal("system:serviceaccount:memlens-system:memlens-agent");
        const approved = c.status?.conditions?.find((x) => x.type === "Approved");
        expect(approved?.reason).to.equal("MemlensAgentVerified");
      }
    }
  });

  it("a request from anyone but an agent pod (here the cluster admin) is denied, saying why", async function () {
    this.timeout(60_000);
    const name = `memlens-test-admin-${Date.now()}`;
    made.push(name);
    await requestCertificate(name, `memlens-agent:${NODE_V1}`, ["127.0.0.1"]);
    expect(await denial(name)).to.match(/not by system:serviceaccount:memlens-system:memlens-agent/);
  });

  it("an agent's stolen token gets no certificate for another node's name or address", async function () {
    this.timeout(60_000);
    const pod = await agentPodOn(NODE_V1);
    // what the agent on memlens-node holds: its ServiceAccount's token, bound to its pod
    const token = (
      await kubectl([
        "-n",
        "memlens-system",
        "create",
        "token",
        "memlens-agent",
        "--bound-object-kind",
        "Pod",
        "--bound-object-name",
        pod.name,
        "--bound-object-uid",
        pod.uid,
      ])
    ).trim();
    const otherNode = `memlens-test-stolen-node-${Date.now()}`;
    const otherAddress = `memlens-test-stolen-ip-${Date.now()}`;
    made.push(otherNode, otherAddress);
    await requestCertificate(otherNode, `memlens-agent:${NODE_V2}`, ["127.0.0.2"], token);
    await requestCertificate(otherAddress, `memlens-agent:${NODE_V1}`, ["127.0.0.2"], token);
    expect(await denial(otherNode)).to.equal(
      `asks for CN=memlens-agent:${NODE_V2}, but the requester runs on node ${NODE_V1}`,
    );
    expect(await denial(otherAddress)).to.match(
      /asks for IP \["127.0.0.2"\], the agent pod .* has \["127.0.0.1"\]/,
    );
  });
});
