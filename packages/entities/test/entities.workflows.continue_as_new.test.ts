// Continue-as-new (issue 72, item 3): `ctx.continueAsNew(input)` ends the current run and starts
// the next under the same workflow id, on a fresh journal. On the test kit (time skipped by
// advanceUntilDone): the instance keeps its id and status `running` across runs; `describe()` shows
// the current run and links to the previous ones (each `continued`, with its summary) while the
// history holds the current run's journal only; a `result()` in flight across the continuations
// gets the last run's output; each run's idempotency keys differ (`~c<n>`); signals not consumed
// carry over in order, their ids too; a monitor set in the first run hears the end of the last;
// queries answer from the current run and a cancel ends it; the metrics count `continued`; and a
// continue-as-new with operations in flight, a refused input or after a cancel is refused with its
// code, nothing written.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { EntitiesCollector } from '@ergo-ts/metrics';
import { eventually } from '@ergo-ts/test-support';
import { Actor, schema, type PID } from 'ergo-ts';
import { Registry } from 'prom-client';

import {
  defineWorkflow,
  isWorkflowDown,
  isWorkflowJournalUpdate,
  type WorkflowDown,
  type WorkflowJournalUpdate,
} from '../src/index.js';
import { startTestEntities } from '../src/testing/index.js';

const HOUR = 3_600_000;

/** Each run of the loop's step, by its idempotency key. */
const loopKeys: string[] = [];

/** Three steps and sleeps a run; continues as new until nine iterations ran; returns their sum. */
const Loop = defineWorkflow(
  'wf-can-loop',
  async (ctx, input: { n: number; total: number }) => {
    let total = input.total;
    for (let i = 0; i < 3; i++) {
      total += await ctx.step('add', ({ idempotencyKey }) => {
        loopKeys.push(idempotencyKey);
        return 1;
      });
      await ctx.sleep(HOUR);
    }
    const n = input.n + 3;
    if (n < 9) return ctx.continueAsNew({ n, total });
    return total;
  },
  { input: schema.object({ n: schema.number(), total: schema.number() }) },
);

test('a loop that continues as new every three iterations: one id, a result in flight gets the last run’s, bounded history, keys of their own', async () => {
  await using kit = await startTestEntities({ kinds: [Loop], leaseTtlMs: 24 * HOUR });
  const wf = await kit.workflows.start(Loop, 'l1', { n: 0, total: 0 });
  const first = await wf.describe();
  assert.equal(first.run, 1);
  assert.equal(typeof first.runId, 'string');
  const inFlight = wf.result(); // asked before the first continuation
  assert.equal(await wf.advanceUntilDone(), 9);
  assert.equal(await inFlight, 9, 'a result() in flight across the continuations gets the last run’s output');

  const d = await wf.describe();
  assert.equal(d.status, 'completed');
  assert.equal(d.run, 3);
  assert.deepEqual(d.input, { n: 6, total: 6 }, 'the input is the current run’s');
  assert.equal(d.history.length, 6, 'the history is the last run’s journal only (3 steps, 3 sleeps)');
  assert.deepEqual(
    d.previousRuns?.map((r) => [r.run, r.status, r.entries]),
    [
      [1, 'continued', 6],
      [2, 'continued', 6],
    ],
  );
  assert.equal(d.previousRuns![0]!.runId, first.runId, 'the first run’s id is linked');
  const ids = new Set([d.runId, ...d.previousRuns!.map((r) => r.runId)]);
  assert.equal(ids.size, 3, 'each run has its own id');
  for (const r of d.previousRuns!) {
    assert.ok(r.inputBytes > 0, 'the input size is kept');
    assert.ok(r.startedAt !== undefined && r.endedAt >= r.startedAt + 3 * HOUR, 'each run lasted its three sleeps');
  }
  assert.ok(d.runStartedAt! >= d.previousRuns![1]!.endedAt);

  assert.equal(loopKeys.length, 9, 'each step ran once');
  assert.equal(new Set(loopKeys).size, 9, 'no two runs share an idempotency key');
  assert.deepEqual(
    [loopKeys[0], loopKeys[3], loopKeys[6]],
    ['wf-can-loop/l1/0/step:add', 'wf-can-loop/l1/0~c1/step:add', 'wf-can-loop/l1/0~c2/step:add'],
  );
  const stats = kit.entities.stats().workflows!['wf-can-loop']!;
  assert.deepEqual([stats.started, stats.continued, stats.completed], [1, 2, 1]);
  // A reset of the last run runs it again under keys of their own too: its run marker, then the reset's.
  assert.equal(await wf.reset({ toSeq: 0, reason: 'again' }), 'reset');
  assert.equal(await wf.advanceUntilDone(), 9);
  assert.equal(loopKeys[9], 'wf-can-loop/l1/0~c2~r1/step:add');
  assert.equal((await wf.describe()).run, 3, 'a reset stays in its run');

  const registry = new Registry();
  const collector = new EntitiesCollector(kit.entities, registry);
  try {
    assert.match(await registry.metrics(), /\nergo_workflow_continued_total\{[^}]*workflow="wf-can-loop"[^}]*\} 2\n/);
  } finally {
    collector.close();
  }
});

