// Binary payloads and event batches on a subscriber node. A decoded binary of 65 bytes up to
// POOLED_BINARY_MAX is copied into a shared slab (EdfReader.bytesPooled: a fresh Uint8Array of
// that size costs about five times the string of the same bytes): each value must hold its own
// bytes whatever is decoded after it, across slabs, and stay a plain Uint8Array. An ergo-ts event
// batch is routed to a node's subscribers in one call (CoreImpl.routeSendEvents): with one
// subscriber and with several, every one gets every event in order, binaries and strings alike,
// the same MessageEvent (timestamp included) for all of them.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { Event, type Atom, type MessageEvent, type Ref } from '../src/index.js';
import { EdfDecoder, EdfEncoder } from '../src/net/index.js';
import { POOLED_BINARY_MAX } from '../src/net/edf/reader.js';
import { within } from './helpers.js';
import { watcher } from './dist_helpers.js';
import { netPair } from './net_helpers.js';

/** `n` bytes that differ from those of any other (seed, n). */
function bytesOf(seed: number, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (seed * 31 + i * 7) & 0xff;
  return b;
}

test('binaries around the pooled sizes decode to their own bytes, as plain Uint8Arrays', () => {
  const enc = new EdfEncoder({});
  const dec = new EdfDecoder({});
  const sizes = [0, 1, 63, 64, 65, 100, 512, POOLED_BINARY_MAX - 1, POOLED_BINARY_MAX, POOLED_BINARY_MAX + 1, 5000];
  for (const [seed, n] of sizes.entries()) {
    const v = dec.decode(enc.encode(bytesOf(seed, n)));
    assert.ok(v instanceof Uint8Array);
    assert.equal(Object.getPrototypeOf(v), Uint8Array.prototype, `${n} bytes: a plain Uint8Array`);
    assert.deepEqual(v, bytesOf(seed, n), `${n} bytes`);
  }
});

test('a pooled binary keeps its bytes while later decodes fill the slab and the next ones', () => {
  const enc = new EdfEncoder({});
  const dec = new EdfDecoder({});
  const kept: Uint8Array[] = [];
  // 400 × 100 bytes: several 8 KiB slabs.
  for (let i = 0; i < 400; i++) kept.push(dec.decode(enc.encode(bytesOf(i, 100))) as Uint8Array);
  kept.forEach((v, i) => assert.deepEqual(v, bytesOf(i, 100), `value ${i}`));
  // Writing into one value changes no other.
  kept[10]!.fill(0);
  assert.deepEqual(kept[9], bytesOf(9, 100));
  assert.deepEqual(kept[11], bytesOf(11, 100));
});

test('an event batch reaches one and several subscribers of a node in order, binaries and strings', async (t) => {
  const { a, b } = await netPair(t);
  const producer = await watcher(b);
  let token: Ref | undefined;
  await producer.run((self) => void (token = self.registerEvent('bin', {})));
  const ev = new Event('bin' as Atom, b.name);
  const first = await watcher(a);
  await first.run((self) => self.monitorEvent(ev));

  const out: unknown[] = Array.from({ length: 300 }, (_, i) => (i % 3 === 2 ? `s${i}` : bytesOf(i, 100)));
  const publish = (): Promise<void> =>
    producer.run((self) => {
      for (const m of out) self.sendEvent('bin', token!, m);
    });

  // One subscriber on the node.
  await publish();
  const one = await within(first.inbox.count(300), 'events on the only subscriber');
  assert.deepEqual(
    one.map((s) => (s.message as MessageEvent).message),
    out,
  );

  // Two more: each of the three gets the next 300, the same MessageEvent objects for all.
  const others = [await watcher(a), await watcher(a)];
  for (const w of others) await w.run((self) => self.monitorEvent(ev));
  await publish();
  const got = [
    (await within(first.inbox.count(600), 'events on the first subscriber')).slice(300),
    await within(others[0]!.inbox.count(300), 'events on the second subscriber'),
    await within(others[1]!.inbox.count(300), 'events on the third subscriber'),
  ];
  for (const g of got) {
    assert.deepEqual(
      g.map((s) => (s.message as MessageEvent).message),
      out,
    );
  }
  for (let i = 0; i < 300; i++) {
    const m = got[0]![i]!.message as MessageEvent;
    assert.equal(got[1]![i]!.message, m);
    assert.equal(got[2]![i]!.message, m);
    assert.ok(m.event.equals(ev));
    if (i > 0) assert.ok(m.timestamp >= (got[0]![i - 1]!.message as MessageEvent).timestamp, 'stamps in order');
  }
});
