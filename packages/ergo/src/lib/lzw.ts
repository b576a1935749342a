// LZW as Go's `compress/lzw` writes and reads it, which is what Ergo's LZW compression uses
// (WIRE.md §3.6): GIF flavour — a clear code (1 << litWidth) first, then codes that grow from
// litWidth+1 to 12 bits, the width growing when the next code to assign reaches 2^width (no
// TIFF "early change"), a clear code and a fresh table when code 4095 would be assigned, and an
// EOF code (clear + 1) last. Bits are packed LSB-first (GIF) or MSB-first (TIFF/PDF). The output
// is byte-identical to Go's for the same input, which the ENP vectors check. Decompression can
// run in slices (lzwDecompressSliced) so a large stream never holds the event loop for long.

/** Bit packing order of the code stream. */
export const enum LzwOrder {
  /** Least significant bits first (GIF; what Ergo uses). */
  LSB = 0,
  /** Most significant bits first (TIFF, PDF). */
  MSB = 1,
}

const MAX_WIDTH = 12;
const MAX_CODE = (1 << MAX_WIDTH) - 1; // 4095
const NO_CODE = 0xffffffff;

/** A failure of {@link lzwDecompress}: `code` is `ERR_LZW_CORRUPT` or `ERR_LZW_TOO_LARGE`. */
export class LzwError extends Error {
  readonly code: 'ERR_LZW_CORRUPT' | 'ERR_LZW_TOO_LARGE';
  constructor(code: 'ERR_LZW_CORRUPT' | 'ERR_LZW_TOO_LARGE', message: string) {
    super(message);
    this.code = code;
  }
}
LzwError.prototype.name = 'LzwError';

function checkLitWidth(litWidth: number): void {
  if (!Number.isInteger(litWidth) || litWidth < 2 || litWidth > 8)
    throw new RangeError(`lzw: litWidth must be 2..8, got ${String(litWidth)}`);
}

/** A growable output byte buffer. */
class LzwOut {
  buf: Uint8Array;
  n = 0;
  constructor(cap: number, unsafe = false) {
    // Unsafe (not zeroed) when it is only ever read up to `n`, which is all written.
    this.buf = unsafe ? Buffer.allocUnsafeSlow(Math.max(64, cap)) : new Uint8Array(Math.max(64, cap));
  }
  byte(b: number): void {
    if (this.n === this.buf.length) this.grow(1);
    this.buf[this.n++] = b;
  }
  grow(k: number): void {
    let cap = this.buf.length * 2;
    while (cap < this.n + k) cap *= 2;
    const nb = new Uint8Array(cap);
    nb.set(this.buf.subarray(0, this.n));
    this.buf = nb;
  }
}

/**
 * Compresses like Go's `lzw.NewWriter(w, order, litWidth)` followed by Write(data) and Close().
 * Reuse one instance to keep its 2 MB dictionary (it is cleared cheaply between calls).
 */
export class LzwCompressor {
  readonly order: LzwOrder;
  readonly litWidth: number;
  // (prefix code << 8 | literal) → assigned code; 0 = absent (assigned codes are ≥ clear + 2).
  readonly #table = new Uint16Array(1 << 20);
  readonly #used = new Int32Array(MAX_CODE + 1);
  #nUsed = 0;

  /** @throws RangeError if `litWidth` is not in 2..8. */
  constructor(order: LzwOrder = LzwOrder.LSB, litWidth = 8) {
    checkLitWidth(litWidth);
    this.order = order;
    this.litWidth = litWidth;
  }

