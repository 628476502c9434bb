// gunzip into one output buffer, reused for every piece, by driving the zlib handle under a
// Gunzip stream synchronously. The stream itself would put each piece in a new ArrayBuffer, and
// V8 frees those only at a GC, which it does not start for the 22 MB of them a large heap
// profile makes: they raised the peak RSS of `profile top` by ~25 MiB (a third of it) and cost
// its GCs time. The handle's writeSync and _writeState are not public (Node's own sync gunzip
// uses them, in lib/zlib.js); where they are missing, `create` says so and the caller streams.
import { constants, createGunzip, type Gunzip } from "node:zlib";

interface ZlibHandle {
  writeSync(
    flush: number,
    input: Uint8Array,
    inOffset: number,
    inLength: number,
    output: Uint8Array,
    outOffset: number,
    outLength: number,
  ): void;
}

/** Gunzip's own fields this drives it through. */
interface GunzipInternals {
  _handle?: unknown;
  _writeState?: unknown;
}

/** Big enough that a piece costs little, small enough to stay in the CPU's cache while read. */
const OUTPUT_SIZE = 1 << 18;

export class ReusingGunzip {
  private readonly out = new Uint8Array(OUTPUT_SIZE);

  private constructor(
    private readonly gunzip: Gunzip,
    private readonly handle: ZlibHandle,
    /** After each writeSync: [output bytes left free, input bytes left unread]. */
    private readonly state: Uint32Array,
  ) {}

  /** One, or undefined where this Node's Gunzip lacks the handle it drives. */
  static create(): ReusingGunzip | undefined {
    const gunzip = createGunzip();
    const { _handle: handle, _writeState: state } = gunzip as unknown as GunzipInternals;
    if (
      typeof handle !== "object" ||
      handle === null ||
      typeof (handle as Partial<ZlibHandle>).writeSync !== "function" ||
      !(state instanceof Uint32Array)
    ) {
      gunzip.close();
      return undefined;
    }
    // The handle reports an error by destroying the stream (which then emits it): read here
    // from `errored`, synchronously, and not left to crash the process as an unhandled event.
    gunzip.on("error", () => undefined);
    return new ReusingGunzip(gunzip, handle as ZlibHandle, state);
  }

  /**
   * What `input` inflates to, in pieces of one buffer: each is valid only until the next is
   * asked for. Throws zlib's error (code Z_DATA_ERROR, ...) for corrupt data.
   */
  *write(input: Uint8Array): Generator<Uint8Array> {
    yield* this.run(constants.Z_NO_FLUSH, input);
  }

  /** The rest, once all input is written; throws Z_BUF_ERROR when the gzip stream was cut short. */
  *end(): Generator<Uint8Array> {
    yield* this.run(constants.Z_FINISH, new Uint8Array(0));
  }

  /** Frees zlib's state (also when the input ended in an error). */
  close(): void {
    this.gunzip.close();
  }

  private *run(flush: number, input: Uint8Array): Generator<Uint8Array> {
    const out = this.out;
    let offset = 0;
    let left = input.length;
    for (;;) {
      this.handle.writeSync(flush, input, offset, left, out, 0, out.length);
      if (this.gunzip.errored) throw this.gunzip.errored;
      const outLeft = this.state[0] ?? 0;
      const inLeft = this.state[1] ?? 0;
      if (outLeft < out.length) yield out.subarray(0, out.length - outLeft);
      offset += left - inLeft;
      left = inLeft;
      // zlib stops when it has filled the output or used all the input it can.
      if (outLeft !== 0) return;
    }
  }
}
