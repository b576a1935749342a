// Workflow queues seen from a client-only node (`role: 'client'`, queues.ts, activities.ts), three
// nodes in this process over the network on one store: member a serves queue `gpu` (concurrency
// 1), member b serves none of it, the client c serves nothing and runs no step. Three instances
// owned by a hold gpu's slot with one attempt and wait with two. The client answers from the
// members: `queue('gpu')` is not served there, `waiting()` lists a's two, `cluster()` gives gpu's
// limits, who serves it (a) and what runs (1); its manager's `waiting` and `queues` requests (what
// the Observer's Queues page asks) answer the members' waiting attempts and queues — never "served
// here", never "nothing waits"; its operator `list` marks the two waiting instances `queued`
// (queue, member, why). A member still answers its own. A bad queue name is refused with
// ERR_WORKFLOW_INCORRECT.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { eventually, freeTcpUdpPort } from '@ergo-ts/test-support';
import { ProcessID, startNode, type Atom, type Node } from 'ergo-ts';
import { createEmbeddedRegistrar } from 'ergo-ts/net';

import {
  ENTITIES_DEFAULTS,
  MemoryStore,
  defineWorkflow,
  startEntities,
  type Entities,
  type QueuedWork,
} from '../src/index.js';
import { ownerAmong } from './dist_helpers.js';

/** The held attempts' releases. */
const gates: (() => void)[] = [];
let finished = false;

const Render = defineWorkflow('qcrender', async (ctx, _input: null) =>
  ctx.step(
    'render',
    () =>
      new Promise<string>((resolve) => {
        if (finished) resolve('rendered');
        else gates.push(() => resolve('rendered'));
      }),
    { queue: 'gpu' },
  ),
);

interface Row {
  name: string;
  limits: unknown;
  served: boolean;
  running: number;
  servedBy?: string[];
  members?: string[];
  missing?: string[];
}

