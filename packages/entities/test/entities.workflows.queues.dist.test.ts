// Workflow queues across OS processes (queues.ts, activities.ts; members are entity_node.ts, the
// workflows queue_kinds.ts's), on one SQLite file and on PostgreSQL:
// - an activity in a queue only one member serves runs there, for bodies on the others; with that
//   member killed it waits, and describe() says no live member serves its queue; it runs there
//   once the member is back;
// - a concurrency limit of 3 holds under 100 concurrent starters on 3 members: the most attempts
//   seen running at once (each marks itself in a directory while it holds its slot) is 3, never more;
// - a slot held by a member killed with kill -9 is freed when its lease ends: a step of another
//   member waiting for it (describe() says why) then runs, and so does the killed member's own
//   instance, resumed on a survivor.

import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { eventually, postgresMissing, startPostgres } from '@ergo-ts/test-support';

import type { WorkflowDescription } from '../src/index.js';
import { EntityNode, freeTcpUdpPort, ownerAmong, seeMembers, type ClusterSettings } from './dist_helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'ergo-entities-queues-dist-'));
after(() => rmSync(dir, { recursive: true, force: true }));
/** A wait across the nodes on a loaded machine (an event, looked at every few ms). */
const LONG = { timeoutMs: 90_000 };

let pg: { url: string; stop(): Promise<void> } | undefined;
after(async () => {
  await pg?.stop();
});

/**
 * Starts three members with the queues `queues` (the runtime's workflowQueues; an array: one per
 * member), their attempts marked under `qdir`.
 */
async function threeMembers(
  t: { after(fn: () => Promise<void>): void },
  stem: string,
  db: string,
  prefix: string | undefined,
  queues: unknown,
  qdir: string,
  lease: { leaseMs: number; renewMs: number } = { leaseMs: 1500, renewMs: 300 },
): Promise<{ nodes: EntityNode[]; names: string[]; start(i: number): Promise<EntityNode> }> {
  const names = ['a', 'b', 'c'].map((n) => `${stem}${n}${process.pid}@localhost`);
  const settings: ClusterSettings = {
    registrar: await freeTcpUdpPort(),
    members: names,
    db,
    ...lease,
    passivateMs: 0,
    leaseScope: 'shard',
    ...(prefix === undefined ? {} : { prefix }),
  };
  const nodes: EntityNode[] = [];
  t.after(async () => {
    for (const n of nodes) await n.stop();
  });
  const start = async (i: number): Promise<EntityNode> => {
    // The fixture reads both from its environment (EntityNode passes this process's on).
    process.env.ENT_QUEUES = JSON.stringify(Array.isArray(queues) ? queues[i] : queues);
    process.env.WF_QDIR = qdir;
    try {
      const n = await EntityNode.start(names[i]!, settings);
      nodes.push(n);
      return n;
    } finally {
      delete process.env.ENT_QUEUES;
      delete process.env.WF_QDIR;
    }
  };
  for (let i = 0; i < names.length; i++) await start(i);
  await seeMembers(nodes);
  return { nodes, names, start };
}

/** The counts of attempts seen running, and where each ran, from `<qdir>/seen.log`. */
function seenLog(qdir: string): { counts: number[]; nodes: Set<string> } {
  const lines = readFileSync(join(qdir, 'seen.log'), 'utf8').trim().split('\n');
  const parts = lines.map((l) => l.split(' '));
  return { counts: parts.map((p) => Number(p[0])), nodes: new Set(parts.map((p) => p[2]!)) };
}

