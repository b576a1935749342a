// Bad input to the workflow API refused with a stable code (issue 92, "Bad input, coded"), on the
// entities test kit: a null update of update-with-start, a sweep of something that is not a runtime
// or with options nobody could mean, select branches and compensation options whose reading throws
// (refused as ERR_WORKFLOW_INCORRECT, not with the trap's own error, even a coded one), queue names
// a step could never use, a schedule with no time left to run, a schedule listing's filter that is
// not a kind, and a signal id longer than an update id may be. Nothing is written for a refusal.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { schema } from 'ergo-ts';

import {
  defineWorkflow,
  MAX_SIGNAL_ID_LENGTH,
  sweepRetention,
  WorkflowSchedules,
  type SelectBranches,
  type WorkflowContext,
} from '../src/index.js';
import { startTestEntities } from '../src/testing/index.js';

const I = 'ERR_WORKFLOW_INCORRECT';

/** An error with a code of its own: a trap throwing it must not pass for one of ours. */
function trapError(what: string): Error {
  return Object.assign(new Error(`trap: ${what}`), { code: 'ERR_TRAP' });
}

/** An object every read of which throws a coded error (its traps do). */
const hostile = new Proxy(
  {},
  {
    get: () => {
      throw trapError('get');
    },
    has: () => {
      throw trapError('has');
    },
    ownKeys: () => {
      throw trapError('ownKeys');
    },
    getOwnPropertyDescriptor: () => {
      throw trapError('getOwnPropertyDescriptor');
    },
  },
);

/** An object with one field `name` whose getter throws. */
function throwingGetter(name: string): object {
  return Object.defineProperty({}, name, {
    enumerable: true,
    get: () => {
      throw trapError(`getter ${name}`);
    },
  });
}

/** What the body's call threw: its code and message, or 'accepted'. */
type Caught = { readonly code: unknown; readonly message: string } | 'accepted';

/** Each case hands the API a value whose reading throws and answers what the body caught. */
const CASES: Readonly<Record<string, (ctx: WorkflowContext) => Promise<unknown>>> = {
  'select(Proxy)': (ctx) => ctx.select(hostile as SelectBranches),
  'select({ a: Proxy })': (ctx) => ctx.select({ a: hostile } as never),
  'select({ a: { get signal() { throw } } })': (ctx) => ctx.select({ a: throwingGetter('signal') } as never),
  'compensate(…, Proxy)': async (ctx) => ctx.compensate('undo', () => undefined, hostile as never),
  'compensate(…, { get retry() { throw } })': async (ctx) =>
    ctx.compensate('undo', () => undefined, throwingGetter('retry') as never),
  'step compensate: Proxy': (ctx) => ctx.step('s', () => 1, { compensate: hostile as never }),
  'step compensate: { run, get timeoutMs() { throw } }': (ctx) =>
    ctx.step('s', () => 1, {
      compensate: Object.assign(throwingGetter('timeoutMs'), { run: () => undefined }) as never,
    }),
};

const Probe = defineWorkflow(
  'wf-bad-input-92',
  { signals: { go: schema.unknown() } },
  async (ctx, which: string): Promise<Caught> => {
    try {
      await CASES[which]!(ctx as unknown as WorkflowContext);
      return 'accepted';
    } catch (err) {
      return { code: (err as { code?: unknown }).code, message: String((err as Error).message) };
    }
  },
);

const Waits = defineWorkflow('wf-bad-input-92-waits', { signals: { go: schema.unknown() } }, async (ctx) =>
  ctx.signal('go'),
);

/** `call()` returns a Promise (no synchronous throw) that rejects with `code`. */
async function refused(what: string, call: () => Promise<unknown>, code = I): Promise<void> {
  let p: Promise<unknown> | undefined;
  assert.doesNotThrow(() => {
    p = call();
  }, `${what}: no synchronous throw`);
  await assert.rejects(p!, (err: { code?: string; message?: string }) => {
    assert.equal(err.code, code, `${what}: ${err.message}`);
    return true;
  });
}

test('select branches and compensation options whose reading throws are refused with ERR_WORKFLOW_INCORRECT, not the trap’s error', async () => {
  await using kit = await startTestEntities({ kinds: [Probe] });
  const wf = kit.entities.workflows;
  for (const which of Object.keys(CASES)) {
    const out = await (await wf.start(Probe, which, which)).result();
    assert.notEqual(out, 'accepted', which);
    const caught = out as Exclude<Caught, 'accepted'>;
    assert.equal(caught.code, I, `${which}: ${caught.message}`);
    assert.match(caught.message, /could not be read: .*trap/, which);
  }
});

test('updateWithStart with a null or unreadable update is refused before anything is written', async () => {
  await using kit = await startTestEntities({ kinds: [Waits] });
  const wf = kit.entities.workflows;
  await refused('updateWithStart(…, null)', () => wf.updateWithStart(Waits, 'u1', undefined, null as never));
  await refused('updateWithStart(…, Proxy)', () => wf.updateWithStart(Waits, 'u1', undefined, hostile as never));
  await refused('updateWithStart(…, { name: 7 })', () =>
    wf.updateWithStart(Waits, 'u1', undefined, { name: 7, input: 1 } as never),
  );
  await refused('describe u1', () => wf.handle(Waits, 'u1').describe(), 'ERR_WORKFLOW_NOT_FOUND');
});

