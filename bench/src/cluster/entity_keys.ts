// The bookkeeping of the cluster-scale harness's entities phase (entities_phase.ts), kept pure so
// a unit test can plant answers and see it catch what the phase must report: a counter that went
// backwards (an acknowledged write lost), keys not yet served by the owner placement gives them,
// keys that moved. No process, no store: what the nodes answered goes in, figures come out.
//
// Every key is a counter; each call increments it and answers its new value and the node that ran
// it. The phase calls each key from one caller at a time (rounds), so the values one key
// answers must grow: a value at or below one acknowledged before is a lost write. A failed call
// may still have written (at least once), so a later value may skip one: that is no loss.

import { ownerOfShard, shardOf } from '@ergo-ts/entities';

/** The key names of a phase of `count` keys (`k0` … `k<count-1>`). */
export function keyNames(count: number): string[] {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`keys: a positive integer, got ${count}`);
  return Array.from({ length: count }, (_, i) => `k${i}`);
}

/**
 * The node placement gives each key when `members` are the live members (the entities runtime's
 * own rendezvous hashing over `shards` shards): what every member routes the key to once they all
 * see the same members.
 */
export function expectedOwners(keys: readonly string[], members: readonly string[], shards: number): string[] {
  if (members.length === 0) throw new RangeError('expectedOwners: no member');
  const byShard = new Map<number, string>();
  return keys.map((k) => {
    const s = shardOf(k, shards);
    let o = byShard.get(s);
    if (o === undefined) {
      o = ownerOfShard(s, members, shards)!;
      byShard.set(s, o);
    }
    return o;
  });
}

/** How many positions differ between two owner lists of the same keys (an undefined owner counts as differing). */
export function movedKeys(before: readonly (string | undefined)[], after: readonly (string | undefined)[]): number {
  if (before.length !== after.length) throw new RangeError(`movedKeys: ${before.length} ≠ ${after.length} keys`);
  let moved = 0;
  for (let i = 0; i < before.length; i++) if (before[i] === undefined || before[i] !== after[i]) moved++;
  return moved;
}

/** One call's answer: the key (its index), its new value and the node that ran it, when it arrived. */
export interface KeyAnswer {
  key: number;
  value: number;
  node: string;
  /** Wall-clock ms. */
  at: number;
}

/**
 * What the phase knows of every key: its last acknowledged value and the node that answered it,
 * and the lost writes seen (a value at or below one acknowledged before).
 */
export class KeyBook {
  /** The last value acknowledged per key (0: never). */
  readonly value: Float64Array;
  /** The node that answered each key last (undefined: never answered). */
  readonly node: (string | undefined)[];
  /** Lost writes: answers whose value was not above the key's last acknowledged one. */
  lost = 0;
  /** The first few lost writes, for the log. */
  readonly lostSamples: { key: number; had: number; got: number; node: string }[] = [];

  constructor(readonly keys: number) {
    this.value = new Float64Array(keys);
    this.node = new Array<string | undefined>(keys).fill(undefined);
  }

  /** Takes one answer in; false when it is a lost write. */
  record(a: KeyAnswer): boolean {
    const had = this.value[a.key]!;
    this.node[a.key] = a.node;
    if (a.value <= had) {
      this.lost++;
      if (this.lostSamples.length < 10) this.lostSamples.push({ key: a.key, had, got: a.value, node: a.node });
      return false;
    }
    this.value[a.key] = a.value;
    return true;
  }

  /** The keys (indices) the nodes in `nodes` answered last. */
  keysOf(nodes: ReadonlySet<string>): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.keys; i++) if (nodes.has(this.node[i] ?? '')) out.push(i);
    return out;
  }
}

/**
 * Waits, round after round of answers, for a set of keys to be served by their expected owners:
 * each key's streak starts at its first answer from its expected owner and ends at an answer from
 * any other node (or a failed call); the set has settled once every key's latest answer is from
 * its expected owner, at the latest streak's start.
 */
export class Settling {
  readonly #expected: Map<number, string>;
  /** Per key: when its current streak of answers from the expected owner began (undefined: none). */
  readonly #since = new Map<number, number | undefined>();

  /** `expected`: key index → the owner it must be served by. */
  constructor(expected: ReadonlyMap<number, string>) {
    this.#expected = new Map(expected);
    for (const k of this.#expected.keys()) this.#since.set(k, undefined);
  }

  /** The keys followed. */
  get keys(): number[] {
    return [...this.#expected.keys()];
  }

  answer(a: KeyAnswer): void {
    const want = this.#expected.get(a.key);
    if (want === undefined) return;
    if (a.node !== want) this.#since.set(a.key, undefined);
    else if (this.#since.get(a.key) === undefined) this.#since.set(a.key, a.at);
  }

  /** A call to `key` failed: its streak ends (it was not served). */
  failed(key: number): void {
    if (this.#expected.has(key)) this.#since.set(key, undefined);
  }

  /** How many keys are not (yet) served by their expected owner. */
  unsettled(): number {
    let n = 0;
    for (const s of this.#since.values()) if (s === undefined) n++;
    return n;
  }

  /** The keys not (yet) served by their expected owner, with that owner (the first `max`). */
  unsettledKeys(max: number): { key: number; expected: string }[] {
    const out: { key: number; expected: string }[] = [];
    for (const [k, s] of this.#since)
      if (s === undefined && out.length < max) out.push({ key: k, expected: this.#expected.get(k)! });
    return out;
  }

  /**
   * When the last streak of the keys that are settled began (wall-clock ms; undefined: none is):
   * with {@link unsettled}, how far a rebalance got when a few keys never settle.
   */
  settledAtOfSettled(): number | undefined {
    let latest: number | undefined;
    for (const s of this.#since.values()) if (s !== undefined) latest = Math.max(latest ?? s, s);
    return latest;
  }

  /** When the last key's streak began (wall-clock ms), once every key is settled; else undefined. */
  settledAt(): number | undefined {
    let latest = -Infinity;
    for (const s of this.#since.values()) {
      if (s === undefined) return undefined;
      latest = Math.max(latest, s);
    }
    return this.#since.size === 0 ? undefined : latest;
  }
}