async function limitUnderLoad(t: { after(fn: () => Promise<void>): void }, stem: string, db: string, prefix?: string) {
  const qdir = join(dir, `${stem}-load`);
  // A longer lease than the others here: a member starved of CPU past its lease time (a loaded
  // machine) loses its slots and the limit can be passed while its attempt runs on (documented);
  // this test is of the limit, not of pauses.
  const { nodes } = await threeMembers(t, stem, db, prefix, { queues: { q: { concurrency: 3 } }, pollMs: 10 }, qdir, {
    leaseMs: 8000,
    renewMs: 1000,
  });
  const ids = Array.from({ length: 100 }, (_, i) => `${stem}w${i}`);
  // 100 starters at once, spread over the three members; each instance runs on its key's owner.
  const created = await Promise.all(
    ids.map((key, i) =>
      nodes[i % 3]!.cmd('wfstart', { wf: 'wfqueued', key, req: { tag: key, queue: 'q', holdMs: 20 } }),
    ),
  );
  assert.ok(created.every((c) => c === true));
  const results = await Promise.all(
    ids.map((key, i) => nodes[i % 3]!.cmd('wfresult', { wf: 'wfqueued', key, timeout: 120_000 }, 130_000)),
  );
  results.forEach((r, i) => assert.match(String(r), new RegExp(`^${ids[i]}@`)));
  const seen = seenLog(qdir);
  assert.equal(seen.counts.length, 100, 'each step ran once');
  assert.equal(Math.max(...seen.counts), 3, `at most 3 at once, and 3 reached (${seen.counts.join(',')})`);
  assert.equal(seen.nodes.size, 3, 'the steps ran on every member');
}

async function killHolder(t: { after(fn: () => Promise<void>): void }, stem: string, db: string, prefix?: string) {
  const qdir = join(dir, `${stem}-kill`);
  const { nodes, names } = await threeMembers(
    t,
    stem,
    db,
    prefix,
    { queues: { one: { concurrency: 1 } }, pollMs: 20 },
    qdir,
  );
  const [a, b, c] = nodes as [EntityNode, EntityNode, EntityNode];
  const keyOn = (node: string, p: string) =>
    Array.from({ length: 500 }, (_, i) => `${p}${i}`).find((k) => ownerAmong(k, names) === node)!;
  // The holder: an instance owned by a whose step never returns there (it holds the only slot).
  const held = keyOn(a.name, `${stem}h`);
  await b.cmd('wfstart', { wf: 'wfqueued', key: held, req: { tag: held, queue: 'one', hangOn: a.name } });
  await eventually(
    () => {
      try {
        return seenLog(qdir).nodes.has(a.name) || undefined;
      } catch {
        return undefined;
      }
    },
    'a runs the holder',
    LONG,
  );
  // A step of b's waits for that slot, and says why. Its key stays b's once a is gone (placement
  // balances loads: a's death moves some of b's shards to c too, and the waiter would then finish
  // on c, which the test's last check does not expect).
  const survivors = names.filter((n) => n !== a.name);
  const waiter = Array.from({ length: 500 }, (_, i) => `${stem}w${i}`).find(
    (k) => ownerAmong(k, names) === b.name && ownerAmong(k, survivors) === b.name,
  )!;
  await b.cmd('wfstart', { wf: 'wfqueued', key: waiter, req: { tag: waiter, queue: 'one' } });
  const why = await eventually(
    async () => {
      const d = (await b.cmd('wfdescribe', { wf: 'wfqueued', key: waiter })) as WorkflowDescription;
      const w = d.running?.find((r) => r.queued !== undefined)?.queued?.waiting;
      return w === 'waiting for queue one: the concurrency limit (1) is reached' ? w : undefined;
    },
    'the waiter waits for the slot',
    LONG,
  );
  assert.equal(why, 'waiting for queue one: the concurrency limit (1) is reached');
  // Listed from any member (c asks every live member), with the member it waits on.
  const listed = (await c.cmd('wfqueue', { key: 'one' })) as { id: string; member: string; position: number }[];
  assert.deepEqual(
    listed.map((w) => [w.id, w.member, w.position]),
    [[waiter, b.name, 1]],
  );
  await a.kill();
  // The slot ends with a's lease: the waiter runs, and so does the holder, resumed on a survivor.
  assert.equal(
    await b.cmd('wfresult', { wf: 'wfqueued', key: waiter, timeout: 60_000 }, 70_000),
    `${waiter}@${b.name}`,
  );
  assert.match(String(await b.cmd('wfresult', { wf: 'wfqueued', key: held, timeout: 60_000 }, 70_000)), /@/);
  assert.equal(Math.max(...seenLog(qdir).counts), 1, 'never two at once');
}

