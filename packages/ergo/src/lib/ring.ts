// A growable FIFO ring of fixed-width records. The run queue and the pool's worker list use it so
// that enqueue/dequeue never allocate per item and never call Array.shift(). It never shrinks
// while it holds records: mailbox queues, which can take bursts of millions, use
// SegmentedQueue (segmented_queue.ts) instead.

/**
 * FIFO of records of `width` slots each, stored flat in one array whose capacity doubles when
 * full. Records are written with `push1..push4` and read slot by slot with `peek(k)` before
 * `drop()` releases the head record (clearing references so the GC can reclaim them).
 */
export class Ring<T = unknown> {
  private buf: (T | undefined)[];
  private head = 0;
  private tail = 0;
  private mask: number;
  /** Number of records queued. */
  length = 0;

  constructor(
    readonly width: 1 | 2 | 4 = 1,
    initialRecords = 8,
  ) {
    let cap = 1;
    while (cap < initialRecords * width) cap <<= 1;
    this.buf = new Array<T | undefined>(cap);
    this.mask = cap - 1;
  }

  private grow(): void {
    const old = this.buf;
    const cap = old.length;
    const next = new Array<T | undefined>(cap * 2);
    const used = this.length * this.width;
    // Two straight copies (head..end, then 0..tail) instead of one masked loop.
    const head = this.head;
    const first = Math.min(used, cap - head);
    for (let i = 0; i < first; i++) next[i] = old[head + i];
    for (let i = first; i < used; i++) next[i] = old[i - first];
    this.buf = next;
    this.head = 0;
    this.tail = used;
    this.mask = cap * 2 - 1;
  }

  /** Appends a one-slot record. */
  push(a: T): void {
    if ((this.length + 1) * this.width > this.buf.length) this.grow();
    this.buf[this.tail] = a;
    this.tail = (this.tail + 1) & this.mask;
    this.length++;
  }

  /** Appends a four-slot record (ring width must be 4). */
  push4(a: T, b: T, c: T, d: T): void {
    if ((this.length + 1) * 4 > this.buf.length) this.grow();
    const buf = this.buf;
    const m = this.mask;
    let t = this.tail;
    buf[t] = a;
    buf[(t + 1) & m] = b;
    buf[(t + 2) & m] = c;
    buf[(t + 3) & m] = d;
    this.tail = (t + 4) & m;
    this.length++;
  }

  /** Slot `k` of the head record. Undefined behaviour when empty. */
  peek(k = 0): T {
    return this.buf[(this.head + k) & this.mask] as T;
  }

  /** Removes the head record. */
  drop(): void {
    const w = this.width;
    const buf = this.buf;
    for (let k = 0; k < w; k++) buf[(this.head + k) & this.mask] = undefined;
    this.head = (this.head + w) & this.mask;
    this.length--;
  }

  /** Removes and returns the head of a one-slot ring. */
  shift(): T | undefined {
    if (this.length === 0) return undefined;
    const v = this.buf[this.head];
    this.buf[this.head] = undefined;
    this.head = (this.head + 1) & this.mask;
    this.length--;
    return v;
  }

  /** Visits every queued record, oldest first, as (slot0, slot1, slot2, slot3). */
  forEach(fn: (a: T, b: T, c: T, d: T) => void): void {
    const w = this.width;
    for (let i = 0; i < this.length; i++) {
      const base = this.head + i * w;
      const m = this.mask;
      fn(
        this.buf[base & m] as T,
        this.buf[(base + 1) & m] as T,
        this.buf[(base + 2) & m] as T,
        this.buf[(base + 3) & m] as T,
      );
    }
  }

  /** Drops every record. Shrinks storage back to its initial size when it had grown large. */
  clear(): void {
    if (this.buf.length > 1024) {
      this.buf = new Array<T | undefined>(8 * this.width);
      this.mask = this.buf.length - 1;
    } else {
      this.buf.fill(undefined);
    }
    this.head = 0;
    this.tail = 0;
    this.length = 0;
  }
}
