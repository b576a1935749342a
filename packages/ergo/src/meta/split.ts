// Tokenising a text stream (Go's bufio.Scanner with a SplitFunc): a port's stdout and stderr are
// cut into tokens — lines by default — each becoming one message. A token longer than the limit
// ends the reader with ErrTooLarge (Go: "token too long"), rather than buffering without bound.

import { ErrIncorrect, ErrTooLarge, toError } from '../gen/errors.js';

/**
 * Finds the next token in `data` (Go's bufio.SplitFunc). Return `[advance, token]`: consume
 * `advance` bytes and emit `token` (null = emit nothing); `[0, null]` asks for more data. At
 * `atEOF` the remaining bytes must be consumed or dropped.
 */
export type SplitFunc = (data: Buffer, atEOF: boolean) => [advance: number, token: Buffer | null];

/** Default largest token (Go's bufio.MaxScanTokenSize, 64 KiB). */
export const DEFAULT_MAX_TOKEN_SIZE = 64 * 1024;

/** Lines without their end of line ("\n" or "\r\n"); the last line may lack one (bufio.ScanLines). */
export const splitLines: SplitFunc = (data, atEOF) => {
  const i = data.indexOf(10);
  if (i >= 0) {
    const end = i > 0 && data[i - 1] === 13 ? i - 1 : i;
    return [i + 1, data.subarray(0, end)];
  }
  if (atEOF && data.length > 0) {
    const end = data[data.length - 1] === 13 ? data.length - 1 : data.length;
    return [data.length, data.subarray(0, end)];
  }
  return [0, null];
};

/** Accumulates reads and emits the tokens a SplitFunc finds. */
export class TextScanner {
  private buf: Buffer = Buffer.alloc(0);

  constructor(
    private readonly split: SplitFunc,
    private readonly maxTokenSize: number,
  ) {}

  /**
   * Adds a read; returns the error that ends the reader (too long a token, a bad split, a split
   * function that threw), if any. Never throws.
   */
  push(data: Buffer, emit: (token: Buffer) => void): Error | undefined {
    this.buf = this.buf.length === 0 ? data : Buffer.concat([this.buf, data]);
    return this.scan(false, emit);
  }

  /** The stream ended: emits what is left. */
  end(emit: (token: Buffer) => void): Error | undefined {
    return this.scan(true, emit);
  }

  private scan(atEOF: boolean, emit: (token: Buffer) => void): Error | undefined {
    while (this.buf.length > 0) {
      // A user's SplitFunc, called from a stream's 'data' event (outside any actor): a throw
      // ends this reader (the port meta logs it and ends), never the OS process.
      let advance: number;
      let token: Buffer | null;
      try {
        [advance, token] = this.split(this.buf, atEOF);
      } catch (e) {
        this.buf = Buffer.alloc(0);
        return ErrIncorrect.with(`split function threw: ${toError(e).message}`, e);
      }
      if (!Number.isInteger(advance) || advance < 0 || advance > this.buf.length) {
        this.buf = Buffer.alloc(0);
        return ErrIncorrect.with(`split function advanced ${String(advance)} of ${this.buf.length} bytes`);
      }
      if (advance === 0 && token === null) {
        if (atEOF) {
          this.buf = Buffer.alloc(0);
          return undefined;
        }
        if (this.buf.length > this.maxTokenSize) {
          this.buf = Buffer.alloc(0);
          return ErrTooLarge.with(`token too long (over ${this.maxTokenSize} bytes)`);
        }
        return undefined;
      }
      if (advance === 0) {
        this.buf = Buffer.alloc(0);
        return ErrIncorrect.with('split function returned a token without consuming any bytes');
      }
      // Copy the token out: the rest of the buffer is kept and may be joined with the next read.
      if (token !== null) emit(Buffer.from(token));
      this.buf = this.buf.subarray(advance);
    }
    if (this.buf.length === 0) this.buf = Buffer.alloc(0);
    return undefined;
  }
}
