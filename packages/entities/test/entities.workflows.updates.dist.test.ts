// Workflow updates across OS processes sharing one SQLite file: two members and a client-only node
// (role 'client', the API tier), each its own process (entity_node.ts). The client sends an update
// to an instance on member b and waits for its answer; while the body handles it (its step runs),
// b is killed (kill -9), or stops itself (SIGSTOP) until a survivor took the instance over and is
// resumed (SIGCONT) afterwards. The client's one `update` call gets the answer from the survivor;
// the journal holds the update taken once and answered once; asked again by its id, the same
// answer comes and nothing runs. The step killed mid-run runs again on the survivor under the same
// idempotency key (steps are at least once); the effects file (WF_EFFECTS) records each run.

import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';

import type { EntityStore, WorkflowJournalEntry } from '../src/index.js';
import type { UpdateState } from '../src/workflow/instance/updates.js';
import { EntityNode, isStopped, ownerAmong, twoMembers } from './dist_helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'ergo-entities-wfupd-dist-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Rec {
  status?: string;
  journal: WorkflowJournalEntry[];
  updates?: UpdateState[];
}

async function cluster(t: { after(fn: () => Promise<void>): void }, tag: string) {
  const effects = join(dir, `${tag}.effects`);
  writeFileSync(effects, '');
  const { nodes, names, settings, store } = await twoMembers(t, `wu${tag}`, { db: join(dir, `${tag}.db`), effects });
  const client = await EntityNode.start(`wu${tag}k${process.pid}@localhost`, { ...settings, role: 'client' });
  nodes.push(client);
  await eventually(async () => ((await client.cmd('members')) as string[]).length === 2, 'the client sees both');
  const [a, b] = nodes as [EntityNode, EntityNode];
  const key = Array.from({ length: 400 }, (_, i) => `${tag}${i}`).find((k) => ownerAmong(k, names) === b.name)!;
  return { a, b, client, store, key, effects };
}

async function record(store: EntityStore, key: string): Promise<Rec> {
  return ((await store.load({ kind: 'wfcart', key })).state ?? { journal: [] }) as Rec;
}

/** The runs of step `reserve <sku>` of `key` in the effects file: [idempotency key, node] each. */
function stepRuns(effects: string, key: string, sku: string): [string, string][] {
  return readFileSync(effects, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith(`wfcart/${key}/`) && l.includes(`/step:reserve ${sku} `))
    .map((l) => {
      const i = l.lastIndexOf(' ');
      return [l.slice(0, i), l.slice(i + 1)];
    });
}

/** The update `id` was taken once and answered once, with `answer`. */
async function answeredOnce(store: EntityStore, key: string, id: string, answer: number): Promise<void> {
  const rec = await record(store, key);
  const taken = rec.journal.filter((e) => e.t === 'update' && (e.v as { id?: string } | undefined)?.id === id);
  const replies = rec.journal.filter((e) => e.t === 'reply' && (e.v as { id?: string }).id === id);
  assert.equal(taken.length, 1, `${id} taken once`);
  assert.deepEqual(
    replies.map((e) => e.v),
    [{ id, v: answer }],
    `${id} answered once`,
  );
  assert.deepEqual(rec.updates?.find((u) => u.id === id)?.out?.v, answer);
}

test('kill -9 of the owner while the body handles an update: the client-only caller gets its answer from the survivor, taken and answered once', async (t) => {
  const { a, b, client, store, key, effects } = await cluster(t, 'k');
  assert.equal(await client.cmd('wfstart', { kind: 'wfcart', key, req: { limit: 100, stepMs: 1500 } }), true);
  const sentAt = Date.now();
  const answer = client.cmd('wfupdate', { key, req: { name: 'add', input: { sku: 'pen', qty: 2 }, updateId: 'u1' } });
  await eventually(() => stepRuns(effects, key, 'pen').length === 1, 'the step runs on the owner', {
    timeoutMs: 30_000,
  });
  assert.equal(stepRuns(effects, key, 'pen')[0]![1], b.name);
  await b.kill();
  assert.equal(await answer, 2, 'the one update call got its answer');
  console.log(`# kill -9 of the owner mid-update: answered ${Date.now() - sentAt} ms after it was sent`);
  await answeredOnce(store, key, 'u1', 2);
  const runs = stepRuns(effects, key, 'pen');
  assert.deepEqual(
    runs.map((r) => r[1]),
    [b.name, a.name],
    'the step killed mid-run ran again on the survivor',
  );
  assert.equal(runs[0]![0], runs[1]![0], 'under the same idempotency key');
  // Asked again by its id: the same answer, nothing runs.
  assert.equal(
    await client.cmd('wfupdate', { key, req: { name: 'add', input: { sku: 'pen', qty: 2 }, updateId: 'u1' } }),
    2,
  );
  assert.equal(stepRuns(effects, key, 'pen').length, 2);
  assert.equal(
    await a.cmd('wfupdate', { key, req: { name: 'add', input: { sku: 'ink', qty: 3 }, updateId: 'u2' } }),
    5,
    'the instance goes on on the survivor',
  );
});

test('SIGSTOP of the owner while the body handles an update: the survivor answers it; resumed (SIGCONT), the old owner writes nothing of it', async (t) => {
  const { a, b, client, store, key, effects } = await cluster(t, 'p');
  assert.equal(await client.cmd('wfstart', { kind: 'wfcart', key, req: { limit: 100, stepMs: 1500 } }), true);
  const answer = client.cmd('wfupdate', { key, req: { name: 'add', input: { sku: 'pen', qty: 4 }, updateId: 'p1' } });
  await eventually(() => stepRuns(effects, key, 'pen').length === 1, 'the step runs on the owner', {
    timeoutMs: 30_000,
  });
  // The owner stops itself between event-loop turns (no SQLite write lock held), its step running.
  assert.equal(await b.cmd('pause'), 'pausing');
  await eventually(() => isStopped(b.proc.pid!), 'the owner stopped itself');
  const pausedAt = Date.now();
  assert.equal(await answer, 4, 'answered while the owner is stopped');
  console.log(`# SIGSTOP of the owner mid-update: answered by the survivor ${Date.now() - pausedAt} ms later`);
  const runs = stepRuns(effects, key, 'pen');
  assert.deepEqual(
    runs.map((r) => r[1]),
    [b.name, a.name],
  );
  b.proc.kill('SIGCONT');
  // Resumed, the old owner's step returns and its activation tries to go on: its writes are
  // refused (the fencing token) or its lease check ends it first. The next update shows the record.
  assert.equal(
    await client.cmd('wfupdate', { key, req: { name: 'add', input: { sku: 'ink', qty: 1 }, updateId: 'p2' } }),
    5,
  );
  await answeredOnce(store, key, 'p1', 4);
  await answeredOnce(store, key, 'p2', 5);
  const rec = await record(store, key);
  assert.deepEqual(
    rec.journal.map((e) => `${e.t} ${e.n}`),
    [
      ...['update add | checkout', 'step reserve pen', 'reply add'],
      ...['update add | checkout', 'step reserve ink', 'reply add'],
    ],
    'one history: nothing of the paused run was written',
  );
  assert.equal(
    await client.cmd('wfupdate', { key, req: { name: 'add', input: { sku: 'pen', qty: 4 }, updateId: 'p1' } }),
    4,
    'asked again by its id',
  );
});
