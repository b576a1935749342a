// What a workflow body is thrown, and what it may throw (issue 71 items 7, 11 and 12's bounds):
//   - the docs' own timeout pattern, `if (!ErrWorkflowTimeout.is(err)) throw err` after
//     `ctx.signal(name, { timeoutMs })`, always rethrew: the body got a plain Error carrying the
//     code (live and replayed from the journal). Every error thrown into a body is an ErgoError now;
//   - a step, compensation, outbox handler or query handler that threw a value `String()` cannot
//     convert (`Object.create(null)`, an object whose toString throws) ended the node's OS process
//     with an unhandled rejection, and a body that threw one left its instance `running` for ever;
//   - `ctx.sleep(1e300)` was accepted and the reminder then refused it at every save (the
//     activation panicked for ever); a step's timeoutMs or a retry's wait past a Node timer's
//     range fired after 1 ms; a sleep or signal wait longer than 24.8 days re-armed its timer
//     every millisecond. Refused at the call now (ERR_WORKFLOW_INCORRECT), timers kept in range.

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';
import { ErgoError, schema, startNode } from 'ergo-ts';

import { wallClock, type EntitiesClock } from '../src/contract/clock.js';
import {
  ErrWorkflowIncorrect,
  ErrWorkflowStepFailed,
  ErrWorkflowTimeout,
  SqliteStore,
  defineWorkflow,
  terminalError,
  type OutboxInfo,
} from '../src/index.js';
import { startEntitiesWith } from '../src/entities.js';
import { startTestEntities } from '../src/testing/index.js';

/** Every unhandled rejection of this process: one is what ended a node's OS process. */
const unhandled: unknown[] = [];
process.on('unhandledRejection', (reason) => unhandled.push(reason));

const HOUR = 3_600_000;
const code = (err: unknown): string | undefined => (err as { code?: string } | null)?.code;
/** `err`'s kind and code, as a body saw it. */
const seen = (err: unknown): string => `${err instanceof ErgoError ? 'ErgoError' : 'not an ErgoError'} ${code(err)}`;

const Caught = defineWorkflow(
  'wf-err-caught',
  async (ctx) => {
    const saw: string[] = [];
    try {
      await ctx.signal('go', { timeoutMs: 60_000 });
    } catch (err) {
      if (!ErrWorkflowTimeout.is(err)) throw err; // the docs' pattern
      saw.push(seen(err));
    }
    try {
      await ctx.step('declined', () => {
        throw terminalError(new Error('card declined'));
      });
    } catch (err) {
      if (!ErrWorkflowStepFailed.is(err)) throw err;
      saw.push(seen(err));
    }
    await ctx.sleep(HOUR); // restarted here: the body replays the two above from the journal
    return saw;
  },
  { signals: { go: schema.object({}) } },
);

test("the docs' timeout pattern works: a signal's timeout (and a step's failure) is an ErgoError the sentinel matches, live and replayed", async () => {
  const expected = ['ErgoError ERR_WORKFLOW_TIMEOUT', 'ErgoError ERR_WORKFLOW_STEP_FAILED'];
  {
    await using k = await startTestEntities({ kinds: [Caught], leaseTtlMs: HOUR });
    const wf = await k.workflows.start(Caught, 'live', undefined);
    assert.deepEqual(await wf.advanceUntilDone(), expected);
  }
  await using k = await startTestEntities({ kinds: [Caught], leaseTtlMs: HOUR });
  const wf = await k.workflows.start(Caught, 'replayed', undefined);
  await k.workflows.runUntilIdle();
  k.advanceTime(60_000);
  await k.fireDueReminders();
  await eventually(async () => (await wf.record())?.journal.some((e) => e.t === 'sleep') === true, 'the body sleeps');
  await k.restart();
  assert.deepEqual(await wf.advanceUntilDone(), expected, 'the same after a replay from the journal');
  assert.ok((await wf.record())!.runs >= 2, 'the body was replayed');
});

/** Values `String()` cannot convert. */
const nullProto = (): unknown => Object.create(null);
const hostile = (): unknown => ({
  toString(): string {
    throw new Error('no text for you');
  },
});

const delivered: number[] = [];
const Throws = defineWorkflow(
  'wf-err-throws',
  async (ctx, input: { readonly mode: string }) => {
    ctx.onQuery('bad', () => {
      throw nullProto();
    });
    switch (input.mode) {
      case 'step':
        return ctx.step('s', () => Promise.reject(nullProto()), { retry: false });
      case 'retried': {
        let n = 0;
        return ctx.step('s', () => (++n < 3 ? Promise.reject(hostile()) : 'third time'), {
          retry: { initialMs: 1 },
        });
      }
      case 'compensation': {
        await ctx.step('reserve', () => 'r1', {
          compensate: () => {
            throw hostile();
          },
        });
        try {
          await ctx.runCompensations();
        } catch (err) {
          return seen(err);
        }
        return 'compensated';
      }
      case 'outbox':
        await ctx.outbox('mail', 'hello');
        return 'sent';
      case 'body':
        throw nullProto();
      default:
        await ctx.signal('never');
        return 'signalled';
    }
  },
  {
    signals: { never: schema.object({}) },
    queries: { bad: schema.unknown() },
    outboxes: {
      mail: (_m: string, info: OutboxInfo) => {
        delivered.push(info.attempt);
        if (info.attempt === 1) throw nullProto();
      },
    },
  },
);

