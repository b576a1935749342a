// The input side of the codec: a cursor over one message with bounds-checked big-endian reads.
// Every read checks the remaining bytes first, so truncated or lying input ends in an EdfError
// ('ERR_EDF_DECODE' with the byte offset), never in a RangeError or an out-of-bounds read.

import { EdfError, type EdfErrorCode } from './errors.js';
import { stackless } from '../../lib/stackless.js';
import type { BufferInternals } from './writer.js';

const TWO32 = 4294967296;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const EMPTY = new Uint8Array(0);

/** Slots of the table of decoded atoms (a power of two; bounded, whatever peers send). */
const ATOM_TABLE_SLOTS = 1024;
/** Longest atom the table keeps (node names with a host, registered names). */
const ATOM_TABLE_MAX_BYTES = 96;
/** Decoded atoms by slot ('' = empty: no atom of length 0 is looked up). Shared by every reader of the thread. */
const atomTable: string[] = [];
for (let i = 0; i < ATOM_TABLE_SLOTS; i++) atomTable.push('');

/** Largest binary a decode copies into the shared slab (see EdfReader.bytesPooled). */
export const POOLED_BINARY_MAX = 1024;
/** V8 keeps a typed array of up to 64 bytes on its heap: cheap to allocate, no slab needed. */
const ON_HEAP_MAX = 64;
/** The shared slab's size, as Node's Buffer pool. */
const SLAB_SIZE = 8192;
let slab = new Uint8Array(SLAB_SIZE);
let slabUsed = 0;

/**
 * A bounds-checked cursor over `[pos, end)` of a byte array. Reads advance `pos`; a read past
 * `end` throws `EdfError('ERR_EDF_DECODE')`. The decoder extends this class.
 */
export class EdfReader {
  /** @internal */ buf: Uint8Array = EMPTY;
  // Made on first use (floats, 64-bit values past 2^53): integers are read from the bytes, and a
  // DataView per input (each socket read is a fresh ArrayBuffer) cost more than a small message.
  #dv: DataView | undefined;
  /** Read position. */
  pos = 0;
  /** End of the readable range (exclusive). */
  end = 0;
  #nodeBuf: Buffer | undefined;

