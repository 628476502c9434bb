import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import { startAgent, type RunningAgent } from "../../../src/agent/agent.js";
import { PodIndex } from "../../../src/agent/pods.js";
import { agentCommonName } from "../../../src/pki/agent-certificate.js";
import {
  createCA,
  newKey,
  privateKeyPem,
  signServingCert,
  type KeyPairPem,
} from "../../../src/pki/certificate.js";

/** A CA standing in for the one in the memlens-agent-ca Secret. */
export const testCA = createCA("memlens agent CA (test)", 1);

/** The CA as AgentAccess gets it (AgentCA.get), without an apiserver. */
export const trusting = (ca: KeyPairPem) => ({ get: () => Promise.resolve(ca) });

/**
 * A serving certificate for an agent, written to files for startAgent's --tls-cert/--tls-key:
 * by default what the signer issues the agent of `node` on `ip`; each option makes it wrong in
 * one way.
 */
export async function agentCertFiles(
  dir: string,
  opts: { node: string; ip: string; ca?: KeyPairPem; notAfter?: Date },
): Promise<{ tlsCertFile: string; tlsKeyFile: string }> {
  const { publicKey, privateKey } = newKey();
  const certPem = signServingCert(
    opts.ca ?? testCA,
    { commonName: agentCommonName(opts.node), publicKey, ips: [opts.ip] },
    opts.notAfter ?? new Date(Date.now() + 3_600_000),
  );
  const [tlsCertFile, tlsKeyFile] = [join(dir, `${opts.node}.crt`), join(dir, `${opts.node}.key`)];
  await writeFile(tlsCertFile, certPem);
  await writeFile(tlsKeyFile, privateKeyPem(privateKey), { mode: 0o600 });
  return { tlsCertFile, tlsKeyFile };
}

/**
 * A real agent for node-1 on a loopback port over the cgroup tree at `cgroupRoot`, without
 * authentication, serving the given certificate (default: a self-signed one).
 */
export function loopbackAgent(
  cgroupRoot: string,
  periodS: number,
  tls: { tlsCertFile: string; tlsKeyFile: string } | undefined,
  log: Logger,
): Promise<RunningAgent> {
  return startAgent(
    {
      cgroupRoot,
      periodS,
      retentionS: 60,
      host: "127.0.0.1",
      port: 0,
      auth: "none",
      allowedIdentity: "x",
      nodeName: "node-1",
      ...tls,
    },
    { log, pods: new PodIndex() },
  );
}
