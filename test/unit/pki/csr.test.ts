import { expect } from "chai";
import { newKey } from "../../../src/pki/certificate.js";
import { certificateRequestPem, parseCertificateRequest } from "../../../src/pki/csr.js";
import { fromPem } from "../../../src/pki/der.js";

const der = (pem: string) => fromPem("CERTIFICATE REQUEST", pem);

describe("PKCS#10 certificate requests", () => {
  it("what the agent writes, the signer reads back: name, addresses, key, a valid signature", () => {
    const key = newKey();
    const req = parseCertificateRequest(
      der(
        certificateRequestPem(
          { commonName: "memlens-agent:node-1", dnsNames: [], ips: ["10.1.2.3", "fd00::3"] },
          key,
        ),
      ),
    );
    expect(req.commonName).to.equal("memlens-agent:node-1");
    expect(req.ips).to.deep.equal(["10.1.2.3", "fd00::3"]);
    expect(req.dnsNames).to.deep.equal([]);
    expect(req.otherNames).to.equal(0);
    expect(req.signatureValid).to.equal(true);
    expect(req.publicKey.export({ type: "spki", format: "der" })).to.deep.equal(
      key.publicKey.export({ type: "spki", format: "der" }),
    );
  });

  it("a request signed by another key than the one it names is not valid", () => {
    const named = newKey();
    const other = newKey();
    const pem = certificateRequestPem(
      { commonName: "memlens-agent:node-1", dnsNames: ["node-1"], ips: [] },
      { publicKey: named.publicKey, privateKey: other.privateKey },
    );
    const req = parseCertificateRequest(der(pem));
    expect(req.signatureValid).to.equal(false);
    expect(req.dnsNames).to.deep.equal(["node-1"]);
  });

  it("a changed byte breaks the signature; a cut request is an error, not a crash", () => {
    const bytes = Buffer.from(
      der(
        certificateRequestPem(
          { commonName: "memlens-agent:node-1", dnsNames: [], ips: ["10.1.2.3"] },
          newKey(),
        ),
      ),
    );
    const at = bytes.indexOf(Buffer.from([10, 1, 2, 3]));
    bytes[at + 3] = 4; // asks for 10.1.2.4 instead
    const tampered = parseCertificateRequest(bytes);
    expect(tampered.ips).to.deep.equal(["10.1.2.4"]);
    expect(tampered.signatureValid).to.equal(false);
    expect(() => parseCertificateRequest(bytes.subarray(0, 40))).to.throw(/DER/);
    expect(() => parseCertificateRequest(Buffer.from("not DER at all"))).to.throw();
  });
});
