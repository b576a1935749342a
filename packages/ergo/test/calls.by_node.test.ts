// Pending calls indexed by the remote node they wait on (node/calls.ts): a node down fails that
// node's calls by walking its own list, not every call pending (issue 93: each browser tab that
// ends is a node down at its gateway, which may have 100,000 tabs and many calls pending). The
// index is kept as calls come and go: a reply or a timeout takes a call out of it, a node down
// fails its calls oldest first, drops the node's entry and leaves every other call as it was; and
// a real node down (the engine's routeNodeDown) fails only the calls to that node.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { ErrNoConnection, PID, Ref, type Atom } from '../src/index.js';
import { CallRegistry, type PendingCall } from '../src/node/calls.js';
import { engineOf } from '../src/node/internals.js';
import { noUnhandled, withNode } from './helpers.js';

noUnhandled();

const A = 'a@host' as Atom;
const B = 'b@host' as Atom;

test('calls indexed by their node: a reply or a timeout takes them out, a down fails its own oldest first, the rest untouched', async () => {
  const reg = new CallRegistry();
  const me = new PID('me@host' as Atom, 1, 1);
  let seq = 0;
  const call = (node: Atom | null, timeout = 0): PendingCall => {
    reg.wallClock();
    const id = ++seq;
    return reg.create(new Ref(me.node, 1, [id, 0, 0]), me, null, null, timeout, `t${id}`, node);
  };
  const a1 = call(A);
  const b1 = call(B);
  const a2 = call(A);
  const local = call(null);
  const a3 = call(A);
  const aLate = call(A, 1);
  const b2 = call(B);
  assert.equal(reg.pendingOn(A), 4);
  assert.equal(reg.pendingOn(B), 2);
  assert.equal(reg.nodesIndexed, 2, 'a local call is in no node list');

  // A reply takes a call from the middle of its node's list.
  assert.ok(reg.settle(a2, true, 'ok'));
  assert.equal(await a2.promise, 'ok');
  assert.equal(reg.pendingOn(A), 3);
  // A timeout takes the newest (the list's head).
  await assert.rejects(aLate.promise, { code: 'ERR_TIMEOUT' });
  assert.equal(reg.pendingOn(A), 2);

  const failed: string[] = [];
  const rejected = [a1, a3].map((c) =>
    c.promise.then(
      () => assert.fail('a call of the node that went down resolved'),
      (e: unknown) => {
        assert.equal((e as { code?: string }).code, 'ERR_NO_CONNECTION');
        failed.push(String(c.target));
      },
    ),
  );
  reg.failNode(A, ErrNoConnection.with(`node ${A} is down`));
  await Promise.all(rejected);
  assert.deepEqual(failed, ['t1', 't5'], 'oldest first');
  assert.equal(reg.pendingOn(A), 0);
  assert.equal(reg.nodesIndexed, 1, "the node's entry is gone with its down");
  assert.equal(reg.size, 3, 'the other node and the local call untouched');
  reg.failNode(A, ErrNoConnection);
  assert.equal(reg.size, 3, 'a second down finds nothing');

  for (const c of [b1, local, b2]) assert.ok(reg.settle(c, true, c.target));
  assert.deepEqual(await Promise.all([b1, local, b2].map((c) => c.promise)), ['t2', 't4', 't7']);
  assert.equal(reg.size, 0);
  assert.equal(reg.pendingOn(B), 0);
  assert.equal(reg.nodesIndexed, 1, 'a node up keeps its (empty) entry until it goes down');
  reg.failNode(B, ErrNoConnection);
  assert.equal(reg.nodesIndexed, 0);
});

test("a node down makes its calls' error only when a call waits (a tab's end without calls makes none)", async () => {
  const reg = new CallRegistry();
  const me = new PID('me@host' as Atom, 1, 1);
  let made = 0;
  const err = (): Error => (made++, ErrNoConnection.with(`node ${A} is down`));
  reg.failNode(A, err);
  assert.equal(made, 0, 'no entry: no error');
  reg.wallClock();
  const c = reg.create(new Ref(me.node, 1, [1, 0, 0]), me, null, null, 0, 't1', A);
  assert.ok(reg.settle(c, true, 'ok'));
  assert.equal(await c.promise, 'ok');
  assert.equal(reg.nodesIndexed, 1, 'an entry without calls');
  reg.failNode(A, err);
  assert.equal(made, 0, 'an entry without calls: no error');
  assert.equal(reg.nodesIndexed, 0, 'the entry goes all the same');
  reg.wallClock();
  const waiting = [2, 3].map((id) => reg.create(new Ref(me.node, 1, [id, 0, 0]), me, null, null, 0, `t${id}`, A));
  reg.failNode(A, err);
  assert.equal(made, 1, 'one error for all the calls that wait');
  for (const w of waiting) await assert.rejects(w.promise, { code: 'ERR_NO_CONNECTION', message: /a@host is down/ });
});

test("the engine's node down fails the calls to that node only", () =>
  withNode(async (node) => {
    const engine = engineOf(node);
    const calls = engine.calls;
    const me = new PID(node.name, 1, node.creation);
    const make = (to: Atom): PendingCall => {
      calls.wallClock();
      return calls.create(node.makeRef(), me, null, null, 60_000, to, to);
    };
    const toA = [make(A), make(A)];
    const toB = make(B);
    const outcome = toA.map((c) =>
      c.promise.then(
        () => 'resolved',
        (e: Error) => e.message,
      ),
    );
    engine.router.core.routeNodeDown(A, ErrNoConnection);
    assert.deepEqual(await Promise.all(outcome), [
      `${ErrNoConnection.message}: node ${A} is down`,
      `${ErrNoConnection.message}: node ${A} is down`,
    ]);
    assert.equal(calls.pendingOn(A), 0);
    assert.equal(calls.pendingOn(B), 1);
    calls.settle(toB, true, 'still here');
    assert.equal(await toB.promise, 'still here');
  }));
