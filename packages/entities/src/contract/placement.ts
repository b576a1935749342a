// Placement: a key maps to a shard by a stable hash (FNV-1a, 32 bits, over the key's UTF-8 bytes:
// the same on every node, every run, every platform), and a shard to one of the live nodes by
// rendezvous hashing (highest random weight): every node that sees the same live set picks the
// same owner, and when a node joins or leaves only the shards it gains or loses move. Nodes that
// briefly disagree (one saw a node leave, another not yet) may both try to activate a key; the
// store's lease lets only one of them run it (see runtime/runtime.ts).

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

/**
 * The owner of `shard` among `nodes` (rendezvous hashing); undefined when `nodes` is empty. The
 * order of `nodes` does not matter.
 */
export function ownerOfShard(shard: number, nodes: readonly string[]): string | undefined {
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
