import { expect } from "chai";
import { renewalTime } from "../../../src/agent/serving-certificate.js";
import { X509Certificate, createPublicKey } from "node:crypto";
import {
  createCA,
  ipBytes,
  ipString,
  newKey,
  selfSignedCert,
  signServingCert,
} from "../../../src/pki/certificate.js";

describe("self-signed serving certificate", () => {
  it("is a valid X.509 certificate signed by its own key, with the names asked for", () => {
    const { certPem, keyPem } = selfSignedCert({
      commonName: "memlens-agent",
      dnsNames: ["node-1", "localhost"],
      ips: ["127.0.0.1", "::1"],
    });
    const cert = new X509Certificate(certPem);
    expect(cert.subject).to.equal("CN=memlens-agent");
    expect(cert.verify(createPublicKey(keyPem))).to.equal(true);
    expect(cert.subjectAltName).to.include("DNS:node-1");
    expect(cert.subjectAltName).to.include("IP Address:127.0.0.1");
    expect(cert.subjectAltName).to.include("IP Address:0:0:0:0:0:0:0:1");
    expect(cert.checkHost("node-1")).to.equal("node-1");
    expect(new Date(cert.validTo).getTime()).to.be.greaterThan(Date.now() + 300 * 86_400_000);
  });
});

describe("the agent CA and the serving certificates it signs", () => {
  const ca = createCA("memlens agent CA", 10);
  const caCert = new X509Certificate(ca.certPem);

  it("the CA is a CA, self-signed, valid for its years", () => {
    expect(caCert.ca).to.equal(true);
    expect(caCert.subject).to.equal("CN=memlens agent CA");
    expect(caCert.verify(caCert.publicKey)).to.equal(true);
    expect(Date.parse(caCert.validTo)).to.be.greaterThan(Date.now() + 9 * 365 * 86_400_000);
  });

  it("a serving certificate names its subject, its addresses, the CA as issuer, and is signed by it", () => {
    const { publicKey } = newKey();
    const notAfter = new Date(Date.now() + 3_600_000);
    const cert = new X509Certificate(
      signServingCert(
        ca,
        { commonName: "memlens-agent:node-1", publicKey, ips: ["10.0.0.7", "fd00::7"] },
        notAfter,
      ),
    );
    expect(cert.ca).to.equal(false);
    expect(cert.subject).to.equal("CN=memlens-agent:node-1");
    expect(cert.issuer).to.equal("CN=memlens agent CA");
    expect(cert.checkIssued(caCert)).to.equal(true);
    expect(cert.verify(caCert.publicKey)).to.equal(true);
    expect(cert.checkIP("10.0.0.7")).to.equal("10.0.0.7");
    expect(cert.checkIP("10.0.0.8")).to.equal(undefined);
    expect(cert.subjectAltName).to.include("IP Address:FD00:0:0:0:0:0:0:7");
    expect(cert.keyUsage).to.deep.equal(["1.3.6.1.5.5.7.3.1"]);
    expect(Math.abs(Date.parse(cert.validTo) - notAfter.getTime())).to.be.below(1000);
    expect(cert.publicKey.export({ type: "spki", format: "der" })).to.deep.equal(
      publicKey.export({ type: "spki", format: "der" }),
    );
  });

  it("ipString writes addresses back as Node does", () => {
    for (const [ip, text] of [
      ["127.0.0.2", "127.0.0.2"],
      ["fd00::7", "fd00::7"],
      ["::1", "::1"],
      ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ] as const)
      expect(ipString(ipBytes(ip))).to.equal(text);
  });
});

describe("the agent's certificate renewal time", () => {
  it("falls at 70-90 % of the certificate's life, spread by the random draw", () => {
    const from = Date.parse("2026-12-03T00:00:00Z");
    const to = from + 24 * 3_600_000;
    expect(renewalTime(from, to, 0)).to.equal(from + 0.7 * 24 * 3_600_000);
    expect(renewalTime(from, to, 1)).to.equal(from + 0.9 * 24 * 3_600_000);
    expect(renewalTime(from, to, 0.5)).to.equal(from + 0.8 * 24 * 3_600_000);
  });
});
