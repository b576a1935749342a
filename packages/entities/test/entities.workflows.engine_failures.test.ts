// Engine failures never reach a workflow body (issue 89): the places where an engine error could
// become a step attempt or a body's exception, each with the fault injected there.
// - A hand-off during a step's retry backoff: the attempts after it are not run by the member that
//   hands off and not counted (they burned every attempt and journaled ERR_WORKFLOW_RUN_ENDED).
// - A child's start, a child's result and `ctx.send` whose target (or the store behind it) fails
//   for a while: waited out, nothing journaled, the body never sees it.
// - A `ctx.call` whose entity was never reached (its activation failing): waited out, no attempt
//   counted; an entity's own error with an engine-like code, and a call that may have run (no
//   answer in time), still count.
// - The classification itself (model/engine_failure.ts): the engine's codes, and a child's own
//   failure stays the body's whatever caused it.
// - The member's step permits (body/step_permits.ts): attempts beyond the bound wait in order.

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';
import { defineProtocol, ErgoError, schema, startNode, type Node } from 'ergo-ts';

import { wallClock, type EntitiesClock } from '../src/contract/clock.js';
import { ErrEntityUnavailable, ErrStoreBusy } from '../src/contract/errors.js';
import { hostName } from '../src/contract/ids.js';
import { startEntitiesWith } from '../src/entities.js';
import { refuseCall } from '../src/kinds/entity.js';
import {
  defineEntity,
  defineWorkflow,
  Entity,
  entity,
  SqliteStore,
  startEntities,
  type EntityStore,
} from '../src/index.js';
import { isEngineFailure } from '../src/workflow/model/engine_failure.js';
import { ErrWorkflowFailed, ErrWorkflowStepFailed } from '../src/workflow/model/errors.js';
import type { WorkflowRecord } from '../src/workflow/model/record.js';
import { StepPermits, stepPermitsOf } from '../src/workflow/body/step_permits.js';

