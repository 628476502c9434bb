// The profiling I/O edge: one heap profile over HTTP(S), e.g. from a Go service's
// net/http/pprof. Bounded in time and size, follows no redirects, and every failure is a
// ProfileFetchError with a sentence for a person, never an unhandled error.
import http from "node:http";
import https from "node:https";
import { ProfileFetchError } from "./errors.js";

export interface FetchProfileOptions {
  /** Total time for connecting, the response headers and the whole body. */
  timeoutMs: number;
  /** The most body bytes accepted; a larger profile is abandoned. */
  maxBytes: number;
  signal?: AbortSignal;
}

/** How much of an error response's body goes into the error message. */
const ERROR_BODY_BYTES = 200;

/** GETs `url` and returns the response body (a pprof profile, usually gzipped). */
export function fetchHeapProfile(url: string, opts: FetchProfileOptions): Promise<Uint8Array> {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return Promise.reject(new ProfileFetchError(`fetching a heap profile: "${url}" is not a URL`, url));
  }
  if (target.protocol !== "http:" && target.protocol !== "https:") {
    return Promise.reject(
      new ProfileFetchError(
        `fetching heap profile ${url}: scheme ${target.protocol} is not http or https`,
        url,
      ),
    );
  }
  const where = `heap profile ${url}`;
  if (opts.signal?.aborted) return Promise.reject(new ProfileFetchError(`fetching ${where}: aborted`, url));

  return new Promise<Uint8Array>((resolve, reject) => {
    let settled = false;
    // The request, for finish to cancel: every caller of finish runs after it exists.
    const request: { current?: http.ClientRequest } = {};
    const finish = (err: string | null, body?: Uint8Array): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener("abort", onAbort);
      if (err !== null) {
        request.current?.destroy();
        reject(new ProfileFetchError(`fetching ${where}: ${err}`, url));
      } else {
        resolve(body ?? new Uint8Array());
      }
    };
    const onAbort = (): void => finish("aborted");
    const timer = setTimeout(
      () => finish(`no complete response within ${opts.timeoutMs} ms`),
      opts.timeoutMs,
    );
    opts.signal?.addEventListener("abort", onAbort, { once: true });

    const get = target.protocol === "https:" ? https.get : http.get;
    const req = get(
      target,
      { headers: { accept: "application/octet-stream", "user-agent": "memlens" } },
      (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400) {
          res.resume();
          const location = res.headers.location;
          const to = location === undefined ? "no Location header" : resolveLocation(location, target);
          finish(
            `the server answered ${statusText(res)}, a redirect to ${to}; redirects are not followed ` +
              "(point the profiling port, path and scheme at the profile itself)",
          );
          return;
        }
        if (status !== 200) {
          readSome(res, ERROR_BODY_BYTES, (text) => {
            const detail = text === "" ? "" : `: ${JSON.stringify(text)}`;
            finish(`the server answered ${statusText(res)}${detail}`);
          });
          return;
        }
        const declared = Number(res.headers["content-length"]);
        if (Number.isFinite(declared) && declared > opts.maxBytes) {
          finish(`the profile is ${declared} bytes, more than the limit of ${opts.maxBytes}`);
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > opts.maxBytes) {
            finish(`the profile is larger than the limit of ${opts.maxBytes} bytes`);
            return;
          }
          chunks.push(chunk);
        });
        res.on("end", () => {
          if (!res.complete) finish("the connection closed before the whole profile arrived");
          else finish(null, new Uint8Array(Buffer.concat(chunks, size)));
        });
        res.on("error", (err) =>
          finish(res.complete ? describe(err) : "the connection closed before the whole profile arrived"),
        );
        res.on("close", () => {
          if (!res.complete) finish("the connection closed before the whole profile arrived");
        });
      },
    );
    request.current = req;
    req.on("error", (err) => finish(describe(err)));
  });
}

function statusText(res: http.IncomingMessage): string {
  return res.statusMessage ? `${res.statusCode} ${res.statusMessage}` : String(res.statusCode);
}

function resolveLocation(location: string, base: URL): string {
  try {
    return new URL(location, base).href;
  } catch {
    return JSON.stringify(location);
  }
}

/** Up to `limit` bytes of a response body as text, first line only. */
function readSome(res: http.IncomingMessage, limit: number, done: (text: string) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let called = false;
  const end = (): void => {
    if (called) return;
    called = true;
    const text = Buffer.concat(chunks).subarray(0, limit).toString("utf8");
    done(text.split("\n")[0]?.trim() ?? "");
    res.destroy();
  };
  res.on("data", (chunk: Buffer) => {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= limit) end();
  });
  res.on("end", end);
  res.on("error", end);
  res.on("close", end);
}

function describe(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case "ECONNREFUSED":
      return "connection refused (is the pprof endpoint listening on that port?)";
    case "ECONNRESET":
    case "EPIPE":
      return "the connection was reset";
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "the host name does not resolve";
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return "the host is unreachable";
    case "HPE_INVALID_CONSTANT":
    case "HPE_INVALID_VERSION":
    case "HPE_INVALID_STATUS":
    case "HPE_INVALID_HEADER_TOKEN":
      return "the server did not answer with HTTP";
    default:
      return err.message === "" ? String(code ?? "request failed") : err.message;
  }
}
