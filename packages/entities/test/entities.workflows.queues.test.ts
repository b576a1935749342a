// Workflow queues (queues.ts): a step's queue, its limits and its waiting work, on the test kit
// (MemoryStore, test clock) and on SQLite and PostgreSQL (wall clock). A queue's concurrency and
// per-member limit hold (the attempts past them wait, shown in describe() with their queue,
// position and what holds them, and listed by `workflows.queue(name).waiting()`); waiting work is
// granted in priority order; a rate limit lets `limit` attempts start per period (the kit moves
// its clock past the period; the wall-clock rigs see the next one wait); a queue this member does
// not serve waits and says so; bad queue options are refused with ERR_WORKFLOW_INCORRECT.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';

import { defineWorkflow, type WorkflowClient } from '../src/index.js';
import type { WorkflowRunningOperation } from '../src/workflow/model/record.js';
import { startTestEntities } from '../src/testing/index.js';
import { onEveryRig, type RigCases } from './workflow_rigs.js';

const HOUR = 3_600_000;

/** The attempts running now, the most seen at once, and the order they started in (by tag). */
const seen = { running: 0, max: 0, started: [] as string[] };
/** Gates a `hold` step waits at, by tag (opened by the test). */
const gates = new Map<string, () => void>();
const opened = new Set<string>();

function open(tag: string): void {
  opened.add(tag);
  gates.get(tag)?.();
}

interface QInput {
  readonly tag: string;
  readonly queue?: string;
  readonly priority?: number;
  /** Waits at its gate (else it returns at once). */
  readonly hold?: boolean;
}

/** One step in the queue the input names; it waits at its gate when told to. */
const WfQ = defineWorkflow('wfq', { determinismGuard: 'throw' }, async (ctx, input: QInput): Promise<string> => {
  return ctx.step(
    'work',
    async () => {
      seen.running++;
      seen.max = Math.max(seen.max, seen.running);
      seen.started.push(input.tag);
      try {
        if (input.hold === true && !opened.has(input.tag)) await new Promise<void>((r) => gates.set(input.tag, r));
        return input.tag;
      } finally {
        seen.running--;
      }
    },
    {
      ...(input.queue === undefined ? {} : { queue: input.queue }),
      ...(input.priority === undefined ? {} : { priority: input.priority }),
    },
  );
});

/** Every step of this kind is in queue `two` unless it names its own. */
const WfKindQ = defineWorkflow('wfkindq', { queue: 'two', priority: 3 }, async (ctx, input: QInput) =>
  ctx.step('work', () => input.tag),
);

/** An activity in queue `two` (served here: it runs here) and one in `gpu` (not served here: it waits). */
const WfAct = defineWorkflow(
  'wfact',
  { activities: { echo: (input: { tag: string }, info) => `${input.tag}#${info.attempt}` } },
  async (ctx, input: { tag: string; queue: string }) =>
    ctx.activity<string>('echo', { tag: input.tag }, { queue: input.queue }),
);

const QUEUES = {
  serve: ['two', 'pm', 'one', 'slow'],
  queues: {
    two: { concurrency: 2 },
    pm: { perMember: 1 },
    one: { concurrency: 1 },
    slow: { rate: { limit: 2, periodMs: HOUR } },
  },
  pollMs: 20,
};

/** The queued entry of `tag`'s step in its describe(), once it waits (and says `why`, when given). */
async function queued(
  w: WorkflowClient,
  tag: string,
  why?: string,
): Promise<NonNullable<WorkflowRunningOperation['queued']>> {
  return eventually(
    async () => {
      const q = (await w.handle(WfQ, tag).describe()).running?.find((x) => x.queued !== undefined)?.queued;
      return why === undefined || q?.waiting === why ? q : undefined;
    },
    `${tag} waits in its queue${why === undefined ? '' : `: ${why}`}`,
  );
}

const started = (n: number) => eventually(() => seen.started.length >= n || undefined, `${n} started`);

