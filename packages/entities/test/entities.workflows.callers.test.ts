// What peers and callers can do to the workflow engine (issue 71 item 12):
//   - a signal or query named by a BigInt or a cycle, a payload or input whose getter throws:
//     the activation panicked 6 times and the caller got ERR_ENTITY_UNAVAILABLE; now refused with
//     ERR_WORKFLOW_INCORRECT, by the client before anything is sent and by the instance itself
//     for a raw request (as a peer may send);
//   - `result({ timeout })` rejected with ERR_ENTITY_UNAVAILABLE (the types say
//     ERR_WORKFLOW_TIMEOUT), and after `entities.stop()` or `node.stop()` a `result()` never
//     settled: now ERR_WORKFLOW_TIMEOUT, and ERR_ENTITY_STOPPED once the runtime stopped;
//   - the workflow gateway's process was ended by a peer's message (a charlist with code point
//     0x110000 or 200,000 elements, a getter that throws) and nothing restarted it.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';
import { schema, startNode, type Node, type PID } from 'ergo-ts';

import { MemoryStore, defineWorkflow, startEntities, startWorkflowGateway, type Entities } from '../src/index.js';

let n = 0;

const Waits = defineWorkflow(
  'wf-callers',
  async (ctx) => {
    ctx.onQuery('state', () => 'waiting');
    const s = await ctx.signal('go');
    return s.v;
  },
  { signals: { go: schema.object({ v: schema.number() }) }, queries: { state: schema.string() } },
);

async function setup(t: { after(fn: () => Promise<void>): void }): Promise<{ node: Node; entities: Entities }> {
  const store = new MemoryStore();
  const node = await startNode(`wfcallers${++n}_${process.pid}@localhost`, { log: { level: 'panic' } });
  const entities = await startEntities(node, { store, kinds: [Waits] });
  t.after(async () => {
    await entities.stop();
    await node.stop();
  });
  return { node, entities };
}

const cyclic = (): unknown => {
  const o: { self?: unknown } = {};
  o.self = o;
  return o;
};
const unreadable = (): unknown => ({
  get v(): number {
    throw new Error('no value for you');
  },
});

test('names that are no strings and payloads that cannot be read: ERR_WORKFLOW_INCORRECT, from the client and from the instance itself', async (t) => {
  const { entities } = await setup(t);
  const h = await entities.workflows.start(Waits, 'w1', undefined);
  const incorrect = { code: 'ERR_WORKFLOW_INCORRECT' };
  await assert.rejects(h.signal(10n as never, { v: 1 } as never), incorrect);
  await assert.rejects(h.signal(cyclic() as never, { v: 1 } as never), incorrect);
  await assert.rejects(h.signal('go', unreadable() as never), incorrect);
  await assert.rejects(h.query(10n as never), incorrect);
  await assert.rejects(h.query(cyclic() as never), incorrect);
  // Raw requests, as another node may send them: the instance refuses them (no panic).
  const raw = (request: unknown) => entities.call({ kind: Waits.name, key: 'w1' }, request as never);
  await assert.rejects(raw({ '~wf': 'signal', name: 10n, payload: { v: 1 } }), incorrect);
  await assert.rejects(raw({ '~wf': 'signal', name: cyclic(), payload: { v: 1 } }), incorrect);
  await assert.rejects(raw({ '~wf': 'signal', name: 'toString', payload: { v: 1 } }), incorrect);
  await assert.rejects(raw({ '~wf': 'signal', name: 'go', payload: unreadable() }), incorrect);
  await assert.rejects(raw({ '~wf': 'query', name: 10n }), incorrect);
  await assert.rejects(raw({ '~wf': 'query', name: 'constructor' }), incorrect);
  await assert.rejects(entities.workflows.start(Waits, 'w2', unreadable() as never), incorrect);
  // The instance went on throughout: one activation, still waiting, and it takes a good signal.
  assert.equal(await h.query('state'), 'waiting');
  assert.equal(await h.signal('go', { v: 7 }), 'accepted');
  assert.equal(await h.result(), 7);
  assert.equal((await h.describe()).runs, 1, 'never re-activated');
});

test('result({ timeout }) rejects with ERR_WORKFLOW_TIMEOUT, as its types say', async (t) => {
  const { entities } = await setup(t);
  const h = await entities.workflows.start(Waits, 't1', undefined);
  await assert.rejects(h.result({ timeout: 50 }), { code: 'ERR_WORKFLOW_TIMEOUT' });
});

test('result() rejects with ERR_ENTITY_STOPPED when its runtime stops (entities.stop(), node.stop())', async (t) => {
  for (const how of ['entities', 'node'] as const) {
    const { node, entities } = await setup(t);
    const h = await entities.workflows.start(Waits, `s-${how}`, undefined);
    assert.equal(await h.query('state'), 'waiting');
    // Their rejections are expected before the stop resolves: handled from the start.
    const waiting = assert.rejects(h.result(), { code: 'ERR_ENTITY_STOPPED' });
    const bounded = assert.rejects(h.result({ timeout: 600_000 }), { code: 'ERR_ENTITY_STOPPED' });
    if (how === 'entities') await entities.stop();
    else await node.stop();
    await waiting;
    await bounded;
    await assert.rejects(h.result(), { code: 'ERR_ENTITY_STOPPED' }, 'a result() asked after the stop');
  }
});

test("the gateway reads any peer's message defensively, answers a coded error and goes on; its supervisor restarts it", async (t) => {
  const { node, entities } = await setup(t);
  await entities.workflows.start(Waits, 'g1', undefined);
  const gw: PID = await startWorkflowGateway(node, entities);
  const incorrect = { code: 'ERR_WORKFLOW_INCORRECT' };
  const signal = { signal: 'go', workflow: Waits.name, id: 'g1' };
  await assert.rejects(node.call('workflows', { ...signal, workflow: [0x110000] }), incorrect);
  await assert.rejects(node.call('workflows', { ...signal, id: new Array(200_000).fill(0x61) }), incorrect);
  const getter = {
    ...signal,
    get workflow(): string {
      throw new Error('no workflow for you');
    },
  };
  await assert.rejects(node.call('workflows', getter), incorrect);
  node.send('workflows', getter); // a plain message: logged and dropped
  node.send('workflows', { ...signal, workflow: [0x110000] });
  await assert.rejects(node.call('workflows', { ...signal, payload: unreadable() }), incorrect);
  assert.ok(node.processPID('workflows').equals(gw), 'the same process answered throughout');
  assert.equal(await node.call('workflows', { ...signal, payload: { v: 1 }, signalId: 'p1' }), 'accepted');

  node.kill(gw);
  await eventually(() => {
    try {
      return !node.processPID('workflows').equals(gw);
    } catch {
      return false; // not registered again yet
    }
  }, 'the gateway is started again under its name');
  assert.equal(await node.call('workflows', { ...signal, payload: { v: 1 }, signalId: 'p1' }), 'duplicate');
  assert.equal(await entities.workflows.handle(Waits, 'g1').result(), 1);
});
