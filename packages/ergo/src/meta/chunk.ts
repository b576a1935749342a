// Chunking (Ergo's meta.ChunkOptions): reassembling a byte stream into frames of a fixed length,
// or frames whose length sits in a 1/2/4-byte big-endian field of a fixed-size header. Reads can
// split a frame anywhere or carry several frames: the Chunker keeps the parts it has without
// copying them until a frame is complete, so a large frame arriving in many reads costs one copy.

import { ErrIncorrect, ErrMalformed, ErrTooLarge } from '../gen/errors.js';

/**
 * How a stream is cut into frames. `fixedLength > 0`: every frame has that many bytes. Otherwise
 * a header of `headerSize` bytes carries the length in `headerLengthSize` (1, 2 or 4) bytes,
 * big-endian, at `headerLengthPosition`; the length counts the header only when
 * `headerLengthIncludesHeader`. A frame longer than `maxLength` (0 = no limit) ends the reader
 * with ErrTooLarge (the connection/port closes, the reason is logged). Frames include the header.
 */
export interface ChunkOptions {
  enable: boolean;
  fixedLength?: number;
  headerSize?: number;
  headerLengthPosition?: number;
  headerLengthSize?: 1 | 2 | 4;
  headerLengthIncludesHeader?: boolean;
  maxLength?: number;
}

function nonNegativeInt(v: unknown, what: string): number {
  if (v === undefined) return 0;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
    throw ErrIncorrect.with(`chunk ${what} must be a non-negative integer, got ${String(v)}`);
  return v;
}

/** Checks chunk options (Ergo's ChunkOptions.IsValid); throws ErrIncorrect naming the field. */
export function validateChunkOptions(o: ChunkOptions | undefined): void {
  if (o === undefined || !o.enable) return;
  const fixed = nonNegativeInt(o.fixedLength, 'fixedLength');
  nonNegativeInt(o.maxLength, 'maxLength');
  if (fixed > 0) return;
  const size = nonNegativeInt(o.headerSize, 'headerSize');
  const pos = nonNegativeInt(o.headerLengthPosition, 'headerLengthPosition');
  if (size === 0) throw ErrIncorrect.with('chunk headerSize must be non-zero for dynamic chunk size');
  const len = o.headerLengthSize;
  if (len !== 1 && len !== 2 && len !== 4)
    throw ErrIncorrect.with('chunk headerLengthSize must be either: 1, 2, or 4 bytes');
  if (pos + len > size)
    throw ErrIncorrect.with('chunk headerLengthPosition + headerLengthSize is out of headerSize bounds');
}

/** Reassembles frames from a stream of reads. */
export class Chunker {
  private parts: Buffer[] = [];
  private head = 0;
  private have = 0;
  /** Length of the frame being collected (0 = not known yet). */
  private need = 0;
  private readonly fixed: number;
  private readonly headerSize: number;
  private readonly lenPos: number;
  private readonly lenSize: number;
  private readonly includesHeader: boolean;
  private readonly max: number;

  constructor(options: ChunkOptions) {
    validateChunkOptions(options);
    this.fixed = options.fixedLength ?? 0;
    this.headerSize = options.headerSize ?? 0;
    this.lenPos = options.headerLengthPosition ?? 0;
    this.lenSize = options.headerLengthSize ?? 1;
    this.includesHeader = options.headerLengthIncludesHeader === true;
    this.max = options.maxLength ?? 0;
  }

  /** Bytes held while waiting for the rest of a frame. */
  get buffered(): number {
    return this.have;
  }

  /**
   * Adds a read and calls `emit` for each complete frame, in order. Returns an error (and keeps
   * nothing) when a frame is over `maxLength` or its header announces an impossible length.
   */
  push(data: Buffer, emit: (frame: Buffer) => void): Error | undefined {
    if (data.length === 0) return undefined;
    this.parts.push(data);
    this.have += data.length;
    for (;;) {
      if (this.need === 0) {
        if (this.fixed > 0) this.need = this.fixed;
        else {
          if (this.have < this.headerSize) return undefined;
          const header = this.peek(this.headerSize);
          let n: number;
          if (this.lenSize === 1) n = header[this.lenPos]!;
          else if (this.lenSize === 2) n = header.readUInt16BE(this.lenPos);
          else n = header.readUInt32BE(this.lenPos);
          if (!this.includesHeader) n += this.headerSize;
          if (this.max > 0 && n > this.max) {
            this.reset();
            return ErrTooLarge.with(`chunk size ${n} exceeds the limit (maxLength ${this.max})`);
          }
          if (n < this.headerSize) {
            this.reset();
            return ErrMalformed.with(`chunk length ${n} is shorter than its ${this.headerSize}-byte header`);
          }
          this.need = n;
        }
      }
      if (this.have < this.need) return undefined;
      const frame = this.take(this.need);
      this.need = 0;
      emit(frame);
    }
  }

  private reset(): void {
    this.parts = [];
    this.head = 0;
    this.have = 0;
    this.need = 0;
  }

  /** The first `n` buffered bytes without consuming them (n ≤ have). */
  private peek(n: number): Buffer {
    const first = this.parts[this.head]!;
    if (first.length >= n) return first;
    const joined = Buffer.concat(this.parts.slice(this.head), this.have);
    this.parts = [joined];
    this.head = 0;
    return joined;
  }

  /** Consumes the first `n` buffered bytes (n ≤ have) as one buffer. */
  private take(n: number): Buffer {
    const parts = this.parts;
    let first = parts[this.head]!;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.head++;
      else parts[this.head] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let off = 0;
      while (off < n) {
        first = parts[this.head]!;
        const k = Math.min(first.length, n - off);
        first.copy(out, off, 0, k);
        off += k;
        if (k === first.length) this.head++;
        else parts[this.head] = first.subarray(k);
      }
    }
    this.have -= n;
    if (this.head === parts.length) {
      this.parts = [];
      this.head = 0;
    } else if (this.head > 32) {
      this.parts = parts.slice(this.head);
      this.head = 0;
    }
    return out;
  }
}
