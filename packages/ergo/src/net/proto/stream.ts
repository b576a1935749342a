// Splits a link's TCP byte stream into ENP packets (WIRE.md §3.1, §3.7). Bytes arrive in any
// split: a read may hold several packets, end inside a header, or carry a piece of a large
// packet. Complete packets inside a chunk are handed out as views of that chunk (no copy); only
// a packet that spans reads is assembled, in a buffer that grows with the bytes actually
// received (a hostile length field cannot make it allocate gigabytes up front). The header is
// checked as soon as it is complete: bad magic/version, a length below 8 or above this side's
// MaxMessageSize are fatal (Ergo closes the link).

import { WireError } from '../error.js';
import { FrameAssembly } from './frame_assembly.js';
import { ENP_HEADER, ENP_MAGIC, ENP_VERSION } from './packet.js';

/**
 * Streaming ENP frame reader for one link. Lifecycle: {@link EnpFrameReader.push} each chunk
 * read from the socket, then call {@link EnpFrameReader.next} until it returns false; after each
 * `true`, `bytes[start, end)` is one complete packet, valid until the next `next()` or `push()`
 * (decode it synchronously). After a thrown WireError the reader is unusable: close the link.
 */
export class EnpFrameReader {
  /** Largest packet accepted (this side's MaxMessageSize; 0 = no limit but the u32 field). */
  readonly maxMessageSize: number;
  /** The buffer holding the current packet. */
  bytes: Uint8Array = new Uint8Array(0);
  /** Start of the current packet in {@link EnpFrameReader.bytes}. */
  start = 0;
  /** End (exclusive) of the current packet. */
  end = 0;

  #chunk: Uint8Array = new Uint8Array(0);
  #pos = 0;
  /** A packet spanning chunks. */
  readonly #asm = new FrameAssembly();
  readonly #lengthOf = (header: Uint8Array): number => this.#check(header, 0);
  #failed = false;

  /** @throws WireError `ERR_ENP_TOO_LARGE` for a bad limit. */
  constructor(maxMessageSize = 0) {
    if (!Number.isSafeInteger(maxMessageSize) || maxMessageSize < 0) {
      throw new WireError(
        'ERR_ENP_TOO_LARGE',
        `maxMessageSize must be a non-negative integer, got ${String(maxMessageSize)}`,
      );
    }
    this.maxMessageSize = maxMessageSize;
  }

  /** Bytes of an incomplete packet held between chunks. */
  get buffered(): number {
    return this.#asm.have + (this.#chunk.length - this.#pos);
  }

  /** Hands the next chunk to the reader (the previous one must have been drained with `next()`). */
  push(chunk: Uint8Array): void {
    if (this.#pos < this.#chunk.length)
      throw new WireError('ERR_ENP_FRAME', 'push before the previous chunk was drained');
    this.#chunk = chunk;
    this.#pos = 0;
  }

  /**
   * Advances to the next complete packet.
   * @returns true with `bytes/start/end` set, false when more bytes are needed.
   * @throws WireError `ERR_ENP_FRAME` / `ERR_ENP_TOO_LARGE` (fatal: close the link).
   */
  next(): boolean {
    if (this.#failed) throw new WireError('ERR_ENP_FRAME', 'the stream already failed');
    const c = this.#chunk;
    const pos = this.#pos;
    const asm = this.#asm;
    if (asm.have > 0) {
      // Continue a packet that spans chunks.
      this.#pos = asm.feed(c, pos, this.#lengthOf);
      if (!asm.complete) return false;
      const b = asm.take();
      this.bytes = b;
      this.start = 0;
      this.end = b.length;
      return true;
    }
    const left = c.length - pos;
    if (left === 0) return false;
    if (left < ENP_HEADER) {
      // Check what we can of the header now (bad magic fails early), keep the rest.
      if (c[pos] !== ENP_MAGIC || (left > 1 && c[pos + 1] !== ENP_VERSION)) this.#check(c, pos);
      asm.start(c, pos, ENP_HEADER, 0);
      this.#pos = c.length;
      return false;
    }
    const n = this.#check(c, pos);
    if (left >= n) {
      this.bytes = c;
      this.start = pos;
      this.end = pos + n;
      this.#pos = pos + n;
      return true;
    }
    asm.start(c, pos, ENP_HEADER, n);
    this.#pos = c.length;
    return false;
  }

  /** Validates a header at `b[at]` and returns the packet length. */
  #check(b: Uint8Array, at: number): number {
    if (b[at] !== ENP_MAGIC) return this.#fail('ERR_ENP_FRAME', `bad ENP magic 0x${b[at]!.toString(16)}`);
    if (at + 1 < b.length && b[at + 1] !== ENP_VERSION)
      return this.#fail('ERR_ENP_FRAME', `unsupported ENP version ${b[at + 1]!}`);
    if (at + ENP_HEADER > b.length) return 0;
    const n = ((b[at + 2]! << 24) >>> 0) + (b[at + 3]! << 16) + (b[at + 4]! << 8) + b[at + 5]!;
    if (n < ENP_HEADER) return this.#fail('ERR_ENP_FRAME', `ENP packet length ${n} is shorter than its header`);
    if (this.maxMessageSize > 0 && n > this.maxMessageSize) {
      return this.#fail(
        'ERR_ENP_TOO_LARGE',
        `ENP packet of ${n} bytes exceeds maxMessageSize (${this.maxMessageSize})`,
      );
    }
    return n;
  }

  #fail(code: 'ERR_ENP_FRAME' | 'ERR_ENP_TOO_LARGE', message: string): never {
    this.#failed = true;
    throw new WireError(code, message);
  }
}
