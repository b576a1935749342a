// Regression tests for the routing defects of issue 8 §3: a killed process still running its
// handler (zombee) refused sends and calls only once it ended; a non-AbortSignal `signal` was
// used after the request had been delivered; a call timeout said only "call" (a forgotten
// `return` in handleCall reads as a mystery 5 s wait); call deadlines followed the wall clock.

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';

import { ProcessState, type Node } from '../src/index.js';
import { turn } from './helpers.js';
import { deferred, exec, guardUnhandled, Hold, rejectsCode, spawnTest, throwsCode } from './lifecycle_helpers.js';
import { suiteNode } from './suite_node.js';

guardUnhandled();

describe('routing defects', () => {
  let node: Node;
  suiteNode((n) => (node = n));

  test('a zombee refuses sends (ERR_PROCESS_TERMINATED) and calls fail at once', async () => {
    const gate = deferred<void>();
    const entered = deferred<void>();
    const t = await spawnTest(node);
    node.send(t.pid, new Hold(gate.promise, entered));
    await entered.promise;
    node.kill(t.pid);
    assert.equal(node.processState(t.pid), ProcessState.Zombee);
    throwsCode(() => node.send(t.pid, 'late'), 'ERR_PROCESS_TERMINATED');
    const other = await spawnTest(node);
    await exec(node, other.pid, (p) => throwsCode(() => p.send(t.pid, 'late'), 'ERR_PROCESS_TERMINATED'));
    let failure: unknown;
    node.call(t.pid, 'q', { timeout: 60_000 }).catch((e: unknown) => (failure = e));
    await turn();
    assert.equal(
      (failure as { code?: string } | undefined)?.code,
      'ERR_PROCESS_TERMINATED',
      'the call failed while the handler still runs',
    );
    // An exit changes nothing for a process that ends as killed: no error for whoever stops it.
    node.sendExit(t.pid, new Error('stop'));
    gate.resolve();
    await t.inbox.terminated();
    assert.deepEqual(
      t.inbox.messages().filter((m) => m === 'late'),
      [],
    );
  });

  test('a call with a signal that is not an AbortSignal: ERR_INCORRECT, nothing delivered', async () => {
    const seen: unknown[] = [];
    const t = await spawnTest(node, { hooks: { call: (_a, _f, _r, req) => (seen.push(req), 'ok') } });
    for (const signal of ['nope', {}, 42, { aborted: false, addEventListener() {} }]) {
      await rejectsCode(node.call(t.pid, 'q', { signal: signal as unknown as AbortSignal }), 'ERR_INCORRECT');
      await rejectsCode(
        exec(node, (await spawnTest(node)).pid, (p) =>
          p.call(t.pid, 'q', { signal: signal as unknown as AbortSignal }),
        ),
        'ERR_INCORRECT',
      );
    }
    assert.equal(await node.call(t.pid, 'real'), 'ok');
    assert.deepEqual(seen, ['real']);
  });

  test('the timeout error names the target and the timeout (handleCall returning undefined replies later)', async () => {
    const t = await spawnTest(node, { hooks: { call: () => undefined } });
    const e = await rejectsCode(node.call(t.pid, 'q', { timeout: 30 }), 'ERR_TIMEOUT');
    assert.match(e.message, new RegExp(t.pid.toString().replace(/[.<>]/g, '\\$&')));
    assert.match(e.message, /30 ms/);
    assert.match(e.message, /undefined/);
  });

  test('call deadlines follow the monotonic clock: a wall-clock jump does not time a call out', async () => {
    const t = await spawnTest(node, { hooks: { call: () => undefined } });
    const slow = node.call(t.pid, 'slow', { timeout: 60_000 });
    let settled = false;
    const done = slow.then(
      () => (settled = true),
      (e: unknown) => ((settled = true), e),
    );
    const realNow = Date.now;
    Date.now = () => realNow() + 3_600_000;
    try {
      // The wall clock is an hour ahead; a short call times out and makes the registry look at
      // every deadline. The slow call has 60 s of monotonic time left.
      await rejectsCode(node.call(t.pid, 'fast', { timeout: 20 }), 'ERR_TIMEOUT');
      await turn();
      assert.equal(settled, false, 'the 60 s call is still pending');
    } finally {
      Date.now = realNow;
    }
    node.kill(t.pid);
    const e = (await done) as { code?: string };
    assert.equal(e.code, 'ERR_PROCESS_TERMINATED');
  });
});
