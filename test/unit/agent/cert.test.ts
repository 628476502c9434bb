import { expect } from "chai";
import { X509Certificate, createPublicKey } from "node:crypto";
import { selfSignedCert } from "../../../src/agent/cert.js";

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
