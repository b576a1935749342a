// The workflow API cases entities.workflows.test.ts runs on two rigs: the test kit (MemoryStore,
// test clock) and the real runtime on a SQLite file (wall clock). A rig starts instances, restarts
// the runtime on the same store (a node restart: the next activation replays the journal) and
// tells when an instance's body waits for a signal.

import { strict as assert } from 'node:assert';

import type { WorkflowClient } from '../src/index.js';
import type { WorkflowRecord } from '../src/workflow/model/record.js';
import type { CounterState } from './counter.js';
import {
  Big,
  CardError,
  Declined,
  Dice,
  Flaky,
  Sender,
  Steps,
  Unstorable,
  cardConverter,
  runsOf,
} from './workflow_api_kinds.js';

/** What a case needs of its runtime. */
export interface Rig {
  /** The workflow client of the current runtime. */
  workflows(): WorkflowClient;
  /** Stops the runtime and starts a new one on the same store and node (what memory held is lost). */
  restart(): Promise<void>;
  /** Resolves once the body of `kind`/`id` waits for the signal `name`. */
  waitsFor(kind: string, id: string, name: string): Promise<void>;
  /** The stored record of an instance (undefined if never started). */
  record(kind: string, id: string): Promise<WorkflowRecord | undefined>;
  /** A counter entity's stored state. */
  counter(key: string): Promise<CounterState | undefined>;
  /** Whether the durable message `id` was processed by counter `key`. */
  processed(key: string, id: string): Promise<boolean>;
  /** Waits for the result of an instance (moving the test clock on the kit). */
  finish<T>(kind: string, id: string, result: () => Promise<T>): Promise<T>;
}

/** Steps are journaled: a restart while the body waits re-runs nothing journaled. */
export async function stepsSurviveRestart(rig: Rig): Promise<void> {
  const h = await rig.workflows().start(Steps, 's1', { n: 4 });
  assert.equal(h.created, true);
  await rig.waitsFor('wf-steps', 's1', 'go');
  assert.equal(runsOf('wf-steps', 's1', 0), 1);
  await rig.restart();
  assert.equal(await rig.workflows().handle(Steps, 's1').signal('go', 7), 'accepted');
  assert.equal(await rig.finish('wf-steps', 's1', () => rig.workflows().handle(Steps, 's1').result()), 57);
  assert.equal(runsOf('wf-steps', 's1', 0), 1, 'step a ran once, before the restart');
  assert.equal(runsOf('wf-steps', 's1', 2), 1, 'step b ran once');
  const d = await rig.workflows().handle(Steps, 's1').describe();
  assert.deepEqual(
    d.history.map((e) => [e.s, e.t, e.n, e.v]),
    [
      [0, 'step', 'a', 5],
      [1, 'signal', 'go', 7],
      [2, 'step', 'b', 57],
    ],
  );
  assert.equal(d.status, 'completed');
  assert.equal(d.runs, 2, 'the body ran again once, after the restart');
}

/** A start is idempotent by id: the second start starts nothing and keeps the first input. */
export async function startIsIdempotent(rig: Rig): Promise<void> {
  const first = await rig.workflows().start(Steps, 'i1', { n: 1 });
  const again = await rig.workflows().start(Steps, 'i1', { n: 2 });
  assert.equal(first.created, true);
  assert.equal(again.created, false);
  await rig.waitsFor('wf-steps', 'i1', 'go');
  assert.deepEqual((await again.describe()).input, { n: 1 });
  assert.equal(runsOf('wf-steps', 'i1', 0), 1);
  await assert.rejects(rig.workflows().start(Steps, 'i2', { n: 'x' as unknown as number }), {
    code: 'ERR_WORKFLOW_INCORRECT',
  });
  assert.equal(await rig.record('wf-steps', 'i2'), undefined, 'a refused input stores nothing');
}

/** Every request to an id never started: ERR_WORKFLOW_NOT_FOUND. */
export async function unknownIdIsNotFound(rig: Rig): Promise<void> {
  const h = rig.workflows().handle(Steps, 'never-started');
  const nf = { code: 'ERR_WORKFLOW_NOT_FOUND' };
  await assert.rejects(h.result(), nf);
  await assert.rejects(h.signal('go', 1), nf);
  await assert.rejects(h.cancel(), nf);
  await assert.rejects(h.describe(), nf);
  await assert.rejects(h.resume(), nf);
  assert.equal(await rig.record('wf-steps', 'never-started'), undefined);
}

