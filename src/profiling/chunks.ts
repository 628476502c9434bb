// Where a profile's bytes come from when it is read in pieces (stream-top.ts), and their gunzip
// as a stream: zlib inflates on libuv's thread pool while the decoder reads what came before,
// and the inflated profile (22 MB for 8 MB of gzip on a large heap profile) is never one buffer.
// It still counts in the peak RSS: each piece is a new ArrayBuffer, which V8 frees only at a GC,
// and it starts one for external memory only past 64 MiB.
import { createReadStream } from "node:fs";
import { pipeline, Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { ProfileFormatError } from "./errors.js";

/** A profile's bytes, gzip-compressed or raw, in pieces of any size; each call reads them anew. */
export type ProfileSource = () => AsyncIterable<Uint8Array>;

/** 1 MiB reads: a few dozen for a large profile instead of hundreds at the default 64 KiB. */
const READ_CHUNK = 1 << 20;
/** zlib's output pieces: big enough that each costs little, small enough to keep memory flat. */
const INFLATE_CHUNK = 1 << 18;

export function fileSource(path: string): ProfileSource {
  return () => createReadStream(path, { highWaterMark: READ_CHUNK });
}

export function bytesSource(bytes: Uint8Array): ProfileSource {
  return async function* () {
    yield await Promise.resolve(bytes);
  };
}

/**
 * The profile's raw protobuf bytes, in pieces: gunzipped when the source is gzip. A corrupt or
 * truncated gzip stream is a ProfileFormatError; the source's own errors (a missing file) pass.
 */
export async function* rawChunks(source: ProfileSource): AsyncGenerator<Uint8Array> {
  const input = source()[Symbol.asyncIterator]();
  // The gzip magic is two bytes: gather that many first, whatever the source's pieces are.
  const head: Uint8Array[] = [];
  let headLength = 0;
  while (headLength < 2) {
    const next = await input.next();
    if (next.done === true) break;
    head.push(next.value);
    headLength += next.value.length;
  }
  const first = head.length === 1 ? (head[0] as Uint8Array) : Buffer.concat(head);
  const all = async function* (): AsyncGenerator<Uint8Array> {
    if (first.length > 0) yield first;
    for (let next = await input.next(); next.done !== true; next = await input.next()) yield next.value;
  };
  if (!(first.length >= 2 && first[0] === 0x1f && first[1] === 0x8b)) {
    yield* all();
    return;
  }
  const gunzip = createGunzip({ chunkSize: INFLATE_CHUNK });
  // pipeline destroys gunzip with any error of the source's, and the loop below throws it:
  // its callback has nothing left to do.
  pipeline(Readable.from(all(), { objectMode: false }), gunzip, () => undefined);
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) yield chunk;
  } catch (err) {
    if (!isZlibError(err)) throw err;
    throw new ProfileFormatError(`truncated or corrupt gzip data (${(err as Error).message})`);
  }
}

/** zlib's errors carry codes such as Z_DATA_ERROR and Z_BUF_ERROR ("unexpected end of file"). */
function isZlibError(err: unknown): boolean {
  return err instanceof Error && "code" in err && String(err.code).startsWith("Z_");
}
