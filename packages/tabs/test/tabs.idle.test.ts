// An idle tab costs the gateway little memory: its session makes the structures a busy tab needs
// (the reload watchers' maps, the task's batch, the held queue, the link's pending requests, the
// set of nodes it spoke with) when the tab first needs them, not when it joins, and no closure of
// its own (its link calls the session's methods). Counted as live Maps, Sets and functions
// (v8.queryObjects runs a full GC first), so the check is a count, not a size or a time. The session still does its work
// once the tab is busy: a held frame, a call the tab owes, a node going down.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { queryObjects } from 'node:v8';

import { PID, Ref, startNode, type Atom } from 'ergo-ts';

import { Op, type Frame } from '../src/frame.js';
import { DEFAULT_TAB_LIMITS, TabPolicy } from '../src/grant.js';
import { TabSession, type SessionHooks } from '../src/session.js';
import { DEFAULT_FAN_OUT_SLICE, FanOutQueue } from '../src/slices.js';

const NO_HOOKS: SessionHooks = {
  linkClosed: () => undefined,
  answersOverflowed: () => undefined,
  stalled: () => undefined,
  slowConsumerMs: 0,
  fanOut: new FanOutQueue(DEFAULT_FAN_OUT_SLICE),
};

const SESSIONS = 200;
/** The gateway hands every policy one function: so does this test. */
const NO_TAB_NODE = (): boolean => false;

/** Live Map objects now (after a full GC). */
const liveMaps = (): number => queryObjects(Map, { format: 'count' });
/** Live Set objects and functions (closures) now. */
const liveSets = (): number => queryObjects(Set, { format: 'count' });
const liveFunctions = (): number => queryObjects(Function, { format: 'count' });

test('an idle tab session makes no Map: watchers, batches and pending requests come with use', async (t) => {
  const node = await startNode(`idle${process.pid}@localhost`, { log: { defaultLogger: { disable: true } } });
  t.after(() => node.stop());
  const gateway = node.name;
  const make = (i: number): TabSession => {
    const name = `tab-${String(i).padStart(14, '0')}-idle@localhost` as Atom;
    const policy = new TabPolicy(name, { names: { echo: true } }, NO_TAB_NODE);
    return new TabSession(name, `secret${i}`, policy, DEFAULT_TAB_LIMITS, gateway, node.log, NO_HOOKS);
  };

  const before = liveMaps();
  const [setsBefore, functionsBefore] = [liveSets(), liveFunctions()];
  const sessions = Array.from({ length: SESSIONS }, (_, i) => make(i));
  // What the gateway asks of an idle tab (its list, a node going down, a socket that went) reads
  // the empty structures without making them.
  for (const s of sessions) {
    s.info('');
    s.watchers.toTab([Op.NodeDown, 'other@localhost', s.name, 'other@localhost'] as Frame);
    s.watchers.socketGone();
    assert.deepEqual(s.watchers.takeCallsOfGonePage(), []);
    assert.deepEqual(s.watchers.takeAsksOfGonePage(), []);
    assert.equal(s.conn.pendingCount, 0);
  }
  const made = liveMaps() - before;
  // Fewer than one per session (each made six before: five watcher maps and the link's requests).
  assert.ok(made < SESSIONS, `${made} Maps for ${SESSIONS} idle sessions`);
  // No Set (the peers it spoke with come with use) and no closure per session (its link calls
  // the session's methods and the gateway's one hooks object: each made three before).
  const sets = liveSets() - setsBefore;
  assert.ok(sets < SESSIONS, `${sets} Sets for ${SESSIONS} idle sessions`);
  const functions = liveFunctions() - functionsBefore;
  assert.ok(functions < SESSIONS, `${functions} functions for ${SESSIONS} idle sessions`);

  // Busy, the same session notes what a reload needs and holds what waits for the tab.
  const s = sessions[0]!;
  const caller = new PID('server@localhost' as Atom, 1001, 1);
  const ref = new Ref('server@localhost' as Atom, 1, [1, 2, 3]);
  s.deliverFrame([Op.Call, 'server@localhost', s.name, 0, 0, caller, new PID(s.name, 5, 1), ref, 'q']);
  assert.equal(s.watchers.calls.size, 1);
  assert.ok(s.info('').queuedBytes > 0, 'the frame is held while the tab has no socket');
  s.watchers.nodeDown('server@localhost');
  assert.equal(s.watchers.calls.size, 0);
  for (const x of sessions) x.end(1000, 'done');
});

test('a tab handed one PID keeps no Set; a second, and both are known, the oldest forgotten past the bound', () => {
  const tab = 'tab-00000000000001-idle@localhost';
  const server = 'server@localhost' as Atom;
  const policies = Array.from({ length: SESSIONS }, () => new TabPolicy(tab, { names: {} }, NO_TAB_NODE));
  const publisher = new PID(server, 1000, 1);
  const setsBefore = liveSets();
  // Every tab hears one publisher's event, twice.
  for (const p of policies) {
    p.learn([Op.Event, server, tab, publisher, 'news', 0n, 1] as Frame);
    p.learn([Op.Event, server, tab, publisher, 'news', 0n, 2] as Frame);
  }
  const sets = liveSets() - setsBefore;
  assert.ok(sets < SESSIONS, `${sets} Sets for ${SESSIONS} tabs that know one PID`);

  const send = (to: PID): Frame => [Op.Send, tab, server, 0, 0, new PID(tab as Atom, 5, 1), to, 'hi'] as Frame;
  const p = policies[0]!;
  const other = new PID(server, 1001, 1);
  p.check(send(publisher), new Set(), 'gw@localhost');
  assert.throws(() => p.check(send(other), new Set(), 'gw@localhost'), { code: 'ERR_TAB_NOT_GRANTED' });
  p.handOut(other);
  p.check(send(publisher), new Set(), 'gw@localhost');
  p.check(send(other), new Set(), 'gw@localhost');
  // Past 4,096 the oldest (the first, held apart before) is forgotten.
  for (let i = 0; i < 4095; i++) p.handOut(new PID(server, 2000 + i, 1));
  assert.throws(() => p.check(send(publisher), new Set(), 'gw@localhost'), { code: 'ERR_TAB_NOT_GRANTED' });
  p.check(send(other), new Set(), 'gw@localhost');
});
