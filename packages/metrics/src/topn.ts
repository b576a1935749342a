// Bounded top-N selection: the N largest items of a stream in O(total · log N) time and O(N)
// memory. A scrape of a node with 100,000 processes must not sort them all.

/**
 * Keeps the `limit` items with the largest scores offered so far (a min-heap on the score: the
 * root is the smallest kept item, replaced when a larger one arrives). Ties keep the earlier
 * item. `limit` 0 keeps nothing. Reuse with {@link TopN.clear}; read with {@link TopN.sorted}.
 */
export class TopN<T> {
  private readonly items: T[] = [];
  private readonly scores: number[] = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 0)
      throw new RangeError(`TopN: limit must be an integer ≥ 0 (got ${limit})`);
  }

  /** Number of items kept. */
  get size(): number {
    return this.items.length;
  }

  /** The smallest kept score (the bar an item must beat once full); -Infinity while not full. */
  get bar(): number {
    return this.items.length < this.limit ? -Infinity : (this.scores[0] ?? Infinity);
  }

  /** Offers an item; cheap when it does not beat the bar (one comparison). */
  offer(score: number, item: T): void {
    const n = this.items.length;
    if (n < this.limit) {
      this.items.push(item);
      this.scores.push(score);
      this.up(n);
      return;
    }
    if (this.limit === 0 || !(score > this.scores[0]!)) return;
    this.items[0] = item;
    this.scores[0] = score;
    this.down(0);
  }

  /** Kept items, largest score first (sorts only the N kept). */
  sorted(): { score: number; item: T }[] {
    const out = this.items.map((item, i) => ({ score: this.scores[i]!, item }));
    return out.sort((a, b) => b.score - a.score);
  }

  clear(): void {
    this.items.length = 0;
    this.scores.length = 0;
  }

  private swap(i: number, j: number): void {
    const s = this.scores[i]!;
    this.scores[i] = this.scores[j]!;
    this.scores[j] = s;
    const t = this.items[i]!;
    this.items[i] = this.items[j]!;
    this.items[j] = t;
  }

  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.scores[parent]! <= this.scores[i]!) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private down(i: number): void {
    const n = this.items.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.scores[l]! < this.scores[m]!) m = l;
      if (r < n && this.scores[r]! < this.scores[m]!) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }
}
