import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Agent, type RequestOptions } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { simpleKubeconfigAccess } from "../../../src/kube/kubeconfig.js";

const kubeconfig = (cluster: string, user: string) => `apiVersion: v1
kind: Config
clusters:
- name: local
  cluster: ${cluster}
users:
- name: me
  user: ${user}
contexts:
- name: other
  context: {cluster: nowhere, user: nobody}
- name: here
  context: {cluster: local, user: me}
current-context: here
`;

describe("simpleKubeconfigAccess: a token or client-certificate kubeconfig without client-node", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "memlens-kubeconfig-"));
    writeFileSync(join(dir, "ca.crt"), "CA PEM");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const load = (text: string, now?: () => number) => {
    writeFileSync(join(dir, "config"), text);
    return simpleKubeconfigAccess(join(dir, "config"), now);
  };
  const apply = async (access: ReturnType<typeof simpleKubeconfigAccess>) => {
    const opts: RequestOptions = { headers: { Accept: "application/json" } };
    await access!.applyToHTTPSOptions(opts);
    return opts;
  };

  it("reads the current context's server, CA file (relative to the kubeconfig) and token", async () => {
    const access = load(
      kubeconfig(`{server: "https://127.0.0.1:6443", certificate-authority: ca.crt}`, `{token: abc}`),
    );
    expect(access?.server).to.equal("https://127.0.0.1:6443");
    const a = await apply(access);
    const b = await apply(access);
    expect(a.headers).to.deep.equal({ Accept: "application/json", Authorization: "Bearer abc" });
    expect(a.agent).to.be.instanceOf(Agent);
    expect(b.agent, "one keep-alive agent for every request").to.equal(a.agent);
    const agent = a.agent as Agent & {
      options: { keepAlive?: boolean; ca?: Buffer; rejectUnauthorized?: boolean };
    };
    expect(agent.options.keepAlive).to.equal(true);
    expect(String(agent.options.ca)).to.equal("CA PEM");
    expect(agent.options.rejectUnauthorized).to.equal(true);
  });

  it("takes inline client certificate data, and no Authorization header without a token", async () => {
    const b64 = (s: string) => Buffer.from(s).toString("base64");
    const access = load(
      kubeconfig(
        `{server: "https://k:6443", certificate-authority-data: ${b64("CA")}, insecure-skip-tls-verify: false}`,
        `{client-certificate-data: ${b64("CERT")}, client-key-data: ${b64("KEY")}}`,
      ),
    );
    const opts = await apply(access);
    const agent = opts.agent as Agent & { options: { cert?: Buffer; key?: Buffer } };
    expect(String(agent.options.cert)).to.equal("CERT");
    expect(String(agent.options.key)).to.equal("KEY");
    expect(opts.headers).to.deep.equal({ Accept: "application/json" });
  });

  it("re-reads a token file after a minute", async () => {
    writeFileSync(join(dir, "token"), "one\n");
    let t = 0;
    const access = load(kubeconfig(`{server: "https://k:6443"}`, `{tokenFile: token}`), () => t);
    expect((await apply(access)).headers).to.include({ Authorization: "Bearer one" });
    writeFileSync(join(dir, "token"), "two\n");
    t = 30_000;
    expect((await apply(access)).headers).to.include({ Authorization: "Bearer one" });
    t = 61_000;
    expect((await apply(access)).headers).to.include({ Authorization: "Bearer two" });
  });

  const fallbacks: [string, string, string][] = [
    ["an exec credential plugin", `{server: "https://k"}`, `{exec: {command: aws, apiVersion: v1}}`],
    ["an auth provider", `{server: "https://k"}`, `{auth-provider: {name: oidc}}`],
    ["basic auth", `{server: "https://k"}`, `{username: a, password: b}`],
    ["a proxy", `{server: "https://k", proxy-url: "http://p:3128"}`, `{token: t}`],
  ];
  for (const [what, cluster, user] of fallbacks) {
    it(`leaves ${what} to client-node`, () => {
      expect(load(kubeconfig(cluster, user))).to.equal(undefined);
    });
  }

  it("leaves a KUBECONFIG list or a missing file to client-node", () => {
    expect(simpleKubeconfigAccess(`${dir}/a:${dir}/b`)).to.equal(undefined);
    expect(simpleKubeconfigAccess(join(dir, "absent"))).to.equal(undefined);
  });
});