test('sweepRetention refuses what is not a runtime and options the runtime option would refuse', async () => {
  await using kit = await startTestEntities({ kinds: [Waits] });
  await refused('sweepRetention({})', () => sweepRetention({}));
  await refused('sweepRetention(null)', () => sweepRetention(null));
  await refused('sweepRetention(Proxy)', () => sweepRetention(hostile));
  for (const [what, options] of [
    ['an unknown field', { batchsize: 10 }],
    ['a string', { batchSize: '10' }],
    ['below its least', { maxBatches: 0 }],
    ['a fraction', { everyMs: 1.5 }],
    ['not an object', 'fast'],
    ['a Proxy', hostile],
  ] as const)
    await refused(`sweepRetention(entities, ${what})`, () => sweepRetention(kit.entities, options as never));
  await refused('sweepRetention(entities, {}, "now")', () => sweepRetention(kit.entities, {}, 'now' as never));
  // Good options sweep as before (no kind here keeps a retention: nothing to delete).
  assert.deepEqual(await sweepRetention(kit.entities, { batchSize: 10 }), { deleted: {}, more: false });
});

test('workflowQueues refuses an empty or 100 KB queue name, and queues that are not an object of limits', async () => {
  for (const [what, workflowQueues] of [
    ['an empty name', { queues: { '': { concurrency: 1 } } }],
    ['a 100 KB name', { queues: { ['q'.repeat(100_000)]: { concurrency: 1 } } }],
    ['a 100 KB served name', { serve: ['q'.repeat(100_000)] }],
    ['queues: an array', { queues: [{ concurrency: 1 }] }],
    ['queues: a Proxy', { queues: hostile }],
  ] as const)
    await assert.rejects(startTestEntities({ kinds: [Waits], workflowQueues: workflowQueues as never }), (err) => {
      assert.equal((err as { code?: unknown }).code, I, what);
      return true;
    });
  // The longest name a step may use is a name a member may limit.
  await using kit = await startTestEntities({
    kinds: [Waits],
    workflowQueues: { queues: { ['q'.repeat(200)]: { concurrency: 1 } } },
  });
  assert.equal(kit.entities.workflows.kinds().includes('wf-bad-input-92-waits'), true);
});

test('a signal id longer than MAX_SIGNAL_ID_LENGTH is refused by the client and by the instance', async () => {
  await using kit = await startTestEntities({ kinds: [Waits] });
  const wf = kit.entities.workflows;
  const h = await wf.start(Waits, 's1', undefined);
  const huge = 's'.repeat(100_000);
  await refused('signal id 100 KB', () => h.signal('go', 1, { id: huge }));
  await refused('signal id empty', () => h.signal('go', 1, { id: '' }));
  await refused('signal-with-start id 100 KB', () =>
    wf.start(Waits, 's2', undefined, { signal: { name: 'go', payload: 1, id: huge } }),
  );
  // A sender that is not this client: the instance refuses it too, and keeps nothing.
  await refused('a raw signal request', () =>
    kit.entities.call({ kind: Waits.name, key: 's1' } as never, { '~wf': 'signal', name: 'go', payload: 1, id: huge }),
  );
  await refused('describe s2', () => wf.handle(Waits, 's2').describe(), 'ERR_WORKFLOW_NOT_FOUND');
  // The longest id is kept, once.
  const longest = 'i'.repeat(MAX_SIGNAL_ID_LENGTH);
  assert.equal(await h.signal('go', 'ok', { id: longest }), 'accepted');
  assert.equal(await h.signal('go', 'ok', { id: longest }), 'duplicate');
  assert.equal(await h.result(), 'ok');
});

test('a schedule with no time left to run is refused; schedules.list refuses a workflow filter that is not a kind', async () => {
  await using kit = await startTestEntities({ kinds: [Waits, WorkflowSchedules] });
  const s = kit.entities.workflows.schedules;
  const now = kit.clock.now();
  await refused('create with endAt past', () =>
    s.create(Waits, 'ended', { spec: { everyMs: 60_000, endAt: now - 1000 }, input: undefined }),
  );
  await refused('describe ended', () => s.describe('ended'), 'ERR_SCHEDULE_NOT_FOUND');
  await s.create(Waits, 'live', { spec: { everyMs: 60_000 }, input: undefined, paused: true });
  await refused('update with endAt past', () => s.update('live', { spec: { everyMs: 60_000, endAt: now - 1000 } }));
  assert.equal((await s.describe('live')).spec.endAt, undefined);
  for (const workflow of [{}, { name: 7 }, hostile, ''])
    await refused(`list({ workflow: ${String(typeof workflow)} })`, () => s.list({ workflow: workflow as never }));
  assert.deepEqual(
    (await s.list({ workflow: Waits })).map((x) => x.id),
    ['live'],
  );
  assert.deepEqual(await s.list({ workflow: 'wf-other' }), []);
});
