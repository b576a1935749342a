// Remote monitor bookkeeping without string keys (issue 24 §2): a remote PID target is found by
// its id in its node's index, a remote watcher by its id, each checked against its creation;
// remote requests are tracked per generation for relationsConfirmed. Driven through a recording
// connection (test/remote_helpers.ts): many monitors in flight, two incarnations of one id, the
// node going down with requests unanswered.

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';

import { ErrNoConnection, MessageDownPID, PID, TerminateReasonKill, type Atom, type Node } from '../src/index.js';
import { exec, guardUnhandled, spawnTest } from './lifecycle_helpers.js';
import { suiteNode } from './suite_node.js';
import { coreOf, fakeNetwork, nodeDown, targetsOf } from './remote_helpers.js';
import { keyedHostsOf } from '../src/node/internals.js';
import { engine } from './remote_helpers.js';

guardUnhandled();

const X = 'x@keys' as Atom;

/** Lets queued microtasks and mailbox runs finish. */
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('remote monitor bookkeeping', () => {
  let node: Node;
  suiteNode((n) => (node = n));

  test('many monitors in flight, then the node goes down: every watcher gets exactly one down per target', async () => {
    const conn = fakeNetwork(node, X).get(X)!;
    conn.autoAccept = false;
    const K = 500;
    const watchers = await Promise.all([spawnTest(node), spawnTest(node), spawnTest(node)]);
    for (const w of watchers)
      await exec(node, w.pid, (p) => {
        for (let i = 0; i < K; i++) p.monitorPID(new PID(X, 1000 + i, 7));
      });
    assert.equal(conn.pending.length, 3 * K, 'every request went out, none answered');
    // Half of them answered, the rest still in flight when the node goes down.
    for (const r of conn.pending.splice(0, (3 * K) >> 1)) r.resolve(undefined);
    nodeDown(node, conn);
    for (const r of conn.pending.splice(0)) r.reject(ErrNoConnection);
    await turn();
    for (const w of watchers) {
      await exec(node, w.pid, () => undefined);
      const downs = w.inbox.messages().filter((m) => m instanceof MessageDownPID);
      assert.equal(downs.length, K, 'one down per monitored PID');
      assert.equal(new Set(downs.map((m) => m.pid.id)).size, K, 'no PID twice');
      assert.ok(downs.every((m) => m.reason === ErrNoConnection));
      await exec(node, w.pid, (p) => assert.deepEqual(p.info().monitorsPID, []));
    }
    assert.equal(targetsOf(node).indexedNodes, 0, 'nothing left indexed for the node');
    assert.equal(targetsOf(node).keyedHosts, 0);
  });

  test('two incarnations of one PID id on a node are two targets: each ends on its own', async () => {
    const conn = fakeNetwork(node, X).get(X)!;
    const w = await spawnTest(node);
    const old = new PID(X, 1001, 6);
    const cur = new PID(X, 1001, 7);
    await exec(node, w.pid, (p) => {
      p.monitorPID(old);
      p.monitorPID(cur);
      assert.equal(p.info().monitorsPID.length, 2, 'both recorded');
    });
    assert.equal(conn.of('monitorPID').length, 2);
    assert.equal(targetsOf(node).keyedHosts, 2);
    coreOf(node).routeTerminatePID(cur, TerminateReasonKill);
    const first = (await w.inbox.message(MessageDownPID)).message;
    assert.ok(first.pid.equals(cur));
    await exec(node, w.pid, (p) => {
      const left = p.info().monitorsPID;
      assert.equal(left.length, 1);
      assert.ok(left[0]!.equals(old), 'the other incarnation is still watched');
      // The id is free again: a monitor on the current incarnation is a new target.
      p.monitorPID(cur);
    });
    coreOf(node).routeTerminatePID(old, TerminateReasonKill);
    assert.ok((await w.inbox.message(MessageDownPID)).message.pid.equals(old));
    coreOf(node).routeTerminatePID(cur, TerminateReasonKill);
    assert.ok((await w.inbox.message(MessageDownPID)).message.pid.equals(cur));
    assert.equal(w.inbox.messages().filter((m) => m instanceof MessageDownPID).length, 3);
    assert.equal(targetsOf(node).indexedNodes, 0);
    assert.equal(keyedHostsOf(engine(node)).length, 0);
  });

  test('remote watchers of two incarnations with one id are two watchers', async () => {
    const conn = fakeNetwork(node, X).get(X)!;
    const a = await spawnTest(node);
    const core = coreOf(node);
    const old = new PID(X, 2002, 6);
    const cur = new PID(X, 2002, 7);
    core.routeMonitorPID(old, a.pid);
    core.routeMonitorPID(cur, a.pid);
    core.routeDemonitorPID(old, a.pid);
    assert.throws(() => core.routeDemonitorPID(old, a.pid), { code: 'ERR_TARGET_UNKNOWN' });
    node.kill(a.pid);
    await a.inbox.terminated();
    await turn();
    assert.equal(conn.of('sendTerminatePID').length, 1, 'the watcher left is told');
    assert.equal(targetsOf(node).indexedNodes, 0);
  });

  test('relationsConfirmed waits for the requests made so far, not for later ones', async () => {
    const conn = fakeNetwork(node, X).get(X)!;
    conn.autoAccept = false;
    const w = await spawnTest(node);
    let confirmed = false;
    const done = exec(node, w.pid, (p) => {
      p.monitorPID(new PID(X, 3001, 7));
      p.monitorPID(new PID(X, 3002, 7));
      const c = p.relationsConfirmed().then(() => (confirmed = true));
      // Made after the call: relationsConfirmed does not wait for it.
      p.monitorPID(new PID(X, 3003, 7));
      return c;
    });
    // The process runs on its node's scheduler: on a loaded machine that can take more than
    // one turn of the loop, so wait for the three requests rather than for a turn.
    for (let i = 0; i < 1000 && conn.pending.length < 3; i++) await turn();
    assert.equal(conn.pending.length, 3);
    conn.pending[0]!.resolve(undefined);
    await turn();
    assert.equal(confirmed, false, 'one of the first two is still unanswered');
    conn.pending[1]!.resolve(undefined);
    await done;
    assert.equal(confirmed, true, 'resolved with the third request still in flight');
    // And a later call waits for that third one.
    let again = false;
    const later = exec(node, w.pid, (p) => p.relationsConfirmed().then(() => (again = true)));
    await turn();
    assert.equal(again, false);
    conn.pending[2]!.resolve(undefined);
    await later;
    assert.equal(again, true);
    nodeDown(node, conn);
  });
});
