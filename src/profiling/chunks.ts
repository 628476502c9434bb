// Where a profile's bytes come from when it is read in pieces (stream-top.ts), and their gunzip
// piece by piece: the inflated profile (22 MB for 8 MB of gzip on a large heap profile) is never
// one buffer, and its pieces all share one (inflate.ts).
import { open } from "node:fs/promises";
import { pipeline, Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { ProfileFormatError } from "./errors.js";
import { ReusingGunzip } from "./inflate.js";

/**
 * A profile's bytes, gzip-compressed or raw, in pieces of any size; each call reads them anew. A
 * piece may be overwritten by the next (its reader must be done with it before asking for more).
 */
export type ProfileSource = () => AsyncIterable<Uint8Array>;

/** 256 KiB reads into one buffer: a few dozen for a large profile, and no garbage. */
const READ_CHUNK = 1 << 18;
/** zlib's output pieces: big enough that each costs little, small enough to keep memory flat. */
const INFLATE_CHUNK = 1 << 18;

/** The file's bytes, in pieces of one buffer: each is valid only until the next is asked for. */
export function fileSource(path: string): ProfileSource {
  return async function* () {
    const file = await open(path);
    try {
      const buf = new Uint8Array(READ_CHUNK);
      for (;;) {
        const { bytesRead } = await file.read(buf, 0, buf.length);
        if (bytesRead === 0) return;
        yield buf.subarray(0, bytesRead);
      }
    } finally {
      await file.close();
    }
  };
}

export function bytesSource(bytes: Uint8Array): ProfileSource {
  return async function* () {
    yield await Promise.resolve(bytes);
  };
}

/**
 * The profile's raw protobuf bytes, in pieces: gunzipped when the source is gzip. Each piece is
 * valid only until the next is asked for. A corrupt or truncated gzip stream is a
 * ProfileFormatError; the source's own errors (a missing file) pass.
 */
export async function* rawChunks(source: ProfileSource): AsyncGenerator<Uint8Array> {
  const input = source()[Symbol.asyncIterator]();
  // The gzip magic is two bytes: gather that many first, whatever the source's pieces are.
  const head: Uint8Array[] = [];
  let headLength = 0;
  while (headLength < 2) {
    const next = await input.next();
    if (next.done === true) break;
    headLength += next.value.length;
    // Copied when another must join it: the source, too, may reuse one buffer for each piece.
    head.push(headLength < 2 ? Uint8Array.from(next.value) : next.value);
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
  try {
    yield* inflated(all());
  } catch (err) {
    if (!isZlibError(err)) throw err;
    throw new ProfileFormatError(`truncated or corrupt gzip data (${(err as Error).message})`);
  }
}

async function* inflated(gzip: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reusing = ReusingGunzip.create();
  if (reusing === undefined) {
    yield* streamed(gzip);
    return;
  }
  try {
    for await (const chunk of gzip) yield* reusing.write(chunk);
    yield* reusing.end();
  } finally {
    reusing.close();
  }
}

/** zlib's stream, where ReusingGunzip cannot run: a new buffer for each piece. */
async function* streamed(gzip: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const gunzip = createGunzip({ chunkSize: INFLATE_CHUNK });
  // pipeline destroys gunzip with any error of the source's, and the loop below throws it:
  // its callback has nothing left to do.
  pipeline(Readable.from(gzip, { objectMode: false }), gunzip, () => undefined);
  yield* gunzip as AsyncIterable<Buffer>;
}

/** zlib's errors carry codes such as Z_DATA_ERROR and Z_BUF_ERROR ("unexpected end of file"). */
function isZlibError(err: unknown): boolean {
  return err instanceof Error && "code" in err && String(err.code).startsWith("Z_");
}
