import {
  createPrivateKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  X509Certificate,
  type KeyObject,
} from "node:crypto";
import {
  bits,
  bool,
  children,
  integer,
  octets,
  oid,
  pem,
  readElement,
  seq,
  set,
  time,
  tlv,
  TAG,
} from "./der.js";

/**
 * X.509 certificates (RFC 5280 §4.1) made with node:crypto alone: the agent's stop-gap
 * self-signed certificate, the memlens agent CA, and the serving certificates that CA signs.
 * Keys are ECDSA P-256, signatures ECDSA with SHA-256.
 */
export interface KeyPairPem {
  certPem: string;
  keyPem: string;
}

/** The object identifiers memlens writes and reads in certificates and certificate requests. */
export const OID = {
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  sha256WithRsa: "1.2.840.113549.1.1.11",
  extensionRequest: "1.2.840.113549.1.9.14",
  commonName: "2.5.4.3",
  subjectAltName: "2.5.29.17",
  keyUsage: "2.5.29.15",
  basicConstraints: "2.5.29.19",
  extKeyUsage: "2.5.29.37",
  serverAuth: "1.3.6.1.5.5.7.3.1",
} as const;

/** A certificate's validity starts this long before it is made: clocks of nodes disagree a little. */
export const BACKDATE_MS = 5 * 60_000;

export interface CertificateSpec {
  commonName: string;
  /** the subject's public key */
  publicKey: KeyObject;
  dnsNames?: string[];
  ips?: string[];
  notBefore: Date;
  notAfter: Date;
  /** a CA (may sign certificates) rather than a serving certificate */
  ca?: boolean;
  /** who signs: absent = the subject itself (self-signed, `selfKey` is its private key) */
  issuer?: { name: Buffer; key: KeyObject };
  selfKey?: KeyObject;
}

/** The DER of a certificate as the spec says. */
export function certificateDer(spec: CertificateSpec): Buffer {
  const subject = distinguishedName(spec.commonName);
  const issuerName = spec.issuer?.name ?? subject;
  const signer = spec.issuer?.key ?? spec.selfKey;
  if (!signer) throw new Error("a self-signed certificate needs its private key");
  const serial = randomBytes(16);
  serial[0] = (serial[0] ?? 0) & 0x7f; // positive INTEGER
  const algorithm = seq(oid(OID.ecdsaWithSha256));
  const tbs = seq(
    tlv(0xa0, integer(Buffer.from([2]))), // v3
    integer(serial),
    algorithm,
    issuerName,
    seq(time(spec.notBefore), time(spec.notAfter)),
    subject,
    spec.publicKey.export({ type: "spki", format: "der" }),
    tlv(0xa3, seq(...extensions(spec))),
  );
  return seq(tbs, algorithm, bits(sign("sha256", tbs, signer)));
}

function extensions(spec: CertificateSpec): Buffer[] {
  const ext = (id: string, critical: boolean, value: Buffer) =>
    seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));
  if (spec.ca) {
    return [
      ext(OID.basicConstraints, true, seq(bool(true))),
      // keyCertSign | cRLSign (bits 5 and 6)
      ext(OID.keyUsage, true, tlv(TAG.bitString, Buffer.from([1, 0x06]))),
    ];
  }
  return [
    ext(OID.basicConstraints, true, seq()),
    // digitalSignature | keyEncipherment (bits 0 and 2)
    ext(OID.keyUsage, true, tlv(TAG.bitString, Buffer.from([5, 0xa0]))),
    ext(OID.extKeyUsage, false, seq(oid(OID.serverAuth))),
    ext(OID.subjectAltName, false, generalNames(spec.dnsNames ?? [], spec.ips ?? [])),
  ];
}

