// Reads exact byte counts from a net.Socket as promises, for the request/response protocols
// (EPMD, the distribution handshake) where a step waits for a known amount of bytes. Once the
// protocol step is over, detach() hands back whatever arrived beyond it, so no byte the peer
// pipelined after its last handshake message is lost.

import type { Socket } from 'node:net';

/** Exact-length reads over a socket. One read at a time. */
export class SocketReader {
  readonly #socket: Socket;
  #chunks: Buffer[] = [];
  #length = 0;
  #want = -1; // bytes wanted by the pending read; -2 = until end
  #resolve: ((b: Buffer) => void) | undefined;
  #reject: ((e: Error) => void) | undefined;
  #ended = false;
  #failure: Error | undefined;
  readonly #closedError: () => Error;
  readonly #socketError: (e: Error) => Error;
  readonly #onData = (b: Buffer): void => {
    this.#chunks.push(b);
    this.#length += b.length;
    this.#pump();
  };
  readonly #onEnd = (): void => {
    this.#ended = true;
    this.#pump();
  };
  readonly #onError = (e: Error): void => {
    this.fail(this.#socketError(e));
  };

  /**
   * `closedError` makes the error for a read cut short by the peer closing; `socketError` wraps
   * a socket error (connection refused, reset) into the protocol's error class.
   */
  constructor(socket: Socket, closedError: () => Error, socketError: (e: Error) => Error) {
    this.#socket = socket;
    this.#closedError = closedError;
    this.#socketError = socketError;
    socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    socket.on('close', this.#onEnd);
    socket.on('error', this.#onError);
  }

  /** Resolves with exactly `n` bytes; rejects if the socket ends first or {@link fail} is called. */
  read(n: number): Promise<Buffer> {
    return this.#start(n);
  }

  /** Resolves with everything up to the end of the stream (at most `max` bytes, else rejects with `tooLong()`). */
  async readToEnd(max: number, tooLong: () => Error): Promise<Buffer> {
    const b = await this.#start(-2);
    if (b.length > max) throw tooLong();
    return b;
  }

  /** Rejects the pending read and every later one with `err` (first failure wins). */
  fail(err: Error): void {
    this.#failure ??= err;
    this.#settle(undefined, this.#failure);
  }

  /** Stops reading and returns the bytes received but not read. */
  detach(): Buffer {
    this.#socket.off('data', this.#onData);
    this.#socket.off('end', this.#onEnd);
    this.#socket.off('close', this.#onEnd);
    this.#socket.off('error', this.#onError);
    const rest = Buffer.concat(this.#chunks, this.#length);
    this.#chunks = [];
    this.#length = 0;
    return rest;
  }

  #start(want: number): Promise<Buffer> {
    if (this.#resolve !== undefined) return Promise.reject(new Error('SocketReader: one read at a time'));
    return new Promise<Buffer>((resolve, reject) => {
      this.#want = want;
      this.#resolve = resolve;
      this.#reject = reject;
      this.#pump();
    });
  }

  #take(n: number): Buffer {
    const all = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#length);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.#chunks = rest.length > 0 ? [rest] : [];
    this.#length = rest.length;
    return out;
  }

  #pump(): void {
    if (this.#resolve === undefined) return;
    if (this.#failure !== undefined) {
      this.#settle(undefined, this.#failure);
      return;
    }
    if (this.#want >= 0 && this.#length >= this.#want) {
      this.#settle(this.#take(this.#want), undefined);
    } else if (this.#ended) {
      if (this.#want === -2) this.#settle(this.#take(this.#length), undefined);
      else this.#settle(undefined, this.#closedError());
    }
  }

  #settle(value: Buffer | undefined, err: Error | undefined): void {
    const resolve = this.#resolve;
    const reject = this.#reject;
    if (resolve === undefined || reject === undefined) return;
    this.#resolve = undefined;
    this.#reject = undefined;
    this.#want = -1;
    if (err !== undefined) reject(err);
    else resolve(value!);
  }
}
