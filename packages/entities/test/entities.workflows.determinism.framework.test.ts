// The determinism guard reports the body's own code only (issue 78, item 2). It used to take the
// framework's code for the body's whenever that code ran in the body's async context: the
// entities clock, stats, the store's batching, the core's scheduler and pg-pool were reported in
// 'warn', and under 'throw' every body that took an update failed ERR_WORKFLOW_NONDETERMINISTIC.
// Here, on SQLite and on a real PostgreSQL server, in both modes: bodies that take updates (answer
// and fail them), signals (and a signal wait's deadline), children, sleeps, steps, compensations,
// outbox deliveries, setAttributes, entity calls and sends, and continue as new, all complete, and
// no framework call is reported; while the body's own Date.now(), setTimeout(), Math.random(),
// performance.now() and crypto.randomUUID() are, in the first synchronous part and after awaiting
// each kind of operation.

import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { pathToFileURL } from 'node:url';

import { eventually, postgresMissing, startPostgres, type Postgres } from '@ergo-ts/test-support';
import { LogLevel, defineProtocol, schema, startNode } from 'ergo-ts';

import {
  Entity,
  PostgresStore,
  SqliteStore,
  defineEntity,
  defineWorkflow,
  entity,
  startEntities,
  terminalError,
  type Entities,
  type EntityStore,
} from '../src/index.js';
import { counterKind } from './counter.js';
import { LogRecords } from './log_records.js';

const dir = mkdtempSync(join(tmpdir(), 'ergo-wf-det-framework-'));
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

/** An entity of the application the bodies call and send to: its handlers read the clock (not a body's code). */
const ClockProtocol = defineProtocol('fw-clock', {
  messages: { tick: schema.object({}) },
  calls: { now: { request: schema.literal('now'), reply: schema.number() } },
});

class ClockEntity extends Entity<typeof ClockProtocol, { ticks: number }> {
  override handleMessage(): void {
    this.state = { ticks: this.state.ticks + Math.round(Math.random()) + 1 };
  }
  override handleCall(): number {
    return Date.now() + performance.now() * 0;
  }
}

const Clock = defineEntity('fw-clock', {
  protocol: ClockProtocol,
  entity: ClockEntity,
  initialState: () => ({ ticks: 0 }),
  passivateAfterMs: 0,
});

/** The workflows of one run (`tag` keeps the warn mode's once-per-site memory apart between runs). */
function kinds(tag: string, mode: 'throw' | 'warn') {
  const Child = defineWorkflow(
    `fw-child-${tag}`,
    async (ctx, n: number) => {
      await ctx.sleep(5);
      return ctx.step('double', () => n * 2 + Date.now() * 0);
    },
    { determinismGuard: mode },
  );

  /** Every kind of operation, none of the body's own calls guarded: nothing may be reported. */
  const Busy = defineWorkflow(
    `fw-busy-${tag}`,
    {
      determinismGuard: mode,
      input: schema.object({ round: schema.number() }),
      signals: { go: schema.object({}), never: schema.object({}) },
      queries: { total: schema.number() },
      updates: { add: { input: schema.number(), output: schema.number() } },
      attributes: { stage: 'string' },
      outboxes: { note: (m: { n: number }) => void (m.n + Date.now() + Math.random()) },
    },
    async (ctx, input: { round: number }) => {
      let total = 0;
      ctx.onQuery('total', () => total + Date.now() * 0);
      ctx.log.info('busy %s round %d', ctx.id, input.round);
      await ctx.setAttributes({ stage: `round ${input.round}` });
      if (input.round === 1) {
        const u = await ctx.update('add');
        await u.reply(u.input + 100);
        return { round: 1, total: u.input };
      }
      for (;;) {
        const u = await ctx.update('add');
        if (u.input < 0) {
          await u.fail(terminalError(Object.assign(new Error('below 0'), { code: 'ERR_BELOW' })));
          break;
        }
        total += u.input;
        await u.reply(total);
      }
      await ctx.signal('go');
      const timedOut = await ctx.signal('never', { timeoutMs: 5 }).then(
        () => 'signalled',
        (err: unknown) => code(err),
      );
      await ctx.sleep(5);
      const stamped = await ctx.step('stamp', () => Date.now() + Math.random() > 0, {
        compensate: () => void crypto.randomUUID(),
      });
      ctx.compensate('undo', () => void Date.now());
      await ctx.outbox('note', { n: total }); // delivered before the run continues
      const child = await ctx.startChild(Child, `${ctx.id}-c1`, 2);
      const doubled = (await child.result()) + (await ctx.child(Child, `${ctx.id}-c2`, 3));
      const read = await ctx.call(entity(Clock, 'c'), 'now');
      await ctx.send(entity(Clock, 'c'), {});
      const values = [ctx.now(), ctx.random(), ctx.uuid()].length;
      await ctx.runCompensations();
      await ctx.setAttributes({ stage: `continued: ${timedOut} ${stamped} ${doubled} ${typeof read} ${values}` });
      return ctx.continueAsNew({ round: 1 });
    },
  );

  /** The body's own calls, first and after awaiting each kind of operation: each is reported. */
  const Own = defineWorkflow(
    `fw-own-${tag}`,
    {
      determinismGuard: mode,
      signals: { go: schema.object({}) },
      updates: { add: { input: schema.number(), output: schema.number() } },
    },
    async (ctx) => {
      const seen: string[] = [];
      seen.push(probe(() => Date.now()));
      const u = await ctx.update('add');
      seen.push(probe(() => clearTimeout(setTimeout(() => undefined, 0))));
      await u.reply(u.input);
      seen.push(probe(() => Math.random()));
      await ctx.sleep(5);
      seen.push(probe(() => performance.now()));
      await ctx.step('s', () => 1);
      seen.push(probe(() => crypto.randomUUID()));
      await ctx.signal('go');
      seen.push(probe(() => Date.now()));
      return seen;
    },
  );
  return { Child, Busy, Own };
}