/** The subjectAltName value (RFC 5280 §4.2.1.6): dNSName [2] and iPAddress [7] entries. */
export function generalNames(dnsNames: readonly string[], ips: readonly string[]): Buffer {
  return seq(
    ...dnsNames.map((d) => tlv(0x82, Buffer.from(d, "ascii"))),
    ...ips.map((ip) => tlv(0x87, ipBytes(ip))),
  );
}

export function distinguishedName(commonName: string): Buffer {
  return seq(set(seq(oid(OID.commonName), tlv(TAG.utf8String, Buffer.from(commonName, "utf8")))));
}

/** The subject Name of a certificate, as DER: what certificates it signs carry as their issuer. */
export function subjectOf(certDer: Buffer): Buffer {
  const [tbs] = children(readElement(certDer).body);
  if (!tbs) throw new Error("not a certificate");
  // version [0], serial, signature algorithm, issuer, validity, subject
  const subject = children(tbs.body)[5];
  if (!subject) throw new Error("certificate without a subject");
  return subject.whole;
}

/** A new key and a certificate for it signed by that key (the agent's stop-gap serving certificate). */
export function selfSignedCert(opts: {
  commonName: string;
  dnsNames: string[];
  ips: string[];
  days?: number;
}): KeyPairPem {
  const { publicKey, privateKey } = newKey();
  const now = Date.now();
  const der = certificateDer({
    ...opts,
    publicKey,
    selfKey: privateKey,
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: new Date(now + (opts.days ?? 365) * 86_400_000),
  });
  return { certPem: pem("CERTIFICATE", der), keyPem: privateKeyPem(privateKey) };
}

/** A new CA: its key and self-signed certificate. */
export function createCA(commonName: string, years: number, now = Date.now()): KeyPairPem {
  const { publicKey, privateKey } = newKey();
  const der = certificateDer({
    commonName,
    publicKey,
    selfKey: privateKey,
    ca: true,
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: new Date(now + years * 365 * 86_400_000),
  });
  return { certPem: pem("CERTIFICATE", der), keyPem: privateKeyPem(privateKey) };
}

export function newKey(): { publicKey: KeyObject; privateKey: KeyObject } {
  return generateKeyPairSync("ec", { namedCurve: "prime256v1" });
}

export const privateKeyPem = (key: KeyObject) => key.export({ type: "pkcs8", format: "pem" }).toString();

/**
 * A serving certificate for `publicKey` naming IP addresses only, signed by the CA, valid until
 * `notAfter` from a little before now (BACKDATE_MS; before `notAfter` for one made expired).
 */
export function signServingCert(
  ca: KeyPairPem,
  req: { commonName: string; publicKey: KeyObject; ips: string[] },
  notAfter: Date,
): string {
  const issuer = { name: subjectOf(new X509Certificate(ca.certPem).raw), key: createPrivateKey(ca.keyPem) };
  const notBefore = new Date(Math.min(Date.now(), notAfter.getTime()) - BACKDATE_MS);
  return pem("CERTIFICATE", certificateDer({ ...req, notBefore, notAfter, issuer }));
}

export function ipBytes(ip: string): Buffer {
  if (ip.includes(":")) {
    const [head = "", tail = ""] = ip.split("::");
    const h = head ? head.split(":") : [];
    const t = tail ? tail.split(":") : [];
    const groups = ip.includes("::")
      ? [...h, ...new Array<string>(8 - h.length - t.length).fill("0"), ...t]
      : h;
    const out = Buffer.alloc(16);
    groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
    return out;
  }
  return Buffer.from(ip.split(".").map(Number));
}

/** The text form of a 4- or 16-byte address, as Node's net module writes it (v6 compressed). */
export function ipString(bytes: Buffer): string {
  if (bytes.length === 4) return [...bytes].join(".");
  if (bytes.length !== 16) throw new Error(`an IP address has 4 or 16 bytes, not ${bytes.length}`);
  const groups = Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(i * 2).toString(16));
  return new URL(`http://[${groups.join(":")}]/`).hostname.replace(/^\[|\]$/g, "");
}
