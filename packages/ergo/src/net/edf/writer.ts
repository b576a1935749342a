// The output side of the codec: one growable byte buffer, reused across messages, with
// big-endian primitives and a UTF-8 writer that copies ASCII by hand (short strings are the
// common case and a native call costs more than the copy). The encoder extends this class, so
// body encoders call these methods on a single monomorphic object.

import { EdfError } from './errors.js';

const TWO32 = 4294967296;
const INITIAL = 256;
/**
 * Capacity a writer keeps across messages: one that grew past it for a large message goes back
 * to it when rewound, so a connection's encoder does not hold (and, when a write pins its
 * buffer, allocate again) tens of megabytes for good after one large message.
 */
const RETAINED = 1 << 20;

/**
 * A growable big-endian byte buffer. `pos` is the write position; bytes `[0, pos)` are the
 * output. The buffer is reused: {@link EdfWriter.reset} rewinds it; views obtained with
 * {@link EdfWriter.view} are only valid until the next write. Growing past `maxSize` throws
 * `EdfError('ERR_EDF_MESSAGE_TOO_LARGE')`.
 */
export class EdfWriter {
  /** @internal */ buf: Buffer;
  /** @internal */ dv: DataView;
  /** Current write position (= length of the output so far). */
  pos = 0;
  /** Largest output allowed, in bytes. */
  maxSize: number;