/** What the watcher process was told: the end, and the journal. */
const heard: WorkflowDown[] = [];
const journal: WorkflowJournalUpdate[] = [];

/** A process that keeps the WorkflowDown messages it gets. */
class Watcher extends Actor {
  override handleMessage(_from: PID, m: unknown): void {
    if (isWorkflowDown(m)) heard.push(m);
    if (isWorkflowJournalUpdate(m)) journal.push(m);
  }
}

/** Run 1 takes one item after `start`, then continues; run 2 takes two more and waits. */
const Relay = defineWorkflow(
  'wf-can-relay',
  async (ctx, input: { run: number; got: string[] }) => {
    let got = input.got;
    ctx.onQuery('state', () => ({ run: input.run, got }));
    if (input.run === 1) await ctx.signal('start');
    for (let i = 0; i < (input.run === 1 ? 1 : 2); i++) got = [...got, (await ctx.signal('item')).v];
    if (input.run === 1) return ctx.continueAsNew({ run: 2, got });
    await ctx.signal('never');
    return got;
  },
  {
    signals: { start: schema.unknown(), item: schema.object({ v: schema.string() }), never: schema.unknown() },
    queries: { state: schema.unknown() },
  },
);

test('signals not consumed go to the next run in order, their ids too; queries answer from it; a monitor stays; a cancel ends it', async () => {
  await using kit = await startTestEntities({ kinds: [Relay], leaseTtlMs: 24 * HOUR });
  const watcher = await kit.node.spawn(Watcher, {});
  const wf = await kit.workflows.start(Relay, 'r1', { run: 1, got: [] });
  assert.equal(await kit.entities.workflows.handle(Relay, 'r1').monitor(watcher), 'ok');
  assert.equal(await kit.entities.workflows.handle(Relay, 'r1').subscribe(watcher), 'ok');
  for (const v of ['a', 'b', 'c']) assert.equal(await wf.signal('item', { v }, { id: v }), 'accepted');
  await wf.signal('start', null);
  await kit.workflows.runUntilIdle();

  const d = await wf.describe();
  assert.equal(d.status, 'running');
  assert.equal(d.run, 2);
  assert.deepEqual(
    d.previousRuns?.map((r) => [r.run, r.status, r.entries]),
    [[1, 'continued', 2]],
  );
  assert.deepEqual(
    d.history.map((e) => `${e.s} ${e.t} ${e.n} ${JSON.stringify(e.v ?? null)}`),
    ['0 signal item {"v":"b"}', '1 signal item {"v":"c"}'],
    'the next run took the kept signals, in the order they came',
  );
  assert.deepEqual(d.signals, []);
  assert.deepEqual(await wf.query('state'), { run: 2, got: ['a', 'b', 'c'] }, 'the query answers from the current run');
  assert.equal(await wf.signal('item', { v: 'b' }, { id: 'b' }), 'duplicate', 'the signal ids carry over');
  const page = await kit.entities.workflows.list(Relay);
  assert.deepEqual(
    page.items.map((s) => [s.id, s.status, s.run, s.steps]),
    [['r1', 'running', 2, 2]],
  );
  assert.equal(heard.length, 0, 'a continuation is no end: the monitor hears nothing');
  await eventually(
    () => journal.some((u) => u.run === 2 && u.entries.some((e) => e.s === 1)),
    'run 2’s journal is followed',
  );
  assert.deepEqual(
    journal.map((u) => `${u.run ?? 1}: ${u.entries.map((e) => `${e.s} ${e.n}`).join(', ')}`),
    ['1: ', '1: 0 start', '1: 1 item', '2: ', '2: 0 item', '2: 1 item'],
    'the subscriber follows run 1, hears the continuation (run 2, its journal empty), then run 2',
  );

  assert.equal(await wf.cancel('enough'), 'cancelled');
  await assert.rejects(wf.result(), { code: 'ERR_WORKFLOW_CANCELLED' });
  await eventually(() => heard.length === 1, 'the monitor set in the first run hears the last run’s end');
  assert.equal(heard[0]!.status, 'cancelled');
  const after = await wf.describe();
  assert.equal(after.status, 'cancelled');
  assert.equal(after.previousRuns?.length, 1);
});