const dir = mkdtempSync(join(tmpdir(), 'ergo-wf-engine-failures-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let seq = 0;
async function nodeNamed(what: string): Promise<Node> {
  return startNode(`wfef_${what}_${process.pid}_${++seq}@localhost`, { log: { level: 'panic' } });
}

async function recordOf(store: EntityStore, kind: string, id: string): Promise<WorkflowRecord> {
  return (await store.load({ kind, key: id })).state as WorkflowRecord;
}

/** Codes written in a record's journal as errors (none may be an engine's). */
function journaledCodes(rec: WorkflowRecord): string[] {
  return rec.journal.flatMap((e) => (e.e?.code === undefined ? [] : [e.e.code]));
}

test('the classification: engine codes are the engine’s, a child’s own failure stays the body’s whatever caused it', () => {
  assert.equal(isEngineFailure(ErrEntityUnavailable.with('owner away')), true);
  assert.equal(isEngineFailure(ErrStoreBusy.with('locked')), true);
  assert.equal(isEngineFailure(new ErgoError('ERR_TIMEOUT', 'timed out')), true);
  // A wrapper without a code is read by its cause.
  assert.equal(isEngineFailure(new Error('wrapped', { cause: ErrEntityUnavailable.with('away') })), true);
  // The first code decides: a child that failed because its own step met an unavailable entity.
  assert.equal(isEngineFailure(ErrWorkflowFailed.with('child failed', ErrEntityUnavailable.with('x'))), false);
  assert.equal(isEngineFailure(new Error('a user error')), false);
  assert.equal(isEngineFailure('not an error'), false);
  const hostile = new Error('hostile');
  Object.defineProperty(hostile, 'code', {
    get() {
      throw new Error('trap');
    },
  });
  assert.equal(isEngineFailure(hostile), false);
});

test('step permits: attempts beyond the bound wait in the order they asked, and a waiter that leaves the line loses nothing', () => {
  const p = new StepPermits(2);
  assert.equal(p.tryTake(), true);
  assert.equal(p.tryTake(), true);
  assert.equal(p.tryTake(), false);
  const granted: string[] = [];
  p.join(() => granted.push('a'));
  const leaveB = p.join(() => granted.push('b'));
  p.join(() => granted.push('c'));
  assert.equal(p.waiting, 3);
  leaveB(); // its run ended while it waited
  assert.equal(p.waiting, 2);
  assert.equal(p.tryTake(), false, 'nobody jumps the line');
  p.release();
  assert.deepEqual(granted, ['a']);
  assert.equal(p.running, 2);
  p.release();
  assert.deepEqual(granted, ['a', 'c']);
  p.release();
  p.release();
  assert.equal(p.running, 0);
  assert.equal(p.waiting, 0);
});

// ---- a hand-off during a step's retry backoff ----

/** The backoff of the flaky step: its timer is held by the test's clock until the test fires it. */
const BACKOFF_MS = 7777;
let flakyCalls = 0;
let holdCalls = 0;
let releaseHold: () => void = () => undefined;

const Backoff = defineWorkflow('wf-ef-backoff', async (ctx) => {
  const [a] = await Promise.all([
    ctx.step(
      'flaky',
      () => {
        flakyCalls++;
        if (flakyCalls === 1) throw new Error('attempt 1 fails on its own');
        return 'ok';
      },
      { retry: { maxAttempts: 2, initialMs: BACKOFF_MS, factor: 1 } },
    ),
    ctx.step('hold', () => {
      holdCalls++;
      // The first run's attempt stays in flight: the hand-off waits for it.
      return holdCalls === 1 ? new Promise<string>((resolve) => (releaseHold = () => resolve('held'))) : 'held';
    }),
  ]);
  return a;
});

test('a hand-off during a step’s retry backoff burns no attempt: the next runtime runs attempt 2 and the instance completes', async (t) => {
  const held: (() => void)[] = [];
  let heldOne: () => void = () => undefined;
  const backoffArmed = new Promise<void>((resolve) => (heldOne = resolve));
  // The wall clock, but the flaky step's backoff waits until the test fires it.
  const clock: EntitiesClock = {
    ...wallClock,
    setTimeout: (fn, ms) => {
      if (ms > BACKOFF_MS - 1000 && ms <= BACKOFF_MS) {
        held.push(fn);
        heldOne();
        return undefined;
      }
      return wallClock.setTimeout(fn, ms);
    },
    clearTimeout: (h) => (h === undefined ? undefined : wallClock.clearTimeout(h)),
  };
  const file = join(dir, 'backoff.db');
  const store1 = SqliteStore.open(file);
  const node1 = await nodeNamed('backoff1');
  const first = await startEntitiesWith(node1, { store: store1, kinds: [Backoff] }, { clock });
  t.after(async () => {
    await node1.stop();
    await store1.close();
  });
  await first.workflows.start(Backoff, 'b1', {});
  await backoffArmed; // attempt 1 failed, its retry entry written, the backoff waits
  const host = node1.processPID(hostName('wf-ef-backoff', 'b1'));
  assert.ok(host !== undefined, 'the instance is active');
  const seen = node1.processInfo(host).messagesIn;
  const stopped = first.stop(); // hands the instance off: `hold` is in flight, so the hand-off waits
  // HANDOFF, then HANDOFF_AGAIN while it waits: the run knows it hands off.
  await eventually(() => node1.processInfo(host).messagesIn >= seen + 2, 'the instance waits to hand off');
  for (const fire of held.splice(0)) fire(); // the backoff ends while the hand-off waits
  releaseHold();
  await stopped;
  assert.equal(flakyCalls, 1, 'the member handing off ran no attempt after the backoff');
  const mid = await recordOf(store1, 'wf-ef-backoff', 'b1');
  assert.ok(!journaledCodes(mid).includes('ERR_WORKFLOW_RUN_ENDED'), 'no step failed with the run’s end');

  // The next runtime (another node, the same store) goes on from the journal: attempt 2 runs.
  const node2 = await nodeNamed('backoff2');
  const second = await startEntities(node2, { store: store1, kinds: [Backoff] });
  t.after(async () => {
    await second.stop();
    await node2.stop();
  });
  const out = await second.workflows.handle(Backoff, 'b1').result({ timeout: 60_000 });
  assert.equal(out, 'ok');
  assert.equal(flakyCalls, 2);
  const rec = await recordOf(store1, 'wf-ef-backoff', 'b1');
  const flaky = rec.journal.find((e) => e.n === 'flaky' && e.t === 'step' && e.done === true);
  assert.equal(flaky?.a, 2, 'the step succeeded at attempt 2, as counted');
  assert.ok(!journaledCodes(rec).includes('ERR_WORKFLOW_RUN_ENDED'));
});

// ---- the engine's own calls: a child's start and result, ctx.send ----

let childFails = 0;
const Child = defineWorkflow('wf-ef-child', async () => 'child done');
const Parent = defineWorkflow('wf-ef-parent', async (ctx) => {
  const r = await ctx.child(Child, 'c1', {});
  return `parent saw ${r}`;
});

test('a child’s start and result whose calls fail for the engine’s reasons are waited out: nothing journaled, the parent completes', async (t) => {
  const store = SqliteStore.open(join(dir, 'child.db'));
  // The store refuses the child's first loads as a locked SQLite file would (ERR_ENTITY_STORE_BUSY),
  // then works: its activation fails, so the parent's start and result calls meet the store's error.
  const activation = store.loadActivation!.bind(store);
  (store as { loadActivation: EntityStore['loadActivation'] }).loadActivation = (id) => {
    if (id.kind === 'wf-ef-child' && childFails < 6) {
      childFails++;
      return Promise.reject(ErrStoreBusy.with('the store stayed locked by another process (injected)'));
    }
    return activation(id);
  };
  const node = await nodeNamed('child');
  const entities = await startEntities(node, { store, kinds: [Parent, Child] });
  t.after(async () => {
    await entities.stop();
    await node.stop();
    await store.close();
  });
  const out = await entities.workflows.start(Parent, 'p1', {}).then((h) => h.result({ timeout: 60_000 }));
  assert.equal(out, 'parent saw child done');
  assert.ok(childFails >= 6, 'the faults were met');
  const rec = await recordOf(store, 'wf-ef-parent', 'p1');
  assert.deepEqual(journaledCodes(rec), [], 'no engine error journaled as the body’s');
  assert.ok(
    rec.journal.every((e) => e.t !== 'retry'),
    'no attempt counted for the engine’s failures',
  );
});

// ---- a ctx.call that reached no handler is no attempt ----

const TillProtocol = defineProtocol('wf-ef-till', {
  messages: {},
  calls: { take: { request: schema.object({ how: schema.string() }), reply: schema.string() } },
});
let releaseTill: () => void = () => undefined;
const tillHangs = new Promise<void>((resolve) => (releaseTill = resolve));
/** Answers `take`: 'ok' at once, its own ERR_ENTITY_UNAVAILABLE for 'own', not before the test ends for 'hang'. */
class TillEntity extends Entity<typeof TillProtocol, { n: number }> {
  override async handleCall(req: { how: string }): Promise<string> {
    // A refusal (refuseCall) is the entity's answer; a plain throw would crash its activation.
    if (req.how === 'own') throw refuseCall(ErrEntityUnavailable.with('the till met an unavailable bank itself'));
    if (req.how === 'hang') await tillHangs;
    return 'taken';
  }
}
const Till = defineEntity('wf-ef-till', {
  protocol: TillProtocol,
  entity: TillEntity,
  initialState: () => ({ n: 0 }),
  passivateAfterMs: 0,
});
/** One call to the till, one attempt allowed: a counted failure fails the body. */
const Caller = defineWorkflow('wf-ef-caller', async (ctx, input: { readonly how: string; readonly key: string }) => {
  try {
    return await ctx.call(
      entity(Till, input.key),
      { how: input.how },
      { retry: { maxAttempts: 1 }, timeout: input.how === 'hang' ? 300 : 5_000 },
    );
  } catch (err) {
    return `failed: ${ErrWorkflowStepFailed.is(err) ? 'step' : 'other'}`;
  }
});

test('a ctx.call whose entity was never reached is waited out, no attempt counted; its own error and a call that may have run still count', async (t) => {
  const store = SqliteStore.open(join(dir, 'call.db'));
  // The till's first activations fail as a locked SQLite file would: no call reaches its handler.
  let tillFails = 0;
  const activation = store.loadActivation!.bind(store);
  (store as { loadActivation: EntityStore['loadActivation'] }).loadActivation = (id) => {
    if (id.kind === 'wf-ef-till' && id.key === 'locked' && tillFails < 3) {
      tillFails++;
      return Promise.reject(ErrStoreBusy.with('the store stayed locked by another process (injected)'));
    }
    return activation(id);
  };
  const node = await nodeNamed('call');
  const entities = await startEntities(node, { store, kinds: [Caller, Till] });
  t.after(async () => {
    releaseTill();
    await entities.stop();
    await node.stop();
    await store.close();
  });
  const run = (id: string, how: string, key: string): Promise<unknown> =>
    entities.workflows.start(Caller, id, { how, key }).then((h) => h.result({ timeout: 60_000 }));
  assert.equal(await run('c-locked', 'ok', 'locked'), 'taken', 'the one attempt was not spent on the engine');
  assert.ok(tillFails >= 3, 'the faults were met');
  const rec = await recordOf(store, 'wf-ef-caller', 'c-locked');
  assert.deepEqual(journaledCodes(rec), [], 'no engine error journaled as the body’s');
  assert.ok(
    rec.journal.every((e) => e.t !== 'retry'),
    'no attempt counted for the engine’s failure',
  );
  // The entity's own error, whatever its code, is the call's: the one attempt is spent.
  assert.equal(await run('c-own', 'own', 'own'), 'failed: step');
  assert.deepEqual(journaledCodes(await recordOf(store, 'wf-ef-caller', 'c-own')), ['ERR_ENTITY_UNAVAILABLE']);
  // No answer in time: the call may have run, so it counts too (as an activity's unknown outcome).
  assert.equal(await run('c-hang', 'hang', 'hang'), 'failed: step');
});

// ---- an overloaded member refuses new instances at once ----

let openGate: () => void = () => undefined;
const gate = new Promise<void>((resolve) => (openGate = resolve));
const Busy = defineWorkflow('wf-ef-busy', async (ctx, input: { readonly n: number }) => {
  await ctx.step('work', () => gate.then(() => input.n));
  return input.n;
});

test('a member whose step attempts wait in a line as long as those it runs refuses a new instance at once (ERR_ENTITY_OVERLOADED, retryAfterMs), writing nothing; admitted ones go on', async (t) => {
  const store = SqliteStore.open(join(dir, 'busy.db'));
  const node = await nodeNamed('busy');
  const entities = await startEntities(node, { store, kinds: [Busy], maxConcurrentSteps: 1 });
  t.after(async () => {
    await entities.stop();
    await node.stop();
    await store.close();
  });
  const wf = entities.workflows;
  const first = await wf.start(Busy, 'b1', { n: 1 });
  const second = await wf.start(Busy, 'b2', { n: 2 });
  const permits = stepPermitsOf(entities)!;
  await eventually(() => permits.running === 1 && permits.waiting === 1, 'one attempt runs, one waits for a permit');
  // A timeout shorter than the retry-after: refused at once (a longer one waits it out and asks again).
  await assert.rejects(
    wf.start(Busy, 'b3', { n: 3 }, { timeout: 50 }),
    (err: Error & { code?: string; retryAfterMs?: number }) => {
      assert.equal(err.code, 'ERR_ENTITY_OVERLOADED');
      assert.ok(typeof err.retryAfterMs === 'number' && err.retryAfterMs >= 100, `retryAfterMs ${err.retryAfterMs}`);
      return true;
    },
  );
  assert.equal((await store.load({ kind: 'wf-ef-busy', key: 'b3' })).state, undefined, 'nothing written for it');
  openGate();
  assert.equal(await first.result({ timeout: 30_000 }), 1);
  assert.equal(await second.result({ timeout: 30_000 }), 2);
  const third = await wf.start(Busy, 'b3', { n: 3 });
  assert.equal(third.created, true);
  assert.equal(await third.result({ timeout: 30_000 }), 3);
});

test('maxConcurrentSteps is checked as the runtime starts: a bad value is refused with ERR_WORKFLOW_INCORRECT', async (t) => {
  const store = SqliteStore.open(join(dir, 'bad.db'));
  const node = await nodeNamed('bad');
  t.after(async () => {
    await node.stop();
    await store.close();
  });
  for (const bad of [0, -1, 1.5, 'many', 2 ** 31])
    await assert.rejects(startEntities(node, { store, kinds: [Busy], maxConcurrentSteps: bad as never }), {
      code: 'ERR_WORKFLOW_INCORRECT',
    });
});

const Held = defineWorkflow('wf-ef-held', async () => 'held done');
const Free = defineWorkflow('wf-ef-free', async () => 'free done');

test('a member whose store operations wait (several in flight for over a second) refuses a new instance at once, and takes it once they are answered', async (t) => {
  const store = SqliteStore.open(join(dir, 'pressure.db'));
  // The store's writes of one kind wait until the test lets them go: the member's store queue.
  let letGo: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (letGo = resolve));
  const write = store.write.bind(store);
  (store as { write: EntityStore['write'] }).write = async (request) => {
    if (request.kind === 'wf-ef-held') await gate;
    return write(request);
  };
  const node = await nodeNamed('pressure');
  const entities = await startEntities(node, { store, kinds: [Held, Free] });
  t.after(async () => {
    letGo();
    await entities.stop();
    await node.stop();
    await store.close();
  });
  const wf = entities.workflows;
  // Ten starts whose writes wait: their callers give up (their outcome unknown), the writes stay in flight.
  const held = Array.from({ length: 10 }, (_, i) =>
    wf.start(Held, `h${i}`, {}, { timeout: 300 }).then(
      () => 'answered',
      (err: Error & { code?: string }) => err.code,
    ),
  );
  await eventually(
    () => entities.stats().storeInFlight >= 10 && entities.stats().storeOldestInFlightMs > 1500,
    'ten store writes in flight for over a second and a half',
  );
  await assert.rejects(
    wf.start(Free, 'f1', {}, { timeout: 500 }),
    (err: Error & { code?: string; retryAfterMs?: number }) => {
      assert.equal(err.code, 'ERR_ENTITY_OVERLOADED');
      assert.ok((err.retryAfterMs ?? 0) >= 1000, `retryAfterMs ${err.retryAfterMs}`);
      return true;
    },
  );
  assert.equal((await store.load({ kind: 'wf-ef-free', key: 'f1' })).state, undefined, 'nothing written for it');
  letGo();
  assert.deepEqual(new Set(await Promise.all(held)), new Set(['ERR_WORKFLOW_OUTCOME_UNKNOWN']));
  await eventually(() => entities.stats().storeInFlight === 0, 'the store caught up');
  const h = await wf.start(Free, 'f1', {});
  assert.equal(h.created, true);
  assert.equal(await h.result({ timeout: 30_000 }), 'free done');
  // The held starts were kept: asked again, each answers created: false and completes.
  const again = await wf.start(Held, 'h0', {});
  assert.equal(again.created, false);
  assert.equal(await again.result({ timeout: 30_000 }), 'held done');
});

// ---- a halted replay keeps the search attributes its last live run set ----

const attributes = { stage: 'string' } as const;
const StagedV1 = defineWorkflow(
  'wf-ef-staged',
  async (ctx) => {
    await ctx.setAttributes({ stage: 'started' });
    await ctx.step('a', () => 'a');
    await ctx.setAttributes({ stage: 'waiting' });
    await ctx.signal('go');
    return 'done';
  },
  { attributes, signals: { go: schema.object({}) } },
);
// The same workflow after a code change that diverges from the journal (its first step renamed).
const StagedV2 = defineWorkflow(
  'wf-ef-staged',
  async (ctx) => {
    await ctx.setAttributes({ stage: 'started' });
    await ctx.step('b', () => 'b');
    await ctx.signal('go');
    return 'done';
  },
  { attributes, signals: { go: schema.object({}) } },
);

test('a replay that diverges halts without writing its earlier search attributes over those the live run set', async (t) => {
  const store = SqliteStore.open(join(dir, 'staged.db'));
  const node1 = await nodeNamed('staged1');
  const first = await startEntities(node1, { store, kinds: [StagedV1] });
  await first.workflows.start(StagedV1, 's1', {});
  await eventually(
    async () => (await recordOf(store, 'wf-ef-staged', 's1'))?.attributes?.['stage'] === 'waiting',
    'the live run set stage waiting',
  );
  await first.stop();
  await node1.stop();
  const node2 = await nodeNamed('staged2');
  const second = await startEntities(node2, { store, kinds: [StagedV2] });
  t.after(async () => {
    await second.stop();
    await node2.stop();
    await store.close();
  });
  await second.workflows.handle(StagedV2, 's1').describe(); // activates it: the replay runs and halts
  await eventually(
    async () => (await recordOf(store, 'wf-ef-staged', 's1'))?.blocked !== undefined,
    'the diverged replay halts the instance',
  );
  const rec = await recordOf(store, 'wf-ef-staged', 's1');
  assert.equal(rec.blocked?.code, 'ERR_WORKFLOW_DIVERGED');
  assert.equal(rec.attributes?.['stage'], 'waiting', 'the stage the live run set, not the replay’s earlier one');
  const listed = await second.workflows.list({ kind: StagedV2 });
  assert.equal(listed.items[0]?.attributes?.['stage'], 'waiting', 'the listing shows it too');
});

// ---- an update answered past the replay writes what the replay set first ----

const taken = { taken: 'number' } as const;
const addUpdate = { add: { input: schema.object({ uid: schema.string() }), output: schema.string() } };
// The first run takes the update and applies it, then stops there (its member goes away before it
// sets the attribute: the journal ends at the step).
const TakerV1 = defineWorkflow(
  'wf-ef-taker',
  async (ctx) => {
    const u = await ctx.update('add');
    await ctx.step('apply', () => u.input.uid);
    await new Promise<never>(() => undefined);
    return 'never';
  },
  { updates: addUpdate, attributes: taken },
);
// The run that resumes it: the same operations, then the attribute, the answer and the end.
const TakerV2 = defineWorkflow(
  'wf-ef-taker',
  async (ctx) => {
    const u = await ctx.update('add');
    await ctx.step('apply', () => u.input.uid);
    await ctx.setAttributes({ taken: 1 });
    await u.reply('ok');
    return 'done';
  },
  { updates: addUpdate, attributes: taken },
);

test('an update answered right after a replayed step writes the attributes the replay set before the run ends', async (t) => {
  const store = SqliteStore.open(join(dir, 'taker.db'));
  const node1 = await nodeNamed('taker1');
  const first = await startEntities(node1, { store, kinds: [TakerV1] });
  const h1 = await first.workflows.start(TakerV1, 't1', {});
  first.workflows
    .handle(TakerV1, 't1')
    .update('add', { uid: 'u0' })
    .catch(() => undefined); // answered by the second run, after this node is gone
  await eventually(
    async () => (await recordOf(store, 'wf-ef-taker', 't1'))?.journal.some((e) => e.t === 'step' && e.done === true),
    'the first run journaled the step',
  );
  assert.ok(h1);
  await first.stop();
  await node1.stop();
  const node2 = await nodeNamed('taker2');
  const second = await startEntities(node2, { store, kinds: [TakerV2] });
  t.after(async () => {
    await second.stop();
    await node2.stop();
    await store.close();
  });
  assert.equal(await second.workflows.handle(TakerV2, 't1').result({ timeout: 30_000 }), 'done');
  const rec = await recordOf(store, 'wf-ef-taker', 't1');
  assert.equal(rec.attributes?.['taken'], 1, 'the attribute the resumed run set');
});
