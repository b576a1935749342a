// A FIFO of small fixed-width records (1, 2 or 4 slots each, mixed freely) stored flat in a chain
// of ring segments. Mailbox queues use it: pushing and taking allocate nothing per record, a
// burst never copies what is queued (it chains another segment instead of doubling one array),
// and draining gives the segments back to the GC, so a queue that once held millions of records
// holds at most two segments once it is empty again.

/**
 * Default size (in slots) of a full segment: large queues are chains of segments of this size.
 * 16 K slots (128 KB + header) is past V8's largest regular object, so a burst's segments are
 * large objects: a scavenge promotes them by moving their page instead of copying them (with 4 K
 * slots, copying the segments of a 3 M message burst was most of its GC time).
 */
export const SEGMENT_SLOTS = 16384;

/**
 * An emptied queue whose ring is larger than this (a burst grew it) starts again from a small
 * ring, so a process that once had a burst does not keep a large segment while it idles; rings
 * up to this size (a steady flow's working set) are kept.
 */
const KEEP_EMPTY_SLOTS = 4096;

/** One ring of slots; a record never straddles two segments (it may wrap inside one). */
class Segment<T> {
  buf: (T | undefined)[];
  /** Capacity - 1 (capacity is a power of two). */
  mask: number;
  /** Slot index of the oldest slot. */
  head = 0;
  /** Slot index where the next slot is written. */
  tail = 0;
  /** Slots in use. */
  used = 0;
  next: Segment<T> | null = null;

  constructor(slots: number) {
    this.buf = new Array<T | undefined>(slots);
    this.mask = slots - 1;
  }
}

function powerOfTwoAtLeast(n: number): number {
  let p = 1;
  while (p < n) p <<= 1;
  return p;
}

/**
 * FIFO of records of 1, 2 or 4 slots. Write a record with `push1`/`push2`/`push4`, read the head
 * record slot by slot with `peek(k)`, release it with `drop1`/`drop2`/`drop4` (the width it was
 * pushed with: the caller encodes the width in its first slot if it mixes widths). `length` counts
 * records.
 *
 * Storage: while the queue fits in one segment, that segment is a plain ring that starts small
 * and doubles up to `segmentSlots` (so a small queue costs little and the windowed hot path never
 * leaves one ring). Beyond that, full-size segments are chained; a drained head segment is
 * dropped, except one full-size segment kept as a spare for the chain's next segment (dropped
 * too once the queue is empty).
 */
export class SegmentedQueue<T = unknown> {
  private head: Segment<T>;
  private tail: Segment<T>;
  private spare: Segment<T> | null = null;
  private readonly segmentSlots: number;
  /** Records queued. */
  length = 0;

  /**
   * @param initialSlots slots of the first segment (rounded up to a power of two, at least 4).
   * @param segmentSlots slots of a full segment (rounded up to a power of two, at least 4 and at
   *   least `initialSlots`); tests pass small values to exercise segment boundaries.
   */
  constructor(initialSlots = 16, segmentSlots = SEGMENT_SLOTS) {
    const first = powerOfTwoAtLeast(Math.max(4, initialSlots));
    this.segmentSlots = Math.max(first, powerOfTwoAtLeast(Math.max(4, segmentSlots)));
    this.head = this.tail = new Segment<T>(first);
  }

  /**
   * The segment that takes a record the tail cannot: the only ring grown in place, or a new
   * chained segment. Capacities are powers of two ≥ 4, so any record (≤ 4 slots) fits either.
   */
  private room(): Segment<T> {
    const t = this.tail;
    if (t === this.head && t.mask + 1 < this.segmentSlots) {
      this.growSingle(t);
      return t;
    }
    let s = this.spare;
    if (s !== null) this.spare = null;
    else s = new Segment<T>(this.segmentSlots);
    t.next = s;
    this.tail = s;
    return s;
  }

  /** Grows the only segment in place (two straight copies: head..end, then 0..tail). */
  private growSingle(s: Segment<T>): void {
    const old = s.buf;
    const cap = old.length;
    // A tiny first ring (a mailbox that got one record) jumps to 16 slots: a queue that grows at
    // all usually grows on, and each doubling below that would be an array and a copy more.
    const grown = Math.min(cap < 16 ? 16 : cap * 2, this.segmentSlots);
    const next = new Array<T | undefined>(grown);
    const used = s.used;
    const head = s.head;
    const first = Math.min(used, cap - head);
    for (let i = 0; i < first; i++) next[i] = old[head + i];
    for (let i = first; i < used; i++) next[i] = old[i - first];
    s.buf = next;
    s.mask = grown - 1;
    s.head = 0;
    s.tail = used;
  }

  /** Appends a one-slot record. */
  push1(a: T): void {
    let t = this.tail;
    if (t.used + 1 > t.mask + 1) t = this.room();
    const i = t.tail;
    t.buf[i] = a;
    t.tail = (i + 1) & t.mask;
    t.used += 1;
    this.length++;
  }

  /** Appends a two-slot record. */
  push2(a: T, b: T): void {
    let t = this.tail;
    // No room for two slots: used + 2 > mask + 1, that is used >= mask.
    if (t.used >= t.mask) t = this.room();
    const buf = t.buf;
    const m = t.mask;
    const i = t.tail;
    buf[i] = a;
    buf[(i + 1) & m] = b;
    t.tail = (i + 2) & m;
    t.used += 2;
    this.length++;
  }

