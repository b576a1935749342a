// A table of values keyed by non-negative integer ids handed out in increasing order (process ids).
// The process table is read on every send, written on every spawn and termination; as a Map of
// 100 K entries each insert costs a hash and, now and then, a rehash of the whole table, every
// lookup a probe into a table far larger than the cache, and every entry 30-90 B. Here ids live in
// chunks of consecutive slots, the chunks in a plain array by chunk number (less a base): a lookup
// is a division and two dependent array reads (no hash probe: at 5·10^6 live processes a Map of
// chunks was a third of a cold call's cost), an insert a store, an entry 8 B.
//
// Memory stays bounded whatever the pattern of lifetimes: a chunk is dropped as soon as it holds
// nothing, and a chunk that all ids have passed and that holds little (a few long-lived values
// among many ended ones) moves its survivors to a Map and is dropped too, so a kept chunk is never
// worse than 16 slots per live value. A dropped chunk leaves a hole in the array: leading holes
// are cut off (the base moves up), and when holes outnumber kept chunks by far the oldest kept
// chunks are dissolved too, so the array stays within a small multiple of the kept chunks. Any
// finite number is a valid key to look up (ids beyond 2^32, fractions, negatives: found or not,
// never confused with another id); ids may be set in any order and reused after delete.
//
// Iteration is in id order (the Observer pages processes "by PID"): the array is by chunk number,
// and the loose values are merged in through a sorted list of their ids, rebuilt only after a
// value joined the Map (a delete leaves a stale id in it, skipped on the walk).

/**
 * Slots per chunk (a power of two). A node's first spawn makes a chunk in its process table and in
 * its table of processes in init: 2 KiB each at 256 slots (8 KiB at 1,024 made a tab's node 29 KiB
 * of heap, 17 KiB now; a client process of 2,500 tab nodes spent its GC marking empty slots).
 */
const CHUNK_SLOTS = 256;
/**
 * A chunk that ids have moved past is dissolved once it holds this many values or fewer: its
 * survivors go to the loose Map (at most 16 slots kept per live value).
 */
const SPARSE_LIVE = CHUNK_SLOTS / 16;
/** A jump of the frontier by more chunks than this starts the array afresh (no huge gap). */
const MAX_GAP = 1 << 16;
/** Holes the array may hold beyond twice its kept chunks before the oldest chunks dissolve. */
const HOLE_SLACK = 4096;

class Chunk<T> {
  readonly slots: (T | undefined)[] = new Array<T | undefined>(CHUNK_SLOTS);
  live = 0;
  constructor(readonly index: number) {}
}

/**
 * Values by integer id, Map-like (`get`, `has`, `set`, `delete`, `size`, `values`). Iteration
 * (`values`) is over a snapshot, so the table may change meanwhile; its order is by id, ascending.
 */
export class IdTable<T> {
  /**
   * Chunks by chunk index less `base` (id / CHUNK_SLOTS - base); undefined: dissolved or never
   * made. Its last element is always the frontier chunk.
   */
  private chunks: (Chunk<T> | undefined)[] = [];
  /** The chunk index of `chunks[0]`. */
  private base = 0;
  /** Index in `chunks` below which all are holes. */
  private head = 0;
  /** Chunks held. */
  private kept = 0;
  /** Values whose chunk was dissolved (or never made because ids had passed it). */
  private readonly loose = new Map<number, T>();
  /** The loose ids ascending (may hold ids deleted since); null: a value joined, rebuild it. */
  private looseOrder: Float64Array | null = null;
  /** Highest chunk index made so far: chunks below it are only dissolved, never made again. */
  private frontier = -1;
  /** Values held. */
  size = 0;

  /** The chunk holding `id`'s slot, if any (`c` = its chunk index). */
  private chunkAt(c: number): Chunk<T> | undefined {
    const a = this.chunks;
    const k = c - this.base;
    // NaN and infinities fail both tests.
    return k >= 0 && k < a.length ? a[k] : undefined;
  }

  get(id: number): T | undefined {
    const c = Math.floor(id / CHUNK_SLOTS);
    const ch = this.chunkAt(c);
    if (ch !== undefined) {
      const i = id - c * CHUNK_SLOTS;
      // A fraction is no id: it must not reach the array as a non-index key.
      if ((i | 0) === i) return ch.slots[i];
      return undefined;
    }
    return this.loose.size === 0 ? undefined : this.loose.get(id);
  }

  has(id: number): boolean {
    return this.get(id) !== undefined;
  }

  /** Sets the value of `id` (a non-negative safe integer; throws RangeError otherwise). */
  set(id: number, v: T): this {
    if (!Number.isSafeInteger(id) || id < 0)
      throw new RangeError(`IdTable: id ${id} is not a non-negative safe integer`);
    const c = Math.floor(id / CHUNK_SLOTS);
    let ch = this.chunkAt(c);
    if (ch === undefined) {
      if (c <= this.frontier) {
        // Its chunk was dissolved (or never needed): it joins the other survivors.
        if (!this.loose.has(id)) {
          this.size++;
          this.looseOrder = null;
        }
        this.loose.set(id, v);
        return this;
      }
      ch = this.newFrontier(c);
    }
    const i = id - c * CHUNK_SLOTS;
    if (ch.slots[i] === undefined) {
      ch.live++;
      this.size++;
    }
    ch.slots[i] = v;
    return this;
  }

