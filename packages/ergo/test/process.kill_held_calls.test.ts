// A call held by a killed process fails at once (issue 45 item 5). Killing a process whose
// handler still runs makes it a zombee: it can never answer (its handler's later return is
// ignored), so every call it holds — the one its handler is busy with, a deferred one, the ones
// queued behind it, from this node or another — fails to its caller with ERR_PROCESS_TERMINATED
// at once, not at the call's timeout or the end of the kill grace (Erlang's caller learns at once
// from its monitor). Before, a remote caller waited for its timeout (ERR_TIMEOUT with the
// defaults: 5 s call timeout, 5 s grace) and a local one until the grace ended.

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';

import { ProcessState, type PID, type Ref } from '../src/index.js';
import { deferred, guardUnhandled, rejectsCode, spawnTest, testNode, within } from './lifecycle_helpers.js';
import { nodeName, quietNode } from './helpers.js';
import { portOf, routeTo } from './net_helpers.js';

guardUnhandled();

// Long enough that a call failing "at its timeout" or "at the end of the grace" never passes.
const LONG = 600_000;

/** Hooks of a process whose handleCall for 'hang' awaits `gate` and defers 'defer'. */
function holdingHooks(gate: Promise<void>, entered: () => void, deferredRef: (r: [PID, Ref]) => void) {
  return {
    async call(_a: unknown, from: PID, ref: Ref, request: unknown) {
      if (request === 'defer') {
        deferredRef([from, ref]);
        return undefined;
      }
      entered();
      await gate;
      return 'late reply';
    },
  };
}

describe('a call held by a killed process', () => {
  test('local: the call being handled, a deferred one and a queued one fail at once; the late return is ignored', async () => {
    const node = await testNode({ killGraceMs: LONG });
    const gate = deferred<void>();
    try {
      const entered = deferred<void>();
      const held = deferred<[PID, Ref]>();
      const p = await spawnTest(node, { hooks: holdingHooks(gate.promise, entered.resolve, held.resolve) });
      const deferredCall = node.call(p.pid, 'defer', { timeout: LONG });
      await within(held.promise, 'the deferred call to be held');
      const busy = node.call(p.pid, 'hang', { timeout: LONG });
      await within(entered.promise, 'the handler to take the call');
      const queued = node.call(p.pid, 'queued', { timeout: LONG });
      node.kill(p.pid);
      assert.equal(node.processState(p.pid), ProcessState.Zombee);
      for (const [what, c] of [
        ['busy', busy],
        ['deferred', deferredCall],
        ['queued', queued],
      ] as const) {
        const err = await within(rejectsCode(c, 'ERR_PROCESS_TERMINATED'), `the ${what} call to fail`);
        assert.match(err.message, /terminated/);
      }
      // A new call to the zombee fails at once too (as before).
      await within(rejectsCode(node.call(p.pid, 'x', { timeout: LONG }), 'ERR_PROCESS_TERMINATED'), 'a new call');
      gate.resolve();
      await within(p.inbox.terminated(), 'the zombee to end when its handler returns');
    } finally {
      gate.resolve();
      await node.stop();
    }
  });

  test('remote: calls from another node fail at once with ERR_PROCESS_TERMINATED, not ERR_TIMEOUT', async (t) => {
    // b's kill grace and a's call timeouts are longer than the test may run.
    const gate = deferred<void>();
    const net = { cookie: 'kill-held', acceptors: [{ port: 0 }], registrar: null };
    const b = await quietNode({ killGraceMs: LONG, network: net }, undefined, nodeName('b'));
    const route = { match: b.name.replace(/[.$]/g, '\\$&'), route: routeTo(portOf(b)) };
    const a = await quietNode({ network: { ...net, routes: [route] } }, undefined, nodeName('a'));
    t.after(async () => {
      gate.resolve();
      await a.stop().catch(() => undefined);
      await b.stop().catch(() => undefined);
    });
    const entered = deferred<void>();
    const held = deferred<[PID, Ref]>();
    const bNode = b;
    const p = await spawnTest(bNode, { hooks: holdingHooks(gate.promise, entered.resolve, held.resolve) });
    const deferredCall = a.call(p.pid, 'defer', { timeout: LONG });
    await within(held.promise, 'the deferred remote call to be held');
    const busy = a.call(p.pid, 'hang', { timeout: LONG });
    await within(entered.promise, 'the handler to take the remote call');
    const queued = a.call(p.pid, 'queued', { timeout: LONG });
    // The queued request fails at once whether it reached b before the kill (held) or after (refused).
    bNode.kill(p.pid);
    for (const [what, c] of [
      ['busy', busy],
      ['deferred', deferredCall],
      ['queued', queued],
    ] as const) {
      await within(rejectsCode(c, 'ERR_PROCESS_TERMINATED'), `the remote ${what} call to fail`);
    }
    gate.resolve();
    await within(p.inbox.terminated(), 'the zombee to end when its handler returns');
  });
});