  constructor(maxSize = 0xffffffff, initialCapacity = INITIAL) {
    this.maxSize = maxSize;
    this.buf = Buffer.allocUnsafeSlow(Math.max(16, initialCapacity));
    this.dv = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  /** Rewinds to empty; keeps the allocated capacity. */
  reset(): void {
    this.pos = 0;
    if (this.buf.length > RETAINED) this.#replace(RETAINED);
  }

  /**
   * Rewinds to empty on a fresh buffer of the same capacity: for when bytes of the old buffer
   * are still referenced elsewhere (a socket write that did not complete synchronously).
   */
  detach(): void {
    this.#replace(Math.min(this.buf.length, RETAINED));
    this.pos = 0;
  }

  #replace(capacity: number): void {
    this.buf = Buffer.allocUnsafeSlow(capacity);
    this.dv = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  /** A view of the output `[start, pos)`, valid until the next write or reset. */
  view(start = 0): Uint8Array {
    return this.buf.subarray(start, this.pos);
  }

  /** A copy of the output `[start, pos)` that the caller owns. */
  copy(start = 0): Uint8Array {
    const n = this.pos - start;
    const out = new Uint8Array(n);
    out.set(this.buf.subarray(start, this.pos));
    return out;
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    if (this.pos + n > this.buf.length) this.grow(n);
  }

  /**
   * @internal Writes into `buf` (with its DataView `dv`) from `pos` on, until
   * {@link EdfWriter.giveBack}: the shared event batch encodes a publish's event straight into
   * its arena this way, instead of encoding here and copying. A write that does not fit throws
   * (an EdfError) instead of growing `buf`, and giveBack then reports it.
   */
  borrow(buf: Buffer, dv: DataView, pos: number): void {
    this.#own = this.buf;
    this.#ownDv = this.dv;
    this.#ownPos = this.pos;
    this.#overflow = false;
    this.buf = buf;
    this.dv = dv;
    this.pos = pos;
  }

  /**
   * @internal Ends a {@link EdfWriter.borrow}: the writer's own buffer and position again.
   * Returns the borrowed buffer's end of the bytes written, or -1 when a write did not fit.
   */
  giveBack(): number {
    const end = this.#overflow ? -1 : this.pos;
    this.buf = this.#own!;
    this.dv = this.#ownDv!;
    this.pos = this.#ownPos;
    this.#own = null;
    this.#ownDv = null;
    return end;
  }

  #own: Buffer | null = null;
  #ownDv: DataView | null = null;
  #ownPos = 0;
  #overflow = false;

  private grow(n: number): void {
    if (this.#own !== null) {
      // A borrowed buffer is not ours to replace: the caller encodes again in its own.
      this.#overflow = true;
      throw new EdfError('ERR_EDF_MESSAGE_TOO_LARGE', 'the borrowed buffer is full');
    }
    const need = this.pos + n;
    if (need > this.maxSize) {
      throw new EdfError('ERR_EDF_MESSAGE_TOO_LARGE', `message exceeds maxMessageSize (${this.maxSize} bytes)`);
    }
    let cap = this.buf.length * 2;
    while (cap < need) cap *= 2;
    if (cap > this.maxSize) cap = Math.max(need, this.maxSize);
    const nb = Buffer.allocUnsafeSlow(cap);
    this.buf.copy(nb, 0, 0, this.pos);
    this.buf = nb;
    this.dv = new DataView(nb.buffer, nb.byteOffset, nb.byteLength);
  }

  /** Checks that the output so far is within `maxSize` (reservations may overshoot it). */
  checkSize(): void {
    if (this.pos > this.maxSize) {
      throw new EdfError('ERR_EDF_MESSAGE_TOO_LARGE', `message exceeds maxMessageSize (${this.maxSize} bytes)`);
    }
  }

  u8(v: number): void {
    if (this.pos + 1 > this.buf.length) this.grow(1);
    this.buf[this.pos++] = v;
  }

  u16(v: number): void {
    if (this.pos + 2 > this.buf.length) this.grow(2);
    const b = this.buf;
    const p = this.pos;
    b[p] = v >>> 8;
    b[p + 1] = v;
    this.pos = p + 2;
  }

  /** Tag byte followed by a u16 (atom/error/reg headers). */
  u8u16(t: number, v: number): void {
    if (this.pos + 3 > this.buf.length) this.grow(3);
    const b = this.buf;
    const p = this.pos;
    b[p] = t;
    b[p + 1] = v >>> 8;
    b[p + 2] = v;
    this.pos = p + 3;
  }

  u32(v: number): void {
    if (this.pos + 4 > this.buf.length) this.grow(4);
    this.dv.setUint32(this.pos, v);
    this.pos += 4;
  }

  i32(v: number): void {
    if (this.pos + 4 > this.buf.length) this.grow(4);
    this.dv.setInt32(this.pos, v);
    this.pos += 4;
  }

  /** Writes an integral number in [-2^63, 2^63) as 8 bytes two's complement. */
  i64n(v: number): void {
    if (this.pos + 8 > this.buf.length) this.grow(8);
    const hi = Math.floor(v / TWO32);
    this.dv.setInt32(this.pos, hi);
    this.dv.setUint32(this.pos + 4, v - hi * TWO32);
    this.pos += 8;
  }

  /** Writes an integral number in [0, 2^64) as 8 bytes. */
  u64n(v: number): void {
    if (this.pos + 8 > this.buf.length) this.grow(8);
    const hi = Math.floor(v / TWO32);
    this.dv.setUint32(this.pos, hi);
    this.dv.setUint32(this.pos + 4, v - hi * TWO32);
    this.pos += 8;
  }

  /** Writes a bigint as 8 bytes (two's complement / unsigned, already range-checked). */
  b64(v: bigint, signed: boolean): void {
    if (this.pos + 8 > this.buf.length) this.grow(8);
    if (signed) this.dv.setBigInt64(this.pos, v);
    else this.dv.setBigUint64(this.pos, v);
    this.pos += 8;
  }

  f32(v: number): void {
    if (this.pos + 4 > this.buf.length) this.grow(4);
    this.dv.setFloat32(this.pos, v);
    this.pos += 4;
  }

  f64(v: number): void {
    if (this.pos + 8 > this.buf.length) this.grow(8);
    if (v !== v) {
      // Go's math.NaN() bit pattern, so NaN re-encodes as Go writes it.
      this.dv.setUint32(this.pos, 0x7ff80000);
      this.dv.setUint32(this.pos + 4, 1);
    } else this.dv.setFloat64(this.pos, v);
    this.pos += 8;
  }

  /** Appends raw bytes. */
  bytes(src: Uint8Array): void {
    const n = src.length;
    if (this.pos + n > this.buf.length) this.grow(n);
    this.buf.set(src, this.pos);
    this.pos += n;
  }

  /**
   * Writes `s` as UTF-8 at the current position and returns its byte length. Room for the
   * worst case (3 bytes per UTF-16 unit) is reserved first; callers bound `s.length`.
   */
  utf8(s: string): number {
    const n = s.length;
    if (this.pos + n * 3 > this.buf.length) this.reserveText(s);
    const b = this.buf;
    const start = this.pos;
    if (n < 48) {
      let p = start;
      for (let i = 0; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) return this.utf8Native(s, start);
        b[p++] = c;
      }
      this.pos = p;
      return n;
    }
    return this.utf8Native(s, start);
  }

  private utf8Native(s: string, start: number): number {
    const w = (this.buf as unknown as BufferInternals).utf8Write(s, start);
    this.pos = start + w;
    return w;
  }

  private reserveText(s: string): void {
    // The worst case may not fit under maxSize while the real length does: measure then.
    const worst = s.length * 3;
    if (this.pos + worst <= this.maxSize) this.grow(worst);
    else this.grow(Buffer.byteLength(s, 'utf8'));
  }
}

/** @internal Node's fast UTF-8 primitives behind Buffer.write / Buffer.toString (present since Node 0.x). */
export interface BufferInternals {
  utf8Write(s: string, offset?: number, length?: number): number;
  utf8Slice(start: number, end: number): string;
  latin1Slice(start: number, end: number): string;
}