  /** Points the reader at `bytes[start, end)`. */
  setInput(bytes: Uint8Array, start = 0, end = bytes.length): void {
    if (!(bytes instanceof Uint8Array)) throw new EdfError('ERR_EDF_DECODE', 'input must be a Uint8Array');
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > bytes.length || start > end) {
      throw new EdfError('ERR_EDF_DECODE', `invalid input range ${start}..${end} of ${bytes.length} bytes`);
    }
    if (bytes !== this.buf) {
      this.buf = bytes;
      this.#dv = undefined;
      this.#nodeBuf = undefined;
    }
    this.pos = start;
    this.end = end;
  }

  /** Drops the reference to the last input (so it can be collected). */
  clearInput(): void {
    this.buf = EMPTY;
    this.#dv = undefined;
    this.#nodeBuf = undefined;
    this.pos = this.end = 0;
  }

  /** Bytes left to read. */
  get remaining(): number {
    return this.end - this.pos;
  }

  /**
   * @internal Above 0 while a struct layout is being tried that another will follow if it
   * fails: its errors are built without a stack trace (the stack would cost more than the try).
   */
  trying = 0;

  /** An EdfError located at the current position. */
  fail(code: EdfErrorCode, reason: string, cause?: unknown): EdfError {
    const make = (): EdfError =>
      new EdfError(code, reason, cause === undefined ? undefined : { cause }).finishDecode(this.pos);
    return this.trying > 0 ? stackless(make) : make();
  }

  /** @internal Throws unless `n` more bytes are available. */
  need(n: number): void {
    if (this.end - this.pos < n) throw this.eod(n);
  }

  /** A DataView of the input (made once per input). */
  #view(): DataView {
    const b = this.buf;
    return (this.#dv ??= new DataView(b.buffer, b.byteOffset, b.byteLength));
  }

  /** The big-endian u32 at `p` (bounds already checked). */
  #be32(p: number): number {
    const b = this.buf;
    return b[p]! * 0x1000000 + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
  }

  /** @internal */
  eod(n: number): EdfError {
    return this.fail('ERR_EDF_DECODE', `unexpected end of data: need ${n} bytes, ${this.end - this.pos} left`);
  }

  u8(): number {
    if (this.pos >= this.end) throw this.eod(1);
    return this.buf[this.pos++]!;
  }

  i8(): number {
    if (this.pos >= this.end) throw this.eod(1);
    return (this.buf[this.pos++]! << 24) >> 24;
  }

  u16(): number {
    if (this.end - this.pos < 2) throw this.eod(2);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 2;
    return (b[p]! << 8) | b[p + 1]!;
  }

  i16(): number {
    return (this.u16() << 16) >> 16;
  }

  u32(): number {
    if (this.end - this.pos < 4) throw this.eod(4);
    const v = this.#be32(this.pos);
    this.pos += 4;
    return v;
  }

  i32(): number {
    if (this.end - this.pos < 4) throw this.eod(4);
    const v = this.#be32(this.pos) | 0;
    this.pos += 4;
    return v;
  }

  /** A signed 64-bit value: a number when safe, else a bigint. */
  i64(): number | bigint {
    if (this.end - this.pos < 8) throw this.eod(8);
    const p = this.pos;
    this.pos = p + 8;
    const v = (this.#be32(p) | 0) * TWO32 + this.#be32(p + 4);
    // Rounding is monotonic, so an unsafe true value never rounds into the safe range.
    if (v <= MAX_SAFE && v >= -MAX_SAFE) return v;
    return this.#view().getBigInt64(p);
  }

  /** An unsigned 64-bit value: a number when safe, else a bigint. */
  u64(): number | bigint {
    if (this.end - this.pos < 8) throw this.eod(8);
    const p = this.pos;
    this.pos = p + 8;
    const v = this.#be32(p) * TWO32 + this.#be32(p + 4);
    if (v <= MAX_SAFE) return v;
    return this.#view().getBigUint64(p);
  }

  f32(): number {
    if (this.end - this.pos < 4) throw this.eod(4);
    const v = this.#view().getFloat32(this.pos);
    this.pos += 4;
    return v;
  }

  f64(): number {
    if (this.end - this.pos < 8) throw this.eod(8);
    const v = this.#view().getFloat64(this.pos);
    this.pos += 8;
    return v;
  }

  /** `n` bytes as a string (UTF-8; invalid sequences become U+FFFD). */
  utf8(n: number): string {
    if (this.end - this.pos < n) throw this.eod(n);
    const b = this.buf;
    const start = this.pos;
    const stop = start + n;
    this.pos = stop;
    if (n <= 24) {
      let s = '';
      for (let i = start; i < stop; i++) {
        const c = b[i]!;
        if (c >= 0x80) return this.utf8Native(start, stop);
        s += String.fromCharCode(c);
      }
      return s;
    }
    return this.utf8Native(start, stop);
  }

  /**
   * `n` bytes as an atom's text: an ASCII atom of up to ATOM_TABLE_MAX_BYTES comes from a small
   * table of atoms read before (one per slot, chosen by a hash of the bytes and checked byte by
   * byte), so the node and process names every PID, Ref and name carries are one shared flat
   * string instead of a fresh one per decode. A string built by appending characters is a chain
   * of pieces that a process holding the PID keeps alive and that every comparison flattens:
   * interning them made remote spawn's decoded PIDs as cheap to keep and to compare as local ones.
   */
  atomText(n: number): string {
    if (n > ATOM_TABLE_MAX_BYTES || n === 0) return this.utf8(n);
    if (this.end - this.pos < n) throw this.eod(n);
    const b = this.buf;
    const start = this.pos;
    const stop = start + n;
    let h = n;
    for (let i = start; i < stop; i++) h = (Math.imul(h, 31) + b[i]!) | 0;
    const slot = (h ^ (h >>> 15)) & (ATOM_TABLE_SLOTS - 1);
    const hit = atomTable[slot]!;
    if (hit.length === n) {
      let i = 0;
      while (i < n && hit.charCodeAt(i) === b[start + i]) i++;
      if (i === n) {
        this.pos = stop;
        return hit;
      }
    }
    const a = this.utf8Native(start, stop);
    this.pos = stop;
    // Only ASCII text is kept: a UTF-8 atom's length differs from its byte count.
    if (a.length === n) atomTable[slot] = a;
    return a;
  }

  private utf8Native(start: number, stop: number): string {
    let nb = this.#nodeBuf;
    if (nb === undefined) {
      const b = this.buf;
      nb = this.#nodeBuf = Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
    }
    return (nb as unknown as BufferInternals).utf8Slice(start, stop);
  }

  /** A copy of the next `n` bytes. */
  bytesCopy(n: number): Uint8Array {
    if (this.end - this.pos < n) throw this.eod(n);
    const out = new Uint8Array(n);
    out.set(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return out;
  }

  /**
   * @internal A copy of the next `n` bytes for a decoded binary value: one of 65 bytes up to
   * {@link POOLED_BINARY_MAX} is copied into a shared slab, as Node pools its small Buffers (a
   * fresh `Uint8Array` of that size gets a backing store of its own: about 1 µs, 5–7 times a
   * string of the same bytes); its `buffer` is then the slab, not its own. Others as
   * {@link EdfReader.bytesCopy}.
   */
  bytesPooled(n: number): Uint8Array {
    if (n <= ON_HEAP_MAX || n > POOLED_BINARY_MAX) return this.bytesCopy(n);
    if (this.end - this.pos < n) throw this.eod(n);
    let at = slabUsed;
    if (at + n > SLAB_SIZE) {
      slab = new Uint8Array(SLAB_SIZE);
      at = 0;
    }
    slab.set(this.buf.subarray(this.pos, this.pos + n), at);
    // 8-byte aligned, as Node's pool (a Float64Array over the bytes stays possible).
    slabUsed = (at + n + 7) & ~7;
    this.pos += n;
    return new Uint8Array(slab.buffer, at, n);
  }

  /** A view of the next `n` bytes (shares memory with the input). */
  bytesView(n: number): Uint8Array {
    if (this.end - this.pos < n) throw this.eod(n);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
}
