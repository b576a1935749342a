// Placement's balance (contract/placement.ts): over 1..8 members, every join and every leave,
// each member owns ⌊shards/members⌋ shards or one more, and the shards that move are those the
// joining or leaving member gains or loses plus a few the load bounds push on; the figures are
// printed (the docs quote them) and bounded so a worse scheme fails.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { DEFAULT_SHARDS, ownerOfShard, shardOf } from '../src/index.js';

const names = (n: number): string[] => Array.from({ length: n }, (_, i) => `m${i + 1}@host${i + 1}`);

/** The owner of every shard among `members`. */
function owners(members: readonly string[], shards: number): string[] {
  return Array.from({ length: shards }, (_, s) => ownerOfShard(s, members, shards)!);
}

/** Shards per member. */
function loads(own: readonly string[], members: readonly string[]): number[] {
  return members.map((m) => own.filter((o) => o === m).length);
}

const moved = (a: readonly string[], b: readonly string[]): number => a.filter((o, s) => o !== b[s]).length;

/** Every join (N → N+1) and leave (N → N-1, each member in turn) of 1..8 members: spreads and moves. */
function measure(shards: number): { spread: number; moves: number; minimum: number; worstExtra: number } {
  let spread = 0;
  let moves = 0;
  let minimum = 0;
  let worstExtra = 0;
  const count = (m: number, least: number): void => {
    moves += m;
    minimum += least;
    worstExtra = Math.max(worstExtra, m - least);
  };
  for (let n = 1; n <= 8; n++) {
    const members = names(n);
    const own = owners(members, shards);
    const l = loads(own, members);
    spread = Math.max(spread, Math.max(...l) - Math.min(...l));
    if (n < 8) {
      const joined = names(n + 1);
      const after = owners(joined, shards);
      // The least a join can move: what the new member owns.
      count(moved(own, after), loads(after, joined).at(-1)!);
    }
    if (n > 1)
      for (let i = 0; i < members.length; i++) {
        const after = owners(
          members.filter((_, j) => j !== i),
          shards,
        );
        // The least a leave can move: what the leaving member owned.
        count(moved(own, after), l[i]!);
      }
  }
  return { spread, moves, minimum, worstExtra };
}

test('placement: within one shard of even for 1..8 members, joins and leaves moving few shards beyond the least', () => {
  for (const shards of [DEFAULT_SHARDS, 16, 256]) {
    const m = measure(shards);
    console.log(
      `placement ${shards} shards, 1..8 members, every join and leave: spread ≤ ${m.spread}; ` +
        `${m.moves} shards moved where the least possible is ${m.minimum} (×${(m.moves / m.minimum).toFixed(2)}), ` +
        `at most ${m.worstExtra} beyond the least in one change`,
    );
    assert.ok(m.spread <= 1, `${shards} shards: spread ${m.spread}`);
    // Bounded loads push a few shards on: a scheme that reshuffled half of them would exceed this.
    assert.ok(m.moves <= m.minimum * 1.5, `${shards} shards: ${m.moves} moved, least ${m.minimum}`);
  }
});

test('placement: three members split 64 shards 22/21/21, the same whatever the order of the list', () => {
  const members = names(3);
  assert.deepEqual(
    loads(owners(members, 64), members).sort((a, b) => b - a),
    [22, 21, 21],
  );
  assert.deepEqual(owners([...members].reverse(), 64), owners(members, 64));
  // A duplicate name counts once; the default shard count is the runtime's.
  assert.deepEqual(owners([...members, members[0]!], 64), owners(members, 64));
  for (let s = 0; s < 64; s++) assert.equal(ownerOfShard(s, members), ownerOfShard(s, members, DEFAULT_SHARDS));
  assert.equal(ownerOfShard(0, []), undefined);
  assert.equal(ownerOfShard(0, ['solo@h']), 'solo@h');
  // A key's owner is its shard's owner.
  const key = 'order-7';
  assert.equal(ownerOfShard(shardOf(key, 64), members), owners(members, 64)[shardOf(key, 64)]);
});
