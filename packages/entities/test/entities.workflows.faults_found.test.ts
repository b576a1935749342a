// What the workflow fault checker (wf_faults.ts) found, each as a minimal in-process test:
//   - a signal sent while the body's wait for an earlier, already-kept signal was not yet saved
//     went to that wait, ahead of the earlier one (consumed out of order);
//   - a journal write that failed (a store error, a stale token: the activation ends) reached the
//     body as an ordinary error: a body that catches it ran its compensations, with their outside
//     effects, though the saga then completed on the next activation;
//   - a durable sleep woke 1 ms before its `until` (Node timers may fire a millisecond early by
//     the wall clock);
//   - a signal re-sent with its id after the instance had ended was refused ERR_WORKFLOW_CLOSED
//     instead of answered 'duplicate', so a sender retrying after a lost acknowledgement could
//     not tell it had arrived.

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { schema, startNode } from 'ergo-ts';

import type { EntitiesClock } from '../src/contract/clock.js';
import { SqliteStore, defineWorkflow, type EntityStore } from '../src/index.js';
import { startEntitiesWith } from '../src/entities.js';

const dir = mkdtempSync(join(tmpdir(), 'ergo-entities-wf-found-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

/** A store whose writes of one key can be held or failed once, by a test. */
interface Hooks {
  /** Called before each write; may return a promise to wait for, or throw to fail it. */
  beforeWrite?: (r: Parameters<EntityStore['write']>[0]) => Promise<void> | void;
}

async function setup(
  t: { after(fn: () => Promise<void>): void },
  kinds: unknown[],
  hooks: Hooks = {},
  clock?: EntitiesClock,
) {
  const real = SqliteStore.open(join(dir, `f${++n}.db`));
  const store = new Proxy(real, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (prop !== 'write' || typeof v !== 'function') return typeof v === 'function' ? v.bind(target) : v;
      return async (r: Parameters<EntityStore['write']>[0]) => {
        await hooks.beforeWrite?.(r);
        return (v as EntityStore['write']).call(target, r);
      };
    },
  });
  const node = await startNode(`wffound${n}_${process.pid}@localhost`, { log: { level: 'panic' } });
  const entities = await startEntitiesWith(
    node,
    { store, kinds: kinds as never, leaseScope: 'key' },
    clock === undefined ? {} : { clock },
  );
  t.after(async () => {
    await entities.stop();
    await node.stop();
    await real.close();
  });
  return { entities };
}

const journalNames = (r: { state?: unknown }): string[] =>
  ((r.state as { journal?: { n: string }[] } | undefined)?.journal ?? []).map((e) => e.n);

test('a signal sent while the wait for a kept one is being saved does not overtake it', async (t) => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const Two = defineWorkflow(
    'wftwo',
    async (ctx) => {
      await ctx.step('busy', () => gate);
      const a = await ctx.signal('item');
      const b = await ctx.signal('item');
      return [a.v, b.v];
    },
    { signals: { item: schema.object({ v: schema.string() }) } },
  );
  let hold: Promise<void> | undefined;
  let unhold!: () => void;
  const { entities } = await setup(t, [Two], {
    // The write journaling the step 'busy' waits until the second signal was sent.
    beforeWrite: (r) => {
      if (hold === undefined && journalNames(r).includes('busy')) {
        hold = new Promise<void>((res) => (unhold = res));
        return hold;
      }
    },
  });
  const h = await entities.workflows.start(Two, 'x', undefined);
  assert.equal(await h.signal('item', { v: 'first' }, { id: 's1' }), 'accepted'); // kept: the body is busy
  release();
  while (hold === undefined) await new Promise((r) => setImmediate(r));
  const second = h.signal('item', { v: 'second' }, { id: 's2' });
  await new Promise((r) => setImmediate(r));
  unhold();
  assert.equal(await second, 'accepted');
  assert.deepEqual(await h.result({ timeout: 10_000 }), ['first', 'second']);
});

test('a journal write that fails ends the run: a body catching the error runs no compensation', async (t) => {
  const undone: string[] = [];
  const Saga = defineWorkflow(
    'wfsagafail',
    async (ctx) => {
      await ctx.step('reserve', () => 'r1', { compensate: (r) => void undone.push(r) });
      try {
        await ctx.step('charge', () => true);
      } catch {
        await ctx.runCompensations();
        return 'rolled-back';
      }
      return 'done';
    },
    { resumeAfterMs: 200 },
  );
  let failed = false;
  const { entities } = await setup(t, [Saga], {
    beforeWrite: (r) => {
      if (!failed && journalNames(r).includes('charge')) {
        failed = true;
        throw Object.assign(new Error('connection reset by peer'), { code: 'ECONNRESET' });
      }
    },
  });
  const h = await entities.workflows.start(Saga, 'y', undefined);
  assert.equal(await h.result({ timeout: 20_000 }), 'done');
  assert.ok(failed, 'the write of charge failed once');
  assert.deepEqual(undone, [], 'no compensation ran for a saga that completed');
});

test('a durable sleep does not end before its until, even when the timer fires a millisecond early', async (t) => {
  // The wall clock, with timers that fire early (Node's may by 1 ms, by Date.now(); 5 here, to be sure).
  const early: EntitiesClock = {
    now: () => Date.now(),
    setTimeout: (fn, ms) => setTimeout(fn, Math.max(0, ms - 5)).unref(),
    clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  };
  const Nap = defineWorkflow('wfnap', async (ctx) => {
    const until = ctx.now() + 500;
    await ctx.sleep({ until });
    return await ctx.step('after', () => Date.now() - until);
  });
  const { entities } = await setup(t, [Nap], {}, early);
  const h = await entities.workflows.start(Nap, 'z', undefined);
  const late = await h.result({ timeout: 10_000 });
  assert.ok(late >= 0, `the step after the sleep ran ${-late} ms before its until`);
});

test('a signal re-sent with its id after the instance ended is a duplicate, not refused', async (t) => {
  const One = defineWorkflow('wfone', async (ctx) => (await ctx.signal('item')).v, {
    signals: { item: schema.object({ v: schema.string() }) },
  });
  const { entities } = await setup(t, [One]);
  const h = await entities.workflows.start(One, 'w', undefined);
  assert.equal(await h.signal('item', { v: 'a' }, { id: 'once' }), 'accepted');
  assert.equal(await h.result({ timeout: 10_000 }), 'a');
  assert.equal(await h.signal('item', { v: 'a' }, { id: 'once' }), 'duplicate');
});
