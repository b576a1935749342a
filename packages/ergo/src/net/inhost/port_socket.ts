// A byte stream between two threads of one process: the in-host transport between nodes of one
// cluster. It behaves as the part of `net.Socket` the handshake and the ENP link use — `data`/
// `end`/`close`/`drain` events, `write`, `writableLength`, `pause`/`resume`, `end`, `destroy` —
// so the EHS handshake and ENP run over it unchanged: same framing, same ordering, same
// node-down.
//
// Bytes go through a SharedArrayBuffer ring per direction (ring.ts), not through messages: a
// write copies the ENP link's batch into the ring, the reader copies it out in slices of at most
// READ_SLICE bytes, one per event-loop turn (as a TCP read), so the node's processes run between
// slices and their answers leave while the rest is still being read. The `MessagePort` beside
// the rings carries only wake-ups (when the other side sleeps), the end-of-stream marker and
// liveness: it closes when the peer's thread ends, even when it crashes.
//
// Flow control: a ring holds at most its size. Bytes that do not fit stay with the writer
// (`writableLength` > 0, `write` returns false: the link's "socket busy" path, which the
// stalled-peer watchdog watches) until the reader frees space; then `drain`. A fast producer
// cannot grow its peer's memory; a paused reader leaves the bytes in the ring.

import { EventEmitter } from 'node:events';
import type { MessagePort } from 'node:worker_threads';
import type { ByteRing } from './ring.js';

/** Port messages: the reader sleeps no more (bytes are in the ring), the writer may write again. */
const WAKE = 1;
const SPACE = 2;
/** The end-of-stream marker (a half-close, as a TCP FIN), sent after every byte written. */
const END = 'end';

/**
 * Most bytes handed to `data` per event-loop turn. 16 KiB, not a TCP read's 64: a slice of small
 * messages (~800 at ~20 bytes) fits a receiving process' mailbox ring as it stays between bursts;
 * 64 KiB (~3,000 messages) made it grow from its small size again on every slice, and the
 * receiver spent ≈ 20 % more thread CPU per message (cores-send, same sitting).
 */
export const READ_SLICE = 16 * 1024;

/**
 * One end of an in-host link. Lifecycle: made over a fresh `MessagePort` and the two rings of
 * the link (the other ends belong to the peer node); flows until either side calls
 * {@link PortSocket.end} or {@link PortSocket.destroy}, or the peer's thread ends; then `close`
 * is emitted once (after the bytes the peer wrote before it were delivered; a paused side gets
 * them, then `close`, when it resumes) and
 * the port is closed. Writes after that are dropped (as on a destroyed socket: the link above
 * has already reported the connection down).
 */
export class PortSocket extends EventEmitter {
  readonly #port: MessagePort;
  readonly #out: ByteRing;
  readonly #in: ByteRing;
  #paused = false;
  /** Bytes written that did not fit in the ring yet, in order (copies). */
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  /** A read is scheduled for the next turn. */
  #readScheduled = false;
  #ended = false;
  #endSent = false;
  #peerEnded = false;
  /** The port closed while this side was paused with bytes unread: `close` waits for them. */
  #gone = false;
  #closed = false;
  /** This side destroyed the link: nothing more is delivered. */
  #destroying = false;
  bytesWritten = 0;
  /** What a `net.Socket` reports; the in-host transport has no addresses. */
  readonly remoteAddress = 'inhost';
  readonly remotePort = 0;
  readonly localAddress = undefined;
  readonly localPort = undefined;

