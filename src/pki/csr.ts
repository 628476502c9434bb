import { createPublicKey, sign, verify, type KeyObject } from "node:crypto";
import { distinguishedName, generalNames, ipString, OID } from "./certificate.js";
import {
  bits,
  children,
  integer,
  octets,
  oid,
  pem,
  readElement,
  readOid,
  seq,
  set,
  tlv,
  TAG,
} from "./der.js";

/**
 * PKCS#10 certificate requests (RFC 2986) with a subjectAltName extension request: the agent
 * writes one into a CertificateSigningRequest, the controller (the signer) reads it back.
 */

export interface CertificateRequestSpec {
  commonName: string;
  dnsNames: string[];
  ips: string[];
}

/** A PEM certificate request for the key pair, signed by its private key. */
export function certificateRequestPem(
  spec: CertificateRequestSpec,
  key: { publicKey: KeyObject; privateKey: KeyObject },
): string {
  const extensionRequest = seq(
    oid(OID.extensionRequest),
    set(seq(seq(oid(OID.subjectAltName), octets(generalNames(spec.dnsNames, spec.ips))))),
  );
  const info = seq(
    integer(Buffer.from([0])),
    distinguishedName(spec.commonName),
    key.publicKey.export({ type: "spki", format: "der" }),
    tlv(0xa0, extensionRequest),
  );
  const der = seq(info, seq(oid(OID.ecdsaWithSha256)), bits(sign("sha256", info, key.privateKey)));
  return pem("CERTIFICATE REQUEST", der);
}

/** What a request asks for, with everything a signer must check. */
export interface CertificateRequest {
  commonName: string | undefined;
  publicKey: KeyObject;
  dnsNames: string[];
  ips: string[];
  /** alternative names of other kinds (e-mail, URI, ...): a serving certificate has none */
  otherNames: number;
  /** the request is signed by the private key of `publicKey` */
  signatureValid: boolean;
}

/** Reads a DER request; throws with a reason on anything malformed. */
export function parseCertificateRequest(der: Buffer): CertificateRequest {
  const [info, algorithm, signature] = children(readElement(der).body);
  if (!info || !algorithm || !signature || signature.tag !== TAG.bitString)
    throw new Error("not a PKCS#10 certificate request");
  const [, subject, spki, attributes] = children(info.body);
  if (!subject || !spki) throw new Error("certificate request without subject or public key");
  const publicKey = createPublicKey({ key: spki.whole, format: "der", type: "spki" });
  const algorithmOid = readOid(children(algorithm.body)[0]?.body ?? Buffer.alloc(0));
  if (algorithmOid !== OID.ecdsaWithSha256 && algorithmOid !== OID.sha256WithRsa)
    throw new Error(`signature algorithm ${algorithmOid} is not ECDSA or RSA with SHA-256`);
  const signatureValid = verify("sha256", info.whole, publicKey, signature.body.subarray(1));

  const names = { dnsNames: [] as string[], ips: [] as string[], otherNames: 0 };
  for (const attribute of attributes?.tag === 0xa0 ? children(attributes.body) : []) {
    const [type, values] = children(attribute.body);
    if (!type || readOid(type.body) !== OID.extensionRequest || !values) continue;
    for (const extensionList of children(values.body))
      for (const extension of children(extensionList.body)) {
        const parts = children(extension.body);
        if (readOid(parts[0]?.body ?? Buffer.alloc(0)) !== OID.subjectAltName) continue;
        const value = parts[parts.length - 1];
        if (value) readAltNames(readElement(value.body).body, names);
      }
  }
  return { commonName: commonNameOf(subject.body), publicKey, signatureValid, ...names };
}

function readAltNames(body: Buffer, into: { dnsNames: string[]; ips: string[]; otherNames: number }): void {
  for (const name of children(body)) {
    if (name.tag === 0x82) into.dnsNames.push(name.body.toString("ascii"));
    else if (name.tag === 0x87) into.ips.push(ipString(name.body));
    else into.otherNames++;
  }
}

function commonNameOf(name: Buffer): string | undefined {
  for (const rdn of children(name))
    for (const attribute of children(rdn.body)) {
      const [type, value] = children(attribute.body);
      if (type && value && readOid(type.body) === OID.commonName) return value.body.toString("utf8");
    }
  return undefined;
}
