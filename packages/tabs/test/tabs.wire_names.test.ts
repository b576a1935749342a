// The decoder's shared names and events (wire_names.ts) and the brief encodings of a tab's
// frames (wire.ts encodeBrief): a name found by its bytes is the name those bytes spell, however
// many names share its slot, whatever its length or characters; an event decodes to one object
// per node and name; a brief frame's bytes are encodeFrame's, and stay so while later frames are
// encoded.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { Event, PID, ProcessID, Ref } from 'ergo-ts';

import { decodeFrame, encodeFrame, encodeFrameBrief, Op } from '../src/frame.js';
import { decodeValue, encodeValue } from '../src/wire.js';

test('names decoded by their bytes: thousands of names (more than the slots), long and non-ASCII ones', () => {
  const names = [
    ...Array.from({ length: 3000 }, (_, i) => `tab-${i.toString(36).padStart(14, '0')}-gw@web1`),
    'n'.repeat(255),
    'é'.repeat(40) + '@host',
    'a@b',
  ];
  // Twice over: the second pass meets every name again, in slots later names took meanwhile.
  for (let pass = 0; pass < 2; pass++)
    for (const [i, name] of names.entries()) {
      const f = decodeFrame(
        encodeFrame([Op.Send, name, 'gw@web1', 0, 0, new PID(name, i, 1), new PID('gw@web1', 1, 2), i]),
      );
      assert.equal(f[1], name);
      assert.equal((f[5] as PID).node, name);
      assert.equal(f[7], i);
    }
});

test('a frame that is no routed one keeps its strings plain (a hello) and decodes as before', () => {
  const f = decodeFrame(encodeFrame([20, 'secret-token', '', false, true]));
  assert.deepEqual([...f], [20, 'secret-token', '', false, true]);
});

test('an event decodes to one object per node and name', () => {
  const a = decodeValue(encodeValue(new Event('news', 'gw@web1')));
  const b = decodeValue(encodeValue([new Event('news', 'gw@web1')])) as unknown[];
  assert.ok(a instanceof Event);
  assert.equal(b[0], a);
  assert.notEqual(decodeValue(encodeValue(new Event('news', 'gw@web2'))), a);
  assert.equal((decodeValue(encodeValue(new Event('other', 'gw@web1'))) as Event).name, 'other');
});

test('brief frames: the bytes encodeFrame writes, kept intact while later frames are encoded', () => {
  const frame = (i: number): unknown[] => [
    Op.Call,
    'tab-00000000000001-gw@web1',
    'gw@web1',
    0,
    0,
    new PID('tab-00000000000001-gw@web1', 1000 + i, 1),
    new ProcessID('echo', 'gw@web1'),
    new Ref('tab-00000000000001-gw@web1', 1, [i, 2, 3]),
    'x'.repeat(i % 300),
  ];
  // Enough to fill several slabs.
  const kept = Array.from({ length: 2000 }, (_, i) => encodeFrameBrief(frame(i)));
  for (const [i, b] of kept.entries()) assert.deepEqual(b, encodeFrame(frame(i)));
  const big = encodeFrameBrief([Op.Send, 'a@b', 'c@d', 0, 0, 'y'.repeat(10_000)]);
  assert.equal(big.byteLength, big.buffer.byteLength, 'a big frame has a buffer of its own');
});