  /** Appends a four-slot record. */
  push4(a: T, b: T, c: T, d: T): void {
    let t = this.tail;
    if (t.used + 4 > t.mask + 1) t = this.room();
    const buf = t.buf;
    const m = t.mask;
    const i = t.tail;
    buf[i] = a;
    buf[(i + 1) & m] = b;
    buf[(i + 2) & m] = c;
    buf[(i + 3) & m] = d;
    t.tail = (i + 4) & m;
    t.used += 4;
    this.length++;
  }

  /** Slot `k` of the head record. Undefined behaviour when the queue is empty. */
  peek(k: number): T {
    const h = this.head;
    return h.buf[(h.head + k) & h.mask] as T;
  }

  /** Removes a one-slot head record. */
  drop1(): void {
    const h = this.head;
    const i = h.head;
    h.buf[i] = undefined;
    this.advance(h, (i + 1) & h.mask, 1);
  }

  /** Removes a two-slot head record. */
  drop2(): void {
    const h = this.head;
    const buf = h.buf;
    const m = h.mask;
    const i = h.head;
    buf[i] = undefined;
    buf[(i + 1) & m] = undefined;
    this.advance(h, (i + 2) & m, 2);
  }

  /** Removes a four-slot head record. */
  drop4(): void {
    const h = this.head;
    const buf = h.buf;
    const m = h.mask;
    const i = h.head;
    buf[i] = undefined;
    buf[(i + 1) & m] = undefined;
    buf[(i + 2) & m] = undefined;
    buf[(i + 3) & m] = undefined;
    this.advance(h, (i + 4) & m, 4);
  }

  /**
   * Removes a two-slot head record and returns its second slot, in one go (the mailbox's plain
   * message path: the caller has read the first slot with `peek(0)`). Same effect as
   * `peek(1)` then `drop2()`, with one read of the head segment's fields.
   */
  shift2(): T {
    const h = this.head;
    const buf = h.buf;
    const m = h.mask;
    const i = h.head;
    const j = (i + 1) & m;
    const b = buf[j] as T;
    buf[i] = undefined;
    buf[j] = undefined;
    h.head = (i + 2) & m;
    this.length--;
    if ((h.used -= 2) === 0) this.drained(h);
    return b;
  }

  private advance(h: Segment<T>, next: number, w: number): void {
    h.head = next;
    h.used -= w;
    this.length--;
    if (h.used === 0) this.drained(h);
  }

  /** The head segment `h` has no slot left in use. */
  private drained(h: Segment<T>): void {
    if (h !== this.tail) this.retire(h);
    else this.emptied(h);
  }

  /** The queue is empty (`h` is its only segment): keep it small while it idles. */
  private emptied(h: Segment<T>): void {
    // The spare only served the chain that just drained.
    this.spare = null;
    if (h.mask >= KEEP_EMPTY_SLOTS) this.head = this.tail = new Segment<T>(16);
  }

  /** The drained head segment leaves the chain; one full-size segment is kept as the spare. */
  private retire(h: Segment<T>): void {
    this.head = h.next!;
    h.next = null;
    h.head = h.tail = 0;
    if (this.spare === null && h.mask + 1 === this.segmentSlots) this.spare = h;
  }

  /**
   * Visits every record, oldest first, until `fn` returns false. `widthOf(first)` tells the width
   * of a record from its first slot; slots past the width are passed as undefined. Do not push or
   * drop meanwhile.
   */
  forEachRecord(widthOf: (first: T) => 1 | 2 | 4, fn: (a: T, b: T, c: T, d: T) => boolean | void): void {
    for (let s: Segment<T> | null = this.head; s !== null; s = s.next) {
      const buf = s.buf;
      const m = s.mask;
      let i = s.head;
      for (let left = s.used; left > 0;) {
        const a = buf[i] as T;
        const w = widthOf(a);
        const b = (w > 1 ? buf[(i + 1) & m] : undefined) as T;
        const c = (w > 2 ? buf[(i + 2) & m] : undefined) as T;
        const d = (w > 2 ? buf[(i + 3) & m] : undefined) as T;
        if (fn(a, b, c, d) === false) return;
        i = (i + w) & m;
        left -= w;
      }
    }
  }

  /** Segments held (the chain plus the spare): bounded by 2 once the queue is drained. */
  segmentCount(): number {
    let n = this.spare === null ? 0 : 1;
    for (let s: Segment<T> | null = this.head; s !== null; s = s.next) n++;
    return n;
  }

  /** Slots allocated over all segments held (the memory the queue keeps, in slots). */
  capacity(): number {
    let n = this.spare === null ? 0 : this.spare.mask + 1;
    for (let s: Segment<T> | null = this.head; s !== null; s = s.next) n += s.mask + 1;
    return n;
  }

  /**
   * True when the queue is empty and holds only its first ring, never grown past `maxSlots`,
   * with the default segment size (a queue a test made with tiny segments is never true).
   */
  emptyWithin(maxSlots: number): boolean {
    return this.length === 0 && this.head.mask < maxSlots && this.segmentSlots === SEGMENT_SLOTS;
  }

  /** Drops every record and every segment but a fresh small one. */
  clear(initialSlots = 16): void {
    this.head = this.tail = new Segment<T>(powerOfTwoAtLeast(Math.max(4, Math.min(initialSlots, this.segmentSlots))));
    this.spare = null;
    this.length = 0;
  }
}
