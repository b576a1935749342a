// Durable reminders on one node with a SQLite store on a temporary file: a reminder fires at or
// after its time on a passivated entity (activating it), once; `at`, cancel and putting a name
// again; periodic (everyMs) and cron reminders move to their next time; a fire delivered twice is
// handled once (its id de-duplicates it in the inbox); thousands on one key; 10^5 pending in the
// store with the due ones still firing; a key activated ahead of a reminder due within warmUpMs;
// a restart of the whole (one-node) cluster keeps them; bad input refused with
// ERR_ENTITY_INCORRECT and nothing written. The kill -9 cases are in
// entities.reminders.dist.test.ts.

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { UnhandledWatch, eventually } from '@ergo-ts/test-support';
import { cronNextRun, startNode, type Node } from 'ergo-ts';

import { SqliteStore, entity, shardOf, startEntities, type Entities, type EntityAddress } from '../src/index.js';
import { EventLog } from './events.js';
import { timerKind, type TimerState, type TimerProtocol } from './timer_kind.js';

const dir = mkdtempSync(join(tmpdir(), 'ergo-entities-reminders-'));
const watch = new UnhandledWatch('@ergo-ts/entities reminders');
const log = new EventLog();
let n = 0;
before(() => watch.start());
after(() => {
  log.close();
  rmSync(dir, { recursive: true, force: true });
  watch.stop();
});

interface Setup {
  node: Node;
  store: SqliteStore;
  entities: Entities;
  kind: ReturnType<typeof timerKind>;
  path: string;
}

async function setup(
  t: { after(fn: () => Promise<void> | void): void },
  passivateAfterMs = 0,
  path = join(dir, `r${++n}.db`),
): Promise<Setup> {
  const store = SqliteStore.open(path, { synchronous: 'normal' });
  const node = await startNode(`reminders${++n}_${process.pid}@localhost`, { log: { level: 'warning' } });
  const kind = timerKind(passivateAfterMs);
  const entities = await startEntities(node, { leaseScope: 'key', store, kinds: [kind], reminders: { pollMs: 200 } });
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await entities.stop();
    await node.stop();
    await store.close();
  };
  t.after(stop);
  return { node, store, entities, kind, path };
}

const fired = (s: Setup, to: EntityAddress<typeof TimerProtocol>): Promise<TimerState> =>
  s.entities.call(to, 'fired') as Promise<TimerState>;

async function remind(
  s: Setup,
  to: EntityAddress<typeof TimerProtocol>,
  name: string,
  when: unknown,
  payload: unknown,
) {
  const r = (await s.entities.call(to, { remind: name, when, payload })) as {
    ok?: unknown;
    code?: unknown;
    err?: string;
  };
  if (r.ok !== true) throw Object.assign(new Error(r.err), { code: r.code });
}

test('a reminder fires at or after its time on a passivated entity, activating it, once; the row is gone after', async (t) => {
  const s = await setup(t, 100);
  const to = entity(s.kind, 'p1');
  const from = log.events.length;
  const asked = Date.now();
  await remind(s, to, 'ping', { afterMs: 400 }, { n: 7 });
  const [row] = await s.store.reminders({ kind: 'timer', key: 'p1' });
  assert.ok(row !== undefined && row.dueAt >= asked + 400 && row.shard === shardOf('p1', 64));
  // It passivates first (idle 100 ms), then the reminder activates it again.
  await log.wait((e) => e.event === 'passivated' && e.key === 'p1', 'passivated', from);
  await log.wait((e) => e.event === 'activated' && e.key === 'p1' && e.token === 2, 're-activated by the fire', from);
  const st = await eventually(async () => {
    const x = await fired(s, to);
    return x.count === 1 ? x : undefined;
  }, 'the fire was handled');
  const f = st.last[0]!;
  assert.equal(f.name, 'ping');
  assert.deepEqual(f.payload, { n: 7 });
  assert.equal(f.scheduledAt, row.dueAt);
  assert.ok(f.firedAt >= f.scheduledAt, 'never before its time');
  assert.equal(st.early, 0);
  await eventually(async () => (await s.store.reminders({ kind: 'timer', key: 'p1' })).length === 0, 'the row removed');
  // Its fire id was recorded as processed with the state write.
  assert.equal(await s.store.processed({ kind: 'timer', key: 'p1' }, f.fireId), true);
  const stats = s.entities.stats().reminders!;
  assert.equal(stats.fired, 1);
  assert.equal(stats.lateness.count, 1);
});

test('a passivated key whose reminder comes due within warmUpMs is activated ahead; the fire still comes at its time', async (t) => {
  const s = await setup(t, 100);
  const to = entity(s.kind, 'w1');
  const from = log.events.length;
  await remind(s, to, 'ping', { afterMs: 1500 }, { n: 1 });
  const [row] = await s.store.reminders({ kind: 'timer', key: 'w1' });
  await log.wait((e) => e.event === 'passivated' && e.key === 'w1', 'passivated', from);
  // Activated again by the scheduler's warm-up (default 1000 ms ahead), with no fire delivered yet.
  await log.wait((e) => e.event === 'activated' && e.key === 'w1' && e.token === 2, 'activated ahead', from);
  const at = s.entities.stats().reminders!;
  assert.equal(at.fired + at.inFlight, 0, 'no fire delivered when the key activated');
  const st = await eventually(async () => {
    const x = await fired(s, to);
    return x.count === 1 ? x : undefined;
  }, 'the fire was handled');
  assert.equal(st.early, 0);
  assert.ok(st.last[0]!.firedAt >= row!.dueAt, 'never before its time');
});