/** Runs every body on `store` in `mode`; returns the determinism warnings logged. */
async function runAll(tag: string, store: EntityStore, mode: 'throw' | 'warn'): Promise<string[]> {
  const { Child, Busy, Own } = kinds(tag, mode);
  const node = await startNode(`detfw_${tag}_${process.pid}@localhost`, {
    log: { level: 'warning', defaultLogger: { disable: true } },
  });
  const records = new LogRecords(node);
  const entities = await startEntities(node, { store, kinds: [Child, Busy, Own, Clock] });
  try {
    const busy = await entities.workflows.start(Busy, 'b1', { round: 0 });
    assert.equal(await busy.update('add', 1), 1);
    assert.equal(await busy.update('add', 2), 3);
    await assert.rejects(busy.update('add', -1), (err: Error) => code(err.cause) === 'ERR_BELOW');
    await busy.signal('go', {});
    await eventually(async () => (await busy.describe()).run === 2, 'the instance continues as new');
    assert.equal(await busy.update('add', 5), 105);
    assert.deepEqual(await busy.result(), { round: 1, total: 5 });
    const first = (await busy.describe()).previousRuns?.map((r) => r.status);
    assert.deepEqual(first, ['continued']);

    const own = await entities.workflows.start(Own, 'o1', undefined);
    assert.equal(await own.update('add', 7), 7);
    await own.signal('go', {});
    const expected = mode === 'throw' ? NONDETERMINISTIC : 'ok';
    assert.deepEqual(await own.result(), Array(6).fill(expected));
    assert.deepEqual(records.errors(), []);
    assert.deepEqual(unhandled, []);
    return records.lines(LogLevel.Warning, /determinism guard/);
  } finally {
    await entities.stop();
    await node.stop();
  }
}

/** The calls of Own, in order, as the warnings name them. */
const OWN_CALLS = [
  'Date.now()',
  'setTimeout()',
  'Math.random()',
  'performance.now()',
  'crypto.randomUUID()',
  'Date.now()',
];

function assertOwnOnly(tag: string, warnings: string[]): void {
  // Only Own's six calls: none of the framework's, none in Busy, its child or the entity.
  assert.equal(warnings.length, OWN_CALLS.length, warnings.join('\n'));
  for (const [i, call] of OWN_CALLS.entries()) {
    const w = warnings[i]!;
    assert.ok(w.includes(`workflow fw-own-${tag}/o1: ${call} in the body`), w);
    assert.match(w, /entities\.workflows\.determinism\.framework\.test\.(js|ts):\d+:\d+/);
  }
}

for (const mode of ['throw', 'warn'] as const) {
  test(`SQLite, '${mode}': bodies using every operation complete and nothing of the framework is reported; the body's own calls are, after each kind of await`, async () => {
    const tag = `sqlite-${mode}`;
    const store = SqliteStore.open(join(dir, `${tag}.db`));
    try {
      const warnings = await runAll(tag, store, mode);
      if (mode === 'throw') assert.deepEqual(warnings, []);
      else assertOwnOnly(tag, warnings);
    } finally {
      await store.close();
    }
  });
}

