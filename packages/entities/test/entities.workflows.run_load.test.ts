// A member's bound on the runs it carries (issue 89's overload goal, body/run_load.ts): a start of
// a new instance past `maxActiveRuns` waits for room in a line (`maxWaitingStarts`) with nothing
// written, or is refused (ERR_ENTITY_OVERLOADED, retryAfterMs); a run waiting on a signal is not
// counted; a child's start by its parent is never held (the parent's room would wait on it).

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';
import { schema, startNode, type Node } from 'ergo-ts';

import { defineWorkflow, SqliteStore, startEntities, type Entities } from '../src/index.js';
import { RunLoad, runLoadOf } from '../src/workflow/body/run_load.js';

const dir = mkdtempSync(join(tmpdir(), 'ergo-wf-run-load-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let seq = 0;
async function member(
  t: { after(f: () => Promise<void>): void },
  options: { maxActiveRuns?: unknown; maxWaitingStarts?: unknown },
  kinds: Parameters<typeof startEntities>[1]['kinds'],
): Promise<{ entities: Entities; store: SqliteStore; node: Node }> {
  const store = SqliteStore.open(join(dir, `m${++seq}.db`));
  const node = await startNode(`wfrl_${process.pid}_${seq}@localhost`, { log: { level: 'panic' } });
  const entities = await startEntities(node, { store, kinds, ...(options as object) });
  t.after(async () => {
    await entities.stop();
    await node.stop();
    await store.close();
  });
  return { entities, store, node };
}

test('RunLoad: room at once under the limit; past it the line is served in order as runs leave, a wait past its time is refused with a retry-after', async () => {
  const load = new RunLoad(2, 2, 60_000);
  assert.equal(load.admit('a', 1000), undefined, 'room at once');
  load.enter('a');
  assert.equal(load.admit('b', 1000), undefined);
  load.enter('b');
  assert.equal(load.overloaded() !== undefined, true, 'full: a new start would wait or be refused');
  const order: string[] = [];
  const c = load.admit('c', 60_000)!.then((after) => order.push(`c:${String(after)}`));
  const d = load.admit('d', 60_000)!.then((after) => order.push(`d:${String(after)}`));
  assert.equal(load.waiting, 2);
  // The line is full: refused at once, with a retry-after.
  const refused = await load.admit('e', 60_000);
  assert.ok(typeof refused === 'number' && refused >= 50, `retry-after ${String(refused)}`);
  load.leave(); // a run ended: the first in line gets its room
  await c;
  assert.deepEqual(order, ['c:undefined']);
  load.enter('c'); // its run began: the room kept for it is its own
  load.leave();
  await d;
  assert.deepEqual(order, ['c:undefined', 'd:undefined']);
  assert.equal(load.waiting, 0);
  // A start whose wait passes before room comes is refused with a retry-after.
  load.enter('d');
  const late = await load.admit('f', 10);
  assert.ok(typeof late === 'number' && late >= 50);
  assert.equal(load.waiting, 0, 'it left the line');
  // No wait at all: refused at once when full.
  assert.equal(typeof (await load.admit('g', 0)), 'number');
});

test('RunLoad: room given to a start whose run never began is given to the next after a while', async () => {
  const load = new RunLoad(1, 10, 20);
  assert.equal(load.admit('a', 1000), undefined); // a repeat of a start: no run comes
  const next = load.admit('b', 60_000);
  assert.ok(next instanceof Promise);
  assert.equal(await next, undefined, 'b gets the room a never used');
});

test('RunLoad: a start asked again while its room is kept gets that room at once, not a place behind the line', async () => {
  // A start given room whose activation failed (the store unreachable in a failover) is asked
  // again by its router: queued behind the line, it waited for the room it held (issue 89).
  const load = new RunLoad(1, 10, 60_000);
  assert.equal(load.admit('a', 1000), undefined, 'room at once');
  const b = load.admit('b', 60_000);
  assert.ok(b instanceof Promise, 'b waits: the one room is kept for a');
  assert.equal(load.admit('a', 1000), undefined, "a's own room, at once");
  assert.equal(load.waiting, 1, 'b still waits');
  load.enter('a');
  load.leave();
  assert.equal(await b, undefined, 'b gets the room once a ran');
});

test("RunLoad: room given to a start is kept no longer than its caller's time: then the next in line gets it", async () => {
  // A start given room as the store went away (a failover) whose caller gave up meanwhile is
  // asked again by no one: its room was kept for ROOM_KEPT_MS all the same (issue 89).
  const load = new RunLoad(1, 10, 60_000);
  assert.equal(load.admit('a', 1000, performance.now(), 30), undefined, 'room at once; its caller has 30 ms left');
  const b = load.admit('b', 60_000);
  assert.ok(b instanceof Promise);
  await eventually(() => load.waiting === 0, "b got the room once a's caller's time ended");
  assert.equal(await b, undefined);
  assert.equal(load.snapshot().roomKept, 1, "b's");
});

const gates = new Map<string, () => void>();
const opened = (id: string): Promise<void> => new Promise<void>((resolve) => gates.set(id, resolve));
// The body itself holds (not a step: a run in a step attempt is not counted, steps have their own bound).
const Gated = defineWorkflow('wf-rl-gated', async (ctx, input: { readonly n: number }) => {
  await opened(ctx.id);
  return ctx.step('work', () => input.n);
});
const stepGates = new Map<string, () => void>();
const Waits = defineWorkflow(
  'wf-rl-waits',
  async (ctx) => {
    await ctx.signal('go');
    await ctx.step('slow', () => new Promise<void>((resolve) => stepGates.set(ctx.id, resolve)));
    return 'went';
  },
  { signals: { go: schema.unknown() } },
);

test('past maxActiveRuns a start waits for room with nothing written, and runs once a run ends; a full line refuses at once', async (t) => {
  const { entities, store } = await member(t, { maxActiveRuns: 1, maxWaitingStarts: 1 }, [Gated]);
  const wf = entities.workflows;
  const first = await wf.start(Gated, 'g1', { n: 1 });
  await eventually(() => gates.has('g1'), 'g1 runs its step');
  const load = runLoadOf(entities)!;
  assert.equal(load.active, 1);
  const second = wf.start(Gated, 'g2', { n: 2 }, { timeout: 60_000 });
  await eventually(() => load.waiting === 1, 'g2 waits for room');
  // What an operator reads: the run bound full, one start waiting, nothing refused yet.
  const held = entities.stats().workflowLoad!;
  assert.equal(held.activeRuns, 1);
  assert.equal(held.maxActiveRuns, 1);
  assert.equal(held.startsWaiting, 1);
  assert.equal(held.maxWaitingStarts, 1);
  assert.equal(held.startsAdmitted, 1);
  assert.equal(held.startsRefused, 0);
  assert.ok(held.retryAfterMs >= 50, `a start now would be told to come back: ${held.retryAfterMs}`);
  assert.equal(held.maxConcurrentSteps, 100);
  assert.equal(
    (await store.load({ kind: 'wf-rl-gated', key: 'g2' })).state,
    undefined,
    'nothing written while it waits',
  );
  // The line (1) is full: the next is refused at once, nothing written (a timeout longer than its
  // retry-after would wait it out and ask again).
  await assert.rejects(
    wf.start(Gated, 'g3', { n: 3 }, { timeout: 1000 }),
    (err: Error & { code?: string; retryAfterMs?: number }) => {
      assert.equal(err.code, 'ERR_ENTITY_OVERLOADED');
      assert.equal(typeof err.retryAfterMs, 'number');
      return true;
    },
  );
  assert.equal((await store.load({ kind: 'wf-rl-gated', key: 'g3' })).state, undefined);
  gates.get('g1')!();
  assert.equal(await first.result({ timeout: 30_000 }), 1);
  const h = await second;
  assert.equal(h.created, true);
  await eventually(() => gates.has('g2'), 'g2 runs once g1 ended');
  const after = entities.stats().workflowLoad!;
  assert.equal(after.startsHeld, 1, 'g2 was given room after waiting');
  assert.ok(after.startsRefused >= 1, 'g3 was refused');
  assert.equal(after.startsWaiting, 0);
  gates.get('g2')!();
  assert.equal(await h.result({ timeout: 30_000 }), 2);
});

test('a run waiting on a signal is not counted (another instance starts at once beside it); one in a step attempt is', async (t) => {
  const { entities } = await member(t, { maxActiveRuns: 1, maxWaitingStarts: 0 }, [Waits, Gated]);
  const wf = entities.workflows;
  const waiting = await wf.start(Waits, 'w1', undefined as never);
  const load = runLoadOf(entities)!;
  await eventually(() => load.active === 0, 'w1 waits for its signal, not counted');
  const g = await wf.start(Gated, 'g4', { n: 4 });
  await eventually(() => gates.has('g4'), 'g4 runs');
  gates.get('g4')!();
  assert.equal(await g.result({ timeout: 30_000 }), 4);
  await waiting.signal('go', null);
  await eventually(() => stepGates.has('w1'), 'w1 runs its step');
  assert.equal(load.active, 1, 'in its step attempt, counted (its member runs it)');
  await assert.rejects(wf.start(Gated, 'g5', { n: 5 }, { timeout: 1000 }), { code: 'ERR_ENTITY_OVERLOADED' });
  stepGates.get('w1')!();
  assert.equal(await waiting.result({ timeout: 30_000 }), 'went');
  await eventually(() => load.active === 0, 'none counted once it ended');
});

const Child = defineWorkflow('wf-rl-child', async (_ctx, input: { readonly n: number }) => input.n * 10);
const Parent = defineWorkflow('wf-rl-parent', async (ctx, input: { readonly n: number }) => {
  const a = await ctx.child(Child, `${ctx.id}-a`, { n: input.n });
  return a + 1;
});

test('a parent’s child start is never held for room: with maxActiveRuns 1 the parent and its child complete', async (t) => {
  const { entities } = await member(t, { maxActiveRuns: 1, maxWaitingStarts: 0 }, [Parent, Child]);
  const p = await entities.workflows.start(Parent, 'p1', { n: 4 });
  assert.equal(await p.result({ timeout: 30_000 }), 41);
});

test('maxActiveRuns and maxWaitingStarts are checked as the runtime starts: bad values refused with ERR_WORKFLOW_INCORRECT', async (t) => {
  const store = SqliteStore.open(join(dir, 'bad.db'));
  const node = await startNode(`wfrl_bad_${process.pid}@localhost`, { log: { level: 'panic' } });
  t.after(async () => {
    await node.stop();
    await store.close();
  });
  for (const bad of [0, -1, 1.5, 'many', 2 ** 31, null, false, [], Object.create(null)])
    await assert.rejects(startEntities(node, { store, kinds: [Gated], maxActiveRuns: bad as never }), {
      code: 'ERR_WORKFLOW_INCORRECT',
    });
  for (const bad of [-1, 0.5, '10', 2 ** 31, null, true, {}, Object.create(null)])
    await assert.rejects(startEntities(node, { store, kinds: [Gated], maxWaitingStarts: bad as never }), {
      code: 'ERR_WORKFLOW_INCORRECT',
    });
  // A value whose reading throws (a getter): refused with the code, not the getter's own error.
  const trap = {
    store,
    kinds: [Gated],
    get maxActiveRuns(): number {
      throw new Error('trap');
    },
  };
  await assert.rejects(startEntities(node, trap), { code: 'ERR_WORKFLOW_INCORRECT' });
});