test('at (a Date or epoch ms); cancel removes a reminder; putting a name again replaces it', async (t) => {
  const s = await setup(t);
  const to = entity(s.kind, 'c1');
  await remind(s, to, 't/cancelled', { at: Date.now() + 300 }, 1);
  await remind(s, to, 't/replaced', { afterMs: 300 }, 1);
  await remind(s, to, 't/replaced', { afterMs: 400 }, 2);
  assert.deepEqual(await s.entities.call(to, { cancel: 't/cancelled' }), { ok: true });
  assert.deepEqual(await s.entities.call(to, { cancel: 't/cancelled' }), { ok: false });
  await remind(s, to, 't/last', { at: new Date(Date.now() + 800) }, 3);
  const st = await eventually(async () => {
    const x = await fired(s, to);
    return x.perName['t/last'] === 1 ? x : undefined;
  }, 't/last fired');
  assert.equal(st.perName['t/cancelled'], undefined, 'a cancelled reminder never fires');
  assert.equal(st.perName['t/replaced'], 1, 'a replaced reminder fires once, as replaced');
  assert.deepEqual(st.last.find((f) => f.name === 't/replaced')?.payload, 2);
  assert.equal(st.early, 0);
});

test('everyMs fires periodically, each fire with its own id, never early, until cancelled', async (t) => {
  const s = await setup(t);
  const to = entity(s.kind, 'e1');
  await remind(s, to, 'ping', { everyMs: 150 }, { n: 1 });
  const st = await eventually(async () => {
    const x = await fired(s, to);
    return x.count >= 3 ? x : undefined;
  }, 'three fires');
  assert.deepEqual(await s.entities.call(to, { cancel: 'ping' }), { ok: true });
  const ids = st.last.map((f) => f.fireId);
  assert.equal(new Set(ids).size, ids.length, 'distinct fire ids');
  for (let i = 1; i < st.last.length; i++) {
    const gap = st.last[i]!.scheduledAt - st.last[i - 1]!.scheduledAt;
    assert.ok(gap > 0 && gap % 150 === 0, `fires on the period's grid (gap ${gap})`);
  }
  assert.equal(st.early, 0);
  assert.deepEqual(await s.store.reminders({ kind: 'timer', key: 'e1' }), []);
});

test('cron: the first time is the spec’s next minute; after a fire the reminder moves to the next one', async (t) => {
  const s = await setup(t);
  const to = entity(s.kind, 'cr1');
  const now = Date.now();
  await remind(s, to, 'cron', { cron: '*/5 * * * *', location: 'UTC' }, 'every five minutes');
  const [row] = await s.store.reminders({ kind: 'timer', key: 'cr1' });
  assert.equal(row!.cron, '*/5 * * * *');
  assert.equal(row!.dueAt, cronNextRun('*/5 * * * *', now, 'UTC')!.getTime());
  // A fire is minutes away: make this one due now, as a member's scheduler would find it after a
  // long outage (a write under the activation's own token), and see the scheduler move it on.
  const lease = await s.store.lease({ kind: 'timer', key: 'cr1' });
  const due = Date.now();
  await s.store.putReminders({ kind: 'timer', key: 'cr1' }, { token: lease!.token }, [
    { name: 'cron', shard: row!.shard, dueAt: due, cron: '*/5 * * * *', location: 'UTC', payload: 'overdue' },
  ]);
  await eventually(async () => (await fired(s, to)).count === 1, 'the overdue cron fire handled');
  const [moved] = await eventually(async () => {
    const rows = await s.store.reminders({ kind: 'timer', key: 'cr1' });
    return rows[0]?.dueAt !== due ? rows : undefined;
  }, 'moved to its next run');
  assert.equal(moved!.dueAt, cronNextRun('*/5 * * * *', Math.max(due, moved!.dueAt - 1), 'UTC')!.getTime());
  assert.ok(moved!.dueAt > due && new Date(moved!.dueAt).getUTCMinutes() % 5 === 0);
});

test('a fire delivered twice is handled once: its id de-duplicates it in the inbox', async (t) => {
  const s = await setup(t);
  const to = entity(s.kind, 'd1');
  const fire = { '~entity': 'reminder', name: 'ping', payload: { n: 1 }, fireId: '~reminder/1/5/ping', scheduledAt: 5 };
  assert.equal(await s.entities.sendDurable(to, fire as never, fire.fireId), 'accepted');
  assert.equal(await s.entities.sendDurable(to, fire as never, fire.fireId), 'duplicate');
  const st = await fired(s, to);
  assert.equal(st.count, 1);
  assert.equal(st.last[0]!.fireId, fire.fireId);
});