const missing = postgresMissing();
let server: Postgres | undefined;
after(async () => server?.stop());

for (const mode of ['throw', 'warn'] as const) {
  test(`PostgreSQL, '${mode}': bodies using every operation complete and nothing of the framework nor of pg and pg-pool is reported; the body's own calls are`, async (t) => {
    if (missing !== undefined) return t.skip(missing);
    server ??= await startPostgres();
    const tag = `pg-${mode}`;
    const store = await PostgresStore.open(server.url, { tablePrefix: `det_${mode}_` });
    try {
      const warnings = await runAll(tag, store, mode);
      if (mode === 'throw') assert.deepEqual(warnings, []);
      else assertOwnOnly(tag, warnings);
    } finally {
      await store.close();
    }
  });
}

/** A module at `path` (made here) whose `stamp()` reads the clock and randomness. */
async function stamper(path: string): Promise<{ stamp(): number }> {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, 'export const stamp = () => Date.now() + Math.random();\n');
  return (await import(pathToFileURL(path).href)) as { stamp(): number };
}

test("the caller decides: the framework's code the body calls directly (not through ctx), a library in node_modules and a guarded function given as a callback are not reported; the body's own helper is, and so is a framework package's non-shipped file (its tests)", async () => {
  // A library (node_modules), a framework package linked from outside node_modules (what it ships,
  // dist/src, and its tests, dist/test) and a helper of the application.
  const linked = join(dir, 'linked');
  mkdirSync(linked, { recursive: true });
  writeFileSync(join(linked, 'package.json'), JSON.stringify({ name: '@ergo-ts/linked', type: 'module' }));
  const library = await stamper(join(dir, 'app', 'node_modules', 'clock-lib', 'index.mjs'));
  const shipped = await stamper(join(linked, 'dist', 'src', 'index.mjs'));
  const itsTest = await stamper(join(linked, 'dist', 'test', 'helper.mjs'));
  const helper = await stamper(join(dir, 'app', 'src', 'helper.mjs'));

  const Counter = counterKind();
  let client: Entities | undefined;
  const Direct = defineWorkflow(
    'fw-direct',
    async (ctx) => {
      // The node's own client, reached around ctx: its calls run the core's scheduler, the call's
      // timer and the store in this body's context. Not a replay-safe thing to do, but not the body's code.
      const set = await client!.call(entity(Counter, 'k'), { set: 4 });
      await ctx.sleep(1);
      return set + (await client!.call(entity(Counter, 'k'), 'get'));
    },
    { determinismGuard: 'throw' },
  );
  const Libraries = defineWorkflow(
    'fw-libraries',
    async (ctx) => {
      await ctx.sleep(1);
      // Given as a callback itself: no code of the body's calls it.
      const late = await Promise.resolve().then(Date.now);
      return [library, shipped, itsTest, helper].map((m) => typeof (m.stamp() + late)).join(' ');
    },
    { determinismGuard: 'warn' },
  );
  const store = SqliteStore.open(join(dir, 'direct.db'));
  const node = await startNode(`detfw_direct_${process.pid}@localhost`, {
    log: { level: 'warning', defaultLogger: { disable: true } },
  });
  const records = new LogRecords(node);
  client = await startEntities(node, { store, kinds: [Counter, Direct, Libraries] });
  try {
    assert.equal(await (await client.workflows.start(Direct, 'd1', undefined)).result(), 8);
    const libs = await client.workflows.start(Libraries, 'l1', undefined);
    assert.equal(await libs.result(), 'number number number number');
    const warnings = records.lines(LogLevel.Warning, /determinism guard/);
    // Two calls in each of the two files of user code: the framework package's test and the helper.
    assert.equal(warnings.length, 4, warnings.join('\n'));
    for (const [i, file] of [
      'dist/test/helper.mjs',
      'dist/test/helper.mjs',
      'src/helper.mjs',
      'src/helper.mjs',
    ].entries()) {
      assert.ok(warnings[i]!.includes('workflow fw-libraries/l1'), warnings[i]);
      assert.ok(warnings[i]!.includes(`${file}:1:`), warnings[i]);
    }
    assert.deepEqual(records.errors(), []);
    assert.deepEqual(unhandled, []);
  } finally {
    await client.stop();
    await node.stop();
    await store.close();
  }
});