const CASES: RigCases = {
  async 'a concurrency limit of 2: two run, the rest wait in order and say why'(rig) {
    const w = rig.workflows();
    for (const tag of ['a', 'b', 'c', 'd']) await w.start(WfQ, tag, { tag, queue: 'two', hold: true });
    await started(2);
    const waiting = await eventually(async () => {
      const ws = await w.queue('two').waiting();
      return ws.length === 2 ? ws : undefined;
    }, 'two wait');
    assert.deepEqual(
      waiting.map((x) => x.position),
      [1, 2],
    );
    const q = await queued(w, waiting[0]!.id, 'waiting for queue two: the concurrency limit (2) is reached');
    assert.equal(q.queue, 'two');
    assert.equal(q.position, 1);
    assert.equal(seen.started.length, 2);
    for (const tag of ['a', 'b', 'c', 'd']) open(tag);
    for (const tag of ['a', 'b', 'c', 'd']) assert.equal(await w.handle(WfQ, tag).result(), tag);
    assert.equal(seen.max, 2);
    assert.deepEqual(await w.queue('two').waiting(), []);
  },

  async 'a per-member limit of 1: one runs, the next waits for it'(rig) {
    const w = rig.workflows();
    await w.start(WfQ, 'p1', { tag: 'p1', queue: 'pm', hold: true });
    await started(1);
    await w.start(WfQ, 'p2', { tag: 'p2', queue: 'pm' });
    await queued(w, 'p2', 'waiting for queue pm: the per-member limit (1) is reached');
    assert.equal(w.queue('pm').running(), 1);
    open('p1');
    assert.equal(await w.handle(WfQ, 'p2').result(), 'p2');
    assert.deepEqual(seen.started, ['p1', 'p2']);
    assert.equal(seen.max, 1);
  },

  async 'waiting work is granted in priority order (lower first), then first come'(rig) {
    const w = rig.workflows();
    await w.start(WfQ, 'x0', { tag: 'x0', queue: 'one', hold: true });
    await started(1);
    const rest = [
      { tag: 'x1', priority: 5 },
      { tag: 'x2', priority: 1 },
      { tag: 'x3', priority: 5 },
      { tag: 'x4', priority: -1 },
    ];
    for (const r of rest) await w.start(WfQ, r.tag, { ...r, queue: 'one' });
    await eventually(async () => (await w.queue('one').waiting()).length === 4 || undefined, 'four wait');
    assert.deepEqual(
      (await w.queue('one').waiting()).map((x) => [x.id, x.position, x.priority]),
      [
        ['x4', 1, -1],
        ['x2', 2, 1],
        ['x1', 3, 5],
        ['x3', 4, 5],
      ],
    );
    open('x0');
    for (const r of rest) await w.handle(WfQ, r.tag).result();
    assert.deepEqual(seen.started, ['x0', 'x4', 'x2', 'x1', 'x3']);
  },

  async 'a rate limit of 2 per hour: two start, the third waits for the next window'(rig) {
    const w = rig.workflows();
    for (const tag of ['r1', 'r2', 'r3']) await w.start(WfQ, tag, { tag, queue: 'slow' });
    await started(2);
    const third = ['r1', 'r2', 'r3'].find((t) => !seen.started.includes(t))!;
    const q = await queued(w, third, 'waiting for queue slow: the rate limit (2 per 3600000 ms) is reached');
    assert.equal(q.position, 1);
    assert.equal(seen.started.length, 2);
    if (rig.advanceTime === undefined) return; // the wall clock: the hour is not waited out
    rig.advanceTime(HOUR);
    for (const tag of ['r1', 'r2', 'r3']) assert.equal(await w.handle(WfQ, tag).result(), tag);
  },

  async 'a queue this member does not serve waits, and says so'(rig) {
    const w = rig.workflows();
    await w.start(WfQ, 'g1', { tag: 'g1', queue: 'gpu' });
    const q = await queued(w, 'g1', 'waiting for queue gpu: this member does not serve it');
    assert.deepEqual(q, {
      queue: 'gpu',
      position: 1,
      priority: 0,
      waiting: 'waiting for queue gpu: this member does not serve it',
    });
    assert.equal(w.queue('gpu').served, false);
    assert.equal(w.queue('two').served, true);
    assert.deepEqual(w.queue('two').limits, { concurrency: 2 });
    assert.equal(seen.started.length, 0);
    await w.handle(WfQ, 'g1').cancel('no gpu here');
    await assert.rejects(w.handle(WfQ, 'g1').result(), { code: 'ERR_WORKFLOW_CANCELLED' });
    assert.deepEqual(await w.queue('gpu').waiting(), []);
  },

  async 'an activity runs here when this member serves its queue; else it waits for a live member that does'(rig) {
    const w = rig.workflows();
    await w.start(WfAct, 'a1', { tag: 'a1', queue: 'two' });
    assert.equal(await w.handle(WfAct, 'a1').result(), 'a1#1');
    await w.start(WfAct, 'a2', { tag: 'a2', queue: 'gpu' });
    const q = await eventually(async () => {
      const r = (await w.handle(WfAct, 'a2').describe()).running?.find((x) => x.queued !== undefined);
      return r?.queued;
    }, 'a2 waits for a serving member');
    assert.deepEqual(q, {
      queue: 'gpu',
      position: 1,
      priority: 0,
      waiting: 'waiting for queue gpu: no live member serves it',
    });
    assert.deepEqual(
      (await w.queue('gpu').waiting()).map((x) => [x.id, x.step]),
      [['a2', 'echo']],
    );
    await w.handle(WfAct, 'a2').cancel('no gpu anywhere');
    await assert.rejects(w.handle(WfAct, 'a2').result(), { code: 'ERR_WORKFLOW_CANCELLED' });
  },

  async "a kind's queue and priority hold for its steps"(rig) {
    const w = rig.workflows();
    await w.start(WfQ, 'k0', { tag: 'k0', queue: 'two', hold: true });
    await w.start(WfQ, 'k1', { tag: 'k1', queue: 'two', hold: true });
    await started(2);
    await w.start(WfKindQ, 'k2', { tag: 'k2' });
    const ws = await eventually(async () => {
      const l = await w.queue('two').waiting();
      return l.length === 1 ? l : undefined;
    }, 'the kind step waits');
    assert.equal(ws[0]!.kind, 'wfkindq');
    assert.equal(ws[0]!.priority, 3);
    open('k0');
    assert.equal(await w.handle(WfKindQ, 'k2').result(), 'k2');
    open('k1');
  },
};