test("a client-only node's queues are the members': not served there, their waiting attempts, limits and servers", async (t) => {
  const port = await freeTcpUdpPort();
  const network = () => ({
    cookie: 'queues-client',
    acceptors: [{ host: '127.0.0.1', port: 0 }],
    registrar: createEmbeddedRegistrar({ port, retryInterval: 100 }),
  });
  const store = new MemoryStore();
  const names = ['a', 'b'].map((x) => `qcl${x}${process.pid}@localhost`).sort();
  const [a, b] = names as [string, string];
  const nodes: Node[] = [];
  const runtimes: Entities[] = [];
  t.after(async () => {
    finished = true;
    for (const open of gates) open();
    for (const rt of runtimes.reverse()) await rt.stop().catch(() => undefined);
    for (const n of nodes.reverse()) await n.stop().catch(() => undefined);
  });
  for (const [i, name] of names.entries()) {
    const node = await startNode(name, { log: { level: 'error' }, network: network() });
    nodes.push(node);
    const workflowQueues = { serve: i === 0 ? ['gpu'] : [], queues: { gpu: { concurrency: 1 } }, pollMs: 20 };
    runtimes.push(
      await startEntities(node, { store, kinds: [Render], members: names, probeIntervalMs: 100, workflowQueues }),
    );
  }
  const clientNode = await startNode(`qclc${process.pid}@localhost`, { log: { level: 'error' }, network: network() });
  nodes.push(clientNode);
  const client = await startEntities(clientNode, {
    store,
    kinds: [Render],
    members: names,
    role: 'client',
    probeIntervalMs: 100,
  });
  runtimes.push(client);
  for (const rt of runtimes)
    await eventually(() => rt.members().length === 2, `${rt.node.name} sees both members`, { timeoutMs: 20_000 });

  // Three instances on a: one holds gpu's slot, two wait for it.
  const keys = Array.from({ length: 200 }, (_, i) => `r${i}`)
    .filter((k) => ownerAmong(k, names) === a)
    .slice(0, 3);
  for (const key of keys) await client.workflows.start(Render, key, null);
  await eventually(() => gates.length === 1 || undefined, 'one attempt runs', { timeoutMs: 20_000 });
  const view = client.workflows.queue('gpu');
  const waiting = await eventually(
    async () => {
      const w = await view.waiting();
      return w.length === 2 ? w : undefined;
    },
    'two wait, listed from the client',
    { timeoutMs: 20_000 },
  );
  assert.deepEqual(
    waiting.map((w) => [w.member, w.position, w.waiting]),
    [
      [a, 1, 'waiting for queue gpu: the concurrency limit (1) is reached'],
      [a, 2, 'waiting for queue gpu: the concurrency limit (1) is reached'],
    ],
  );
  assert.equal(view.served, false, 'a client serves nothing');
  assert.equal(view.running(), 0, 'nothing runs on the client');
  const seen = await view.cluster();
  assert.deepEqual(seen, {
    name: 'gpu',
    limits: { concurrency: 1 },
    servedBy: [a],
    running: 1,
    members: names,
    missing: [],
  });
  // A queue no member names: nobody serves it (both list what they serve), no limits, nothing runs.
  assert.deepEqual(await client.workflows.queue('tpu').cluster(), {
    name: 'tpu',
    limits: {},
    servedBy: [],
    running: 0,
    members: names,
    missing: [],
  });

  // What the Observer's Queues page asks of the client's manager: the members' answers.
  const manager = (node: string) => new ProcessID(ENTITIES_DEFAULTS.name as Atom, node as Atom);
  const asked = (await clientNode.call(manager(clientNode.name), { '~wfq': 'waiting' })) as QueuedWork[];
  assert.deepEqual(
    asked.map((w) => [w.queue, w.member, w.kind, w.position]),
    [
      ['gpu', a, 'qcrender', 1],
      ['gpu', a, 'qcrender', 2],
    ],
  );
  const rows = (await clientNode.call(manager(clientNode.name), { '~wfq': 'queues' })) as Row[];
  assert.deepEqual(
    rows.map((r) => [r.name, r.served, r.servedBy, r.running, r.limits]),
    [
      ['default', false, names, 0, {}],
      ['gpu', false, [a], 1, { concurrency: 1 }],
    ],
  );
  await assert.rejects(clientNode.call(manager(clientNode.name), { '~wfq': 'queues', queue: 5 }), {
    code: 'ERR_WORKFLOW_INCORRECT',
  });
  // An operator's list (the Observer's Workflows list) marks the two waiting, from the members' queues.
  const listed = JSON.parse(
    String(
      await clientNode.call(manager(clientNode.name), { '~entity': 'workflows', op: 'list', workflow: 'qcrender' }),
    ),
  ) as { ok: boolean; value: { items: { id: string; status: string; queued?: QueuedWork[] }[] } };
  assert.ok(listed.ok);
  const marked = listed.value.items.filter((w) => w.queued !== undefined);
  assert.deepEqual(marked.map((w) => w.id).sort(), waiting.map((w) => w.id).sort());
  for (const w of marked) {
    assert.equal(w.status, 'running');
    assert.deepEqual(
      w.queued!.map((q) => [q.queue, q.member, q.step, q.waiting]),
      [['gpu', a, 'render', 'waiting for queue gpu: the concurrency limit (1) is reached']],
    );
  }
  assert.equal(listed.value.items.length, 3);

  // A member answers its own: a serves gpu and holds its slot; b serves it not.
  const onA = (await clientNode.call(manager(a), { '~wfq': 'queues' })) as Row[];
  assert.deepEqual(
    onA.find((r) => r.name === 'gpu'),
    { name: 'gpu', limits: { concurrency: 1 }, served: true, running: 1 },
  );
  const onB = (await clientNode.call(manager(b), { '~wfq': 'queues' })) as Row[];
  assert.equal(onB.find((r) => r.name === 'gpu')?.served, false);

  finished = true;
  for (const open of gates.splice(0)) open();
  for (const key of keys) assert.equal(await client.workflows.handleOf('qcrender', key).result(), 'rendered');
});
