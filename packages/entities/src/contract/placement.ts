// Placement: a key maps to a shard by a stable hash (FNV-1a, 32 bits, over the key's UTF-8 bytes:
// the same on every node, every run, every platform), and a shard to one of the live nodes by
// rendezvous hashing with bounded loads: every (shard, node) pair has a weight, fnv1a(`shard/node`);
// pairs are taken heaviest first, and a shard goes to the node of its heaviest pair that still has
// room, a node taking at most ⌊shards/nodes⌋ shards plus one for the first `shards mod nodes` nodes
// to fill up. So every node owns ⌊shards/nodes⌋ or one more (64 shards on 3 nodes: 22/21/21, where
// plain rendezvous hashing gave 27/19/18), every node that sees the same live set picks the same
// owners, and a join or a leave moves the shards the joining or leaving node gains or loses and a
// few more (the bounds pushing a shard on to its next pair; test/placement.test.ts measures it:
// over every join and leave of 1..8 nodes, 64 shards, 645 moved where 560 is the least, at most 4
// beyond the least in one change). Nodes that briefly disagree (one saw a node leave, another not
// yet) may both try to activate a key; the store's lease lets only one of them run it (see
// runtime/runtime.ts).

const encoder = new TextEncoder();

/** FNV-1a, 32 bits, of the UTF-8 bytes of `text`: a stable, well-spread, cheap hash. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (const b of encoder.encode(text)) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** The shard of `key` among `shards` (0 ≤ shard < shards). */
export function shardOf(key: string, shards: number): number {
  return fnv1a(key) % shards;
}

/** The shard count a placement assumes unless told (the entities runtime's default `shards`). */
export const DEFAULT_SHARDS = 64;

/** The owner of each shard, by `shards|sorted nodes` (a few live sets at a time: a small cache). */
const assignments = new Map<string, readonly string[]>();
const CACHED_ASSIGNMENTS = 32;

/**
 * The owner of every shard among `nodes` (sorted, without duplicates, at least one): see the top
 * of this file. Index `s` is shard `s`'s owner.
 */
function assign(nodes: readonly string[], shards: number): readonly string[] {
  const pairs: { w: number; s: number; n: string }[] = [];
  for (let s = 0; s < shards; s++) for (const n of nodes) pairs.push({ w: fnv1a(`${s}/${n}`), s, n });
  // Heaviest first; ties (rare) by shard, then by the smaller name, so every node orders them alike.
  pairs.sort((a, b) => b.w - a.w || a.s - b.s || (a.n < b.n ? -1 : a.n > b.n ? 1 : 0));
  const base = Math.floor(shards / nodes.length);
  let extra = shards % nodes.length;
  const load = new Map(nodes.map((n) => [n, 0]));
  const owner: string[] = new Array<string>(shards);
  let left = shards;
  for (const { s, n } of pairs) {
    if (owner[s] !== undefined) continue;
    const l = load.get(n)!;
    if (l < base || (l === base && extra > 0)) {
      if (l === base) extra--;
      owner[s] = n;
      load.set(n, l + 1);
      if (--left === 0) break;
    }
  }
  return owner;
}

/**
 * The owner of `shard` among `nodes` when keys map to `shards` shards (default
 * {@link DEFAULT_SHARDS}: pass the runtime's `shards` when it is another); undefined when `nodes` is
 * empty. The order of `nodes` does not matter. A shard outside `0..shards-1` is placed by plain
 * rendezvous hashing.
 */
export function ownerOfShard(
  shard: number,
  nodes: readonly string[],
  shards: number = DEFAULT_SHARDS,
): string | undefined {
  if (nodes.length === 0) return undefined;
  if (!Number.isInteger(shard) || shard < 0 || shard >= shards || !Number.isInteger(shards))
    return rendezvousOwner(shard, nodes);
  const sorted = [...new Set(nodes)].sort();
  const id = `${shards}|${sorted.join('\n')}`;
  let owners = assignments.get(id);
  if (owners === undefined) {
    if (assignments.size >= CACHED_ASSIGNMENTS) assignments.clear();
    assignments.set(id, (owners = assign(sorted, shards)));
  }
  return owners[shard];
}

/** The owner of `shard` by plain rendezvous hashing (the highest weight wins, no bound). */
function rendezvousOwner(shard: number, nodes: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestWeight = -1;
  for (const n of nodes) {
    const w = fnv1a(`${shard}/${n}`);
    // Ties (rare) go to the smaller name, so every node breaks them the same way.
    if (w > bestWeight || (w === bestWeight && best !== undefined && n < best)) {
      best = n;
      bestWeight = w;
    }
  }
  return best;
}
