// A single-producer single-consumer byte ring in a SharedArrayBuffer: one direction of an
// in-host link (port_socket.ts). The writer thread copies bytes in and publishes them by moving
// the tail; the reader thread copies them out and frees the space by moving the head. No
// message is posted per batch: the two threads only wake each other through the link's port when
// one of them sleeps (the reader found the ring empty, or the writer found it full), which the
// flags below tell.
//
// Positions are free-running 32-bit counters (the byte offset is `counter & mask`), so "used" is
// `(tail - head) >>> 0` without a wrap flag. Each counter has one writer; every access to the
// header is an Atomics operation, which orders the plain copies into the data area before the
// counter that publishes them.

import { ErrIncorrect } from '../../gen/errors.js';

/** Header slots (Int32): tail (bytes written), head (bytes read), and the two sleep flags. */
const TAIL = 0;
const HEAD = 1;
/** 1 while the reader sleeps until told: the writer posts a wake-up after its next write. */
const READER_IDLE = 2;
/** 1 while the writer holds bytes that did not fit: the reader posts "space" after its next read. */
const WRITER_WAITING = 3;
/** Header size in bytes (a cache line: the data area starts apart from the counters). */
const HEADER = 64;

/** Buffer's copy (a memmove), also for a plain Uint8Array source. */
const copy = Buffer.prototype.copy;

/** Smallest and largest ring (bytes of data, a power of two). */
export const MIN_RING_SIZE = 4096;
export const MAX_RING_SIZE = 1 << 30;
/**
 * Default ring of each direction of an in-host link: 4 MiB, what Linux lets a loopback TCP
 * socket buffer (tcp_wmem's maximum), so a node's batch of one turn usually fits whole (a batch
 * that waits makes the ENP link move to a fresh output buffer).
 */
export const DEFAULT_RING_SIZE = 4 << 20;

/**
 * One direction of an in-host link. Lifecycle: {@link ByteRing.create} on the dialling side;
 * the `sab` crosses to the peer thread (structured clone shares it) where `new ByteRing(sab)`
 * opens the same ring. One thread writes ({@link ByteRing.put}), the other reads
 * ({@link ByteRing.take}); never two writers or two readers. The memory is freed when both
 * threads have dropped it (the link closed, or a thread ended).
 */
export class ByteRing {
  readonly sab: SharedArrayBuffer;
  /** Bytes of data the ring holds at most. */
  readonly capacity: number;
  readonly #h: Int32Array;
  /** The data area (a Buffer: `copy` is a plain memmove, TypedArray `set` on shared memory is not). */
  readonly #data: Buffer;
  readonly #mask: number;

  /** A fresh ring of `size` data bytes (a power of two in MIN_RING_SIZE..MAX_RING_SIZE). */
  static create(size: number = DEFAULT_RING_SIZE): ByteRing {
    ByteRing.check(size);
    const ring = new ByteRing(new SharedArrayBuffer(HEADER + size));
    // A new ring's reader sleeps until the first write wakes it.
    Atomics.store(ring.#h, READER_IDLE, 1);
    return ring;
  }

  /** ErrIncorrect unless `size` is a valid ring size. */
  static check(size: number): void {
    if (!Number.isInteger(size) || size < MIN_RING_SIZE || size > MAX_RING_SIZE || (size & (size - 1)) !== 0)
      throw ErrIncorrect.with(`in-host ring size ${String(size)} (a power of two, ${MIN_RING_SIZE}..${MAX_RING_SIZE})`);
  }

  /** Opens a ring made by {@link ByteRing.create} (on the other thread). ErrIncorrect when `sab` is not one. */
  constructor(sab: SharedArrayBuffer) {
    const size = sab instanceof SharedArrayBuffer ? sab.byteLength - HEADER : -1;
    if (size < MIN_RING_SIZE || size > MAX_RING_SIZE || (size & (size - 1)) !== 0)
      throw ErrIncorrect.with('not an in-host ring buffer');
    this.sab = sab;
    this.capacity = size;
    this.#mask = size - 1;
    this.#h = new Int32Array(sab, 0, HEADER >> 2);
    this.#data = Buffer.from(sab, HEADER, size);
  }

  /** Bytes written and not yet read. */
  used(): number {
    return (Atomics.load(this.#h, TAIL) - Atomics.load(this.#h, HEAD)) >>> 0;
  }

  /**
   * Writer: copies as much of `src[from, to)` as fits and publishes it. Returns the bytes taken
   * (0 when the ring is full).
   */
  put(src: Uint8Array, from: number, to: number): number {
    const h = this.#h;
    const tail = Atomics.load(h, TAIL);
    const free = this.capacity - ((tail - Atomics.load(h, HEAD)) >>> 0);
    const n = Math.min(free, to - from);
    if (n <= 0) return 0;
    const off = tail & this.#mask;
    const first = Math.min(n, this.capacity - off);
    const data = this.#data;
    copy.call(src, data, off, from, from + first);
    if (n > first) copy.call(src, data, 0, from + first, from + n);
    Atomics.store(h, TAIL, (tail + n) | 0);
    return n;
  }

  /** Reader: up to `max` bytes copied out into a Buffer the caller owns (their space is free again), or null when empty. */
  take(max: number): Buffer | null {
    const h = this.#h;
    const head = Atomics.load(h, HEAD);
    const n = Math.min((Atomics.load(h, TAIL) - head) >>> 0, max);
    if (n === 0) return null;
    // A copy, not a view: decoded values may keep views of their input, and the space is
    // reused as soon as the head moves.
    const out = Buffer.allocUnsafe(n);
    const off = head & this.#mask;
    const first = Math.min(n, this.capacity - off);
    const data = this.#data;
    data.copy(out, 0, off, off + first);
    if (n > first) data.copy(out, first, 0, n - first);
    Atomics.store(h, HEAD, (head + n) | 0);
    return out;
  }

  /** Reader: about to sleep. Returns false when bytes arrived meanwhile (read on instead). */
  sleep(): boolean {
    Atomics.store(this.#h, READER_IDLE, 1);
    if (this.used() === 0) return true;
    Atomics.store(this.#h, READER_IDLE, 0);
    return false;
  }

  /** Writer: true when the reader sleeps and must be woken (the flag is cleared: one wake-up per sleep). */
  wakeNeeded(): boolean {
    return Atomics.exchange(this.#h, READER_IDLE, 0) === 1;
  }

  /** Writer: it holds bytes that did not fit; the reader's next read must tell it. */
  wait(): void {
    Atomics.store(this.#h, WRITER_WAITING, 1);
  }

  /** Reader: true when the writer waits for space (the flag is cleared: one "space" per wait). */
  spaceNeeded(): boolean {
    return Atomics.exchange(this.#h, WRITER_WAITING, 0) === 1;
  }
}