/** Signals: kept until consumed, de-duplicated by id, refused when undeclared, malformed or late. */
export async function signalRules(rig: Rig): Promise<void> {
  const h = await rig.workflows().start(Steps, 'g1', { n: 0 });
  await rig.waitsFor('wf-steps', 'g1', 'go');
  const before = await rig.record('wf-steps', 'g1');
  // An undeclared signal, and a payload the schema refuses: refused, nothing written.
  await assert.rejects(h.signal('nope' as 'go', 1), { code: 'ERR_WORKFLOW_INCORRECT' });
  await assert.rejects(h.signal('go', 'seven' as unknown as number), { code: 'ERR_WORKFLOW_INCORRECT' });
  assert.deepEqual(await rig.record('wf-steps', 'g1'), before, 'a refused signal writes nothing');
  assert.equal(await h.signal('go', 3, { id: 'sig-1' }), 'accepted');
  assert.equal(await h.signal('go', 4, { id: 'sig-1' }), 'duplicate');
  assert.equal(await rig.finish('wf-steps', 'g1', () => h.result()), 13);
  assert.deepEqual((await h.describe()).signals, [], 'the duplicate was not kept');
  await assert.rejects(h.signal('go', 5), { code: 'ERR_WORKFLOW_CLOSED' });
  await assert.rejects(h.cancel(), { code: 'ERR_WORKFLOW_CLOSED' });
}

/** A step that throws is retried; a terminal error is not; a step failing for good fails the instance. */
export async function retriesAndTerminal(rig: Rig): Promise<void> {
  const ok = await rig.workflows().start(Flaky, 'r1', { failures: 1 });
  assert.equal(await rig.finish('wf-flaky', 'r1', () => ok.result()), 2);
  assert.equal(runsOf('wf-flaky', 'r1', 0), 2);
  assert.equal((await ok.describe()).history[0]?.a, 2, 'the journal counts the attempts');

  const term = await rig.workflows().start(Flaky, 'r2', { failures: 1, terminal: true });
  await assert.rejects(
    rig.finish('wf-flaky', 'r2', () => term.result()),
    (err: Error & { cause?: Error }) => {
      assert.equal((err as { code?: string }).code, 'ERR_WORKFLOW_FAILED');
      assert.equal((err.cause as { code?: string }).code, 'ERR_WORKFLOW_STEP_FAILED');
      assert.match(err.cause!.message, /after 1 attempt\(s\): attempt 1 failed/);
      return true;
    },
  );
  assert.equal(runsOf('wf-flaky', 'r2', 0), 1, 'a terminal error is not retried');
  const e = (await rig.record('wf-flaky', 'r2'))!;
  assert.equal(e.status, 'failed');
  assert.equal(e.journal[0]?.e?.message, 'attempt 1 failed');
}

/** now(), random() and uuid() are journaled: a replay after a restart sees the same values. */
export async function deterministicValues(rig: Rig): Promise<void> {
  const h = await rig.workflows().start(Dice, 'd1', undefined);
  await rig.waitsFor('wf-dice', 'd1', 'go');
  const drawn = await h.query('drawn');
  assert.equal(typeof drawn.uuid, 'string');
  await rig.restart();
  const again = rig.workflows().handle(Dice, 'd1');
  assert.deepEqual(await again.query('drawn'), drawn, 'the replay answers with the journaled values');
  await again.signal('go', null);
  assert.deepEqual(await rig.finish('wf-dice', 'd1', () => again.result()), drawn);
  assert.deepEqual(
    (await again.describe()).history.slice(0, 3).map((e) => [e.t, e.v]),
    [
      ['now', drawn.now],
      ['random', drawn.random],
      ['uuid', drawn.uuid],
    ],
  );
}

/** ctx.send is a durable send whose id is its idempotency key: once, even across a restart. */
export async function sendExactlyOnce(rig: Rig): Promise<void> {
  await rig.workflows().start(Sender, 'm1', { to: 'c-m1' });
  await rig.waitsFor('wf-sender', 'm1', 'go');
  assert.equal(
    await rig.processed('c-m1', 'wf-sender/m1/0/send:counter/c-m1'),
    true,
    "the send's id is its idempotency key",
  );
  await rig.restart();
  await rig.workflows().handle(Sender, 'm1').signal('go', null);
  assert.equal(await rig.finish('wf-sender', 'm1', () => rig.workflows().handle(Sender, 'm1').result()), 'sent');
  assert.deepEqual(await rig.counter('c-m1'), { n: 1, adds: 1 }, 'handled once');
}

/** A step result over maxValueBytes fails the step (not retried) and is never written. */
export async function valueTooLarge(rig: Rig): Promise<void> {
  const h = await rig.workflows().start(Big, 'b1', { bytes: 2000 });
  await assert.rejects(
    rig.finish('wf-big', 'b1', () => h.result()),
    (err: Error & { cause?: Error }) => {
      assert.equal((err as { code?: string }).code, 'ERR_WORKFLOW_FAILED');
      assert.match(err.cause!.message, /ERR_WORKFLOW_VALUE_TOO_LARGE/);
      return true;
    },
  );
  const rec = (await rig.record('wf-big', 'b1'))!;
  assert.equal(rec.journal[0]?.e?.code, 'ERR_WORKFLOW_VALUE_TOO_LARGE');
  assert.equal(rec.journal[0]?.a, 1, 'not retried');
  // The errors journaled keep their stacks within maxValueBytes each; the 2000-byte value is not there.
  assert.ok(!JSON.stringify(rec).includes('x'.repeat(1000)), 'the large value was not stored');
  assert.ok(JSON.stringify(rec.journal[0]?.e).length <= 1024, 'the error within maxValueBytes');
  await assert.rejects(rig.workflows().start(Big, 'b2', { bytes: 1, pad: 'x'.repeat(2000) } as { bytes: number }), {
    code: 'ERR_WORKFLOW_VALUE_TOO_LARGE',
  });
  assert.equal(await rig.record('wf-big', 'b2'), undefined, 'an input too large stores nothing');
}

