// A table of values keyed by non-negative integer ids handed out in increasing order (process ids).
// The process table is read on every send, written on every spawn and termination; as a Map of
// 100 K entries each insert costs a hash and, now and then, a rehash of the whole table, every
// lookup a probe into a table far larger than the cache, and every entry 30-90 B. Here ids live in
// chunks of consecutive slots: a lookup is a division and two array reads, an insert a store, an
// entry 8 B.
//
// Memory stays bounded whatever the pattern of lifetimes: a chunk is dropped as soon as it holds
// nothing, and a chunk that all ids have passed and that holds little (a few long-lived values
// among many ended ones) moves its survivors to a Map and is dropped too, so a kept chunk is never
// worse than 16 slots per live value. Any finite number is a valid key to look up (ids beyond
// 2^32, fractions, negatives: found or not, never confused with another id); ids may be set in
// any order and reused after delete.
//
// Iteration is in id order (the Observer pages processes "by PID"): chunks are made in increasing
// index order, and the loose values are merged in through a sorted list of their ids, rebuilt
// only after a value joined the Map (a delete leaves a stale id in it, skipped on the walk).

/** Slots per chunk (a power of two). */
const CHUNK_SLOTS = 1024;
/**
 * A chunk that ids have moved past is dissolved once it holds this many values or fewer: its
 * survivors go to the loose Map (at most 16 slots kept per live value).
 */
const SPARSE_LIVE = CHUNK_SLOTS / 16;

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
  /** Chunks by chunk index (id / CHUNK_SLOTS). */
  private readonly chunks = new Map<number, Chunk<T>>();
  /** Values whose chunk was dissolved (or never made because ids had passed it). */
  private readonly loose = new Map<number, T>();
  /** The loose ids ascending (may hold ids deleted since); null: a value joined, rebuild it. */
  private looseOrder: Float64Array | null = null;
  /** The chunk used last: spawns, sends and terminations come in runs over nearby ids. */
  private last: Chunk<T> | null = null;
  /** Highest chunk index made so far: chunks below it are only dissolved, never made again. */
  private frontier = -1;
  /** Values held. */
  size = 0;

  /** The chunk holding `id`'s slot, if any (`c` = its chunk index). */
  private chunkAt(c: number): Chunk<T> | undefined {
    const l = this.last;
    if (l !== null && l.index === c) return l;
    const ch = this.chunks.get(c);
    if (ch !== undefined) this.last = ch;
    return ch;
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
      if (c < this.frontier) {
        // Its chunk was dissolved (or never needed): it joins the other survivors.
        if (!this.loose.has(id)) {
          this.size++;
          this.looseOrder = null;
        }
        this.loose.set(id, v);
        return this;
      }
      // The chunk ids are leaving: kept only if it holds enough (an emptied one is dropped here,
      // as nothing else would ever delete from it again).
      const prev = this.frontier >= 0 ? this.chunks.get(this.frontier) : undefined;
      if (prev !== undefined && prev.live <= SPARSE_LIVE) this.dissolve(prev);
      ch = new Chunk<T>(c);
      this.chunks.set(c, ch);
      this.frontier = c;
      this.last = ch;
    }
    const i = id - c * CHUNK_SLOTS;
    if (ch.slots[i] === undefined) {
      ch.live++;
      this.size++;
    }
    ch.slots[i] = v;
    return this;
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

  /** Drops a chunk ids have passed: its few survivors (if any) move to the loose Map. */
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
    this.chunks.delete(ch.index);
    if (this.last === ch) this.last = null;
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
    // Chunks are made in increasing index order, so the Map yields them by id; no loose id lies
    // inside a kept chunk's range (its chunk was dissolved or never made).
    for (const ch of this.chunks.values()) {
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
    return { chunks: this.chunks.size, loose: this.loose.size };
  }
}

/** @internal Exported for tests. */
export const ID_TABLE_CHUNK_SLOTS = CHUNK_SLOTS;