/** What the slow step returns, once the body releases it. */
const slowGate = ((): { promise: Promise<number>; resolve: (v: number) => void } => {
  let resolve!: (v: number) => void;
  const promise = new Promise<number>((r) => (resolve = r));
  return { promise, resolve };
})();

const Child = defineWorkflow('wf-can-child', async (ctx, n: number) => ctx.step('double', () => n * 2));

/**
 * Run 1 tries to continue in ways that are refused (each code kept), waits for `go`, then
 * continues; run 2 returns the codes.
 */
const Refused = defineWorkflow(
  'wf-can-refused',
  async (ctx, input: { run: number; codes: string[] }) => {
    if (input.run === 2) return input.codes;
    const codes: string[] = [];
    const attempt = async (next: unknown): Promise<void> => {
      try {
        await ctx.continueAsNew(next as { run: number; codes: string[] });
      } catch (err) {
        codes.push((err as { code?: string }).code ?? String(err));
      }
    };
    const slow = ctx.step('slow', () => slowGate.promise);
    await attempt({ run: 2, codes }); // a step in flight
    slowGate.resolve(1);
    await slow;
    const child = await ctx.startChild(Child, `${ctx.id}-child`, 1);
    await attempt({ run: 2, codes }); // a child not waited for
    await child.result();
    await attempt({ run: 'two', codes }); // the input schema refuses it
    await attempt({ run: 2, codes: ['x'.repeat(4000)] }); // over maxValueBytes
    await attempt({ run: 2, codes: [() => 1] }); // no store keeps a function
    await ctx.signal('go');
    return ctx.continueAsNew({ run: 2, codes });
  },
  {
    input: schema.object({ run: schema.number(), codes: schema.array(schema.unknown()) }),
    maxValueBytes: 2000,
    signals: { go: schema.unknown() },
  },
);

test('a continue-as-new with a step or a child in flight, or an input the kind refuses, is refused with its code and journaled: a replay is refused alike', async () => {
  await using kit = await startTestEntities({ kinds: [Refused, Child], leaseTtlMs: 24 * HOUR });
  const wf = await kit.workflows.start(Refused, 'f1', { run: 1, codes: [] });
  await kit.workflows.runUntilIdle(); // run 1 waits for go, its refusals journaled
  const refusals = (await wf.describe()).history.filter((e) => e.t === 'continue').map((e) => [e.s, e.e?.code]);
  assert.deepEqual(refusals, [
    [1, 'ERR_WORKFLOW_CONTINUE_PENDING'],
    [3, 'ERR_WORKFLOW_CONTINUE_PENDING'],
    [5, 'ERR_WORKFLOW_INCORRECT'],
    [6, 'ERR_WORKFLOW_VALUE_TOO_LARGE'],
    [7, 'ERR_ENTITY_UNSTORABLE'],
  ]);
  // Replayed from the top: the step and the child it waited for come back at once, and each
  // refusal comes back from the journal where it was met (not a continuation, for nothing is in flight now).
  await kit.restart();
  await kit.workflows.runUntilIdle();
  assert.equal((await wf.describe()).run, 1, 'the replay did not continue where the first run was refused');
  await wf.signal('go', null);
  assert.deepEqual(await wf.advanceUntilDone(), [
    'ERR_WORKFLOW_CONTINUE_PENDING',
    'ERR_WORKFLOW_CONTINUE_PENDING',
    'ERR_WORKFLOW_INCORRECT',
    'ERR_WORKFLOW_VALUE_TOO_LARGE',
    'ERR_ENTITY_UNSTORABLE',
  ]);
  const d = await wf.describe();
  assert.equal(d.run, 2, 'only the last call continued');
  assert.equal(d.runs, 3, 'the body started twice in run 1 (the restart), once in run 2');
  assert.equal(d.previousRuns?.length, 1);
  assert.equal(d.previousRuns![0]!.entries, 9, 'run 1: its step, its child’s start and result, 5 refusals, the signal');
});

