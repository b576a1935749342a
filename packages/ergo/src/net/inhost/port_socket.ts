// A byte stream over a `MessagePort`: the in-host transport between nodes of one cluster (worker
// threads of one OS process). It behaves as the part of `net.Socket` the handshake and the ENP
// link use — `data`/`end`/`close`/`error` events, `write`, `pause`/`resume`, `end`, `destroy` —
// so the EHS handshake and ENP run over it unchanged: same framing, same ordering (a port
// delivers in order), same node-down (the port closes when the peer's thread ends, even when it
// crashes). Each write is one message: the ENP link already batches every packet of a task into
// one write, so a batch crosses as one transferred ArrayBuffer, no kernel, no syscall.

import { EventEmitter } from 'node:events';
import type { MessagePort } from 'node:worker_threads';

/** The end-of-stream marker (a half-close, as a TCP FIN): never a valid data message. */
const END = 'end';

/**
 * One end of an in-host link. Lifecycle: made over a fresh `MessagePort` (the other end belongs
 * to the peer node); flows until either side calls {@link PortSocket.end} or
 * {@link PortSocket.destroy}, or the peer's thread ends; then `close` is emitted once and the
 * port is closed. Writes after that are dropped (as on a destroyed socket: the link above has
 * already reported the connection down).
 */
export class PortSocket extends EventEmitter {
  readonly #port: MessagePort;
  #paused = false;
  /** Data that arrived while paused, in order. */
  #held: Buffer[] = [];
  #ended = false;
  #closed = false;
  bytesWritten = 0;
  /** What a `net.Socket` reports; the in-host transport has no addresses. */
  readonly remoteAddress = 'inhost';
  readonly remotePort = 0;
  readonly localAddress = undefined;
  readonly localPort = undefined;

  constructor(port: MessagePort) {
    super();
    this.#port = port;
    port.on('message', (m: unknown) => this.#onMessage(m));
    port.on('close', () => this.#onClose());
  }

  /** Sends a copy of `chunk` (the caller reuses its buffer) as one transferred ArrayBuffer. */
  write(chunk: Uint8Array): boolean {
    if (this.#closed || this.#ended) return false;
    const ab = new ArrayBuffer(chunk.length);
    new Uint8Array(ab).set(chunk);
    this.bytesWritten += chunk.length;
    this.#port.postMessage(ab, [ab]);
    return true;
  }

  /** Always 0: a port takes every write at once (no kernel buffer to fill). */
  get writableLength(): number {
    return 0;
  }

  get writable(): boolean {
    return !this.#closed && !this.#ended;
  }

  get destroyed(): boolean {
    return this.#closed;
  }

  pause(): this {
    this.#paused = true;
    return this;
  }

  /** Delivers what arrived while paused (synchronously, in order), then flows again. */
  resume(): this {
    this.#paused = false;
    while (this.#held.length > 0 && !this.#paused && !this.#closed) this.emit('data', this.#held.shift()!);
    return this;
  }

  /** Half-closes: what was written before reaches the peer, then it sees the end. */
  end(): this {
    if (this.#closed || this.#ended) return this;
    this.#ended = true;
    this.#port.postMessage(END);
    return this;
  }

  /** Closes at once; both sides emit `close`. */
  destroy(): this {
    if (this.#closed) return this;
    this.#port.close(); // emits 'close' here (and on the peer)
    return this;
  }

  setNoDelay(): this {
    return this;
  }

  setKeepAlive(): this {
    return this;
  }

  #onMessage(m: unknown): void {
    if (this.#closed) return;
    if (m === END) {
      // The peer is done writing: as with TCP, the reader sees `end`, then this side closes.
      this.emit('end');
      this.#port.close();
      return;
    }
    if (!(m instanceof ArrayBuffer)) return; // nothing else is ever sent on a link port
    const b = Buffer.from(m);
    if (this.#paused || this.#held.length > 0) this.#held.push(b);
    else this.emit('data', b);
  }

  #onClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#held = [];
    this.emit('close', false);
  }
}