async function routing(t: { after(fn: () => Promise<void>): void }, stem: string, db: string, prefix?: string) {
  // Only c serves gpu.
  const { nodes, names, start } = await threeMembers(
    t,
    stem,
    db,
    prefix,
    [{ serve: [] }, { serve: [] }, { serve: ['gpu'] }],
    join(dir, `${stem}-route`),
  );
  const [a, b, c] = nodes as [EntityNode, EntityNode, EntityNode];
  const keyOn = (node: string, p: string) =>
    Array.from({ length: 500 }, (_, i) => `${p}${i}`).find((k) => ownerAmong(k, names) === node)!;
  // Bodies on a and on b: their activity runs on c.
  for (const [i, owner] of [a, b].entries()) {
    const key = keyOn(owner.name, `${stem}r${i}`);
    await a.cmd('wfstart', { wf: 'wfrouted', key, req: { tag: key } });
    assert.equal(await b.cmd('wfresult', { wf: 'wfrouted', key, timeout: 60_000 }, 70_000), `${key}@${c.name}`);
  }
  // c killed: no live member serves gpu; a body on a waits, and says so.
  await c.kill();
  await eventually(
    async () => JSON.stringify(await a.cmd('members')) === JSON.stringify([a.name, b.name].sort()),
    'a sees c gone',
    LONG,
  );
  const key = keyOn(a.name, `${stem}w`);
  await b.cmd('wfstart', { wf: 'wfrouted', key, req: { tag: key } });
  await eventually(
    async () => {
      const d = (await b.cmd('wfdescribe', { wf: 'wfrouted', key })) as WorkflowDescription;
      return d.running?.find((r) => r.queued?.waiting === 'waiting for queue gpu: no live member serves it');
    },
    'the activity waits for a member serving gpu',
    LONG,
  );
  // c back: it runs there.
  await start(2);
  assert.equal(await b.cmd('wfresult', { wf: 'wfrouted', key, timeout: 60_000 }, 70_000), `${key}@${c.name}`);
}

test('SQLite: an activity runs on a member serving its queue; with none live it waits, visibly, until one is back', async (t) => {
  await routing(t, 'qr', join(dir, 'route.db'));
});

test('PostgreSQL: an activity runs on a member serving its queue; with none live it waits, visibly, until one is back', async (t) => {
  const missing = postgresMissing();
  if (missing !== undefined) return t.skip(missing);
  pg ??= await startPostgres();
  await routing(t, 'pr', pg.url, 'qroute_');
});

test('SQLite: a concurrency limit of 3 holds under 100 concurrent starters on 3 members, and is reached', async (t) => {
  await limitUnderLoad(t, 'ql', join(dir, 'load.db'));
});

test('SQLite: a slot held by a member killed with kill -9 is freed with its lease', async (t) => {
  await killHolder(t, 'qk', join(dir, 'kill.db'));
});

test('PostgreSQL: a concurrency limit of 3 holds under 100 concurrent starters on 3 members, and is reached', async (t) => {
  const missing = postgresMissing();
  if (missing !== undefined) return t.skip(missing);
  pg ??= await startPostgres();
  await limitUnderLoad(t, 'pl', pg.url, 'qload_');
});

test('PostgreSQL: a slot held by a member killed with kill -9 is freed with its lease', async (t) => {
  const missing = postgresMissing();
  if (missing !== undefined) return t.skip(missing);
  pg ??= await startPostgres();
  await killHolder(t, 'pk', pg.url, 'qkill_');
});