  /** The compressed form of `data` (a fresh array). @throws RangeError for a byte above the literal width. */
  compress(data: Uint8Array): Uint8Array {
    const lit = this.litWidth;
    const maxLit = (1 << lit) - 1;
    const clear = 1 << lit;
    const eof = clear + 1;
    const out = new LzwOut((data.length >>> 1) + 16);
    const msb = this.order === LzwOrder.MSB;
    let bits = 0; // pending bits (LSB: low bits first; MSB: kept in the top of 32 bits)
    let nBits = 0;
    let width = lit + 1;
    let hi = eof;
    let overflow = 1 << (lit + 1);
    const table = this.#table;
    const used = this.#used;
    this.#clearTable();

    const write = (c: number): void => {
      if (msb) {
        bits = (bits | (c << (32 - width - nBits))) >>> 0;
        nBits += width;
        while (nBits >= 8) {
          out.byte(bits >>> 24);
          bits = (bits << 8) >>> 0;
          nBits -= 8;
        }
      } else {
        bits |= c << nBits;
        nBits += width;
        while (nBits >= 8) {
          out.byte(bits & 0xff);
          bits >>>= 8;
          nBits -= 8;
        }
      }
    };
    // Go's incHi: true when the table was full and has been reset (after a clear code).
    const incHi = (): boolean => {
      hi++;
      if (hi === overflow) {
        width++;
        overflow <<= 1;
      }
      if (hi === MAX_CODE) {
        write(clear);
        width = lit + 1;
        hi = eof;
        overflow = clear << 1;
        this.#clearTable();
        return true;
      }
      return false;
    };

    let code = NO_CODE;
    if (data.length > 0) {
      write(clear);
      code = data[0]!;
      if (code > maxLit) throw new RangeError('lzw: input byte too large for the literal width');
      for (let i = 1; i < data.length; i++) {
        const literal = data[i]!;
        if (literal > maxLit) throw new RangeError('lzw: input byte too large for the literal width');
        const key = (code << 8) | literal;
        const hit = table[key]!;
        if (hit !== 0) {
          code = hit;
          continue;
        }
        write(code);
        code = literal;
        if (incHi()) continue;
        table[key] = hi;
        used[this.#nUsed++] = key;
      }
    }
    if (code !== NO_CODE) {
      write(code);
      incHi();
    } else {
      write(clear);
    }
    write(eof);
    if (nBits > 0) out.byte(msb ? bits >>> 24 : bits & 0xff);
    return out.buf.slice(0, out.n);
  }

  #clearTable(): void {
    const table = this.#table;
    const used = this.#used;
    for (let i = 0; i < this.#nUsed; i++) table[used[i]!] = 0;
    this.#nUsed = 0;
  }
}

/**
 * Decompresses like Go's `lzw.NewReader(r, order, litWidth)` read to EOF. Input after the EOF
 * code is ignored (as Go's reader does).
 * @param maxOutput the output may not exceed this many bytes (zip-bomb protection).
 * @throws LzwError `ERR_LZW_CORRUPT` (invalid code, stream ends before EOF code),
 *   `ERR_LZW_TOO_LARGE` (output would exceed `maxOutput`); RangeError for a bad litWidth.
 */
export function lzwDecompress(
  data: Uint8Array,
  maxOutput: number,
  order: LzwOrder = LzwOrder.LSB,
  litWidth = 8,
): Uint8Array {
  const d = new LzwDecoder(data, maxOutput, order, litWidth);
  while (!d.step(Infinity));
  return d.result();
}

/**
 * Decompresses in slices of about `slice` output bytes, yielding to the event loop
 * (setImmediate) between them, so a large stream never blocks other work for long. Calls `done`
 * once, never synchronously, with the output or the error {@link lzwDecompress} would throw.
 */
export function lzwDecompressSliced(
  data: Uint8Array,
  maxOutput: number,
  slice: number,
  done: (err: Error | null, out?: Uint8Array) => void,
  order: LzwOrder = LzwOrder.LSB,
  litWidth = 8,
): void {
  let d: LzwDecoder;
  try {
    // Sized for the whole output at once: growing by doubling copies up to twice its size.
    d = new LzwDecoder(data, maxOutput, order, litWidth, true);
  } catch (e) {
    setImmediate(done, e as Error);
    return;
  }
  const run = (): void => {
    let finished: boolean;
    try {
      finished = d.step(slice);
    } catch (e) {
      done(e as Error);
      return;
    }
    if (finished) done(null, d.result());
    else setImmediate(run);
  };
  setImmediate(run);
}

/**
 * The state of one LZW decompression, advanced by {@link LzwDecoder.step}: a code table, the bit
 * reader's position and the output so far. Not reusable.
 */
class LzwDecoder {
  readonly #data: Uint8Array;
  readonly #max: number;
  readonly #msb: boolean;
  readonly #litWidth: number;
  readonly #clear: number;
  readonly #eof: number;
  readonly #prefix = new Uint16Array(MAX_CODE + 1);
  readonly #suffix = new Uint8Array(MAX_CODE + 1);
  readonly #stack = new Uint8Array(MAX_CODE + 1);
  readonly #out: LzwOut;
  #width: number;
  #hi: number;
  #overflow: number;
  #last = NO_CODE;
  #bits = 0;
  #nBits = 0;
  #i = 0;
  #done = false;

