// Recovering from a bad deploy (issue 71, item 6). Code changed without a patch halts the instances
// it breaks (ERR_WORKFLOW_DIVERGED, `blocked`); the patched code then runs them on. What failed:
//   - resume() of an instance whose body already ran again on the patched code (a new activation
//     starts it) ended that body and started another; the ended body's signal wait stayed and
//     took the next signal, so the new body never went on, and a second resume() said 'running';
//   - a query of a halted instance replayed it into the divergence and ran the body's catch, so
//     the query answered what the catch set;
//   - an instance that went on after the halt kept `blocked` once completed;
//   - resume() of a failed instance whose compensations had run re-ran its failed step under the
//     journaled compensations ('resumed', and nothing changed);
//   - an instance started during the bad deploy had no way back: reset({ toSeq }) now runs it
//     again from an earlier operation on the current code (the signals it consumed come back, the
//     effects it runs again get new idempotency keys).
// On the test kit (a store and clock kept across "deploys": a runtime stopped and started on other
// code), and on a cluster of runtimes with rolling restarts (wf_cluster.ts).

import { strict as assert } from 'node:assert';
import { after, test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';
import { schema } from 'ergo-ts';
import { TestClock } from 'ergo-ts/testing';

import { MemoryStore, defineWorkflow, terminalError, type EntityKind } from '../src/index.js';
import { startTestEntities } from '../src/testing/index.js';
import { Cluster } from './wf_cluster.js';

const DAY = 86_400_000;
/** Each step function's run: the instance, the step, its idempotency key. */
const ran: { id: string; step: string; key: string }[] = [];
/** Their keys, without the operation's kind and name after the position (`…/2~r1/step:notify` → `…/2~r1`). */
const keysOf = (id: string, step: string): string[] =>
  ran.filter((r) => r.id === id && r.step === step).map((r) => r.key.replace(/\/step:[^/]*$/, ''));

/**
 * `wfdeploy` as deployed: v1 pays then waits for `go` (a day at most) and ships; `broken` adds a
 * step `notify` after `pay` without a patch (a v1 journal has the wait there: its replay
 * diverges); `patched` adds it behind `ctx.patched('notify')`. The query `stage` reads a variable
 * the body's catch sets too.
 */
function version(v: 'v1' | 'broken' | 'patched') {
  return defineWorkflow(
    'wfdeploy',
    async (ctx) => {
      let stage = 'paying';
      ctx.onQuery('stage', () => stage);
      const step = (name: string): Promise<string> =>
        ctx.step(name, (info) => {
          ran.push({ id: ctx.id, step: name, key: info.idempotencyKey });
          return name;
        });
      try {
        await step('pay');
        const notify = v === 'broken' || (v === 'patched' && ctx.patched('notify'));
        if (notify) await step('notify');
        stage = 'waiting';
        const go = await ctx.signal('go', { timeoutMs: DAY });
        stage = 'shipping';
        await step('ship');
        return `${notify ? 'v2' : 'v1'} path ${go.n}`;
      } catch (err) {
        stage = `failed: ${String((err as { code?: unknown }).code)}`;
        throw err;
      }
    },
    { signals: { go: schema.object({ n: schema.number() }) }, queries: { stage: schema.string() } },
  );
}
const [V1, Broken, Patched] = [version('v1'), version('broken'), version('patched')];

/** Deploys on one store and test clock: each `kit(kinds)` is the next deploy (the previous one stopped). */
function deploys() {
  const clock = new TestClock();
  const store = new MemoryStore({ clock });
  let current: Awaited<ReturnType<typeof startTestEntities>> | undefined;
  return {
    async deploy(kinds: EntityKind<any, any>[]) {
      await current?.stop();
      current = await startTestEntities({ kinds, store, clock, leaseTtlMs: 3_600_000 });
      return current;
    },
    [Symbol.asyncDispose]: async () => {
      await current?.stop();
      await store.close();
    },
  };
}

test('after a bad deploy: halted instances refuse queries, then on the patched code resume() lets them go on and `blocked` goes; one started under the bad code is reset', async () => {
  await using d = deploys();
  let k = await d.deploy([V1]);
  for (const id of ['r1', 'r2']) await k.workflows.start(V1, id, undefined);
  await k.workflows.runUntilIdle();

  // The bad deploy: both halt at operation 1; r3 starts on it.
  k = await d.deploy([Broken]);
  for (const id of ['r1', 'r2']) {
    const h = k.workflows.handle(Broken, id);
    await h.describe(); // activates it: its replay diverges
    await k.workflows.runUntilIdle();
    assert.equal((await h.describe()).blocked?.code, 'ERR_WORKFLOW_DIVERGED', id);
  }
  await assert.rejects(k.workflows.handle(Broken, 'r1').query('stage'), { code: 'ERR_WORKFLOW_DIVERGED' });
  await k.workflows.start(Broken, 'r3', undefined);
  await k.workflows.runUntilIdle();

  // The patched deploy.
  k = await d.deploy([Patched]);
  const r1 = k.workflows.handle(Patched, 'r1');
  // 'running' once its body on the patched code (started by this activation) replayed past the
  // halt and dropped `blocked`; 'resumed' before. Either way that body goes on.
  assert.ok(['resumed', 'running'].includes(await r1.resume()));
  assert.equal(await r1.resume(), 'running');
  assert.equal(await r1.query('stage'), 'waiting');
  await r1.signal('go', { n: 1 });
  assert.equal(await r1.advanceUntilDone(), 'v1 path 1');
  // r2 goes on without a resume (its new activation runs the patched code): no stale `blocked`.
  const r2 = k.workflows.handle(Patched, 'r2');
  await r2.signal('go', { n: 2 });
  assert.equal(await r2.advanceUntilDone(), 'v1 path 2');
  for (const h of [r1, r2]) {
    const done = await h.describe();
    assert.equal(done.status, 'completed');
    assert.equal(done.blocked, undefined, `${h.id} keeps no stale blocked`);
  }

  // r3's journal has the unpatched `notify` at 1: the patched code diverges there too.
  const r3 = k.workflows.handle(Patched, 'r3');
  await r3.describe();
  await k.workflows.runUntilIdle();
  assert.equal((await r3.describe()).blocked?.code, 'ERR_WORKFLOW_DIVERGED');
  await assert.rejects(r3.reset({ toSeq: 4 }), { code: 'ERR_WORKFLOW_INCORRECT' });
  assert.equal(await r3.reset({ toSeq: 1, reason: 'started under the unpatched deploy' }), 'reset');
  await r3.signal('go', { n: 3 });
  assert.equal(await r3.advanceUntilDone(), 'v2 path 3');
  const after3 = await r3.describe();
  assert.equal(after3.blocked, undefined);
  assert.deepEqual(
    after3.resets?.map((r) => [r.toSeq, r.reason]),
    [[1, 'started under the unpatched deploy']],
  );
  assert.deepEqual(
    after3.history.map((e) => `${e.s} ${e.t} ${e.n}`),
    ['0 step pay', '1 patch notify', '2 step notify', '3 signal go', '4 step ship'],
  );
  // `pay` (before the cut) ran once; `notify` ran again after the reset, under a key of its own.
  assert.deepEqual(keysOf('r3', 'pay'), ['wfdeploy/r3/0']);
  assert.deepEqual(keysOf('r3', 'notify'), ['wfdeploy/r3/1', 'wfdeploy/r3/2~r1']);
});

const declined = { value: true };
/** Reserves (compensated by a release), waits for `go`, charges; a declined charge compensates and fails. */
const Order = defineWorkflow(
  'wfresetsaga',
  async (ctx) => {
    await ctx.step(
      'reserve',
      (info) => {
        ran.push({ id: ctx.id, step: 'reserve', key: info.idempotencyKey });
        return 'r';
      },
      { compensate: (_r, info) => void ran.push({ id: ctx.id, step: 'release', key: info.idempotencyKey }) },
    );
    const go = await ctx.signal('go');
    try {
      await ctx.step('charge', () => {
        if (declined.value) throw terminalError(new Error('card declined'));
        return 'c';
      });
    } catch (err) {
      await ctx.runCompensations();
      throw err;
    }
    return `charged ${go.n}`;
  },
  { signals: { go: schema.object({ n: schema.number() }) } },
);

test('a failed instance whose compensations ran is not resumed; a reset to 0 runs it again, its consumed signal kept', async () => {
  await using d = deploys();
  const k = await d.deploy([Order]);
  const h = await k.workflows.start(Order, 's1', undefined);
  await h.signal('go', { n: 7 });
  await assert.rejects(h.advanceUntilDone(), { code: 'ERR_WORKFLOW_FAILED' });
  assert.deepEqual(keysOf('s1', 'release'), ['wfresetsaga/s1/3']);
  await assert.rejects(h.resume(), (err: Error) => {
    assert.equal((err as { code?: string }).code, 'ERR_WORKFLOW_CLOSED');
    assert.match(err.message, /failed at operation 2 and went on .*reset/);
    return true;
  });
  assert.equal((await h.describe()).status, 'failed', 'the refused resume changed nothing');

  declined.value = false;
  assert.equal(await h.reset({ toSeq: 0 }), 'reset');
  // No new signal: the one it had consumed is consumed again.
  assert.equal(await h.advanceUntilDone(), 'charged 7');
  assert.deepEqual(keysOf('s1', 'reserve'), ['wfresetsaga/s1/0', 'wfresetsaga/s1/0~r1']);
  assert.deepEqual(keysOf('s1', 'release'), ['wfresetsaga/s1/3'], 'compensated once, before the reset');
  const done = await h.describe();
  assert.equal(done.status, 'completed');
  assert.equal(done.error, undefined);
});

test('the deploy recovery on a cluster of runtimes, rolling restarts: unpatched (halts), patched, resume()', async () => {
  const cluster = await Cluster.make('dr', ['a', 'b']);
  after(() => cluster.stop());
  const [A, B] = cluster.names as [string, string];
  let a = await cluster.start(A, [V1]);
  let b = await cluster.start(B, [V1]);
  const client = await cluster.start(`drclient${process.pid}@localhost`, [V1], 'client');
  await cluster.see([a, b, client], [A, B]);
  const wf = client.entities.workflows;
  const ids = [cluster.keyOwnedBy(A, cluster.names, 'c'), cluster.keyOwnedBy(B, cluster.names, 'c')];
  for (const id of ids) await wf.start(V1, id, undefined);
  const waiting = (id: string) => async () => (await wf.handle(V1, id).describe()).timers.some((t) => t.n === 'go');
  for (const id of ids) await eventually(waiting(id), `${id} waits for go`, { timeoutMs: 30_000 });

  /** Stops `m` (it drains) and starts its node again on `kinds`: one step of a rolling restart. */
  const restart = async (m: typeof a, kinds: EntityKind<any, any>[]) => {
    await m.stop();
    const next = await cluster.start(m.name, kinds);
    await cluster.see([next, client], [A, B]);
    return next;
  };
  a = await restart(a, [Broken]);
  b = await restart(b, [Broken]);
  for (const id of ids)
    await eventually(
      async () => (await wf.handle(V1, id).describe()).blocked?.code === 'ERR_WORKFLOW_DIVERGED',
      `${id} halted on the unpatched code`,
      { timeoutMs: 30_000 },
    );
  a = await restart(a, [Patched]);
  b = await restart(b, [Patched]);
  for (const [i, id] of ids.entries()) {
    const h = wf.handle(Patched, id);
    // 'running' when its body on the patched code had replayed past the halt already (`blocked` gone).
    assert.ok(['resumed', 'running'].includes(await h.resume()));
    assert.equal(await h.resume(), 'running');
    assert.equal(await h.signal('go', { n: i }), 'accepted');
    assert.equal(await h.result(), `v1 path ${i}`);
    assert.equal((await h.describe()).blocked, undefined);
  }
});