function fresh(): void {
  Object.assign(seen, { running: 0, max: 0, started: [] });
  gates.clear();
  opened.clear();
}

onEveryRig('workflow queues', CASES, [WfQ, WfKindQ, WfAct], fresh, { workflowQueues: QUEUES });

test('bad queue options are refused with ERR_WORKFLOW_INCORRECT', async () => {
  const bad = [
    { queues: { a: { concurrency: 0 } } },
    { queues: { a: { perMember: 1.5 } } },
    { queues: { a: { rate: { limit: 2 } } } },
    { serve: 'gpu' },
    { serve: [''] },
  ];
  for (const workflowQueues of bad)
    await assert.rejects(startTestEntities({ kinds: [WfQ], workflowQueues: workflowQueues as never }), {
      code: 'ERR_WORKFLOW_INCORRECT',
    });
  assert.throws(() => defineWorkflow('wfbadq', { queue: '' }, async () => 1), { code: 'ERR_WORKFLOW_INCORRECT' });
  assert.throws(() => defineWorkflow('wfbadp', { priority: 0.5 }, async () => 1), { code: 'ERR_WORKFLOW_INCORRECT' });
  await using k = await startTestEntities({ kinds: [WfQ] });
  assert.throws(() => k.entities.workflows.queue(''), { code: 'ERR_WORKFLOW_INCORRECT' });
});
