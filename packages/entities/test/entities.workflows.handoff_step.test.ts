// A hand-off while a step runs (issue 71's checker, saga592: a rolling deploy moved an instance
// 19 ms after its charge started; the step was not journaled, the next owner on the patched body
// found nothing at that position, took the patched path and charged again under another key).
// Now the activation that hands off starts nothing more and waits for the step in flight (up to
// handOffTimeoutMs): its outcome is journaled there, and the next owner replays it.
// Two members in this process on one in-memory database (wf_cluster.ts); a member joins and
// takes the shard of an instance whose step is running on the first.

import { strict as assert } from 'node:assert';
import { after, test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';

import { defineWorkflow } from '../src/index.js';
import { hostName } from '../src/contract/ids.js';
import { Cluster, type Member } from './wf_cluster.js';

/** The charge calls (node, key), all waiting on one gate the test opens. */
const charges: { node: string; key: string }[] = [];
let open!: () => void;
const opened = new Promise<void>((r) => (open = r));

const Order = defineWorkflow('wf-handoff-step', async (ctx) => {
  const c = await ctx.step('charge', async ({ idempotencyKey }) => {
    charges.push({ node: ctx.entities.node.name, key: idempotencyKey });
    await opened;
    return 'c1';
  });
  const m = await ctx.step('mail', () => 'm1');
  return `${c} ${m}`;
});

const members: Member[] = [];
after(async () => {
  for (const m of members.reverse()) await m.stop().catch(() => undefined);
});

test('a member that hands an instance off while its step runs waits for the step: it runs once, the next owner replays it', async () => {
  const cluster = await Cluster.make('hs', ['a', 'b']);
  const [A, B] = cluster.names as [string, string];
  const a = await cluster.start(A, [Order]);
  members.push(a);
  await cluster.see([a], [A]);
  const key = cluster.keyOwnedBy(B, cluster.names, 'o');
  const h = await a.entities.workflows.start(Order, key, undefined);
  await eventually(() => charges.length === 1, 'the charge runs on a');
  const b = await cluster.start(B, [Order]); // takes the key's shard: a is asked to hand off
  members.push(b);
  await cluster.see([a, b], [A, B]);
  // a recomputed its shards (the key's is b's now) and its activation took the hand-off from its
  // mailbox: it still runs, waiting for the charge (before, it had stopped and b ran the charge again).
  await eventually(() => a.entities.stats().shardsLost > 0, 'a gave the shard up');
  const host = a.node.processPID(hostName(Order.name, key));
  await eventually(() => a.node.processInfo(host).mailboxSize === 0, "a's activation took the hand-off");
  assert.ok(
    a.entities.active().some((e) => e.key === key),
    'the activation waits for its step in flight instead of stopping',
  );
  open();
  assert.equal(await h.result(), 'c1 m1');
  assert.deepEqual(
    charges.map((c) => c.node),
    [A],
    'the charge ran once, on a: the hand-off waited for it and b replayed its result',
  );
  const d = await b.entities.workflows.handle(Order, key).describe();
  assert.deepEqual(
    d.history.map((e) => [e.n, e.v]),
    [
      ['charge', 'c1'],
      ['mail', 'm1'],
    ],
  );
  await cluster.event((e) => e.node === A && e.key === key && e.reason === 'hand-off');
});