/** The codes the cancelled body met. */
const met: string[] = [];

const Cancelled = defineWorkflow(
  'wf-can-cancelled',
  async (ctx, input: { run: number }) => {
    try {
      await ctx.signal('go');
    } catch (err) {
      met.push((err as { code?: string }).code ?? '?');
    }
    try {
      await ctx.continueAsNew({ run: input.run + 1 });
    } catch (err) {
      met.push((err as { code?: string }).code ?? '?');
      throw err;
    }
    return 'not reached';
  },
  { signals: { go: schema.unknown() } },
);

test('after a cancel, continue-as-new throws ERR_WORKFLOW_CANCELLED: the instance ends cancelled in its run', async () => {
  await using kit = await startTestEntities({ kinds: [Cancelled], leaseTtlMs: 24 * HOUR });
  const wf = await kit.workflows.start(Cancelled, 'c1', { run: 1 });
  await kit.workflows.runUntilIdle();
  await wf.cancel('stop');
  await assert.rejects(wf.result(), { code: 'ERR_WORKFLOW_CANCELLED' });
  assert.deepEqual(met, ['ERR_WORKFLOW_CANCELLED', 'ERR_WORKFLOW_CANCELLED']);
  const d = await wf.describe();
  assert.equal(d.run, 1);
  assert.equal(d.previousRuns, undefined);
});

/** The outbox handler's release, by the test; and whether it was called. */
const noteGate = ((): { promise: Promise<void>; resolve: () => void; called: boolean } => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve, called: false };
})();
/** What the late-cancelled body met. */
const metLate: string[] = [];

/** Puts out a note, then continues: continueAsNew waits for the note's delivery. */
const Noted = defineWorkflow(
  'wf-can-noted',
  {
    outboxes: {
      note: async (_m: number) => {
        noteGate.called = true;
        await noteGate.promise;
      },
    },
  },
  async (ctx, input: { run: number }) => {
    if (input.run === 2) return 'run 2';
    await ctx.outbox('note', input.run);
    try {
      return await ctx.continueAsNew({ run: 2 });
    } catch (err) {
      metLate.push((err as { code?: string }).code ?? '?');
      throw err;
    }
  },
);

test('continue-as-new waits for the run’s outbox; a cancel that came meanwhile refuses its write with ERR_WORKFLOW_CANCELLED', async () => {
  await using kit = await startTestEntities({ kinds: [Noted], leaseTtlMs: 24 * HOUR });
  const wf = await kit.workflows.start(Noted, 'n1', { run: 1 });
  await eventually(() => noteGate.called, 'the note is being delivered');
  assert.equal((await wf.describe()).run, 1, 'still the first run: the continuation waits for the delivery');
  assert.equal(await wf.cancel('late'), 'cancelled');
  noteGate.resolve();
  await assert.rejects(wf.result(), { code: 'ERR_WORKFLOW_CANCELLED' });
  assert.deepEqual(metLate, ['ERR_WORKFLOW_CANCELLED'], 'the write was refused: the body met the cancel');
  const d = await wf.describe();
  assert.deepEqual([d.status, d.run, d.previousRuns], ['cancelled', 1, undefined]);
  assert.deepEqual(
    d.history.map((e) => `${e.t} ${e.e?.code ?? ''}`),
    ['outbox ', 'continue ERR_WORKFLOW_CANCELLED'],
  );
});

