// The rules of rejoinStableMs (runtime/rejoin.ts), on times passed in: a member's own wait after a
// lapse (started by the first notice only, started anew by a loop gap that may have cost the lease,
// doubled for a lapse soon after the last wait, up to four times, forgotten after a long stay) and
// the other nodes' reading of its member lease (counted again on a new token, or after four waits
// and two ttls current under the same token, never while it reads ended; at once without damping).

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { RejoinWatch, RejoinWindow } from '../src/runtime/rejoin.js';

test('a member waits rejoinStableMs after it was counted out, anew after a gap that may have cost its lease', () => {
  const w = new RejoinWindow(3000, 750);
  assert.equal(w.waiting, false);
  assert.equal(w.enter(0), true);
  assert.equal(w.enter(100), false, 'a second notice of the same lapse');
  assert.equal(w.waiting, true);
  assert.equal(w.windowMs, 3000);
  assert.equal(w.away(500, 1000), false, 'a short gap');
  assert.equal(w.due(2999), false);
  assert.equal(w.away(800, 2000), true, 'a gap that may have cost the lease');
  assert.equal(w.due(4999), false);
  assert.equal(w.due(5000), true);
  w.done(5000);
  assert.equal(w.waiting, false);
  assert.equal(w.away(5000, 6000), false, 'not waiting: a gap changes nothing');
});

test('a member that lapses again soon after its wait waits twice as long, up to four times; a long stay forgets', () => {
  const w = new RejoinWindow(1000, 750);
  let now = 0;
  const lapse = (): number => {
    assert.equal(w.enter(now), true);
    const ms = w.windowMs;
    now += ms;
    assert.equal(w.due(now), true);
    w.done(now);
    return ms;
  };
  assert.equal(lapse(), 1000);
  now += 100;
  assert.equal(lapse(), 2000);
  now += 100;
  assert.equal(lapse(), 4000);
  now += 100;
  assert.equal(lapse(), 4000, 'at most four times');
  now += 4 * 4000;
  assert.equal(lapse(), 1000, 'after four waits in: from the start');
});

test('damping off (0): no wait', () => {
  const w = new RejoinWindow(0, 750);
  assert.equal(w.on, false);
  assert.equal(w.enter(0), false);
  assert.equal(w.waiting, false);
});

test('the others count a member in on a new token, or after four waits and two ttls current under the same one', () => {
  const r = new RejoinWatch(3000, 1000);
  r.out('b');
  assert.equal(r.read('b', true, 7, 0), false, 'ended');
  assert.equal(r.read('b', false, 7, 100), false, 'renewed once before it stopped renewing');
  assert.equal(r.read('b', true, 7, 1300), false, 'ended again: its wait');
  assert.equal(r.read('b', false, 8, 9000), true, 'taken again: a new token');

  r.out('c');
  assert.equal(r.read('c', false, 4, 0), false);
  assert.equal(r.read('c', false, 4, 13_999), false);
  assert.equal(r.read('c', false, 4, 14_000), true, 'renewed all along (its hello lost): 4 × 3000 + 2 × 1000');

  r.out('d');
  assert.equal(r.read('d', false, 2, 0), false);
  assert.equal(r.read('d', true, 2, 1500), false);
  assert.equal(r.read('d', false, 2, 1600), false, 'current again under the same token: the fallback starts anew');
  assert.equal(r.read('d', false, 2, 15_599), false);
  assert.equal(r.read('d', false, 2, 15_600), true);
});

test('without damping the others count a member in as soon as its lease is current', () => {
  const r = new RejoinWatch(0, 1000);
  r.out('b');
  assert.equal(r.read('b', true, 3, 0), false);
  assert.equal(r.read('b', false, 3, 1), true);
});
