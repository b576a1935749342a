// The process table of a node: its live processes by PID id. Every send to a PID not cached by
// the router and every spawn go through it, and it holds one slot per process for the node's
// whole life, so it is a flat open-addressing hash table rather than a Map: a slot is one pointer
// (a Map entry is three plus its bucket share), a lookup is an index and one compare, and an
// insert allocates nothing until the table doubles. The key is the process' own `pid.id`, so no
// key is stored. The slot comes from Fibonacci hashing (multiply, keep the top bits): ids are
// handed out in sequence, and `id & mask` would pack them into one long probe run that every
// delete then walks. Any other id (a PID made by hand, from another incarnation, not an integer)
// just misses.

/** What the table stores: anything with a PID id (the engine's ProcessImpl). */
export interface TableEntry {
  readonly pid: { readonly id: number };
}

/** Smallest capacity (slots, a power of two); the table never shrinks below it. */
const MIN_CAPACITY = 64;
/** 2^32 / golden ratio: consecutive ids land far apart. */
const FIB = 0x9e3779b1;

/**
 * Live processes by PID id, with the part of the Map API the engine uses (`get`, `has`, `set`,
 * `delete`, `size`, `values`). Linear probing with backward-shift deletion (no tombstones);
 * grows at 3/4 full, shrinks below 1/8. `values()` iterates a snapshot in id (spawn) order, so
 * processes may end or start while a caller walks it.
 */
export class ProcessTable<T extends TableEntry> {
  private slots: (T | undefined)[] = new Array<T | undefined>(MIN_CAPACITY);
  private mask = MIN_CAPACITY - 1;
  /** 32 − log2(capacity): the hash keeps the top bits of the product. */
  private shift = 32 - Math.log2(MIN_CAPACITY);
  /** Entries in the table. */
  size = 0;

  /** The entry with PID id `id`, if any. */
  get(id: number): T | undefined {
    const slots = this.slots;
    const mask = this.mask;
    for (let i = Math.imul(id, FIB) >>> this.shift; ; i = (i + 1) & mask) {
      const e = slots[i];
      if (e === undefined || e.pid.id === id) return e;
    }
  }

  has(id: number): boolean {
    return this.get(id) !== undefined;
  }

  /** Adds `e` under `id` (which must be `e.pid.id`), replacing an entry with the same id. */
  set(id: number, e: T): this {
    const slots = this.slots;
    const mask = this.mask;
    let i = Math.imul(id, FIB) >>> this.shift;
    for (let cur = slots[i]; cur !== undefined; cur = slots[i]) {
      if (cur.pid.id === id) {
        slots[i] = e;
        return this;
      }
      i = (i + 1) & mask;
    }
    slots[i] = e;
    if (++this.size > ((mask + 1) >>> 2) * 3) this.resize((mask + 1) * 2);
    return this;
  }

  /** Removes the entry with PID id `id`; false when there is none. */
  delete(id: number): boolean {
    const slots = this.slots;
    const mask = this.mask;
    let i = Math.imul(id, FIB) >>> this.shift;
    for (;;) {
      const e = slots[i];
      if (e === undefined) return false;
      if (e.pid.id === id) break;
      i = (i + 1) & mask;
    }
    // Backward shift: pull later entries of the probe run into the hole unless that would put
    // them before their home slot.
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const e = slots[j];
      if (e === undefined) break;
      const home = Math.imul(e.pid.id, FIB) >>> this.shift;
      const stays = i <= j ? i < home && home <= j : i < home || home <= j;
      if (!stays) {
        slots[i] = e;
        i = j;
      }
    }
    slots[i] = undefined;
    this.size--;
    const cap = mask + 1;
    if (cap > MIN_CAPACITY && this.size < cap >>> 3) this.resize(cap >>> 1);
    return true;
  }

  /** The entries in id (spawn) order, as a snapshot: safe to change the table meanwhile. */
  values(): IterableIterator<T> {
    // Slot order is scrambled by the hash: sort the ids (a typed-array sort, no comparator).
    const slots = this.slots;
    const ids = new Float64Array(this.size);
    let n = 0;
    for (let i = 0; i < slots.length; i++) {
      const e = slots[i];
      if (e !== undefined) ids[n++] = e.pid.id;
    }
    ids.sort();
    const out = new Array<T>(n);
    for (let k = 0; k < n; k++) out[k] = this.get(ids[k]!)!;
    return out.values();
  }

  private resize(capacity: number): void {
    const old = this.slots;
    const slots = new Array<T | undefined>(capacity);
    const mask = capacity - 1;
    const shift = 32 - Math.log2(capacity);
    for (let k = 0; k < old.length; k++) {
      const e = old[k];
      if (e === undefined) continue;
      let i = Math.imul(e.pid.id, FIB) >>> shift;
      while (slots[i] !== undefined) i = (i + 1) & mask;
      slots[i] = e;
    }
    this.slots = slots;
    this.mask = mask;
    this.shift = shift;
  }
}
