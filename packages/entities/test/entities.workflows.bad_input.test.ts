// Bad arguments to the workflow and dead-letter APIs (issue 78, item 8: a crash hunt), on the
// entities test kit (MemoryStore): each async call returns a Promise that rejects with a stable
// code (ERR_WORKFLOW_INCORRECT, or the dead letters' ERR_ENTITY_INCORRECT) — never a synchronous
// throw, never an uncoded TypeError, never an answer (0 items, every instance counted) to a
// question nobody could mean — and nothing is lost: the instance and the listing answer as before.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { schema } from 'ergo-ts';

import { defineWorkflow } from '../src/index.js';
import { startTestEntities } from '../src/testing/index.js';

const Wait = defineWorkflow('wf-bad-input', async (ctx) => ctx.signal('go'), { signals: { go: schema.unknown() } });

/** An object every read of which throws (its traps do). */
const hostile = new Proxy(
  {},
  {
    get: () => {
      throw new Error('trap: get');
    },
    has: () => {
      throw new Error('trap: has');
    },
    ownKeys: () => {
      throw new Error('trap: ownKeys');
    },
    getOwnPropertyDescriptor: () => {
      throw new Error('trap: getOwnPropertyDescriptor');
    },
  },
);

/** `call()` returns a Promise (no synchronous throw) that rejects with `code`. */
async function refused(what: string, call: () => Promise<unknown>, code: string): Promise<void> {
  let p: Promise<unknown> | undefined;
  assert.doesNotThrow(() => {
    p = call();
  }, `${what}: no synchronous throw`);
  assert.ok(p instanceof Promise, `${what}: a Promise`);
  await assert.rejects(p, (err: { code?: string; message?: string }) => {
    assert.equal(err.code, code, `${what}: ${err.message}`);
    return true;
  });
}

test('workflows.list and count reject a hostile Proxy, a function kind, a 100 KB kind name and null with ERR_WORKFLOW_INCORRECT', async () => {
  await using kit = await startTestEntities({ kinds: [Wait] });
  const wf = kit.entities.workflows;
  await wf.start(Wait, 'w1', undefined);
  const I = 'ERR_WORKFLOW_INCORRECT';
  await refused('list(Proxy)', () => wf.list(hostile), I);
  await refused('count(Proxy)', () => wf.count(hostile), I);
  await refused('list({ kind: Proxy })', () => wf.list({ kind: hostile as never }), I);
  await refused('list({ attributes: Proxy })', () => wf.list({ kind: 'wf-bad-input', attributes: hostile }), I);
  await refused('list(kind, Proxy options)', () => wf.list('wf-bad-input', hostile), I);
  await refused('list({ kind: () => 1 })', () => wf.list({ kind: (() => 1) as never }), I);
  await refused('count({ kind: () => 1 })', () => wf.count({ kind: (() => 1) as never }), I);
  const huge = 'k'.repeat(100_000);
  await refused('list({ kind: 100 KB })', () => wf.list({ kind: huge }), I);
  await refused('count({ kind: 100 KB })', () => wf.count({ kind: huge }), I);
  await refused('list(100 KB)', () => wf.list(huge), I);
  await refused('count(null)', () => wf.count(null as never), I);
  await refused('list(null)', () => wf.list(null as never), I);
  // Nothing lost: the listing and the counts answer as before.
  assert.deepEqual(
    (await wf.list({ kind: Wait })).items.map((i) => i.id),
    ['w1'],
  );
  assert.equal((await wf.count({ kind: 'wf-bad-input' })).running, 1);
  assert.equal((await wf.count()).total, 1);
});

test('a handle’s requests with null or hostile options reject with ERR_WORKFLOW_INCORRECT and send nothing', async () => {
  await using kit = await startTestEntities({ kinds: [Wait] });
  const wf = kit.entities.workflows;
  const h = await wf.start(Wait, 'w2', undefined);
  const I = 'ERR_WORKFLOW_INCORRECT';
  await refused('reset(null)', () => h.reset(null as never), I);
  await refused('reset(Proxy)', () => h.reset(hostile as never), I);
  await refused('describe(null)', () => h.describe(null as never), I);
  await refused('resume(null)', () => h.resume(null as never), I);
  await refused('cancel(reason, null)', () => h.cancel('no', null as never), I);
  await refused('signal(name, payload, null)', () => h.signal('go', 1, null as never), I);
  await refused('signal(name, payload, Proxy)', () => h.signal('go', 1, hostile), I);
  await refused('query(name, arg, null)', () => h.query('q' as never, undefined, null as never), I);
  await refused('update(name, input, null)', () => h.update('u' as never, undefined as never, null as never), I);
  await refused('monitor(null)', () => h.monitor(null as never), I);
  await refused('result(null)', () => h.result(null as never), I);
  await refused('start(kind, id, input, null)', () => wf.start(Wait, 'w3', undefined, null as never), I);
  // Nothing lost, nothing sent: the instance waits as it did, and takes its signal.
  const d = await h.describe();
  assert.deepEqual([d.status, d.cancel, d.signals], ['running', undefined, []]);
  assert.equal(await h.signal('go', 'now'), 'accepted');
  assert.equal(await kit.workflows.handle(Wait, 'w2').advanceUntilDone(), 'now');
  await assert.rejects(wf.handle(Wait, 'w3').describe(), { code: 'ERR_WORKFLOW_NOT_FOUND' });
});

test('deadLetters.list(null), retry(null, id) and drop(null, id) reject with ERR_ENTITY_INCORRECT', async () => {
  await using kit = await startTestEntities({ kinds: [Wait] });
  const dl = kit.entities.deadLetters;
  const E = 'ERR_ENTITY_INCORRECT';
  await refused('deadLetters.list(null)', () => dl.list(null as never), E);
  await refused('deadLetters.list(Proxy)', () => dl.list(hostile), E);
  await refused('deadLetters.drop(null, id)', () => dl.drop(null as never, 'm1'), E);
  await refused('deadLetters.retry(null, id)', () => dl.retry(null as never, 'm1'), E);
  await refused('deadLetters.drop(Proxy, id)', () => dl.drop(hostile as never, 'm1'), E);
  assert.deepEqual(await dl.list(), [], 'it still answers');
});
