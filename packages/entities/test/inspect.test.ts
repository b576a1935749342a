// The inspection seam on one node with a SQLite store: the shard table and active entities
// (kind, key, shard, fencing token, state version, idle time) follow activations and passivations;
// the manager's and each host's handleInspect (what the Observer's process_state subscriptions
// read) carry the same facts; an entity's state is rendered JSON-safe and cut at a bound, and is
// hidden with `inspectState: false`. A host lists its pending reminders from its last background
// read of the store: the inspection that starts the first read answers without them.

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { UnhandledWatch, eventually } from '@ergo-ts/test-support';
import { startNode, type Node } from 'ergo-ts';

import {
  SqliteStore,
  entity,
  inspectEntities,
  inspectEntity,
  renderState,
  shardOf,
  shardTable,
  startEntities,
  type Entities,
} from '../src/index.js';
import { counterKind } from './counter.js';
import { timerKind } from './timer_kind.js';

const dir = mkdtempSync(join(tmpdir(), 'ergo-entities-inspect-'));
const watch = new UnhandledWatch('@ergo-ts/entities');
let n = 0;
before(() => watch.start());
after(() => {
  rmSync(dir, { recursive: true, force: true });
  watch.stop();
});

async function setup(
  t: { after(fn: () => Promise<void> | void): void },
  opts: { passivateAfterMs?: number; inspectState?: boolean } = {},
): Promise<{ node: Node; entities: Entities; kind: ReturnType<typeof counterKind> }> {
  const store = SqliteStore.open(join(dir, `i${++n}.db`));
  const node = await startNode(`inspect${n}_${process.pid}@localhost`, { log: { level: 'warning' } });
  const kind = counterKind(opts.passivateAfterMs ?? 0);
  const entities = await startEntities(node, {
    leaseScope: 'key',
    store,
    kinds: [kind],
    shards: 16,
    ...(opts.inspectState === undefined ? {} : { inspectState: opts.inspectState }),
  });
  t.after(async () => {
    await entities.stop();
    await node.stop();
    await store.close();
  });
  return { node, entities, kind };
}

test('the shard table and the active entities follow activations, writes and passivations', async (t) => {
  const { node, entities, kind } = await setup(t, { passivateAfterMs: 3000 });
  const empty = inspectEntities(entities);
  assert.equal(empty.total, 0);
  assert.deepEqual(empty.table.owned, [...Array(16).keys()], 'a lone node owns every shard');
  assert.deepEqual(empty.table.active, {});

  await entities.call(entity(kind, 'a'), { set: 5 });
  await entities.call(entity(kind, 'a'), { set: 6 });
  await entities.call(entity(kind, 'b'), 'get');
  const info = inspectEntities(entities);
  assert.equal(info.node, node.name);
  assert.equal(info.total, 2);
  assert.deepEqual(info.activePerKind, { counter: 2 });
  const a = info.entities.find((e) => e.key === 'a')!;
  assert.equal(a.kind, 'counter');
  assert.equal(a.shard, shardOf('a', 16));
  assert.equal(a.token, 1);
  assert.equal(a.version, 2, 'two writes');
  assert.equal(info.entities.find((e) => e.key === 'b')!.version, 0, 'never written');
  const idle = info.entities.map((e) => e.idleMs);
  assert.deepEqual(
    idle,
    [...idle].sort((x, y) => x - y),
    'the most recently active first',
  );
  const table = shardTable(entities);
  const count = (s: number): number => table.active[String(s)]?.counter ?? 0;
  assert.equal(count(shardOf('a', 16)) + (shardOf('a', 16) === shardOf('b', 16) ? 0 : count(shardOf('b', 16))), 2);
  assert.equal(inspectEntities(entities, 1).entities.length, 1, 'the limit bounds the list, not the total');

  // Passivated: gone from the tables; the next activation has a new token and the saved version.
  await eventually(() => inspectEntities(entities).total === 0, 'both passivated', { timeoutMs: 20_000 });
  assert.equal(inspectEntity(entities, 'counter', 'a'), undefined);
  await entities.call(entity(kind, 'a'), 'get');
  const again = inspectEntity(entities, 'counter', 'a')!;
  assert.equal(again.token, 2);
  assert.equal(again.version, 2);
  assert.deepEqual(JSON.parse(again.state!), { n: 6, adds: 0 });
});