  /** `out`: the ring this side writes; `inbound`: the ring the peer writes. */
  constructor(port: MessagePort, out: ByteRing, inbound: ByteRing) {
    super();
    this.#port = port;
    this.#out = out;
    this.#in = inbound;
    port.on('message', (m: unknown) => this.#onMessage(m));
    port.on('close', () => this.#onClose());
    // As a net.Socket, it flows once someone listens: bytes that came earlier wait in the ring.
    this.on('newListener', (event: string) => {
      if (event === 'data') this.#scheduleRead();
    });
  }

  /**
   * Copies `chunk` into the ring, or keeps a copy of what does not fit (a copy, not a view: a
   * view would pin the ENP link's whole output buffer per write while the peer is slow).
   * Returns false when bytes wait.
   */
  write(chunk: Uint8Array): boolean {
    if (this.#closed || this.#ended || this.#gone) return false;
    this.bytesWritten += chunk.length;
    if (this.#pendingBytes > 0) {
      this.#hold(chunk);
      return false;
    }
    const n = this.#out.put(chunk, 0, chunk.length);
    if (n > 0 && this.#out.wakeNeeded()) this.#port.postMessage(WAKE);
    if (n === chunk.length) return true;
    this.#hold(n === 0 ? chunk : chunk.subarray(n));
    this.#flushPending(); // the reader may have made space before it saw us waiting
    return this.#pendingBytes === 0;
  }

  /** Bytes written that wait for space in the ring (the peer has not read them yet). */
  get writableLength(): number {
    return this.#pendingBytes;
  }

  get writable(): boolean {
    return !this.#closed && !this.#ended && !this.#gone;
  }

  /**
   * True once the link closed. Between {@link PortSocket.destroy} and `close` writes still go
   * into the ring, which the peer drains on its `close`: behind the bytes written before, in
   * order (bytes handed to another link instead could overtake them).
   */
  get destroyed(): boolean {
    return this.#closed;
  }

  pause(): this {
    this.#paused = true;
    return this;
  }

  /** Flows again: what the ring holds is read from the next turn on. */
  resume(): this {
    this.#paused = false;
    this.#scheduleRead();
    return this;
  }

  /** Half-closes: every byte written before reaches the peer, then it sees the end. */
  end(): this {
    if (this.#closed || this.#ended) return this;
    this.#ended = true;
    if (this.#pendingBytes === 0) this.#sendEnd();
    return this;
  }

  /** Closes at once; both sides emit `close`. */
  destroy(): this {
    if (this.#closed || this.#destroying) return this;
    this.#destroying = true;
    if (this.#gone)
      this.#closeNow(); // the port has closed already: no other 'close' comes
    else this.#port.close(); // emits 'close' here (and on the peer)
    return this;
  }

  setNoDelay(): this {
    return this;
  }

  setKeepAlive(): this {
    return this;
  }

  #hold(bytes: Uint8Array): void {
    if (this.#pending.length === 0) this.#out.wait();
    this.#pending.push(Buffer.from(bytes));
    this.#pendingBytes += bytes.length;
  }

  #sendEnd(): void {
    if (this.#endSent) return;
    this.#endSent = true;
    this.#port.postMessage(END);
  }

  /** Moves held bytes into the ring while it takes them; `drain` once none is left. */
  #flushPending(): void {
    const out = this.#out;
    let moved = false;
    while (this.#pending.length > 0 && !this.#closed) {
      const b = this.#pending[0]!;
      const n = out.put(b, 0, b.length);
      if (n > 0) {
        moved = true;
        this.#pendingBytes -= n;
        if (n === b.length) this.#pending.shift();
        else this.#pending[0] = b.subarray(n);
        continue;
      }
      // Full: ask the reader to tell us, then look once more (it may have read meanwhile).
      out.wait();
      if (out.used() < out.capacity) continue;
      break;
    }
    if (moved && out.wakeNeeded()) this.#port.postMessage(WAKE);
    if (this.#pendingBytes === 0 && moved) {
      if (this.#ended) this.#sendEnd();
      else this.emit('drain');
    }
  }

  #scheduleRead(): void {
    if (this.#readScheduled || this.#paused || this.#closed || this.#destroying) return;
    this.#readScheduled = true;
    setImmediate(() => {
      this.#readScheduled = false;
      this.#read();
    });
  }

  /** One slice from the ring; the next turn reads on, or the reader sleeps until woken. */
  #read(): void {
    // Destroyed: nothing more is delivered, as from a net.Socket (the port's 'close' comes later).
    if (this.#paused || this.#closed || this.#destroying || this.listenerCount('data') === 0) return;
    const ring = this.#in;
    const b = ring.take(READ_SLICE);
    if (this.#gone) {
      // The peer went while this side was paused: deliver what it wrote, then close.
      if (b === null) this.#closeNow();
      else {
        this.emit('data', b);
        this.#scheduleRead();
      }
      return;
    }
    if (b !== null) {
      // The writer is told once half the ring is free: it refills in large pieces, not per slice.
      if (ring.used() <= ring.capacity >>> 1 && ring.spaceNeeded()) this.#port.postMessage(SPACE);
      this.emit('data', b);
      if (ring.used() > 0) {
        this.#scheduleRead();
        return;
      }
    }
    if (!ring.sleep()) {
      this.#scheduleRead();
      return;
    }
    if (this.#peerEnded && !this.#paused) this.#finish();
  }

  /** The peer ended its side and every byte it wrote was read: `end`, then close. */
  #finish(): void {
    if (this.#closed) return;
    this.emit('end');
    this.#port.close();
  }

  #onMessage(m: unknown): void {
    if (this.#closed || this.#destroying) return;
    if (m === WAKE) {
      // Read at once (a lone request should not wait a turn); later slices go turn by turn.
      if (!this.#readScheduled) this.#read();
    } else if (m === SPACE) this.#flushPending();
    else if (m === END) {
      // Bytes written before the marker may still be in the ring: read them first.
      this.#peerEnded = true;
      if (this.#in.used() === 0 && !this.#paused) this.#finish();
      else this.#scheduleRead();
    }
  }

  #onClose(): void {
    if (this.#closed || this.#gone) return;
    // What the peer wrote before its end is delivered first (as a TCP reader gets the bytes
    // before the FIN); a paused side gets them when it resumes (the ring outlives the port),
    // and `close` follows them.
    if (!this.#destroying && this.listenerCount('data') > 0) {
      if (this.#paused && this.#in.used() > 0) {
        this.#gone = true;
        this.#pending = [];
        this.#pendingBytes = 0;
        return;
      }
      let b: Buffer | null;
      while (!this.#closed && (b = this.#in.take(READ_SLICE)) !== null) this.emit('data', b);
    }
    this.#closeNow();
  }

  #closeNow(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.emit('close', false);
  }
}