  constructor(data: Uint8Array, maxOutput: number, order: LzwOrder, litWidth: number, presize = false) {
    checkLitWidth(litWidth);
    this.#data = data;
    this.#max = maxOutput;
    this.#msb = order === LzwOrder.MSB;
    this.#litWidth = litWidth;
    this.#clear = 1 << litWidth;
    this.#eof = this.#clear + 1;
    this.#out = presize ? new LzwOut(maxOutput, true) : new LzwOut(Math.min(maxOutput, data.length * 4) + 16);
    this.#width = litWidth + 1;
    this.#hi = this.#eof;
    this.#overflow = 1 << this.#width;
  }

  /** The output (after `step` returned true): a view when the buffer is nearly full, else a copy. */
  result(): Uint8Array {
    const out = this.#out;
    return out.buf.length - out.n <= 64 ? out.buf.subarray(0, out.n) : out.buf.slice(0, out.n);
  }

  /**
   * Decodes until the EOF code (returns true) or until the output grew by at least `budget`
   * bytes (returns false: call again). Throws LzwError as lzwDecompress.
   */
  step(budget: number): boolean {
    if (this.#done) return true;
    const data = this.#data;
    const msb = this.#msb;
    const clear = this.#clear;
    const eof = this.#eof;
    const prefix = this.#prefix;
    const suffix = this.#suffix;
    const stack = this.#stack;
    const out = this.#out;
    const maxOutput = this.#max;
    const stop = out.n + budget;
    // Locals for the hot loop, written back before returning.
    let width = this.#width;
    let hi = this.#hi;
    let overflow = this.#overflow;
    let last = this.#last;
    let bits = this.#bits;
    let nBits = this.#nBits;
    let i = this.#i;
    const save = (): void => {
      this.#width = width;
      this.#hi = hi;
      this.#overflow = overflow;
      this.#last = last;
      this.#bits = bits;
      this.#nBits = nBits;
      this.#i = i;
    };
    while (out.n < stop) {
      // Read one code.
      while (nBits < width) {
        if (i >= data.length) throw new LzwError('ERR_LZW_CORRUPT', 'lzw: stream ends before the EOF code');
        const x = data[i++]!;
        if (msb) bits = (bits | (x << (24 - nBits))) >>> 0;
        else bits |= x << nBits;
        nBits += 8;
      }
      let code: number;
      if (msb) {
        code = bits >>> (32 - width);
        bits = (bits << width) >>> 0;
      } else {
        code = bits & ((1 << width) - 1);
        bits >>>= width;
      }
      nBits -= width;

      if (code < clear) {
        if (out.n + 1 > maxOutput) throw new LzwError('ERR_LZW_TOO_LARGE', `lzw: output exceeds ${maxOutput} bytes`);
        out.byte(code);
        if (last !== NO_CODE) {
          suffix[hi] = code;
          prefix[hi] = last;
        }
      } else if (code === clear) {
        width = this.#litWidth + 1;
        hi = eof;
        overflow = 1 << width;
        last = NO_CODE;
        continue;
      } else if (code === eof) {
        this.#done = true;
        save();
        return true;
      } else if (code <= hi) {
        // Expand into `stack` from the end backwards, as Go does.
        let c = code;
        let s = stack.length - 1;
        if (code === hi && last !== NO_CODE) {
          // code == hi: the last expansion followed by its own first byte.
          let h = last;
          while (h >= clear) h = prefix[h]!;
          stack[s--] = h;
          c = last;
        }
        while (c >= clear) {
          stack[s--] = suffix[c]!;
          c = prefix[c]!;
        }
        stack[s] = c;
        const n = stack.length - s;
        if (out.n + n > maxOutput) throw new LzwError('ERR_LZW_TOO_LARGE', `lzw: output exceeds ${maxOutput} bytes`);
        if (out.n + n > out.buf.length) out.grow(n);
        out.buf.set(stack.subarray(s), out.n);
        out.n += n;
        if (last !== NO_CODE) {
          suffix[hi] = c;
          prefix[hi] = last;
        }
      } else {
        throw new LzwError('ERR_LZW_CORRUPT', 'lzw: invalid code');
      }
      last = code;
      hi++;
      if (hi >= overflow) {
        if (width === MAX_WIDTH) {
          last = NO_CODE;
          hi--;
        } else {
          width++;
          overflow = 1 << width;
        }
      }
    }
    save();
    return false;
  }
}
