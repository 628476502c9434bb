import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import { AGENT_TOKEN_AUDIENCE, kubeTokenReview } from "../../../src/agent/auth.js";
import { KubeClient } from "../../../src/kube/client.js";

/**
 * The TokenReviews the agent sends: the agent audience first (the controller's projected
 * token), then the apiserver's own (kubectl create token). A loopback server answers as the
 * apiserver's authenticator does: a token is valid for the audiences it was issued for.
 */
describe("kubeTokenReview: agent-audience tokens, then the apiserver's", () => {
  let server: Server;
  const asked: (string[] | undefined)[] = [];
  const issuedFor: Record<string, string> = {
    scoped: AGENT_TOKEN_AUDIENCE,
    plain: "https://kubernetes.default.svc",
    stolen: "vault",
  };

  before(async () => {
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        const spec = (JSON.parse(body) as { spec: { token: string; audiences?: string[] } }).spec;
        asked.push(spec.audiences);
        const audiences = spec.audiences ?? ["https://kubernetes.default.svc"];
        const ok = audiences.includes(issuedFor[spec.token] ?? "");
        res.writeHead(201, { "Content-Type": "application/json" });
        res.end(
          JSON.stringify({
            status: ok
              ? {
                  authenticated: true,
                  user: { username: "system:serviceaccount:memlens-system:memlens-controller" },
                }
              : { authenticated: false },
          }),
        );
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const review = () =>
    kubeTokenReview(
      new KubeClient({
        server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        applyToHTTPSOptions: async () => {},
      }),
    );

  it("a token for the agent audience passes on the first review", async () => {
    asked.length = 0;
    expect((await review()("scoped")).authenticated).to.equal(true);
    expect(asked).to.deep.equal([[AGENT_TOKEN_AUDIENCE]]);
  });

  it("a token for the apiserver passes on the second; a forged one, or one for another audience, fails both", async () => {
    asked.length = 0;
    expect((await review()("plain")).authenticated).to.equal(true);
    expect((await review()("forged")).authenticated).to.equal(false);
    expect((await review()("stolen")).authenticated).to.equal(false);
    expect(asked).to.deep.equal([
      [AGENT_TOKEN_AUDIENCE],
      undefined,
      [AGENT_TOKEN_AUDIENCE],
      undefined,
      [AGENT_TOKEN_AUDIENCE],
      undefined,
    ]);
  });
});
