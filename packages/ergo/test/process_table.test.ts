// The node's process table (node/process_table.ts, an open-addressing hash table keyed by PID
// id): a seeded fuzz against a Map (set, replace, get, has, delete, size, values in id order)
// with sequential ids as spawn hands them out, churn that grows and shrinks the table across its
// resize points, colliding ids, and ids that must miss (not integers, negative, beyond 2^32,
// equal modulo 2^20). A failing seed is printed; rerun it alone with FUZZ_SEED=<seed>.

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';

import { ProcessTable } from '../src/node/process_table.js';

/** mulberry32: small, seeded, reproducible. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Entry {
  readonly pid: { readonly id: number };
  readonly tag: number;
}

function entry(id: number, tag = 0): Entry {
  return { pid: { id }, tag };
}

function check(table: ProcessTable<Entry>, ref: Map<number, Entry>, probes: number[]): void {
  assert.equal(table.size, ref.size);
  for (const [id, e] of ref) {
    assert.equal(table.get(id), e, `get(${id})`);
    assert.equal(table.has(id), true);
  }
  for (const id of probes) assert.equal(table.get(id), ref.get(id), `probe get(${id})`);
  const ids = [...ref.keys()].sort((a, b) => a - b);
  assert.deepEqual(
    [...table.values()].map((e) => e.pid.id),
    ids,
  );
}

function fuzz(seed: number): void {
  const rand = rng(seed);
  const table = new ProcessTable<Entry>();
  const ref = new Map<number, Entry>();
  let next = 1000;
  const live: number[] = [];
  // Phases: spawn-heavy, kill-heavy, mixed; ids sometimes skip (failed inits never enter).
  for (let phase = 0; phase < 12; phase++) {
    const steps = 200 + Math.floor(rand() * 3000);
    const spawnBias = phase % 3 === 0 ? 0.9 : phase % 3 === 1 ? 0.15 : 0.5;
    for (let s = 0; s < steps; s++) {
      const r = rand();
      if (r < spawnBias) {
        next += rand() < 0.1 ? 1 + Math.floor(rand() * 200) : 1;
        const e = entry(next);
        table.set(next, e);
        ref.set(next, e);
        live.push(next);
      } else if (ref.size > 0 && r < spawnBias + (1 - spawnBias) * 0.9) {
        // Delete a random live id (older ones too: long-lived processes stay scattered).
        const k = Math.floor(rand() * live.length);
        const id = live[k]!;
        live[k] = live[live.length - 1]!;
        live.pop();
        assert.equal(table.delete(id), true);
        ref.delete(id);
      } else {
        // Misses: never-spawned ids, and a delete of one returns false.
        const id = next + 1 + Math.floor(rand() * 1000);
        assert.equal(table.get(id), undefined);
        assert.equal(table.delete(id), false);
      }
    }
    const probes = [next + 1, next + 64, 1000 - 1, 0, -1, 1.5, next + 0.5, 2 ** 32 + 1000, 2 ** 40, NaN, Infinity];
    // Ids equal to live ones modulo every capacity up to 2^20 must miss too.
    for (const id of [...ref.keys()].slice(0, 5)) probes.push(id + 2 ** 20, id - 2 ** 20);
    check(table, ref, probes);
  }
  // Drain completely: the table shrinks back and stays consistent.
  for (const id of [...ref.keys()]) {
    assert.equal(table.delete(id), true);
    ref.delete(id);
  }
  check(table, ref, [next, 1000]);
}

describe('process table', () => {
  test('seeded fuzz against a Map: set, get, has, delete, size, values across growth and shrinkage', () => {
    const only = process.env.FUZZ_SEED;
    const seeds = only !== undefined ? [Number(only)] : [1, 2, 3, 4, 5, 6, 7, 8];
    for (const seed of seeds) {
      try {
        fuzz(seed);
      } catch (e) {
        console.log(`process table fuzz failed with FUZZ_SEED=${seed}`);
        throw e;
      }
    }
  });

  test('ids sharing a home slot are all found, and deleting one keeps the others', () => {
    const table = new ProcessTable<Entry>();
    const ref = new Map<number, Entry>();
    // Ids with one home slot in the 64-slot table (its hash keeps the top 6 bits of id × 2^32/φ),
    // so they form one probe run; then deletions from its middle, start and end.
    const home = (id: number): number => Math.imul(id, 0x9e3779b1) >>> 26;
    const ids: number[] = [];
    for (let id = 1000; ids.length < 20; id++) if (home(id) === home(1000)) ids.push(id);
    for (const id of ids) {
      const e = entry(id);
      table.set(id, e);
      ref.set(id, e);
    }
    check(table, ref, [ids[19]! + 1]);
    for (const id of [ids[5]!, ids[0]!, ids[19]!, ids[10]!]) {
      assert.equal(table.delete(id), true);
      ref.delete(id);
      check(table, ref, [id]);
    }
  });

  test('set with a live id replaces the entry; values() is a snapshot', () => {
    const table = new ProcessTable<Entry>();
    const a = entry(1001, 1);
    const b = entry(1001, 2);
    table.set(1001, a);
    table.set(1001, b);
    assert.equal(table.size, 1);
    assert.equal(table.get(1001), b);
    table.set(1002, entry(1002));
    const seen: number[] = [];
    for (const e of table.values()) {
      seen.push(e.pid.id);
      table.delete(e.pid.id);
      table.set(e.pid.id + 100, entry(e.pid.id + 100));
    }
    assert.deepEqual(seen, [1001, 1002]);
    assert.deepEqual(
      [...table.values()].map((e) => e.pid.id),
      [1101, 1102],
    );
  });
});
