// The determinism guard (issue 72 item 5): `Date.now()`, `Math.random()`, `crypto.randomUUID()`,
// timers and `fetch` in a workflow body were silent, caught only when a replay took another path.
// Now the body's own code is reported — in the first synchronous part of the body and after every
// await — while steps, compensations, outbox and query handlers, the context's own operations (a
// child's handle too) and any code that interleaves with the body (the test's, another instance's
// body, the engine's journal writes on the wall clock) go on untouched.

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';
import { LogLevel, schema, startNode } from 'ergo-ts';

import {
  DETERMINISM_GUARD_ENV,
  ErrWorkflowIncorrect,
  SqliteStore,
  defineWorkflow,
  startEntities,
} from '../src/index.js';
import { determinismGuardMode } from '../src/workflow/body/determinism.js';
import { startTestEntities } from '../src/testing/index.js';
import { LogRecords } from './log_records.js';

const dir = mkdtempSync(join(tmpdir(), 'ergo-wf-determinism-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Every unhandled rejection of this process (none may happen). */
const unhandled: unknown[] = [];
process.on('unhandledRejection', (reason) => unhandled.push(reason));

const NONDETERMINISTIC = 'ERR_WORKFLOW_NONDETERMINISTIC';
const code = (err: unknown): string | undefined => (err as { code?: string } | null)?.code;
/** 'ok' when `f` returned, else the code (or text) of what it threw. */
const probe = (f: () => unknown): string => {
  try {
    f();
    return 'ok';
  } catch (err) {
    return code(err) ?? String(err);
  }
};

const originals = { now: Date.now, random: Math.random, setTimeout: globalThis.setTimeout };

const Child = defineWorkflow(
  'det-child',
  async (ctx, n: number) => {
    await ctx.sleep(5);
    return n * 2;
  },
  { determinismGuard: 'throw' },
);

/** Probes its own calls (each must throw) around every kind of context operation (none may). */
const Strict = defineWorkflow(
  'det-strict',
  {
    determinismGuard: 'throw',
    signals: { go: schema.object({}) },
    queries: { clock: schema.number() },
    outboxes: {
      note: (m: { n: number }) => {
        Date.now();
        Math.random();
        return m.n;
      },
    },
  },
  async (ctx) => {
    const own: Record<string, string> = {};
    own.first = probe(() => Date.now());
    ctx.onQuery('clock', () => Date.now());
    ctx.log.info('det-strict %s started', ctx.id);
    const inStep = await ctx.step(
      'stamp',
      () => probe(() => [Date.now(), Math.random(), crypto.randomUUID(), performance.now()]),
      { compensate: () => void Math.random() },
    );
    ctx.compensate('undo', () => void crypto.randomUUID());
    const child = await ctx.startChild(Child, `${ctx.id}-child`, 21);
    const doubled = await child.result();
    await ctx.outbox('note', { n: ctx.random() });
    const values = [ctx.now(), ctx.random(), ctx.uuid()];
    await ctx.sleep(5);
    await ctx.signal('go', { timeoutMs: 3_600_000 }); // journaled open: the test sees it wait
    own.afterSignal = probe(() => Math.random());
    own.uuid = probe(() => crypto.randomUUID());
    own.timer = probe(() => setTimeout(() => undefined, 1));
    own.then = await ctx.step('x', () => 1).then(() => probe(() => performance.now()));
    own.entities = probe(() => ctx.entities.send({ kind: 'det-child', key: 'c' }, {}));
    await ctx.runCompensations();
    return { own, inStep, doubled, values: values.length };
  },
);

/** The same calls in a body whose guard is off: nothing is reported. */
const Loose = defineWorkflow(
  'det-loose',
  async (ctx) => {
    const t = Date.now() + Math.random();
    await ctx.sleep(5);
    return typeof (t + Date.now());
  },
  { determinismGuard: 'off' },
);

test("in 'throw' mode each call of the body's own code throws ERR_WORKFLOW_NONDETERMINISTIC, before and after awaits; its steps, handlers, compensations, child handle and the code around it are not the body (real node, SQLite, wall clock)", async (t) => {
  const store = SqliteStore.open(join(dir, 'strict.db'));
  const node = await startNode(`detstrict_${process.pid}@localhost`, {
    log: { level: 'warning', defaultLogger: { disable: true } },
  });
  const records = new LogRecords(node);
  const entities = await startEntities(node, { store, kinds: [Strict, Child, Loose] });
  t.after(async () => {
    await entities.stop();
    await node.stop();
    await store.close();
  });
  const h = await entities.workflows.start(Strict, 's1', undefined);
  await eventually(
    async () => (await h.describe()).history.some((e) => e.t === 'signal'),
    'the body waits for its signal',
  );
  // While it waits: the globals are guarded, and other code — this test, another instance's body
  // (guard off), its own query handler — calls them freely.
  assert.notEqual(Date.now, originals.now);
  assert.equal(
    probe(() => Date.now() + Math.random()),
    'ok',
  );
  assert.equal(await entities.workflows.start(Loose, 'l1', undefined).then((l) => l.result()), 'number');
  assert.equal(typeof (await h.query('clock')), 'number');
  await h.signal('go', {});
  assert.deepEqual(await h.result(), {
    own: {
      first: NONDETERMINISTIC,
      afterSignal: NONDETERMINISTIC,
      uuid: NONDETERMINISTIC,
      timer: NONDETERMINISTIC,
      then: NONDETERMINISTIC,
      entities: NONDETERMINISTIC,
    },
    inStep: 'ok',
    doubled: 42,
    values: 3,
  });
  // No guarded body runs any more: the originals are back.
  await eventually(() => Date.now === originals.now && Math.random === originals.random, 'the globals restored');
  assert.equal(globalThis.setTimeout, originals.setTimeout);
  assert.deepEqual(records.errors(), []);
  assert.deepEqual(records.lines(LogLevel.Warning, /determinism/), []);
  assert.deepEqual(unhandled, []);
});

/**
 * Four guarded calls at four sites, one of them in a loop, one through `ctx.entities`; a step's
 * own clock read and its use of `ctx.entities` are not the body's.
 */
const Warned = defineWorkflow(
  'det-warn',
  async (ctx) => {
    let sum = 0;
    for (let i = 0; i < 3; i++) sum += Math.random();
    const at = Date.now();
    await ctx.step('s', () => Date.now());
    await new Promise((resolve) => setTimeout(resolve, 1));
    const up = await ctx.step('uptime', () => ctx.entities.node.uptime()); // in a step: not reported
    return typeof (at + sum + ctx.entities.node.uptime() + up);
  },
  { determinismGuard: 'warn' },
);

test("in 'warn' mode the instance's log gets one warning per call site naming the call, the instance, the line and the ctx replacement; the body runs on", async (t) => {
  const store = SqliteStore.open(join(dir, 'warn.db'));
  const node = await startNode(`detwarn_${process.pid}@localhost`, {
    log: { level: 'warning', defaultLogger: { disable: true } },
  });
  const records = new LogRecords(node);
  const entities = await startEntities(node, { store, kinds: [Warned] });
  t.after(async () => {
    await entities.stop();
    await node.stop();
    await store.close();
  });
  for (const id of ['w1', 'w2']) {
    const h = await entities.workflows.start(Warned, id, undefined);
    assert.equal(await h.result(), 'number');
  }
  const warnings = records.lines(LogLevel.Warning, /determinism guard/);
  // w2 calls from the same sites: nothing new to say.
  assert.equal(warnings.length, 4, warnings.join('\n'));
  const expected: [RegExp, string][] = [
    [/Math\.random\(\)/, 'ctx.random()'],
    [/Date\.now\(\)/, 'ctx.now()'],
    [/setTimeout\(\)/, 'ctx.sleep(ms)'],
    [/ctx\.entities\.node\.uptime\(\)/, 'ctx.call(), ctx.send() or ctx.startChild() (journaled), or a step'],
  ];
  for (const [i, [call, use]] of expected.entries()) {
    const w = warnings[i]!;
    assert.match(w, call);
    assert.ok(w.includes('workflow det-warn/w1') && w.includes(`use ${use}`), w);
    assert.match(w, /entities\.workflows\.determinism\.test\.(js|ts):\d+:\d+/);
  }
});

test("a body that lets ERR_WORKFLOW_NONDETERMINISTIC through fails its instance with it ('throw', test kit)", async () => {
  const Fails = defineWorkflow(
    'det-fails',
    async (ctx) => {
      await ctx.sleep(1000);
      return new Date(Date.now()).toISOString();
    },
    { determinismGuard: 'throw' },
  );
  await using k = await startTestEntities({ kinds: [Fails] });
  const wf = await k.workflows.start(Fails, 'f1', undefined);
  await assert.rejects(wf.advanceUntilDone(), (err: unknown) => code(err) === 'ERR_WORKFLOW_FAILED');
  const rec = await wf.record();
  assert.equal(rec?.status, 'failed');
  assert.equal(rec?.error?.code, NONDETERMINISTIC);
  assert.match(rec?.error?.message ?? '', /workflow det-fails\/f1: Date\.now\(\) in the body .* use ctx\.now\(\)/);
});

test("a signal handler and a condition's predicate are the body's code: ERR_WORKFLOW_NONDETERMINISTIC in them ('throw', test kit)", async () => {
  const InHandler = defineWorkflow(
    'det-handler',
    { signals: { tick: schema.unknown() }, determinismGuard: 'throw' },
    async (ctx) => {
      let at = 0;
      ctx.onSignal('tick', () => {
        at = Date.now();
      });
      await ctx.condition(() => at > 0);
      return at;
    },
  );
  await using k = await startTestEntities({ kinds: [InHandler] });
  const wf = await k.workflows.start(InHandler, 'h1', undefined);
  await wf.signal('tick', null);
  await assert.rejects(wf.result(), (err: unknown) => code(err) === 'ERR_WORKFLOW_FAILED');
  const rec = await wf.record();
  assert.equal(rec?.error?.code, NONDETERMINISTIC);
  assert.match(rec?.error?.message ?? '', /Date\.now\(\) in the body .* use ctx\.now\(\)/);
});

test('the mode: the option, else ERGO_WORKFLOW_DETERMINISM_GUARD, else off under NODE_ENV=production and warn otherwise; a bad option is refused', () => {
  const saved = { guard: process.env[DETERMINISM_GUARD_ENV], env: process.env['NODE_ENV'] };
  const set = (k: string, v: string | undefined): void => {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  };
  try {
    set(DETERMINISM_GUARD_ENV, undefined);
    set('NODE_ENV', undefined);
    assert.equal(determinismGuardMode(undefined), 'warn');
    set('NODE_ENV', 'production');
    assert.equal(determinismGuardMode(undefined), 'off');
    assert.equal(determinismGuardMode('throw'), 'throw');
    set(DETERMINISM_GUARD_ENV, 'throw');
    assert.equal(determinismGuardMode(undefined), 'throw');
    assert.equal(determinismGuardMode('off'), 'off');
    set(DETERMINISM_GUARD_ENV, 'loud'); // not a mode: the default decides
    set('NODE_ENV', 'development');
    assert.equal(determinismGuardMode(undefined), 'warn');
  } finally {
    set(DETERMINISM_GUARD_ENV, saved.guard);
    set('NODE_ENV', saved.env);
  }
  assert.throws(
    () => defineWorkflow('det-bad', async () => 1, { determinismGuard: 'loud' as 'warn' }),
    (err: unknown) => ErrWorkflowIncorrect.is(err) && /determinismGuard/.test((err as Error).message),
  );
});
