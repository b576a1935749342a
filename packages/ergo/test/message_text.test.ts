// messageText: a message as one bounded line for the mailbox peek and the trace. Identifiers in
// their Ergo forms, classes named, cycles and throwing getters survive, and the walk stops at the
// limit instead of printing a huge message whole.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { MESSAGE_TEXT_MAX, messageText, PID, type Atom } from '../src/index.js';

class Order {
  constructor(
    readonly id: number,
    readonly owner: PID,
  ) {}
}

test('values print as short readable text', () => {
  const pid = new PID('a@h' as Atom, 1001, 1);
  assert.equal(messageText('hi "there"'), '"hi \\"there\\""');
  assert.equal(messageText(42), '42');
  assert.equal(messageText(10n), '10n');
  assert.equal(messageText(null), 'null');
  assert.equal(messageText(undefined), 'undefined');
  assert.equal(messageText(pid), String(pid));
  assert.equal(messageText(new Order(7, pid)), `Order { id: 7, owner: ${String(pid)} }`);
  assert.equal(messageText({ 'a-b': [1, 'x'], c: {} }), '{ "a-b": [1, "x"], c: {} }');
  assert.equal(messageText(new Map([['k', 1]])), 'Map(1) { "k" => 1 }');
  assert.equal(messageText(new Set([1])), 'Set(1) [1]');
  assert.equal(messageText(new Uint8Array(3)), '<Uint8Array 3 bytes>');
  assert.equal(messageText(new RangeError('bad')), 'RangeError("bad")');
  assert.equal(
    messageText(function named() {}),
    '[function named]',
  );
});

test('cycles, deep nesting and throwing getters do not break it', () => {
  const a: Record<string, unknown> = { n: 1 };
  a.self = a;
  assert.equal(messageText(a), '{ n: 1, self: … }');
  let deep: unknown = 'bottom';
  for (let i = 0; i < 20; i++) deep = [deep];
  assert.match(messageText(deep), /^\[\[\[\[\[\[…\]\]\]\]\]\]$/);
  const bad = {
    get boom(): never {
      throw new Error('no');
    },
  };
  assert.equal(messageText(bad), '<not printable: no>');
});

test('long messages are cut at the limit without walking the rest', () => {
  const long = 'x'.repeat(10_000);
  const t = messageText(long);
  assert.equal(t.length, MESSAGE_TEXT_MAX + 1);
  assert.ok(t.endsWith('…'));
  // A huge array: the proxy counts the elements read; the walk stops after the first few.
  let visited = 0;
  const huge = new Proxy(new Array(1_000_000).fill(0), {
    get(target, key, receiver) {
      if (typeof key === 'string' && /^\d+$/.test(key)) visited++;
      return Reflect.get(target, key, receiver) as unknown;
    },
  });
  const h = messageText(huge, 50);
  assert.equal(h.length, 51);
  assert.ok(visited < 100, `visited ${visited} elements`);
});
