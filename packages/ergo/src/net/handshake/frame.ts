// EHS:R1 framing (WIRE.md §2.1): `0x57 0x01 u32 L` then L bytes of one EDF value, encoded
// without caches. The reader is streaming: bytes arrive in any split, frames come out whole,
// and whatever follows the last handshake frame is handed to ENP as the tail. A frame longer
// than the limit is refused from its header, before its body is buffered.

import { defaultRegistry } from '../edf/default.js';
import { EdfDecoder } from '../edf/decoder.js';
import { EdfEncoder } from '../edf/encoder.js';
import { EdfError } from '../edf/errors.js';
import type { EdfRegistry } from '../edf/registry.js';
import { WireError } from '../error.js';
import { MessageAccept, MessageHello, MessageIntroduce, MessageJoin, registerHandshakeTypes } from './messages.js';

/** First byte of every handshake frame. */
export const HANDSHAKE_MAGIC = 0x57;
/** Second byte: the EHS:R1 frame version. */
export const HANDSHAKE_VERSION = 1;
/** Bytes before the EDF payload. */
export const HANDSHAKE_HEADER = 6;
/** Ergo's limit on a handshake frame's payload (`handshake.go:readMessage`). */
export const DEFAULT_MAX_HANDSHAKE_FRAME = 65535;

/** Any of the four handshake messages. */
export type HandshakeMessage = MessageHello | MessageJoin | MessageIntroduce | MessageAccept;

/** Options of a {@link HandshakeCodec}. */
export interface HandshakeCodecOptions {
  /** Registry of the framework types (default: the default registry). */
  registry?: EdfRegistry;
  /** Largest accepted frame payload in bytes (default 65535, Ergo's). Bigger frames: `ERR_HANDSHAKE_TOO_LARGE`. */
  maxFrame?: number;
}

/**
 * Encodes and decodes handshake frames for one TCP connection. Lifecycle: one per connection;
 * feed received bytes with {@link HandshakeCodec.push}, take messages with
 * {@link HandshakeCodec.next}, and after the last step hand {@link HandshakeCodec.tail} to ENP.
 * Every failure is a {@link WireError} (fatal: close the connection).
 */
export class HandshakeCodec {
  readonly maxFrame: number;
  readonly #enc: EdfEncoder;
  readonly #dec: EdfDecoder;
  #buf: Buffer = Buffer.alloc(0);

  /** @throws WireError `ERR_HANDSHAKE_TOO_LARGE` if `maxFrame` is not a positive integer ≤ 2^32−1. */
  constructor(options: HandshakeCodecOptions = {}) {
    const registry = options.registry ?? defaultRegistry;
    registerHandshakeTypes(registry);
    const max = options.maxFrame ?? DEFAULT_MAX_HANDSHAKE_FRAME;
    if (!Number.isInteger(max) || max < 1 || max > 0xffffffff) {
      throw new WireError(
        'ERR_HANDSHAKE_TOO_LARGE',
        `maxFrame must be an integer in 1..4294967295, got ${String(max)}`,
      );
    }
    this.maxFrame = max;
    this.#enc = new EdfEncoder({ registry });
    this.#dec = new EdfDecoder({ registry });
  }

  /**
   * One complete frame for `message` (header included), a fresh buffer the caller owns.
   * @throws WireError `ERR_HANDSHAKE_MESSAGE` if the message cannot be encoded,
   *   `ERR_HANDSHAKE_TOO_LARGE` if it exceeds `maxFrame` (the peer would refuse it).
   */
  encode(message: HandshakeMessage): Uint8Array {
    const e = this.#enc;
    e.reset();
    e.ensure(HANDSHAKE_HEADER);
    e.u8(HANDSHAKE_MAGIC);
    e.u8(HANDSHAKE_VERSION);
    e.u32(0);
    try {
      e.encodeTo(message);
    } catch (err) {
      throw new WireError('ERR_HANDSHAKE_MESSAGE', `handshake message cannot be encoded: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const n = e.pos - HANDSHAKE_HEADER;
    if (n > this.maxFrame)
      throw new WireError('ERR_HANDSHAKE_TOO_LARGE', `handshake frame of ${n} bytes exceeds ${this.maxFrame}`);
    e.dv.setUint32(2, n);
    return e.copy();
  }

  /** Appends received bytes. */
  push(chunk: Uint8Array): void {
    this.#buf = this.#buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.#buf, chunk]);
  }

  /**
   * The next complete message, or undefined if more bytes are needed.
   * @throws WireError `ERR_HANDSHAKE_FRAME` (bad magic/version), `ERR_HANDSHAKE_TOO_LARGE`
   *   (announced length over `maxFrame`), `ERR_HANDSHAKE_MESSAGE` (payload is not a handshake message).
   */
  next(): HandshakeMessage | undefined {
    const b = this.#buf;
    if (b.length >= 1 && b[0] !== HANDSHAKE_MAGIC)
      throw new WireError('ERR_HANDSHAKE_FRAME', `bad handshake magic 0x${b[0]!.toString(16)}`);
    if (b.length >= 2 && b[1] !== HANDSHAKE_VERSION)
      throw new WireError('ERR_HANDSHAKE_FRAME', `unsupported handshake frame version ${b[1]!}`);
    if (b.length < HANDSHAKE_HEADER) return undefined;
    const n = b.readUInt32BE(2);
    if (n > this.maxFrame)
      throw new WireError('ERR_HANDSHAKE_TOO_LARGE', `handshake frame of ${n} bytes exceeds ${this.maxFrame}`);
    if (b.length < HANDSHAKE_HEADER + n) return undefined;
    let v: unknown;
    try {
      v = this.#dec.decode(b, HANDSHAKE_HEADER, HANDSHAKE_HEADER + n);
    } catch (err) {
      const why = err instanceof EdfError ? err.message : String(err);
      throw new WireError('ERR_HANDSHAKE_MESSAGE', `handshake frame does not decode: ${why}`, { cause: err });
    } finally {
      this.#buf = b.subarray(HANDSHAKE_HEADER + n);
    }
    if (
      v instanceof MessageHello ||
      v instanceof MessageJoin ||
      v instanceof MessageIntroduce ||
      v instanceof MessageAccept
    )
      return v;
    throw new WireError('ERR_HANDSHAKE_MESSAGE', `handshake frame holds ${describe(v)}, not a handshake message`);
  }

  /** Bytes received after the last frame taken (ENP's first bytes); clears them. */
  tail(): Uint8Array {
    const t = this.#buf;
    this.#buf = Buffer.alloc(0);
    return t;
  }

  /** Bytes buffered and not yet taken. */
  get buffered(): number {
    return this.#buf.length;
  }
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return 'nil';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'an object';
  return typeof v;
}
