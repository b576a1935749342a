// A queue slot freed on one member is granted at once to an attempt waiting on another (queues.ts,
// the store's wakes: contract/wakes.ts), not on that member's poll: member B polls once an hour
// here, so its waiting attempt runs only if A's freed slot wakes it. Two runtimes on two stores
// opened on the same data: PostgreSQL (LISTEN/NOTIFY between two pools), SQLite (two stores on
// one file, woken within the process) and the memory store (two stores on one MemoryStoreData).
// The same member hands a freed slot on to its own next attempt without a poll or a store
// operation (the slot's lease row keeps its token). Each runtime owns every key here (no
// `members`): they share only the queue's slot rows. Last: a slot freed with nothing waiting is kept
// for the member's next step (one take for a workflow's steps in a row), then given back.

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { eventually, postgresMissing, startPostgres } from '@ergo-ts/test-support';
import { startNode, type Node } from 'ergo-ts';

import {
  MemoryStore,
  MemoryStoreData,
  PostgresStore,
  SqliteStore,
  defineWorkflow,
  startEntities,
  type Entities,
  type EntityStore,
} from '../src/index.js';

const HOUR = 3_600_000;
/** Gates a step waits at, by tag (opened by the test), and the steps that started, in order. */
const gates = new Map<string, () => void>();
const started: string[] = [];

/** One step in queue `one` (a concurrency limit of 1): it waits at its gate when `hold`. */
const Slot = defineWorkflow('wfwake', async (ctx, input: { tag: string; hold: boolean }) =>
  ctx.step(
    'work',
    async () => {
      started.push(input.tag);
      if (input.hold) await new Promise<void>((r) => gates.set(input.tag, r));
      return input.tag;
    },
    { queue: 'one' },
  ),
);

const QUEUES = { queues: { one: { concurrency: 1 } }, pollMs: HOUR };

/** Runs the case on two runtimes whose stores `open` opens on the same data; `last` runs after their stop. */
async function twoMembers(
  t: { after(fn: () => Promise<void>): void },
  open: () => Promise<EntityStore>,
  last: () => Promise<void> = async () => undefined,
): Promise<void> {
  started.length = 0;
  const stores: EntityStore[] = [];
  const nodes: Node[] = [];
  const runtimes: Entities[] = [];
  // One hook, in order: the runtimes, their nodes, the stores, then what holds the data.
  t.after(async () => {
    for (const open of gates.values()) open();
    for (const r of runtimes) await r.stop();
    for (const n of nodes) await n.stop();
    for (const s of stores) await s.close();
    await last();
  });
  stores.push(await open(), await open());
  for (const n of ['a', 'b'])
    nodes.push(await startNode(`wake${n}-${process.pid}@localhost`, { log: { level: 'warning' } }));
  for (const [i, node] of nodes.entries())
    runtimes.push(await startEntities(node, { store: stores[i]!, kinds: [Slot], workflowQueues: QUEUES }));
  const [a, b] = runtimes;

  // A holds the one slot; a second attempt on A and one on B wait for it.
  const a1 = await a!.workflows.start(Slot, 'a1', { tag: 'a1', hold: true });
  await eventually(() => gates.has('a1') || undefined, 'a1 runs');
  const a2 = await a!.workflows.start(Slot, 'a2', { tag: 'a2', hold: true });
  await eventually(
    async () => ((await a!.workflows.queue('one').waiting()).length === 1 ? true : undefined),
    'a2 waits',
  );
  // The same member: a2 is handed the slot a1 frees (no poll within the hour).
  gates.get('a1')!();
  assert.equal(await a1.result(), 'a1');
  await eventually(() => gates.has('a2') || undefined, 'a2 runs on the slot a1 freed');

  // B hears A's wakes (PostgreSQL: its listening session is up): a probe sent until one is heard.
  let heard = false;
  const unlisten = stores[1]!.wakes!.listen((topic) => (heard ||= topic === 'probe'));
  await eventually(() => {
    stores[0]!.wakes!.wake('probe');
    return heard || undefined;
  }, 'B hears the wakes of A');
  unlisten();

  // Another member: B's attempt waits, told by the limit; A's slot freed wakes it.
  const b1 = await b!.workflows.start(Slot, 'b1', { tag: 'b1', hold: false });
  const LIMIT = 'waiting for queue one: the concurrency limit (1) is reached';
  await eventually(async () => {
    const why = (await b!.workflows.handle(Slot, 'b1').describe()).running?.find((r) => r.queued)?.queued?.waiting;
    return why === LIMIT || undefined;
  }, 'b1 waits for the slot, held by the limit');
  gates.get('a2')!();
  assert.equal(await a2.result(), 'a2');
  assert.equal(await b1.result(), 'b1');
  assert.deepEqual(started, ['a1', 'a2', 'b1']);
}

const CASE =
  'a slot freed on one member goes to the next attempt at once: on it, and on another member (woken, not polled)';

test(`PostgreSQL: ${CASE}`, { timeout: 120_000 }, async (t) => {
  const missing = postgresMissing();
  if (missing !== undefined) return t.skip(missing);
  const pg = await startPostgres();
  await twoMembers(
    t,
    () => PostgresStore.open(pg.url, { tablePrefix: 'wake_' }),
    () => pg.stop(),
  );
});

test(`SQLite: ${CASE}`, { timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ergo-wake-'));
  await twoMembers(
    t,
    async () => SqliteStore.open(join(dir, 'wake.db')),
    async () => rmSync(dir, { recursive: true, force: true }),
  );
});

test(`memory store: ${CASE}`, { timeout: 120_000 }, async (t) => {
  const data = new MemoryStoreData();
  await twoMembers(t, async () => new MemoryStore({}, data));
});

/** Eight steps in a row in queue `one`, each taking its slot. */
const Steps8 = defineWorkflow('wfsteps8', async (ctx) => {
  let n = 0;
  for (let i = 0; i < 8; i++) n = await ctx.step(`s${i}`, () => n + 1, { queue: 'one' });
  return n;
});

test('a slot freed with nothing waiting stays with its member for its next step (no store operation), then goes back', async (t) => {
  const store = new MemoryStore({}, new MemoryStoreData());
  // The real store, its slot operations counted.
  let takes = 0;
  let givesBack = 0;
  const acquire = store.acquire.bind(store);
  const release = store.release.bind(store);
  store.acquire = (r) => {
    if (r.kind === '~queue:one') takes++;
    return acquire(r);
  };
  store.release = (id, token) => {
    if (id.kind === '~queue:one') givesBack++;
    return release(id, token);
  };
  const node = await startNode(`linger-${process.pid}@localhost`, { log: { level: 'warning' } });
  const rt = await startEntities(node, { store, kinds: [Steps8], workflowQueues: QUEUES });
  t.after(async () => {
    await rt.stop();
    await node.stop();
    await store.close();
  });
  const h = await rt.workflows.start(Steps8, 'w1', {});
  assert.equal(await h.result(), 8);
  // Taken and given back per step, that was 8 each.
  assert.ok(takes < 8, `the slot was taken ${takes} times for 8 steps`);
  await eventually(() => (givesBack === takes ? true : undefined), 'the idle slot given back to the store');
});
