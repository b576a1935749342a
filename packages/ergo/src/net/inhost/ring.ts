// A single-producer single-consumer byte ring in a SharedArrayBuffer: one direction of an
// in-host link (port_socket.ts). The writer thread copies bytes in and publishes them by moving
// the tail; the reader thread copies them out and frees the space by moving the head. Nothing is
// posted per batch: a thread that finds nothing to do (the reader an empty ring, the writer a full
// one) parks on a doorbell word with `Atomics.waitAsync`, and the other side rings it
// (`Atomics.notify`) only when the parked side announced it — no message, no busy spin.
//
// No lost wake-up: a side that parks first reads the doorbell, then announces (flag = 1), then
// looks at the ring once more and waits only if it still has nothing (the re-check); the other
// side publishes first (moves the counter), then takes the flag. Every access is a sequentially
// consistent Atomics operation, so either the re-check sees the bytes (or space), or the other
// side sees the flag and rings — after the doorbell value the parked side waits on, which makes
// its wait end (or not start: `waitAsync` answers "not-equal" at once).
//
// Positions are free-running 32-bit counters (the byte offset is `counter & mask`), so "used" is
// `(tail - head) >>> 0` without a wrap flag. Each counter has one writer; every access to the
// header is an Atomics operation, which orders the plain copies into the data area before the
// counter that publishes them.

import { ErrIncorrect } from '../../gen/errors.js';

/** Header slots (Int32): tail (bytes written), head (bytes read), the two park flags and their doorbells. */
const TAIL = 0;
const HEAD = 1;
/** 1 while the reader is parked (or about to): the writer rings DATA_BELL after its next write. */
const READER_IDLE = 2;
/** 1 while the writer holds bytes that did not fit: the reader rings SPACE_BELL once half the ring is free. */
const WRITER_WAITING = 3;
/** Doorbells: counters the parked side waits on; the other side bumps one and notifies. */
const DATA_BELL = 4;
const SPACE_BELL = 5;
/** Header size in bytes (a cache line: the data area starts apart from the counters). */
const HEADER = 64;

/** `Atomics.waitAsync` (Node 22 and 24 have it; TypeScript's ES2023 lib does not declare it). */
const waitAsync = (
  Atomics as unknown as {
    waitAsync(
      a: Int32Array,
      i: number,
      v: number,
    ): { async: false; value: string } | { async: true; value: Promise<string> };
  }
).waitAsync;

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

  /**
   * Reader: parks until the writer publishes bytes. Returns null when there are bytes to read now
   * (they came while it announced itself: read on), else a promise settled by the writer's
   * doorbell. `waiting`: a wait of this reader is still pending; then it only announces and
   * re-checks, and returns undefined (parked: that wait ends on the next ring).
   */
  parkReader(waiting: boolean): Promise<unknown> | null | undefined {
    const h = this.#h;
    const seq = Atomics.load(h, DATA_BELL);
    Atomics.store(h, READER_IDLE, 1);
    // The re-check: bytes published before the flag was visible rang no doorbell.
    if (this.used() !== 0) {
      Atomics.store(h, READER_IDLE, 0);
      return null;
    }
    if (waiting) return undefined;
    const r = waitAsync(h, DATA_BELL, seq);
    return r.async ? r.value : null; // "not-equal": rung since `seq` was read
  }

  /** Writer, after a put: rings the reader's doorbell when it is parked (once per park). */
  wakeReader(): void {
    const h = this.#h;
    if (Atomics.load(h, READER_IDLE) === 0 || Atomics.exchange(h, READER_IDLE, 0) === 0) return;
    Atomics.add(h, DATA_BELL, 1);
    Atomics.notify(h, DATA_BELL);
  }

  /**
   * Writer: it holds bytes that did not fit and parks until the reader frees half the ring.
   * Returns null when there is space now (read on meanwhile: put again), else a promise settled
   * by the reader's doorbell. `waiting`: as in {@link ByteRing.parkReader} (undefined: parked).
   */
  parkWriter(waiting: boolean): Promise<unknown> | null | undefined {
    const h = this.#h;
    const seq = Atomics.load(h, SPACE_BELL);
    Atomics.store(h, WRITER_WAITING, 1);
    if (this.used() < this.capacity) {
      Atomics.store(h, WRITER_WAITING, 0);
      return null;
    }
    if (waiting) return undefined;
    const r = waitAsync(h, SPACE_BELL, seq);
    return r.async ? r.value : null;
  }

  /** Reader, after a take: rings the writer's doorbell when it waits and half the ring is free. */
  wakeWriter(): void {
    const h = this.#h;
    if (Atomics.load(h, WRITER_WAITING) === 0 || this.used() > this.capacity >>> 1) return;
    if (Atomics.exchange(h, WRITER_WAITING, 0) === 0) return;
    Atomics.add(h, SPACE_BELL, 1);
    Atomics.notify(h, SPACE_BELL);
  }

  /**
   * Ends this thread's pending wait as the ring's reader (`reader`) or writer (the link closed):
   * a wait left pending would keep the ring's memory until the thread ends. The promise settles;
   * its owner ignores it.
   */
  release(reader: boolean): void {
    Atomics.notify(this.#h, reader ? DATA_BELL : SPACE_BELL);
  }
}
