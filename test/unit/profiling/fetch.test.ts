import { expect } from "chai";
import http from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";
import { decodeProfile } from "../../../src/profiling/decode.js";
import { ProfileFetchError, ProfileFormatError } from "../../../src/profiling/errors.js";
import { fetchHeapProfile } from "../../../src/profiling/fetch.js";
import { fixture } from "./fixtures.js";

const OPTS = { timeoutMs: 2000, maxBytes: 1 << 20 };

/** A real HTTP server on an ephemeral 127.0.0.1 port, for one test. */
async function serve(handler: http.RequestListener): Promise<{ url: string; server: http.Server }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

async function stop(server: http.Server | net.Server): Promise<void> {
  if (server instanceof http.Server) server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

async function fetchError(promise: Promise<unknown>): Promise<ProfileFetchError> {
  try {
    await promise;
  } catch (err) {
    expect(err).to.be.instanceOf(ProfileFetchError);
    return err as ProfileFetchError;
  }
  throw new Error("expected the fetch to fail");
}

describe("profiling/fetch", function () {
  this.timeout(10_000);
  const servers: (http.Server | net.Server)[] = [];
  const start = async (handler: http.RequestListener): Promise<string> => {
    const { url, server } = await serve(handler);
    servers.push(server);
    return url;
  };
  afterEach(async () => {
    await Promise.all(servers.splice(0).map(stop));
  });

  it("returns the body of a 200 response byte for byte", async () => {
    const profile = fixture("catalog-later.pb.gz");
    let asked = "";
    const url = await start((req, res) => {
      asked = req.url ?? "";
      res.writeHead(200, { "content-type": "application/octet-stream" }).end(profile);
    });
    const body = await fetchHeapProfile(`${url}/debug/pprof/heap`, OPTS);
    expect(asked).to.equal("/debug/pprof/heap");
    expect(Buffer.from(body).equals(profile)).to.equal(true);
    expect(decodeProfile(body).sampleTypes.map((t) => t.type)).to.include("inuse_space");
  });

  it("reads a chunked body without a content-length", async () => {
    const profile = fixture("node-later.pb.gz");
    const url = await start((_req, res) => {
      res.writeHead(200);
      res.write(profile.subarray(0, 100));
      setTimeout(() => res.end(profile.subarray(100)), 20);
    });
    expect(Buffer.from(await fetchHeapProfile(url, OPTS)).equals(profile)).to.equal(true);
  });

  it("gives up on a slow server after the total timeout, headers sent or not", async () => {
    const silent = await start(() => {
      /* never answers */
    });
    const trickle = await start((_req, res) => {
      res.writeHead(200);
      const t = setInterval(() => res.write("x"), 20);
      res.on("close", () => clearInterval(t));
    });
    for (const url of [silent, trickle]) {
      const began = Date.now();
      const err = await fetchError(fetchHeapProfile(url, { ...OPTS, timeoutMs: 300 }));
      expect(Date.now() - began).to.be.within(250, 1500);
      expect(err.message).to.contain("no complete response within 300 ms");
      expect(err.message).to.contain(url);
      expect(err.url).to.equal(url);
    }
  });

  it("abandons a profile larger than maxBytes, declared or streamed", async () => {
    const big = Buffer.alloc(3 << 20, 7);
    const declared = await start((_req, res) =>
      res.writeHead(200, { "content-length": big.length }).end(big),
    );
    const streamed = await start((_req, res) => {
      res.writeHead(200);
      let sent = 0;
      const more = (): void => {
        // Keeps sending until the client hangs up: never more than needed.
        while (sent < 64 << 20 && res.write(Buffer.alloc(64 << 10, 1))) sent += 64 << 10;
        if (!res.destroyed) res.once("drain", more);
      };
      more();
    });
    const declaredErr = await fetchError(fetchHeapProfile(declared, { ...OPTS, maxBytes: 1 << 20 }));
    expect(declaredErr.message).to.contain(
      `the profile is ${big.length} bytes, more than the limit of 1048576`,
    );
    const streamedErr = await fetchError(fetchHeapProfile(streamed, { ...OPTS, maxBytes: 1 << 20 }));
    expect(streamedErr.message).to.contain("larger than the limit of 1048576 bytes");
  });

  it("follows no redirect and says where it pointed", async () => {
    let followed = false;
    const url = await start((req, res) => {
      if (req.url === "/elsewhere") {
        followed = true;
        res.end("profile");
      } else res.writeHead(302, { location: "/elsewhere" }).end();
    });
    const err = await fetchError(fetchHeapProfile(`${url}/debug/pprof/heap`, OPTS));
    expect(err.message).to.contain("302 Found");
    expect(err.message).to.contain(`a redirect to ${url}/elsewhere`);
    expect(err.message).to.contain("redirects are not followed");
    expect(followed).to.equal(false);
  });

  it("follows no redirect to another host or port, whatever the status", async () => {
    let followed = 0;
    const elsewhere = http.createServer((_req, res) => {
      followed++;
      res.end(fixture("catalog-later.pb.gz"));
    });
    servers.push(elsewhere);
    // another loopback address: still this machine, but not the address the collector asked
    await new Promise<void>((resolve) => elsewhere.listen(0, "127.0.0.2", resolve));
    const port = (elsewhere.address() as AddressInfo).port;
    const other = await start((_req, res) => {
      followed++;
      res.end("profile");
    });
    for (const [status, location] of [
      [301, `http://127.0.0.2:${port}/debug/pprof/heap`],
      [307, `${other}/debug/pprof/heap`],
      [308, `//127.0.0.2:${port}/heap`],
    ] as const) {
      const url = await start((_req, res) => res.writeHead(status, { location }).end());
      const err = await fetchError(fetchHeapProfile(`${url}/debug/pprof/heap`, OPTS));
      expect(err.message).to.contain(`the server answered ${status}`);
      expect(err.message).to.match(/redirects are not followed/);
    }
    expect(followed).to.equal(0);
  });

  it("rejects non-200 answers with the status and the start of the body", async () => {
    const url = await start((req, res) => {
      if (req.url === "/missing") res.writeHead(404).end("404 page not found\n");
      else res.writeHead(500, { "content-type": "text/plain" }).end("heap profile failed: boom\nstack...");
    });
    const err500 = await fetchError(fetchHeapProfile(`${url}/debug/pprof/heap`, OPTS));
    expect(err500.message).to.equal(
      `fetching heap profile ${url}/debug/pprof/heap: the server answered 500 Internal Server Error: "heap profile failed: boom"`,
    );
    const err404 = await fetchError(fetchHeapProfile(`${url}/missing`, OPTS));
    expect(err404.message).to.contain('404 Not Found: "404 page not found"');
    const noContent = await start((_req, res) => res.writeHead(204).end());
    expect((await fetchError(fetchHeapProfile(noContent, OPTS))).message).to.contain("204 No Content");
  });

  it("passes garbage with status 200 on to the decoder, which refuses it", async () => {
    const url = await start((_req, res) => res.end("<html>not a profile</html>"));
    const body = await fetchHeapProfile(url, OPTS);
    expect(() => decodeProfile(body)).to.throw(ProfileFormatError);
  });

  it("fails cleanly on a server that does not speak HTTP or hangs up mid-body", async () => {
    const garbage = net.createServer((socket) => {
      socket.on("error", () => undefined);
      socket.end("\x00\x01garbage garbage\r\n\r\n", () => socket.destroy());
    });
    servers.push(garbage);
    await new Promise<void>((resolve) => garbage.listen(0, "127.0.0.1", resolve));
    const garbageUrl = `http://127.0.0.1:${(garbage.address() as AddressInfo).port}/debug/pprof/heap`;
    expect((await fetchError(fetchHeapProfile(garbageUrl, OPTS))).message).to.contain(
      "the server did not answer with HTTP",
    );

    const cut = await start((_req, res) => {
      res.writeHead(200, { "content-length": 1000 });
      res.write("0123456789", () => res.socket?.destroy());
    });
    expect((await fetchError(fetchHeapProfile(cut, OPTS))).message).to.contain(
      "the connection closed before the whole profile arrived",
    );
  });

  it("says when nothing listens on the port", async () => {
    const { url, server } = await serve(() => undefined);
    await stop(server);
    expect((await fetchError(fetchHeapProfile(url, OPTS))).message).to.contain("connection refused");
  });

  it("stops when its signal aborts, before or during the request", async () => {
    const url = await start(() => {
      /* never answers */
    });
    const early = new AbortController();
    early.abort();
    expect((await fetchError(fetchHeapProfile(url, { ...OPTS, signal: early.signal }))).message).to.contain(
      "aborted",
    );
    const late = new AbortController();
    setTimeout(() => late.abort(), 50);
    const began = Date.now();
    expect((await fetchError(fetchHeapProfile(url, { ...OPTS, signal: late.signal }))).message).to.contain(
      "aborted",
    );
    expect(Date.now() - began).to.be.below(1500);
  });

  it("refuses what is not an http(s) URL", async () => {
    expect((await fetchError(fetchHeapProfile("not a url", OPTS))).message).to.contain("is not a URL");
    expect((await fetchError(fetchHeapProfile("ftp://127.0.0.1/heap", OPTS))).message).to.contain(
      "scheme ftp: is not http or https",
    );
  });
});
