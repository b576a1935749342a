// The kill grace (issue 8 §3): a killed process whose handler is still running (a zombee) is
// terminated at the latest `killGraceMs` after the kill, and its late continuation is detached:
// what its handler returns is ignored and everything it attempts fails, so nothing it does
// reaches anyone. Before, a zombee whose handler never settled stayed forever and held a graceful
// stop until shutdownTimeout.

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';

import { ProcessState, TerminateReasonKill, TerminateReasonShutdown, unwrapReason, type PID } from '../src/index.js';
import { DEFAULT_KILL_GRACE } from '../src/node/internals.js';
import {
  deferred,
  guardUnhandled,
  Hold,
  rejectsCode,
  spawnTest,
  TestActor,
  testNode,
  throwsCode,
  within,
} from './lifecycle_helpers.js';

guardUnhandled();

describe('kill grace', () => {
  test('a zombee whose handler never settles is terminated after the grace and no longer holds a graceful stop (regression)', async () => {
    // Without the grace this stop waits for the full shutdownTimeout (two minutes).
    const node = await testNode({ killGraceMs: 50, shutdownTimeout: 120_000 });
    const stuck = await spawnTest(node);
    const entered = deferred<void>();
    node.send(stuck.pid, new Hold(new Promise(() => undefined), entered));
    await entered.promise;
    node.kill(stuck.pid);
    assert.equal(node.processState(stuck.pid), ProcessState.Zombee);
    assert.equal(
      await within(stuck.inbox.terminated(), 'the zombee to be terminated after its grace', 5000),
      TerminateReasonKill,
    );
    throwsCode(() => node.processInfo(stuck.pid), 'ERR_PROCESS_UNKNOWN');
    const other = await spawnTest(node);
    await within(node.stop(), 'the graceful stop', 5000);
    assert.equal(unwrapReason(await other.inbox.terminated()), TerminateReasonShutdown);
    assert.equal(stuck.inbox.ofKind('terminate').length, 1, 'terminate ran once');
  });

  test('the late continuation of a detached process is ignored and reaches no one', async () => {
    const node = await testNode({ killGraceMs: 20 });
    try {
      const witness = await spawnTest(node, { name: 'witness' });
      const gate = deferred<void>();
      const entered = deferred<void>();
      const outcomes = deferred<Record<string, string>>();
      const code = (e: unknown): string => String((e as { code?: string }).code);
      const zombee = await spawnTest(node, {
        hooks: {
          async message(a, _f, m) {
            if (m !== 'hang') return undefined;
            const handle = a.node;
            entered.resolve();
            await gate.promise; // resumes after the grace: detached by then
            const out: Record<string, string> = {};
            const attempt = async (k: string, fn: () => unknown): Promise<void> => {
              try {
                await fn();
                out[k] = 'ok';
              } catch (e) {
                out[k] = code(e);
              }
            };
            await attempt('send', () => a.send(witness.pid, 'from the dead'));
            await attempt('send by name', () => a.send('witness', 'from the dead'));
            await attempt('call', () => a.call(witness.pid, 'ping'));
            await attempt('spawn', () => a.spawn(TestActor));
            await attempt('link', () => a.link(witness.pid));
            await attempt('node.send', () => handle.send(witness.pid, 'from the dead'));
            await attempt('node.spawn', () => handle.spawn(TestActor));
            await attempt('node.stop', () => handle.stop());
            outcomes.resolve(out);
            return new Error('a reason nobody sees');
          },
        },
      });
      const before = node.processList().length;
      node.send(zombee.pid, 'hang');
      // Kill only once the handler runs (after one event-loop turn a loaded scheduler may still
      // hold 'hang': the kill would end an idle process and the continuation would never come).
      await within(entered.promise, 'the handler to take hang');
      node.kill(zombee.pid);
      assert.equal(await within(zombee.inbox.terminated(), 'the zombee to end after its grace'), TerminateReasonKill);
      gate.resolve();
      const out = await within(outcomes.promise, 'the late continuation');
      for (const [k, v] of Object.entries(out)) {
        // call checks its state mask itself (ErrNotAllowed); everything else names the detachment.
        if (k === 'call')
          assert.ok(v === 'ERR_NOT_ALLOWED' || v === 'ERR_PROCESS_TERMINATED', `call from a detached process: ${v}`);
        else assert.equal(v, 'ERR_PROCESS_TERMINATED', `${k} from a detached process`);
      }
      // Its returned reason is ignored: no second terminate, and the witness saw nothing.
      for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
      assert.equal(zombee.inbox.ofKind('terminate').length, 1);
      assert.deepEqual(witness.inbox.messages(), []);
      assert.equal(node.processList().length, before - 1, 'nothing was spawned for it');
      assert.equal(node.isAlive(), true, 'its stop() attempt did nothing');
    } finally {
      await node.stop();
    }
  });

  test('a zombee whose handler settles within the grace ends as before; the grace timer is dropped', async () => {
    const node = await testNode({ killGraceMs: 60_000 });
    try {
      const release = deferred<void>();
      const entered = deferred<void>();
      const p = await spawnTest(node);
      node.send(p.pid, new Hold(release.promise, entered));
      await entered.promise;
      node.kill(p.pid);
      release.resolve();
      assert.equal(await within(p.inbox.terminated(), 'the zombee to end'), TerminateReasonKill);
    } finally {
      // A grace timer left armed would keep nothing alive (unref'd), but must not fire either:
      // the stop below would see a second terminate of the same process as a framework bug.
      await node.stop();
    }
  });

  test('killGraceMs 0: a running process is terminated and detached at the kill', async () => {
    const node = await testNode({ killGraceMs: 0 });
    try {
      const entered = deferred<void>();
      const p = await spawnTest(node);
      node.send(p.pid, new Hold(new Promise(() => undefined), entered));
      await entered.promise;
      node.kill(p.pid);
      throwsCode(() => node.processState(p.pid), 'ERR_PROCESS_UNKNOWN');
      assert.equal(await p.inbox.terminated(), TerminateReasonKill);
    } finally {
      await node.stop();
    }
  });

  test('the option: default 5 s; an integer from 0 to 2^31-1, else startNode fails with ErrIncorrect', async () => {
    assert.equal(DEFAULT_KILL_GRACE, 5000);
    for (const bad of [-1, 1.5, Number.NaN, Infinity, 2 ** 31, '100' as unknown as number]) {
      await rejectsCode(testNode({ killGraceMs: bad }), 'ERR_INCORRECT');
    }
  });

  test('kill of a value that is not a PID is ErrIncorrect, not a TypeError', async () => {
    const node = await testNode();
    try {
      throwsCode(() => node.kill(undefined as unknown as PID), 'ERR_INCORRECT');
    } finally {
      await node.stop();
    }
  });
});
