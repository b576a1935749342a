// The entities phase's bookkeeping (bench/src/cluster/entity_keys.ts) on planted answers, no
// process started: a counter value that does not grow must count as a lost write, a key answered
// by another node than its expected owner (or failing) must keep a rebalance unsettled, and the
// keys placement moves when nodes join must be about K·j/(N+j), nearly all to the joiners.
// Without this the cluster run's "0 lost" and its rebalance times could come from a checker that
// never fires.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ownerOfShard, shardOf } from '@ergo-ts/entities';
import { expectedOwners, keyNames, KeyBook, movedKeys, Settling } from '../cluster/entity_keys.js';

const nodes = (n: number, from = 0): string[] => Array.from({ length: n }, (_, i) => `s${from + i}@10.200.0.${i + 1}`);

test('keyNames: k0 … k<n-1>; a bad count is refused', () => {
  assert.deepEqual(keyNames(3), ['k0', 'k1', 'k2']);
  assert.throws(() => keyNames(0), RangeError);
  assert.throws(() => keyNames(1.5), RangeError);
});

test('expectedOwners is the runtime placement, whatever the order of the members', () => {
  const keys = keyNames(500);
  const members = nodes(7);
  const owners = expectedOwners(keys, members, 256);
  keys.forEach((k, i) => assert.equal(owners[i], ownerOfShard(shardOf(k, 256), members, 256)));
  assert.deepEqual(expectedOwners(keys, [...members].reverse(), 256), owners);
  assert.throws(() => expectedOwners(keys, [], 256), RangeError);
});

test('a join moves about K·j/(N+j) keys, nearly all to the joiners; a drain the drained nodes’ keys and few more', () => {
  const keys = keyNames(10_000);
  const before = nodes(20);
  const joiners = nodes(10, 20);
  const a = expectedOwners(keys, before, 1024);
  const b = expectedOwners(keys, [...before, ...joiners], 1024);
  const moved = movedKeys(a, b);
  const naive = (10_000 * 10) / 30;
  assert.ok(Math.abs(moved - naive) < naive * 0.15, `moved ${moved}, naive ${naive.toFixed(0)}`);
  // Bounded loads push a few keys on between the old nodes (placement.ts): most go to the joiners.
  const between = b.filter((o, i) => o !== a[i] && !joiners.includes(o)).length;
  assert.ok(between < moved * 0.15, `${between} of ${moved} moved between old nodes`);
  const drained = new Set(before.slice(5, 15));
  const c = expectedOwners(
    keys,
    before.filter((x) => !drained.has(x)),
    1024,
  );
  c.forEach((o, i) => {
    if (drained.has(a[i]!)) assert.notEqual(o, a[i], `key ${i}`);
  });
  const others = c.filter((o, i) => o !== a[i] && !drained.has(a[i]!)).length;
  assert.ok(others < keys.length * 0.05, `${others} keys of the staying nodes moved`);
});

test('movedKeys counts differing and never-answered keys; lengths must match', () => {
  assert.equal(movedKeys(['a', 'b', undefined], ['a', 'c', 'x']), 2);
  assert.equal(movedKeys(['a'], ['a']), 0);
  assert.throws(() => movedKeys(['a'], []), RangeError);
});

test('KeyBook: a value that does not grow is a lost write; a skipped one is not', () => {
  const book = new KeyBook(2);
  assert.equal(book.record({ key: 0, value: 1, node: 'a', at: 1 }), true);
  assert.equal(book.record({ key: 0, value: 3, node: 'b', at: 2 }), true); // a failed call wrote 2: at least once
  assert.equal(book.record({ key: 0, value: 3, node: 'b', at: 3 }), false); // stuck: the write of 4 lost
  assert.equal(book.record({ key: 0, value: 2, node: 'c', at: 4 }), false); // backwards
  assert.equal(book.record({ key: 1, value: 1, node: 'c', at: 5 }), true);
  assert.equal(book.lost, 2);
  assert.deepEqual(
    book.lostSamples.map((s) => [s.key, s.had, s.got]),
    [
      [0, 3, 3],
      [0, 3, 2],
    ],
  );
  assert.equal(book.value[0], 3); // a lost write does not lower what was acknowledged
  assert.deepEqual(book.keysOf(new Set(['c'])), [0, 1]);
  assert.deepEqual(book.keysOf(new Set(['a', 'b'])), []);
});

test('Settling: settled once every key answers from its expected owner, at the last streak’s start', () => {
  const s = new Settling(
    new Map([
      [0, 'new'],
      [1, 'old'],
    ]),
  );
  assert.equal(s.settledAt(), undefined);
  s.answer({ key: 0, value: 1, node: 'old', at: 10 });
  s.answer({ key: 1, value: 1, node: 'old', at: 11 });
  assert.equal(s.unsettled(), 1);
  assert.equal(s.settledAt(), undefined);
  assert.equal(s.settledAtOfSettled(), 11);
  assert.deepEqual(s.unsettledKeys(5), [{ key: 0, expected: 'new' }]);
  s.answer({ key: 0, value: 2, node: 'new', at: 20 });
  assert.equal(s.settledAt(), 20);
  // It went back to another node: its streak ends, and starts again later.
  s.answer({ key: 0, value: 3, node: 'old', at: 30 });
  assert.equal(s.settledAt(), undefined);
  s.answer({ key: 0, value: 4, node: 'new', at: 40 });
  s.answer({ key: 0, value: 5, node: 'new', at: 50 });
  assert.equal(s.settledAt(), 40);
  // A failed call is not served.
  s.failed(1);
  assert.equal(s.unsettled(), 1);
  s.answer({ key: 1, value: 2, node: 'old', at: 60 });
  assert.equal(s.settledAt(), 60);
  // Keys it does not follow change nothing.
  s.answer({ key: 7, value: 1, node: 'x', at: 70 });
  s.failed(7);
  assert.equal(s.settledAt(), 60);
  assert.deepEqual(s.keys, [0, 1]);
});
