// A query sees what was acknowledged before it (Temporal's guarantee): 50 signal-then-query pairs
// on each of three tallies (the body takes each signal with `ctx.signal`, a handler beside the
// body takes it while the body waits in `ctx.condition`, a `ctx.select` loop takes it), none
// answered from state that had not taken the signal, on the test kit, SQLite and PostgreSQL; then
// the runtime restarts (the body replays from its journal) and the first signal-then-query pair
// after it is consistent too. An update's answer then a query: the query sees the update.

import { strict as assert } from 'node:assert';

import { onEveryRig, type Rig, type RigCases } from './workflow_rigs.js';
import { WfQHandler, WfQSelect, WfQTake } from './workflow_query_kinds.js';

const PAIRS = 50;

type Tally = typeof WfQTake | typeof WfQHandler | typeof WfQSelect;

/** Sends `PAIRS` `add 1` signals, each followed by a `total` query; returns how many queries were stale. */
async function stale(rig: Rig, kind: Tally, id: string, from: number): Promise<number> {
  const h = rig.workflows().handle(kind as typeof WfQHandler, id);
  let misses = 0;
  for (let i = 1; i <= PAIRS; i++) {
    assert.equal(await h.signal('add', 1), 'accepted');
    const total = await h.query('total');
    if (total !== from + i) misses++;
  }
  return misses;
}

/** 50 pairs, a restart (the body replays), one more pair, the end: every query consistent. */
async function tally(rig: Rig, kind: Tally, id: string, stop: 'add' | 'stop'): Promise<void> {
  await rig.workflows().start(kind as typeof WfQHandler, id, undefined);
  assert.equal(await stale(rig, kind, id, 0), 0, `0 of ${PAIRS} queries stale`);
  await rig.restart();
  const h = rig.workflows().handle(kind as typeof WfQHandler, id);
  assert.equal(await h.signal('add', 5), 'accepted');
  assert.equal(await h.query('total'), PAIRS + 5, 'after a restart: replayed, then the signal taken');
  assert.equal(await h.query('total'), PAIRS + 5);
  if (stop === 'add') await rig.workflows().handle(WfQTake, id).signal('add', -1);
  else await h.signal('stop', null);
  assert.equal(await h.result(), PAIRS + 5);
}

const CASES: RigCases = {
  async 'the body takes each signal (ctx.signal): 0 of 50 queries stale, and after a restart'(rig) {
    await tally(rig, WfQTake, 't1', 'add');
  },
  async 'a handler takes each signal (ctx.onSignal + ctx.condition): 0 of 50 stale, and after a restart'(rig) {
    await tally(rig, WfQHandler, 'h1', 'stop');
  },
  async 'a ctx.select loop takes each signal: 0 of 50 stale, and after a restart'(rig) {
    await tally(rig, WfQSelect, 's1', 'stop');
  },
  async 'an update answered, then a query: it sees the update; a signal after it too'(rig) {
    const h = rig.workflows().handle(WfQHandler, 'u1');
    await rig.workflows().start(WfQHandler, 'u1', undefined);
    for (let i = 1; i <= 10; i++) {
      assert.equal(await h.update('set', i * 10), i * 10);
      assert.equal(await h.query('total'), i * 10);
      assert.equal(await h.signal('add', 1), 'accepted');
      assert.equal(await h.query('total'), i * 10 + 1);
    }
    await h.signal('stop', null);
    assert.equal(await h.result(), 101);
  },
};

onEveryRig('consistent queries', CASES, [WfQTake, WfQHandler, WfQSelect], () => undefined);