test("the manager's and a host's handleInspect carry the node's tables and the entity's state", async (t) => {
  const { node, entities, kind } = await setup(t);
  await entities.call(entity(kind, 'k/1'), { set: 9 });
  const m = await node.inspect('entities');
  assert.equal(m.entities, 'manager');
  const info = JSON.parse(m.info!);
  assert.equal(info.total, 1);
  assert.equal(info.entities[0].key, 'k/1');
  assert.equal(info.stateShown, true);
  const cluster = JSON.parse(m.cluster!);
  assert.equal(cluster.length, 1);
  assert.equal(cluster[0].node, node.name);
  assert.equal(cluster[0].active[String(shardOf('k/1', 16))].counter, 1);

  const h = await node.inspect('~entity/counter/k/1');
  assert.equal(h.entity, 'counter/k/1');
  assert.equal(h.token, '1');
  assert.equal(h.version, '1');
  assert.equal(h.shard, String(shardOf('k/1', 16)));
  assert.deepEqual(JSON.parse(h.state!), { n: 9, adds: 0 });
  assert.equal(h.state_hidden, undefined);
});

test("a host's handleInspect lists its pending reminders from a background read, never waiting on it", async (t) => {
  const store = SqliteStore.open(join(dir, `i${++n}.db`));
  const node = await startNode(`inspect${n}_${process.pid}@localhost`, { log: { level: 'warning' } });
  const Timer = timerKind();
  const entities = await startEntities(node, { leaseScope: 'key', store, kinds: [Timer], shards: 16 });
  t.after(async () => {
    await entities.stop();
    await node.stop();
    await store.close();
  });
  const to = entity(Timer, 'r');
  const before = Date.now();
  assert.deepEqual(await entities.call(to, { remind: 'ping', when: { afterMs: 3_600_000 }, payload: { n: 1 } }), {
    ok: true,
  });
  assert.deepEqual(
    await entities.call(to, { remind: 'cron', when: { cron: '0 3 * * *', location: 'UTC' }, payload: '' }),
    {
      ok: true,
    },
  );
  // The first inspection starts the read and answers at once, without the rows.
  const first = await node.inspect('~entity/timer/r');
  assert.equal(first.entity, 'timer/r');
  assert.equal(first.reminders, undefined);
  const h = await eventually(async () => {
    const i = await node.inspect('~entity/timer/r');
    return i.reminders === undefined ? undefined : i;
  }, 'the reminders read');
  const rows = JSON.parse(h.reminders!) as { name: string; dueAt: string; everyMs?: number; cron?: string }[];
  assert.deepEqual(rows.map((r) => r.name).sort(), ['cron', 'ping']);
  const ping = rows.find((r) => r.name === 'ping')!;
  assert.ok(Date.parse(ping.dueAt) >= before + 3_600_000, 'due an hour after it was scheduled');
  const cron = rows.find((r) => r.name === 'cron')!;
  assert.equal(cron.cron, '0 3 * * *');
  assert.equal(new Date(cron.dueAt).getUTCHours(), 3);
  assert.ok(Date.parse(h.reminders_read_at!) >= before);
  assert.equal(h.reminders_error, undefined);
  // Cancelled: a later read has it gone.
  assert.deepEqual(await entities.call(to, { cancel: 'ping' }), { ok: true });
  await eventually(async () => {
    const i = await node.inspect('~entity/timer/r');
    return i.reminders !== undefined && !i.reminders.includes('"ping"') ? true : undefined;
  }, 'the cancelled reminder gone');
});

test('inspectState: false hides states (facts still show)', async (t) => {
  const { node, entities, kind } = await setup(t, { inspectState: false });
  await entities.call(entity(kind, 's'), { set: 1 });
  const e = inspectEntity(entities, 'counter', 's')!;
  assert.equal(e.state, null);
  assert.equal(e.version, 1);
  const h = await node.inspect('~entity/counter/s');
  assert.equal(h.state, undefined);
  assert.equal(h.state_hidden, 'true');
  assert.equal(JSON.parse((await node.inspect('entities')).info!).stateShown, false);
});

test('renderState renders any value JSON-safe and cuts it at the bound', () => {
  const cyclic: Record<string, unknown> = { big: 12n, m: new Map([[1, 'x']]), s: new Set([2]), u: undefined };
  cyclic.self = cyclic;
  const r = renderState(cyclic);
  assert.equal(r.truncated, false);
  assert.deepEqual(JSON.parse(r.text), { big: '12n', m: { 1: 'x' }, s: [2], self: '[cycle]' });
  assert.deepEqual(JSON.parse(renderState(new Uint8Array([1, 2])).text), [1, 2]);
  assert.equal(renderState(undefined).text, 'null');
  const long = renderState('x'.repeat(100), 10);
  assert.equal(long.truncated, true);
  assert.equal(long.text.length, 10);
  const bad = renderState({
    toJSON() {
      throw new Error('no');
    },
  });
  assert.match(bad.text, /not renderable: no/);
});