test('any thrown value: steps, retries, compensations, outbox and query handlers, and a body that throw one end as errors; the process goes on', async () => {
  await using k = await startTestEntities({ kinds: [Throws], leaseTtlMs: HOUR });
  const start = (id: string) => k.workflows.start(Throws, id, { mode: id });

  await assert.rejects((await start('step')).advanceUntilDone(), (err: Error & { cause?: Error }) => {
    assert.equal(code(err), 'ERR_WORKFLOW_FAILED');
    assert.match(err.cause!.message, /ERR_THROWN_VALUE/);
    return true;
  });
  assert.equal(await (await start('retried')).advanceUntilDone(), 'third time');
  // runCompensations runs every one and then throws naming those that failed for good.
  assert.equal(await (await start('compensation')).advanceUntilDone(), 'ErgoError ERR_WORKFLOW_COMPENSATION_FAILED');
  assert.equal(await (await start('outbox')).advanceUntilDone(), 'sent');
  assert.deepEqual(delivered, [1, 2], 'the delivery that threw was retried');
  const body = await start('body');
  await assert.rejects(body.advanceUntilDone(), { code: 'ERR_WORKFLOW_FAILED' });
  assert.equal((await body.record())?.status, 'failed', 'not left running');

  const waiting = await start('query');
  await k.workflows.runUntilIdle();
  await assert.rejects(waiting.query('bad'), { code: 'ERR_THROWN_VALUE' });
  await assert.rejects(body.query('bad'), { code: 'ERR_THROWN_VALUE' }, 'an ended instance, replayed');
  assert.deepEqual(unhandled, []);
});

const Bounds = defineWorkflow(
  'wf-err-bounds',
  async (ctx) => {
    const codes: Record<string, string | undefined> = {};
    const tryIt = async (what: string, f: () => unknown): Promise<void> => {
      try {
        await f();
        codes[what] = 'accepted';
      } catch (err) {
        codes[what] = ErrWorkflowIncorrect.is(err) ? 'ERR_WORKFLOW_INCORRECT' : seen(err);
      }
    };
    await tryIt('sleep(1e300)', () => ctx.sleep(1e300));
    await tryIt('sleep({ until: 1e300 })', () => ctx.sleep({ until: 1e300 }));
    await tryIt('sleep(null)', () => ctx.sleep(null as never));
    await tryIt('signal timeoutMs 1e300', () => ctx.signal('go', { timeoutMs: 1e300 }));
    await tryIt('signal named toString', () => ctx.signal('toString' as never));
    await tryIt('step timeoutMs 2^31', () => ctx.step('a', () => 1, { timeoutMs: 2 ** 31 }));
    await tryIt('step timeoutMs -1', () => ctx.step('b', () => 1, { timeoutMs: -1 }));
    await tryIt('step retry.maxMs 1e300', () => ctx.step('c', () => 1, { retry: { maxMs: 1e300 } }));
    await tryIt('query named 10n', () => ctx.onQuery(10n as never, (() => 1) as never));
    await tryIt('outbox named constructor', () => ctx.outbox('constructor' as never, 1 as never));
    await tryIt('a year-long sleep', () => ctx.sleep(365 * 86_400_000));
    return codes;
  },
  { signals: { go: schema.object({}) } },
);

test('bounds are checked at the call: sleeps and deadlines past what a reminder holds, timers past a Node timer, undeclared names', async () => {
  await using k = await startTestEntities({ kinds: [Bounds], leaseTtlMs: HOUR });
  const wf = await k.workflows.start(Bounds, 'b', undefined);
  const codes = await wf.advanceUntilDone();
  const { ['a year-long sleep']: year, ...refused } = codes;
  assert.equal(year, 'accepted');
  for (const [what, c] of Object.entries(refused)) assert.equal(c, 'ERR_WORKFLOW_INCORRECT', what);
  assert.equal((await wf.record())?.status, 'completed');
  assert.throws(() => defineWorkflow('wf-err-bad-retry', async () => 1, { retry: { maxMs: 1e300 } }), {
    code: 'ERR_WORKFLOW_INCORRECT',
  });
  assert.throws(() => defineWorkflow('wf-err-bad-resume', async () => 1, { resumeAfterMs: 1e300 }), {
    code: 'ERR_WORKFLOW_INCORRECT',
  });
});

const dir = mkdtempSync(join(tmpdir(), 'ergo-entities-wf-errors-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const Long = defineWorkflow(
  'wf-err-long',
  async (ctx, input: { readonly sleep: boolean }) => {
    if (input.sleep) await ctx.sleep(30 * 86_400_000);
    else await ctx.signal('go', { timeoutMs: 30 * 86_400_000 });
    return 'done';
  },
  { signals: { go: schema.object({}) } },
);

test('a sleep or a signal wait of 30 days arms no timer longer than a Node timer holds (one would fire after 1 ms, again and again)', async (t) => {
  const asked: number[] = [];
  const clock: EntitiesClock = {
    ...wallClock,
    setTimeout: (fn, ms) => {
      asked.push(ms);
      return wallClock.setTimeout(fn, Math.min(ms, 2 ** 31 - 1)); // what Node would do is not done here
    },
  };
  const store = SqliteStore.open(join(dir, 'long.db'));
  const node = await startNode(`wferrlong_${process.pid}@localhost`, { log: { level: 'panic' } });
  const entities = await startEntitiesWith(node, { store, kinds: [Long] }, { clock });
  t.after(async () => {
    await entities.stop();
    await node.stop();
    await store.close();
  });
  for (const sleep of [true, false]) {
    const h = await entities.workflows.start(Long, `l-${sleep}`, { sleep });
    await eventually(
      async () => (await h.describe()).timers.length === 1 && (await h.describe()).active,
      'the instance waits, with its timer',
    );
  }
  assert.deepEqual(
    asked.filter((ms) => ms > 2 ** 31 - 1),
    [],
  );
});