test('thousands of reminders on one key each fire once', async (t) => {
  const s = await setup(t);
  const to = entity(s.kind, 'many');
  const lease = await (async () => {
    await fired(s, to); // activates it: its lease's token fences the batch below
    return s.store.lease({ kind: 'timer', key: 'many' });
  })();
  const base = Date.now() + 300;
  const shard = shardOf('many', 64);
  await s.store.putReminders(
    { kind: 'timer', key: 'many' },
    { token: lease!.token },
    Array.from({ length: 2000 }, (_, i) => ({ name: `t/${i}`, shard, dueAt: base + (i % 100), payload: i })),
  );
  const st = await eventually(
    async () => {
      const x = await fired(s, to);
      return x.count >= 2000 ? x : undefined;
    },
    '2000 fires',
    { timeoutMs: 60_000 },
  );
  assert.equal(st.count, 2000);
  assert.equal(Object.keys(st.perName).length, 2000);
  assert.ok(
    Object.values(st.perName).every((c) => c === 1),
    'each once',
  );
  assert.equal(st.early, 0);
  await eventually(async () => (await s.store.reminderCount()) === 0, 'every row removed');
});

test('10^5 pending reminders in the store: the due ones still fire, the others stay', async (t) => {
  const s = await setup(t);
  // 10^5 far in the future, on 20 keys (each key's lease taken for the batch, then released).
  const far = Date.now() + 24 * 3600_000;
  for (let k = 0; k < 20; k++) {
    const id = { kind: 'timer', key: `bulk${k}` };
    const l = await s.store.acquire({ ...id, owner: 'loader', ttlMs: 60_000 });
    assert.ok(l.acquired);
    const shard = shardOf(id.key, 64);
    for (let b = 0; b < 5; b++)
      await s.store.putReminders(
        id,
        { token: l.token },
        Array.from({ length: 1000 }, (_, i) => ({ name: `t/${b * 1000 + i}`, shard, dueAt: far + i, payload: i })),
      );
    await s.store.release(id, l.token);
  }
  assert.equal(await s.store.reminderCount(), 100_000);
  const to = entity(s.kind, 'due');
  await remind(s, to, 'ping', { afterMs: 200 }, { n: 1 });
  await remind(s, to, 't/x', { afterMs: 300 }, 2);
  await eventually(async () => (await fired(s, to)).count === 2, 'the two due ones fired');
  assert.equal(await s.store.reminderCount(), 100_000);
  assert.equal((await fired(s, entity(s.kind, 'bulk0'))).count, 0);
});

test('a restart of the whole cluster keeps a pending reminder: it fires after the restart', async (t) => {
  const first = await setup(t);
  const to = entity(first.kind, 'w1');
  await remind(first, to, 'ping', { afterMs: 700 }, { n: 9 });
  await first.entities.stop();
  await first.node.stop();
  await first.store.close();
  const again = await setup(t, 0, first.path);
  const st = await eventually(async () => {
    const x = await fired(again, entity(again.kind, 'w1'));
    return x.count === 1 ? x : undefined;
  }, 'fired after the restart');
  assert.deepEqual(st.last[0]!.payload, { n: 9 });
  assert.equal(st.early, 0);
});

test('bad input is refused with ERR_ENTITY_INCORRECT and writes nothing', async (t) => {
  const s = await setup(t);
  const to = entity(s.kind, 'bad');
  const refused = async (name: string, when: unknown, payload: unknown, what: string) => {
    await assert.rejects(remind(s, to, name, when, payload), { code: 'ERR_ENTITY_INCORRECT' }, what);
  };
  await refused('ping', { at: Date.now() - 1000 }, { n: 1 }, 'a time in the past');
  await refused('ping', { at: new Date('nope') }, { n: 1 }, 'an invalid Date');
  await refused('cron', { cron: '61 * * * *' }, 'x', 'a bad cron spec');
  await refused('cron', { cron: '0 0 30 2 *' }, 'x', 'a cron spec that never runs');
  await refused('cron', { cron: '* * * * *', location: 'Mars/Olympus' }, 'x', 'an unknown zone');
  await refused('nope', { afterMs: 10 }, 1, 'a reminder type the kind does not declare');
  await refused(`t/${'x'.repeat(300)}`, { afterMs: 10 }, 1, 'a name too long');
  await refused('ping', { afterMs: 10 }, { n: 'one' }, 'a payload its schema refuses');
  await refused('ping', { afterMs: -1 }, { n: 1 }, 'a negative delay');
  await refused('ping', { everyMs: 0 }, { n: 1 }, 'a zero period');
  await refused('ping', { afterMs: 10, everyMs: 10 }, { n: 1 }, 'two schedules');
  await refused('ping', {}, { n: 1 }, 'no schedule');
  assert.deepEqual(await s.store.reminders({ kind: 'timer', key: 'bad' }), []);
  // A runtime option out of range.
  await assert.rejects(
    startEntities(s.node, {
      leaseScope: 'key',
      store: s.store,
      kinds: [s.kind],
      name: 'other',
      reminders: { pollMs: 0 },
    }),
    {
      code: 'ERR_ENTITY_INCORRECT',
    },
  );
});
