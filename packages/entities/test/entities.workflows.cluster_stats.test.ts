// An operator's `stats` for the whole cluster (workflow/operator/operator.ts, `scope: 'cluster'`): two
// members and a client-only node in this process. Instances run on both members; the client's
// manager, asked as the Observer's charts ask it, answers the members' figures summed (its own
// read zero: it runs no instance), naming the nodes it summed; asked for its own figures, it
// answers zero as before. A member that stopped is left out and named as missing.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { UnhandledWatch, eventually } from '@ergo-ts/test-support';
import { ProcessID, startNode, type Atom, type Node } from 'ergo-ts';
import { createEmbeddedRegistrar } from 'ergo-ts/net';

import {
  MemoryStore,
  defineWorkflow,
  ownerOfShard,
  shardOf,
  startEntities,
  type ClusterStatsSample,
  type Entities,
  type WorkflowOperationReply,
} from '../src/index.js';
import { freeTcpUdpPort } from './dist_helpers.js';

const watch = new UnhandledWatch('workflow cluster stats');
test.before(() => watch.start());
test.after(() => watch.stop());

const Job = defineWorkflow('wfclusterjob', async (ctx, input: { fail: boolean }) => {
  await ctx.step('work', () => 1);
  if (input.fail) throw new Error('failed on purpose');
  return 'done';
});

async function ask(node: Node, request: Record<string, unknown>): Promise<WorkflowOperationReply> {
  const text = await node.call(new ProcessID('entities' as Atom, node.name), { '~entity': 'workflows', ...request });
  return JSON.parse(text as string) as WorkflowOperationReply;
}

test('stats with scope cluster: the members’ figures summed, from a client-only node too', async (t) => {
  const store = new MemoryStore();
  const port = await freeTcpUdpPort();
  const nodes: Node[] = [];
  const runtimes: Entities[] = [];
  const names = ['a', 'b'].map((x) => `wfcs${x}_${process.pid}@localhost`);
  t.after(async () => {
    for (const rt of runtimes.reverse()) await rt.stop().catch(() => undefined);
    for (const n of nodes.reverse()) await n.stop().catch(() => undefined);
  });
  const start = async (name: string, role: 'member' | 'client'): Promise<Entities> => {
    const node = await startNode(name, {
      log: { level: 'error' },
      network: {
        cookie: 'wf-cluster-stats',
        acceptors: [{ host: '127.0.0.1', port: 0 }],
        registrar: createEmbeddedRegistrar({ port, retryInterval: 100 }),
      },
    });
    nodes.push(node);
    const rt = await startEntities(node, { store, kinds: [Job], members: names, role, probeIntervalMs: 100 });
    runtimes.push(rt);
    return rt;
  };
  const a = await start(names[0]!, 'member');
  const b = await start(names[1]!, 'member');
  const client = await start(`wfcsc_${process.pid}@localhost`, 'client');
  for (const rt of [a, b, client])
    await eventually(() => rt.members().length === 2, `${rt.node.name} sees both members`, { timeoutMs: 20_000 });

  // Three instances on each member (by placement), one of each three failing.
  const keys = Array.from({ length: 200 }, (_, i) => `j${i}`);
  const on = (m: string) => keys.filter((k) => ownerOfShard(shardOf(k, 64), names) === m).slice(0, 3);
  const started = [...on(names[0]!), ...on(names[1]!)];
  assert.equal(started.length, 6);
  for (const [i, key] of started.entries()) {
    const h = await client.workflows.start(Job, key, { fail: i % 3 === 2 });
    await h.result().catch(() => undefined);
  }

  const own = await ask(client.node, { op: 'stats', workflow: Job.name });
  assert.ok(own.ok);
  assert.equal((own.value as Record<string, ClusterStatsSample>)[Job.name]!.started, 0, 'the client runs none');
  const all = await ask(client.node, { op: 'stats', workflow: Job.name, scope: 'cluster' });
  assert.ok(all.ok, JSON.stringify(all));
  const sum = (all.value as Record<string, ClusterStatsSample>)[Job.name]!;
  assert.deepEqual(
    { started: sum.started, completed: sum.completed, failed: sum.failed, nodes: sum.nodes, missing: sum.missing },
    { started: 6, completed: 4, failed: 2, nodes: [...names].sort(), missing: [] },
  );
  assert.ok(sum.stepAttempts >= 6);
  // From a member: the same sum (its own figures and the other's).
  const fromA = await ask(a.node, { op: 'stats', scope: 'cluster' });
  assert.ok(fromA.ok);
  assert.equal((fromA.value as Record<string, ClusterStatsSample>)[Job.name]!.started, 6);
  // A bad scope is refused with the code.
  const bad = await ask(client.node, { op: 'stats', scope: 'galaxy' });
  assert.ok(!bad.ok && bad.code === 'ERR_WORKFLOW_INCORRECT');
});
