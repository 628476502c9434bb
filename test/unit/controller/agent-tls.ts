import { writeFile } from "node:fs/promises";
import { join } from "node:path";
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