/**
 * A step result the stores cannot keep exactly (a class instance) fails the step at once with
 * ERR_ENTITY_UNSTORABLE and is never written; a Map of Dates before it is kept exactly; an input
 * holding a function is refused at start, storing nothing.
 */
export async function unstorableValues(rig: Rig): Promise<void> {
  const h = await rig.workflows().start(Unstorable, 'u1', { amount: 5 });
  await assert.rejects(
    rig.finish('wf-unstorable', 'u1', () => h.result()),
    (err: Error & { cause?: Error }) => {
      assert.equal((err as { code?: string }).code, 'ERR_WORKFLOW_FAILED');
      assert.match(err.cause!.message, /ERR_ENTITY_UNSTORABLE/);
      return true;
    },
  );
  const rec = (await rig.record('wf-unstorable', 'u1'))!;
  assert.deepEqual(rec.journal[0]?.v, new Map([['at', new Date(0)]]), 'a Map of Dates round-trips');
  assert.equal(rec.journal[1]?.e?.code, 'ERR_ENTITY_UNSTORABLE');
  assert.equal(rec.journal[1]?.a, 1, 'not retried');
  await assert.rejects(
    rig.workflows().start(Unstorable, 'u2', { amount: 1, f: () => 1 } as unknown as { amount: number }),
    { code: 'ERR_ENTITY_UNSTORABLE' },
  );
  assert.equal(await rig.record('wf-unstorable', 'u2'), undefined, 'an unstorable input stores nothing');
}

/** The cases every rig runs, by name. */
/**
 * An error's cause chain, stack and fields survive the journal and a restart, through the kind's
 * failure converter: the body gets its class back on the replay, the caller gets it under
 * ERR_WORKFLOW_FAILED with `cause.cause.cause` as thrown; the stored form keeps the chain.
 */
export async function errorChainAndConverter(rig: Rig): Promise<void> {
  const calls = { ...cardConverter.calls };
  await rig.workflows().start(Declined, 'd1', undefined);
  await rig.waitsFor('wf-declined', 'd1', 'go');
  await rig.restart();
  assert.equal(await rig.workflows().handle(Declined, 'd1').signal('go', 1), 'accepted');
  const err = await rig
    .finish('wf-declined', 'd1', () => rig.workflows().handle(Declined, 'd1').result())
    .then(
      () => assert.fail('the workflow fails'),
      (e: unknown) => e as Error & { code?: string },
    );
  assert.equal(err.code, 'ERR_WORKFLOW_FAILED');
  const card = err.cause;
  assert.ok(card instanceof CardError, `the caller gets the class back: ${String(card)}`);
  assert.equal(card.last4, '4242');
  assert.match(card.stack ?? '', /wf-declined|workflow_api_kinds/, 'the stack is where it was thrown');
  const gateway = card.cause as Error & { code?: string };
  assert.equal(gateway.code, 'ERR_GATEWAY');
  assert.equal((gateway.cause as Error).message, 'socket closed by peer');
  assert.equal(runsOf('wf-declined', 'd1', 0), 1, 'the step ran once: the replay read its failure');
  assert.ok(cardConverter.calls.toStored > calls.toStored && cardConverter.calls.fromStored > calls.fromStored);
  const rec = await rig.record('wf-declined', 'd1');
  assert.equal(rec?.status, 'failed');
  assert.deepEqual(rec?.error?.details, { class: 'CardError', last4: '4242' });
  assert.equal(rec?.error?.cause?.cause?.message, 'socket closed by peer');
}

export const SHARED_CASES: Readonly<Record<string, (rig: Rig) => Promise<void>>> = {
  'steps are journaled: a restart mid-workflow re-runs nothing journaled': stepsSurviveRestart,
  'start is idempotent by id; a refused input stores nothing': startIsIdempotent,
  'an id never started: ERR_WORKFLOW_NOT_FOUND for every request': unknownIdIsNotFound,
  'signals: refused (undeclared, bad payload) writing nothing, duplicates ignored, closed once ended': signalRules,
  'a failed attempt is retried, a terminal error is not': retriesAndTerminal,
  'now, random and uuid are the same across a replay': deterministicValues,
  'ctx.send is delivered exactly once, across a restart': sendExactlyOnce,
  'a step result over maxValueBytes: ERR_WORKFLOW_VALUE_TOO_LARGE, nothing written': valueTooLarge,
  'a step result or input no store keeps: ERR_ENTITY_UNSTORABLE, nothing written': unstorableValues,
  'an error chain and the kind’s failure converter survive the journal and a restart': errorChainAndConverter,
};
