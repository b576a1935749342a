// The assembly of a frame that spans chunks, shared by a link's frame readers: ENP's
// (stream.ts) and the in-host private frame's (net/inhost/private_frame.ts). A frame that lies
// whole in a chunk is handed out as a view of it by the reader; only a frame cut by a chunk
// boundary comes here — its header first (the header's length field tells the frame's size),
// then its body, in a buffer that grows with the bytes actually received (a hostile length
// field cannot make it allocate gigabytes up front).

/** Largest buffer allocated for a frame before its bytes arrive. */
const FIRST_ASSEMBLY = 64 * 1024;

/**
 * One frame being assembled. Lifecycle: idle (`have` 0); {@link FrameAssembly.start} with the
 * frame's first bytes; {@link FrameAssembly.feed} with each next chunk until
 * {@link FrameAssembly.complete}; {@link FrameAssembly.take} hands the frame out and makes it
 * idle again. The length callback validates the header and throws for a bad one (the reader
 * then fails the link).
 */
export class FrameAssembly {
  #buf: Uint8Array = new Uint8Array(0);
  #have = 0;
  /** The frame's length (0 while its header is incomplete). */
  #want = 0;
  /** Bytes of the header that hold the length. */
  #head = 0;

  /** Bytes of the frame held so far (0: no frame in progress). */
  get have(): number {
    return this.#have;
  }

  /** The whole frame is in: {@link FrameAssembly.take} it. */
  get complete(): boolean {
    return this.#want > 0 && this.#have === this.#want;
  }

  /**
   * Starts a frame with `c[pos..]` (all of the chunk's remaining bytes: the frame goes on in the
   * next chunk). `head`: bytes of its header that hold the length; `length`: the frame's length
   * when the header is already in (validated by the caller), else 0.
   */
  start(c: Uint8Array, pos: number, head: number, length: number): void {
    const left = c.length - pos;
    this.#head = head;
    this.#want = length;
    this.#buf = new Uint8Array(length === 0 ? head : Math.min(length, Math.max(FIRST_ASSEMBLY, left)));
    this.#buf.set(c.subarray(pos));
    this.#have = left;
  }

  /**
   * Adds bytes from `c[pos..]`, up to the end of the frame; returns the position after them.
   * Once the header is in, `lengthOf(header)` gives the frame's length (or throws).
   */
  feed(c: Uint8Array, pos: number, lengthOf: (header: Uint8Array) => number): number {
    if (this.#want === 0) {
      const k = Math.min(this.#head - this.#have, c.length - pos);
      this.#buf.set(c.subarray(pos, pos + k), this.#have);
      this.#have += k;
      pos += k;
      if (this.#have < this.#head) return pos;
      this.#want = lengthOf(this.#buf);
      const b = new Uint8Array(Math.min(this.#want, FIRST_ASSEMBLY));
      b.set(this.#buf.subarray(0, this.#have));
      this.#buf = b;
    }
    const k = Math.min(this.#want - this.#have, c.length - pos);
    if (k > 0) {
      this.#reserve(this.#have + k);
      this.#buf.set(c.subarray(pos, pos + k), this.#have);
      this.#have += k;
      pos += k;
    }
    return pos;
  }

  /** The whole frame (after {@link FrameAssembly.complete}); the assembly is idle again. */
  take(): Uint8Array {
    const b = this.#buf;
    this.#buf = new Uint8Array(0);
    this.#have = 0;
    this.#want = 0;
    return b;
  }

  /** Grows the buffer (doubling, at most to the frame's length) to hold `n` bytes. */
  #reserve(n: number): void {
    const a = this.#buf;
    if (n <= a.length) return;
    let cap = a.length * 2;
    while (cap < n) cap *= 2;
    const b = new Uint8Array(Math.min(cap, this.#want));
    b.set(a.subarray(0, this.#have));
    this.#buf = b;
  }
}