/** What each run of Twice saw: its input, and the code of a continueAsNew refused. */
const twiceSeen: string[] = [];

/**
 * Run 1 continues as new without awaiting (`twice`: twice; `return`: then returns; `refused`: on
 * an input the kind refuses, then returns); a later run takes one step and returns its input's n.
 */
const Twice = defineWorkflow(
  'wf-can-twice',
  async (ctx, input: { n: number; how: 'twice' | 'return' | 'refused' }) => {
    twiceSeen.push(`run ${ctx.workflow}/${ctx.id} n=${input.n}`);
    if (input.n === 0) {
      if (input.how === 'twice') {
        const first = ctx.continueAsNew({ n: 1, how: input.how });
        const second = await ctx.continueAsNew({ n: 2, how: input.how }).catch((e: { code?: string }) => e.code);
        twiceSeen.push(`second: ${String(second)}`);
        return first;
      }
      void ctx.continueAsNew(input.how === 'refused' ? ({ n: 'three' } as never) : { n: 3, how: input.how });
      return -1; // returned while the continue-as-new is under way
    }
    return ctx.step('last', () => input.n);
  },
  { input: schema.object({ n: schema.number(), how: schema.string() }) as never },
);

test('continueAsNew called again while one is under way is refused with ERR_WORKFLOW_INCORRECT: one continuation, the first', async () => {
  twiceSeen.length = 0;
  await using kit = await startTestEntities({ kinds: [Twice], leaseTtlMs: 24 * HOUR });
  const wf = await kit.workflows.start(Twice, 't1', { n: 0, how: 'twice' });
  assert.equal(await wf.advanceUntilDone(), 1);
  assert.deepEqual(twiceSeen, ['run wf-can-twice/t1 n=0', 'second: ERR_WORKFLOW_INCORRECT', 'run wf-can-twice/t1 n=1']);
  const d = await wf.describe();
  assert.deepEqual([d.status, d.run, d.input, d.output], ['completed', 2, { n: 1, how: 'twice' }, 1]);
  assert.deepEqual(
    d.history.map((e) => e.n),
    ['last'],
    'run 2 ran its body',
  );
  assert.deepEqual(
    d.previousRuns?.map((r) => r.run),
    [1],
    'one continuation',
  );
});

test('a body that returns while its continueAsNew is under way does not complete the instance: the next run does', async () => {
  twiceSeen.length = 0;
  await using kit = await startTestEntities({ kinds: [Twice], leaseTtlMs: 24 * HOUR });
  const wf = await kit.workflows.start(Twice, 't2', { n: 0, how: 'return' });
  assert.equal(await wf.advanceUntilDone(), 3);
  const d = await wf.describe();
  assert.deepEqual([d.status, d.run, d.input, d.output], ['completed', 2, { n: 3, how: 'return' }, 3]);
  assert.deepEqual(
    d.history.map((e) => e.n),
    ['last'],
    'run 2 ran its body: its history is its own',
  );
  assert.deepEqual(twiceSeen, ['run wf-can-twice/t2 n=0', 'run wf-can-twice/t2 n=3']);
});

test('a body that returns while its continueAsNew is refused ends failed with that refusal, not completed', async () => {
  twiceSeen.length = 0;
  await using kit = await startTestEntities({ kinds: [Twice], leaseTtlMs: 24 * HOUR });
  const wf = await kit.workflows.start(Twice, 't3', { n: 0, how: 'refused' });
  await assert.rejects(wf.advanceUntilDone(), (err: Error & { cause?: { code?: string } }) => {
    assert.equal((err as { code?: string }).code, 'ERR_WORKFLOW_FAILED');
    assert.equal(err.cause?.code, 'ERR_WORKFLOW_INCORRECT');
    return true;
  });
  const d = await wf.describe();
  assert.deepEqual([d.status, d.run, d.output], ['failed', 1, undefined]);
});
