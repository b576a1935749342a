// `result()` of an instance that moves between members while a caller waits (issue 71, item 5):
// the wait is a call its owner's activation answers when the instance ends; an activation that
// handed its key off (a member joined and took the key's shard, or its member drained in a
// rolling restart) ended normally with the call unanswered, and the caller waited out the call's
// timeout (25 s of wait + 5 s) before it asked the next owner. Now the call goes to the next owner
// as soon as the activation ends, and the result comes once the instance ends there. The callers
// are on a client-only node and on the member that ran the instance; each wait's calls are watched
// (a spy client), and the test asserts the result came before any of them gave up: no timing.

import { strict as assert } from 'node:assert';
import { after, test } from 'node:test';

import { schema } from 'ergo-ts';

import { WorkflowClient, defineWorkflow, type Entities, type EntitiesClient } from '../src/index.js';
import { Cluster, type Member } from './wf_cluster.js';

const Waits = defineWorkflow(
  'wfmoves',
  async (ctx) => {
    const go = await ctx.signal('go');
    return `done ${go.n}`;
  },
  { signals: { go: schema.object({ n: schema.number() }) } },
);

/**
 * A workflow client on `e` whose `result` calls are watched: `gaveUp` resolves with the error of
 * the first of them that failed (a call that waited out its timeout, the old path to the next owner).
 */
function watched(e: Entities): { client: WorkflowClient; gaveUp: Promise<unknown> } {
  let fail!: (err: unknown) => void;
  const gaveUp = new Promise<unknown>((resolve) => (fail = resolve));
  const spy: EntitiesClient = {
    node: e.node,
    call: ((to, request, options) => {
      const p = e.call(to, request, options);
      if ((request as { '~wf'?: unknown })['~wf'] === 'result') p.catch(fail);
      return p;
    }) as EntitiesClient['call'],
    send: (to, message, options) => e.send(to, message, options),
    sendDurable: (to, message, id, options) => e.sendDurable(to, message, id, options),
  };
  return { client: new WorkflowClient(spy), gaveUp };
}

/** The outputs of `waits`, or the first call of theirs that gave up, whichever comes first. */
async function firstOf(
  waits: { result: Promise<unknown>; gaveUp: Promise<unknown> }[],
): Promise<{ outputs: unknown[] } | { gaveUp: string }> {
  return Promise.race([
    Promise.all(waits.map((w) => w.result)).then((outputs) => ({ outputs })),
    ...waits.map((w) => w.gaveUp.then((err) => ({ gaveUp: String(err) }))),
  ]);
}

/** Waits for `key`'s outcome through `m` (watched), once its call is parked at the activation. */
async function waitOn(m: Member, key: string): Promise<{ result: Promise<unknown>; gaveUp: Promise<unknown> }> {
  const w = watched(m.entities);
  const result = w.client.handle(Waits, key).result();
  result.catch(() => undefined); // raced: a rejection is reported by the assertion
  // Calls from one node to one activation arrive in order: once this one is answered, the
  // `result` call before it is parked there.
  await m.entities.workflows.handle(Waits, key).describe();
  return { result, gaveUp: w.gaveUp };
}

const cluster = await Cluster.make('rm', ['a', 'b']);
after(() => cluster.stop());
const [A, B] = cluster.names as [string, string];

test('result() comes when the instance ends on the member it moved to: a member joined, then one drained', async () => {
  const a = await cluster.start(A, [Waits]);
  const client = await cluster.start(`rmclient${process.pid}@localhost`, [Waits], 'client');
  await cluster.see([a, client], [A]);

  // 1. b joins and takes the shard of `joined` (started on a, the only member then).
  const joined = cluster.keyOwnedBy(B, cluster.names, 'j');
  await client.entities.workflows.start(Waits, joined, undefined);
  const waits1 = [await waitOn(client, joined), await waitOn(a, joined)];
  const b = await cluster.start(B, [Waits]);
  await cluster.event((e) => e.node === A && e.key === joined && e.reason === 'hand-off');
  await client.entities.workflows.handle(Waits, joined).signal('go', { n: 1 });
  assert.deepEqual(await firstOf(waits1), { outputs: ['done 1', 'done 1'] });
  assert.equal((await b.entities.workflows.handle(Waits, joined).describe()).status, 'completed');

  // 2. a drains (a rolling restart's stop): `drained`, on a, moves to b.
  await cluster.see([a, b, client], [A, B]);
  const drained = cluster.keyOwnedBy(A, cluster.names, 'd');
  await client.entities.workflows.start(Waits, drained, undefined);
  const waits2 = [await waitOn(client, drained), await waitOn(b, drained)];
  const stopped = a.stop();
  await cluster.event((e) => e.node === A && e.key === drained && e.reason === 'hand-off');
  await stopped;
  await client.entities.workflows.handle(Waits, drained).signal('go', { n: 2 });
  assert.deepEqual(await firstOf(waits2), { outputs: ['done 2', 'done 2'] });
});
