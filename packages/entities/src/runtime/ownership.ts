// The shards one node owns by its view of the live members (rendezvous hashing with bounded loads,
// contract/placement.ts), recomputed when the members it sees change, with the count of shards
// that moved in and out since the start (`Entities.stats()`). runtime.ts acts on a change: the
// activations of shards now owned elsewhere hand off, and the reminder scheduler scans at once.

import { ownerOfShard } from '../contract/placement.js';

/** The shards one node owns (see the top of this file). */
export class ShardOwnership {
  readonly #node: string;
  readonly #shards: number;
  /** The live members last seen, joined ('' before the first look). */
  #seen = '';
  #owned = new Set<number>();
  #gained = 0;
  #lost = 0;

  /** `node`: this node's name; `shards`: how many shards keys map to. */
  constructor(node: string, shards: number) {
    this.#node = node;
    this.#shards = shards;
  }

  /** The shards this node owns now. */
  get owned(): ReadonlySet<number> {
    return this.#owned;
  }

  /** Shards that moved to this node when the members changed. */
  get gained(): number {
    return this.#gained;
  }

  /** Shards that moved away from this node when the members changed. */
  get lost(): number {
    return this.#lost;
  }

  /**
   * Recomputes the shards owned when `members` (the live members, sorted) differ from those seen
   * last: 'same' when they do not, 'first' on the first look, 'moved' after a change (the shards
   * that moved are counted).
   */
  observe(members: readonly string[]): 'same' | 'first' | 'moved' {
    const seen = members.join('\n');
    if (seen === this.#seen) return 'same';
    const first = this.#seen === '';
    this.#seen = seen;
    const owned = new Set<number>();
    for (let s = 0; s < this.#shards; s++) if (ownerOfShard(s, members, this.#shards) === this.#node) owned.add(s);
    if (!first) {
      for (const s of owned) if (!this.#owned.has(s)) this.#gained++;
      for (const s of this.#owned) if (!owned.has(s)) this.#lost++;
    }
    this.#owned = owned;
    return first ? 'first' : 'moved';
  }
}