  /** Makes chunk `c` (past the frontier) the new frontier chunk, at the end of the array. */
  private newFrontier(c: number): Chunk<T> {
    // The chunk ids are leaving: kept only if it holds enough (an emptied one is dropped here,
    // as nothing else would ever delete from it again).
    const prev = this.frontier >= 0 ? this.chunkAt(this.frontier) : undefined;
    if (prev !== undefined && prev.live <= SPARSE_LIVE) this.dissolve(prev);
    const ch = new Chunk<T>(c);
    this.frontier = c;
    this.kept++;
    let a = this.chunks;
    const gap = c - this.base - a.length;
    if (gap > MAX_GAP || this.kept === 1) {
      // A far jump (or nothing kept): start afresh at c, the chunks left dissolved.
      for (let k = this.head; k < a.length; k++) {
        const old = a[k];
        if (old !== undefined) this.dissolve(old);
      }
      this.kept = 1;
      this.chunks = [ch];
      this.base = c;
      this.head = 0;
      return ch;
    }
    // Stores, not a write past the end, keep the array's elements fast (no dictionary mode).
    for (let k = 0; k < gap; k++) a.push(undefined);
    a.push(ch);
    while (a.length - this.head > 2 * this.kept + HOLE_SLACK) {
      const old = a[this.head];
      if (old !== undefined) this.dissolve(old);
      else this.head++;
      a = this.chunks;
    }
    return ch;
  }

  /** Removes `id`; true when it was there. */
  delete(id: number): boolean {
    const c = Math.floor(id / CHUNK_SLOTS);
    const ch = this.chunkAt(c);
    if (ch === undefined) {
      if (this.loose.size === 0 || !this.loose.delete(id)) return false;
      this.size--;
      return true;
    }
    const i = id - c * CHUNK_SLOTS;
    if ((i | 0) !== i || ch.slots[i] === undefined) return false;
    ch.slots[i] = undefined;
    this.size--;
    const live = --ch.live;
    if (live <= SPARSE_LIVE && c < this.frontier) this.dissolve(ch);
    return true;
  }

  /** Drops a chunk: its few survivors (if any) move to the loose Map; leading holes are cut. */
  private dissolve(ch: Chunk<T>): void {
    if (ch.live > 0) {
      const s = ch.slots;
      const base = ch.index * CHUNK_SLOTS;
      for (let i = 0; i < CHUNK_SLOTS; i++) {
        const v = s[i];
        if (v !== undefined) this.loose.set(base + i, v);
      }
      this.looseOrder = null;
    }
    const a = this.chunks;
    const k = ch.index - this.base;
    a[k] = undefined;
    this.kept--;
    if (k !== this.head) return;
    let h = k + 1;
    while (h < a.length && a[h] === undefined) h++;
    if (h >= 1024 && 2 * h >= a.length) {
      // Cut the leading holes (amortised: the cut is at least as long as what is copied).
      this.chunks = a.slice(h);
      this.base += h;
      h = 0;
    }
    this.head = h;
  }

  /** The loose ids in ascending order (rebuilt after additions, or when mostly stale). */
  private sortedLoose(): Float64Array {
    let o = this.looseOrder;
    if (o === null || o.length > 2 * this.loose.size + 64) {
      o = Float64Array.from(this.loose.keys()).sort();
      this.looseOrder = o;
    }
    return o;
  }

  /** A snapshot of the values in ascending id order (the table may change while it is iterated). */
  values(): IterableIterator<T> {
    const out: T[] = [];
    const loose = this.loose;
    const order = loose.size === 0 ? null : this.sortedLoose();
    let j = 0;
    // The array is in chunk order, so by id; no loose id lies
    // inside a kept chunk's range (its chunk was dissolved or never made).
    const a = this.chunks;
    for (let k = this.head; k < a.length; k++) {
      const ch = a[k];
      if (ch === undefined) continue;
      if (order !== null) {
        const base = ch.index * CHUNK_SLOTS;
        for (; j < order.length && order[j]! < base; j++) {
          const v = loose.get(order[j]!);
          if (v !== undefined) out.push(v);
        }
      }
      const s = ch.slots;
      for (let i = 0; i < CHUNK_SLOTS; i++) {
        const v = s[i];
        if (v !== undefined) out.push(v);
      }
    }
    if (order !== null)
      for (; j < order.length; j++) {
        const v = loose.get(order[j]!);
        if (v !== undefined) out.push(v);
      }
    return out[Symbol.iterator]();
  }

  /** Chunks and loose values held (tests check the memory bound). */
  shape(): { chunks: number; loose: number } {
    return { chunks: this.kept, loose: this.loose.size };
  }

  /** @internal Length of the chunk array past its leading holes (tests check the memory bound). */
  span(): number {
    return this.chunks.length - this.head;
  }
}

/** @internal Exported for tests. */
export const ID_TABLE_CHUNK_SLOTS = CHUNK_SLOTS;
