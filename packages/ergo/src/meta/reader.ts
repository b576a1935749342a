// Reading a stream into messages, shared by TCP connections and ports: raw reads (cut to the
// read buffer size) or chunked frames, and back-pressure — while the consumer's mailbox holds
// `readQueueLimit` records or more, the stream is paused (the kernel buffers fill and the peer
// slows down) and it resumes once the consumer caught up to half of that.

import type { Readable } from 'node:stream';

import { ErrIncorrect } from '../gen/errors.js';
import type { MetaProcess } from '../gen/meta.js';
import type { SendTarget } from '../gen/process.js';
import { Chunker, validateChunkOptions, type ChunkOptions } from './chunk.js';

/** Default `readQueueLimit`: records in the consumer's mailbox at which reading pauses. */
export const DEFAULT_READ_QUEUE_LIMIT = 1024;
/**
 * Longest wait, in milliseconds, between checks of a paused consumer's mailbox. Checks start
 * 1 ms apart and back off to this, so a consumer that catches up quickly resumes the stream at
 * once and one that stays blocked costs a timer every few ms.
 */
export const BACKPRESSURE_POLL_MS = 8;

/** Checks a positive integer option (undefined → `def`); ErrIncorrect naming it otherwise. */
export function positiveInt(v: unknown, what: string, def: number): number {
  if (v === undefined) return def;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1)
    throw ErrIncorrect.with(`${what} must be a positive integer, got ${String(v)}`);
  return v;
}

/** Checks a non-negative integer option (undefined → `def`). */
export function nonNegative(v: unknown, what: string, def: number): number {
  if (v === undefined) return def;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
    throw ErrIncorrect.with(`${what} must be a non-negative integer, got ${String(v)}`);
  return v;
}

/**
 * Pauses a readable stream while the consumer is behind. `limit` 0 disables it; a consumer that
 * is not a local process (remote, unknown) never pauses the stream.
 */
export class FlowControl {
  paused = false;
  /** How many times reading was paused. */
  pauses = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private delay = 1;
  private readonly poll = (): void => {
    this.timer = null;
    if (!this.paused) return;
    const depth = this.meta.backlog(this.target);
    if (depth < 0 || depth <= this.limit >> 1) {
      this.paused = false;
      this.stream.resume();
      return;
    }
    this.arm();
  };

  constructor(
    private readonly meta: MetaProcess,
    private readonly stream: Readable,
    private readonly target: SendTarget,
    readonly limit: number,
  ) {}

  /** Called after sending to the consumer: pauses the stream if its mailbox is full enough. */
  check(): void {
    if (this.limit === 0 || this.paused) return;
    if (this.meta.backlog(this.target) >= this.limit) {
      this.paused = true;
      this.pauses++;
      this.stream.pause();
      this.delay = 1;
      this.arm();
    }
  }

  private arm(): void {
    this.timer = setTimeout(this.poll, this.delay);
    if (this.delay < BACKPRESSURE_POLL_MS) this.delay *= 2;
    this.timer.unref();
  }

  /** Stops watching (the stream is closing). */
  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.paused = false;
  }
}

/** Cuts reads into messages: raw pieces of at most `readBufferSize` bytes, or chunked frames. */
export class ByteSplitter {
  private readonly chunker: Chunker | null;

  constructor(
    readonly readBufferSize: number,
    chunk: ChunkOptions | undefined,
  ) {
    validateChunkOptions(chunk);
    this.chunker = chunk?.enable ? new Chunker(chunk) : null;
  }

  /** Bytes held for an incomplete frame. */
  get buffered(): number {
    return this.chunker?.buffered ?? 0;
  }

  /** Emits the messages of one read; returns the error that must end the reader, if any. */
  push(data: Buffer, emit: (piece: Buffer) => void): Error | undefined {
    if (this.chunker !== null) return this.chunker.push(data, emit);
    const size = this.readBufferSize;
    if (data.length <= size) {
      if (data.length > 0) emit(data);
      return undefined;
    }
    for (let off = 0; off < data.length; off += size) emit(data.subarray(off, Math.min(off + size, data.length)));
    return undefined;
  }
}
