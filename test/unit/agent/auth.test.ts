import { expect } from "chai";
import {
  TokenAuthorizer,
  bearerToken,
  decide,
  isLoopbackHost,
  type TokenReviewResult,
} from "../../../src/agent/auth.js";

const CONTROLLER = "system:serviceaccount:memlens-system:memlens-controller";

describe("agent auth", () => {
  it("decides from a TokenReview answer", () => {
    const rows: [TokenReviewResult, number][] = [
      [{ authenticated: true, username: CONTROLLER }, 200],
      [{ authenticated: true, username: "system:serviceaccount:default:default" }, 403],
      [{ authenticated: true }, 403],
      [{ authenticated: false, username: CONTROLLER }, 401],
    ];
    for (const [review, status] of rows)
      expect(decide(review, CONTROLLER).status, JSON.stringify(review)).to.equal(status);
  });

  it("extracts bearer tokens", () => {
    const rows: [string | undefined, string | undefined][] = [
      ["Bearer abc.def", "abc.def"],
      ["bearer xyz ", "xyz"],
      ["Basic abc", undefined],
      ["Bearer", undefined],
      [undefined, undefined],
    ];
    for (const [header, token] of rows) expect(bearerToken(header), String(header)).to.equal(token);
  });

  it("answers 401 without a token and caches reviews by token hash for a minute", async () => {
    let now = 0;
    const seen: string[] = [];
    const auth = new TokenAuthorizer(
      (token) => {
        seen.push(token);
        return Promise.resolve({
          authenticated: token !== "bad",
          username: token === "good" ? CONTROLLER : "someone",
        });
      },
      CONTROLLER,
      () => now,
    );
    expect((await auth.check(undefined)).status).to.equal(401);
    expect((await auth.check("Bearer good")).status).to.equal(200);
    expect((await auth.check("Bearer good")).status).to.equal(200);
    expect((await auth.check("Bearer other")).status).to.equal(403);
    expect((await auth.check("Bearer bad")).status).to.equal(401);
    expect(seen).to.deep.equal(["good", "other", "bad"]);
    now = 61_000;
    await auth.check("Bearer good");
    expect(seen).to.have.length(4);
  });

  it("answers 503 when the TokenReview fails, and retries next time", async () => {
    let calls = 0;
    const auth = new TokenAuthorizer(
      () =>
        ++calls === 1
          ? Promise.reject(new Error("apiserver down"))
          : Promise.resolve({ authenticated: true, username: CONTROLLER }),
      CONTROLLER,
    );
    expect((await auth.check("Bearer t")).status).to.equal(503);
    expect((await auth.check("Bearer t")).status).to.equal(200);
  });

  it("knows loopback addresses", () => {
    for (const h of ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"])
      expect(isLoopbackHost(h), h).to.equal(true);
    for (const h of ["0.0.0.0", "::", "10.0.0.1", "", "example.com"])
      expect(isLoopbackHost(h), h).to.equal(false);
  });
});
