// A hash table whose entries are their own chain links: a power-of-two array of buckets indexed
// by each entry's small-integer key, chained through a field of the entries. Adding and removing
// an entry allocates nothing (where a Map that empties after every use shrinks and regrows), so
// it suits tables on a hot path that fill and empty all the time: the node's pending calls and
// the remote requests its processes hold (node/calls.ts, node/remote_requests.ts). It grows
// when it holds as many entries as buckets and shrinks only well below that, so a steady load
// never resizes back and forth. Lookups are the user's: it walks the chain from `first(key)` and
// compares what identifies an entry (the table knows only the key).

/** An entry of a {@link ChainedTable}: its bucket key and the next entry of its bucket. */
export interface Chained<T> {
  /** The bucket key (any integer; its low bits pick the bucket). */
  readonly key: number;
  /** The next entry of the same bucket (the table's field: null while not in a table). */
  chain: T | null;
}

/** Buckets of an empty table (it never shrinks below). */
const MIN_BUCKETS = 64;

/** `size` empty buckets, as a packed array (no hole checks on the hot path). */
function emptyBuckets<T>(size: number): (T | null)[] {
  const b: (T | null)[] = [];
  for (let i = 0; i < size; i++) b.push(null);
  return b;
}

/**
 * Entries chained by key. An entry is in at most one table at a time; `remove` must be given an
 * entry that is in this table (the caller tracks that, e.g. with a flag of its own).
 */
export class ChainedTable<T extends Chained<T>> {
  private buckets = emptyBuckets<T>(MIN_BUCKETS);
  private mask = MIN_BUCKETS - 1;
  private count = 0;

  /** Number of entries. */
  get size(): number {
    return this.count;
  }

  /** Adds `e` (not in any table) at the head of its bucket. */
  add(e: T): void {
    if (this.count >= this.buckets.length) this.resize(this.buckets.length * 2);
    const i = e.key & this.mask;
    e.chain = this.buckets[i] as T | null;
    this.buckets[i] = e;
    this.count++;
  }

  /** Takes `e` (an entry of this table) out of its bucket. */
  remove(e: T): void {
    const b = this.buckets;
    const i = e.key & this.mask;
    let p = b[i] as T;
    if (p === e) b[i] = e.chain;
    else {
      while (p.chain !== e) p = p.chain as T;
      p.chain = e.chain;
    }
    e.chain = null;
    if (--this.count < b.length >>> 3 && b.length > MIN_BUCKETS) this.resize(b.length >>> 1);
  }

  /** The first entry of the bucket of `key` (walk on with `chain`; other keys share buckets). */
  first(key: number): T | null {
    return this.buckets[key & this.mask] as T | null;
  }

  /** Every entry, in no particular order (diagnostics and bulk failures: it builds an array). */
  entries(): T[] {
    const all: T[] = [];
    const b = this.buckets;
    for (let i = 0; i < b.length; i++) for (let e = b[i] as T | null; e !== null; e = e.chain) all.push(e);
    return all;
  }

  private resize(size: number): void {
    const old = this.buckets;
    const b = emptyBuckets<T>(size);
    const mask = size - 1;
    for (let i = 0; i < old.length; i++) {
      let e = old[i] as T | null;
      while (e !== null) {
        const n = e.chain;
        const j = e.key & mask;
        e.chain = b[j] as T | null;
        b[j] = e;
        e = n;
      }
    }
    this.buckets = b;
    this.mask = mask;
  }
}
