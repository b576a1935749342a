// The entities manager's operator requests beyond listing and acting on instances, as the Observer
// and the MCP server send them (they do not import this package): `stats` answers this node's
// workflow counters per kind (what the Observer's workflow charts sample each second), and the
// `deadLetters` requests list, retry and drop the durable messages set apart after
// `inbox.maxAttempts` failed attempts. Answers are JSON text; refusals keep their code.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { UnhandledWatch, eventually } from '@ergo-ts/test-support';
import { ProcessID, startNode, type Atom, type Node } from 'ergo-ts';

import {
  Entity,
  MemoryStore,
  defineEntity,
  startEntities,
  type DeadLetter,
  type WorkflowOperationReply,
  type WorkflowStatsSample,
} from '../src/index.js';
import { CounterProtocol, type CounterState } from './counter.js';
import { OpsFlow, setChargeFails } from './ops_workflows.js';

const watch = new UnhandledWatch('entities operator requests');
test.before(() => watch.start());
test.after(() => watch.stop());

let n = 0;
async function startedNode(t: { after(fn: () => Promise<void>): void }): Promise<Node> {
  // 'error': a handler that throws in an activation is logged at panic level (expected here).
  const node = await startNode(`oprq${++n}_${process.pid}@localhost`, { log: { level: 'error' } });
  t.after(() => node.stop());
  return node;
}

/** Asks the node's entities manager, as the Observer and the MCP server do. */
async function ask(node: Node, request: Record<string, unknown>): Promise<WorkflowOperationReply> {
  const text = await node.call(new ProcessID('entities' as Atom, node.name), request);
  assert.equal(typeof text, 'string');
  return JSON.parse(text as string) as WorkflowOperationReply;
}

test('stats: the workflow counters of this node per kind, summed over steps; an unknown kind is refused', async (t) => {
  const node = await startedNode(t);
  const entities = await startEntities(node, { store: new MemoryStore(), kinds: [OpsFlow] });
  t.after(() => entities.stop());
  const before = await ask(node, { '~entity': 'workflows', op: 'stats' });
  assert.ok(before.ok);
  const zero = (before.value as Record<string, WorkflowStatsSample>).opsflow!;
  assert.equal(zero.started, 0);
  assert.equal(zero.open, 0);

  setChargeFails(true);
  const wf = entities.workflows;
  await (await wf.start(OpsFlow, 'c1', { mode: 'complete' })).result();
  await assert.rejects((await wf.start(OpsFlow, 'f1', { mode: 'fail' })).result(), { code: 'ERR_WORKFLOW_FAILED' });
  const sleeping = await wf.start(OpsFlow, 's1', { mode: 'sleep' });
  await eventually(async () => (await sleeping.describe()).timers.length === 1, 's1 sleeps');

  const r = await ask(node, { '~entity': 'workflows', op: 'stats', workflow: 'opsflow' });
  assert.ok(r.ok, JSON.stringify(r));
  const s = (r.value as Record<string, WorkflowStatsSample>).opsflow!;
  assert.deepEqual(Object.keys(r.value as object), ['opsflow']);
  assert.equal(s.started, 3);
  assert.equal(s.completed, 1);
  assert.equal(s.failed, 1);
  assert.equal(s.cancelled, 0);
  assert.equal(s.open, 1, 's1 sleeps in an activation here');
  assert.equal(s.stepFailures, 1, 'charge failed for good once');
  assert.ok(s.stepAttempts >= 4, `attempts ${s.stepAttempts}`);
  assert.equal(s.outboxPending, 0);
  const stats = entities.stats().workflows.opsflow!;
  assert.equal(s.started, stats.started, 'the same figures the metrics exporter reads');

  const refused = await ask(node, { '~entity': 'workflows', op: 'stats', workflow: 'nope' });
  assert.ok(!refused.ok && refused.code === 'ERR_WORKFLOW_INCORRECT', JSON.stringify(refused));
  setChargeFails(false);
});

/** Throws on `{ add: 13 }` while `poisoned`. */
let poisoned = true;
class Picky extends Entity<typeof CounterProtocol, CounterState> {
  override handleMessage(m: { add: number }): void {
    if (m.add === 13 && poisoned) throw new Error('13 is unlucky');
    this.state = { n: this.state.n + m.add, adds: this.state.adds + 1 };
  }
  override handleCall(): number {
    return this.state.n;
  }
}
const picky = defineEntity('oppicky', {
  protocol: CounterProtocol,
  entity: Picky,
  initialState: (): CounterState => ({ n: 0, adds: 0 }),
  passivateAfterMs: 0,
});

test('deadLetters: list, retry and drop through the manager; bad requests are refused with their code', async (t) => {
  poisoned = true;
  const store = new MemoryStore();
  const id = { kind: 'oppicky', key: 'k' };
  await store.enqueue(id, 'm1', { add: 13 });
  await store.enqueue(id, 'm2', { add: 13 });
  await store.enqueue(id, 'm3', { add: 2 });
  const node = await startedNode(t);
  const entities = await startEntities(node, {
    store,
    kinds: [picky],
    inbox: { pollMs: 20, retryCapMs: 40, maxAttempts: 2 },
  });
  t.after(() => entities.stop());
  const state = async (): Promise<number | undefined> => ((await store.load(id)).state as CounterState)?.n;
  await eventually(async () => (await state()) === 2, 'the message after the poison ones handled');

  const listed = await ask(node, { '~entity': 'deadLetters', op: 'list', kind: 'oppicky' });
  assert.ok(listed.ok, JSON.stringify(listed));
  const dead = listed.value as DeadLetter[];
  assert.deepEqual(
    dead.map((d) => [d.kind, d.key, d.id, d.attempts, d.message]),
    [
      ['oppicky', 'k', 'm1', 2, { add: 13 }],
      ['oppicky', 'k', 'm2', 2, { add: 13 }],
    ],
  );
  assert.match(dead[0]!.error, /13 is unlucky/);
  const one = await ask(node, { '~entity': 'deadLetters', op: 'list', limit: 1 });
  assert.ok(one.ok && (one.value as DeadLetter[]).length === 1);

  poisoned = false;
  assert.deepEqual(await ask(node, { '~entity': 'deadLetters', op: 'retry', kind: 'oppicky', key: 'k', id: 'm1' }), {
    ok: true,
    value: true,
  });
  await eventually(async () => (await state()) === 15, 'the retried message handled');
  assert.deepEqual(await ask(node, { '~entity': 'deadLetters', op: 'drop', kind: 'oppicky', key: 'k', id: 'm2' }), {
    ok: true,
    value: true,
  });
  assert.equal(await store.processed(id, 'm2'), true, 'dropped: counted as processed');
  assert.deepEqual(await ask(node, { '~entity': 'deadLetters', op: 'list' }), { ok: true, value: [] });
  assert.deepEqual(await ask(node, { '~entity': 'deadLetters', op: 'drop', kind: 'oppicky', key: 'k', id: 'm2' }), {
    ok: true,
    value: false,
  });

  for (const bad of [
    { op: 'explode' },
    { op: 'retry', kind: 'oppicky', key: 'k' },
    { op: 'drop', kind: 'oppicky', id: 'm1' },
    { op: 'list', limit: 0 },
    { op: 'list', limit: 'x' },
    { op: 'list', kind: 7 },
  ]) {
    const r = await ask(node, { '~entity': 'deadLetters', ...bad });
    assert.ok(!r.ok && r.code === 'ERR_ENTITY_INCORRECT', `${JSON.stringify(bad)} → ${JSON.stringify(r)}`);
  }
});
