// A durable state machine's timeout generation across activations (durable_state_machine.ts), on
// the memory store (through the test kit), SQLite and PostgreSQL. The defect the safety checker
// found on SQLite (orders cancelled before their payment window): an activation handles `place`,
// arms its payment timeout (generation = the saved seq + 1) and stores its reminder, then its save
// is refused (another owner took the key). The reminder comes due while the key has no owner here;
// its fire activates the key again, and the new activation first handles `place` again (still in
// the inbox), arming the same generation number, then gets the first activation's fire: taken for
// its own timer, it cancelled the order at once, a whole window early. A generation now names the
// activation that armed it, so that fire is ignored and the order is cancelled by its own timer.
// Everything goes through the real runtime, host, scheduler and store; only the runtime's clock
// is a test clock (due times, the scheduler's timer), and the "other owner" takes the lease
// through the store as a takeover does. Also: a record and a reminder stored by the code before
// (a timer without `armedBy`) still load and fire.

import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { test } from 'node:test';

import { eventually, filePostgres } from '@ergo-ts/test-support';
import { StateTimeout, defineProtocol, schema, type Node } from 'ergo-ts';
import { TestClock, startTestNode } from 'ergo-ts/testing';

import {
  MemoryStore,
  PostgresStore,
  SqliteStore,
  defineDurableStateMachine,
  durableSpec,
  entity,
  type DurableMachineRecord,
  type EntityStore,
  type Entities,
  type WriteRequest,
} from '../src/index.js';
import type { EntityEvent } from '../src/runtime/host_runtime.js';
import { shardOf } from '../src/contract/placement.js';
import { fireId } from '../src/runtime/reminder_scheduler.js';
import type { ReminderStore, StoredReminder } from '../src/contract/reminder_store.js';
import { startEntitiesWith } from '../src/entities.js';
import { startTestEntities } from '../src/testing/index.js';
import { EventRecorder } from '../src/testing/event_recorder.js';

const pg = filePostgres({ what: '@ergo-ts/entities durable machine generations', dirPrefix: 'ergo-entities-smgen-' });
const { dir, missing } = pg;

const WINDOW = 60_000;
const HOLD_MS = 86_400_000;
const T0 = Date.UTC(2025, 0, 1);

const OrderProtocol = defineProtocol('genorder', {
  messages: {
    place: schema.object({ place: schema.integer() }),
    timeout: schema.literal('payment-timeout'),
  },
  calls: {},
});
type OrderState = 'new' | 'cancelled';
interface OrderData {
  history: OrderState[];
  placed: number;
}

// The checker's order, cut to what the defect needs: `place` arms the payment window, its timeout cancels.
const Order = defineDurableStateMachine('genorder', {
  protocol: OrderProtocol,
  passivateAfterMs: 0,
  spec: () =>
    durableSpec<typeof OrderProtocol, OrderState, OrderData>(OrderProtocol, 'new', { history: [], placed: 0 })
      .stateEnterCallback((_old, state, data) => ({ data: { ...data, history: [...data.history, state] } }))
      .stateMessageHandler('new', 'place', (_f, _s, data, m) => ({
        data: { ...data, placed: data.placed + 1 },
        actions: [new StateTimeout(m.place, 'payment-timeout' as const)],
      }))
      .stateMessageHandler('new', 'timeout', () => ({ state: 'cancelled' })),
});

type Record_ = DurableMachineRecord<OrderState, OrderData>;
type Store = EntityStore & ReminderStore;

/**
 * `inner`, except that the first write of `key` that arms a reminder is split as the code before
 * did it (entities.sm.fenced_reminders.test.ts: a machine's reminders are now written with its
 * save): its reminder is stored on its own first, under the write's token, then another owner
 * takes the key's lease over (as a member declaring this one dead would), and the write is
 * refused. Such rows stay in stores older code wrote. `release()` gives the lease back.
 */
function takenAfterFirstReminder(inner: Store, kind: string, key: string) {
  const id = { kind, key };
  let taken: Promise<number> | undefined;
  const proxy = new Proxy(inner, {
    get(target, p) {
      const v = Reflect.get(target, p, target) as unknown;
      if (p === 'write')
        return async (request: WriteRequest): Promise<number> => {
          const put = request.reminders?.put ?? [];
          if (request.key !== key || taken !== undefined || put.length === 0) return target.write(request);
          const { reminders: _, ...alone } = request;
          await target.putReminders(id, { token: request.token }, put);
          taken = (async () => {
            const held = await target.lease(id);
            const r = await target.acquire({ ...id, owner: 'other-owner', ttlMs: HOLD_MS, takeOverFrom: held!.owner });
            assert.ok(r.acquired, 'the other owner takes the lease');
            return r.token;
          })();
          await taken;
          return target.write(alone);
        };
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return {
    store: proxy,
    release: async () => {
      assert.ok(taken !== undefined, 'the lease was taken');
      await inner.release(id, await taken);
    },
  };
}

interface Harness {
  readonly entities: () => Entities;
  readonly clock: TestClock;
  readonly store: Store;
  readonly release: () => Promise<void>;
  /** The first event matching from `mark` on. */
  readonly event: (mark: number, match: Partial<EntityEvent>) => Promise<EntityEvent>;
  readonly mark: () => number;
}

/** The scenario of the header, on one store; `key` is the order's. */
async function refusedArmingThenSuccessor(h: Harness, key: string): Promise<void> {
  const id = { kind: Order.name, key };
  const to = entity(Order, key);
  const load = async () => (await h.store.load(id)).state as Record_ | undefined;
  const mark = h.mark();
  assert.equal(await h.entities().sendDurable(to, { place: WINDOW }, `${key}/place`), 'accepted');
  // The first activation armed its timeout, stored the reminder, and its save was refused.
  await h.event(mark, { event: 'refused', kind: Order.name, key });
  assert.deepEqual(await h.store.load(id), { state: undefined, version: 0 }, 'nothing saved');
  const [first] = (await h.store.reminders(id)) as StoredReminder[];
  assert.ok(first !== undefined && first.dueAt === T0 + WINDOW, 'the first activation’s reminder is stored');

  // Its time comes while the other owner holds the key: the scheduler's delivery waits for the lease.
  // (Stored apart from any save, the row is found by a scan, as a poll finds rows others wrote.)
  h.clock.advance(WINDOW);
  h.entities().reminders!.kick();
  await eventually(() => (h.entities().stats().reminders?.inFlight ?? 0) > 0, 'the first reminder being delivered');
  await h.release();
  // The delivery activates the key: `place` again (from the inbox), then the first reminder's fire.
  await eventually(() => h.store.processed(id, fireId(first)), 'the first reminder’s fire handled');
  const after = await load();
  assert.equal(after?.state, 'new', 'not cancelled by a fire armed by the refused activation');
  assert.deepEqual(after.data, { history: ['new'], placed: 1 });
  const mine = after.timers.state;
  assert.ok(
    mine !== undefined && mine.gen === (first.payload as { gen: number }).gen,
    'the same generation number, given again',
  );
  assert.notEqual(mine.armedBy, (first.payload as { armedBy?: string }).armedBy, 'by another activation');
  const [second] = (await h.store.reminders(id)) as StoredReminder[];
  assert.ok(second !== undefined && second.dueAt === T0 + 2 * WINDOW, 'its own timer runs its whole window');

  // Its own timer cancels it, at the end of its window.
  h.clock.advance(WINDOW);
  await eventually(async () => (await load())?.state === 'cancelled', 'cancelled by its own timer');
  assert.ok(await h.store.processed(id, fireId(second)));
  assert.deepEqual((await load())?.data, { history: ['new', 'cancelled'], placed: 1 });
}

/** The runtime on `store` (SQLite, PostgreSQL) with a test clock, as the test kit starts it. */
async function onStore(t: { after(fn: () => Promise<void>): void }, inner: Store, key: string): Promise<Harness> {
  const clock = new TestClock(T0);
  const taking = takenAfterFirstReminder(inner, Order.name, key);
  const node: Node = await startTestNode();
  const recorder = new EventRecorder(node.name);
  const entities = await startEntitiesWith(
    node,
    { leaseScope: 'key', store: taking.store, kinds: [Order], reminders: { pollMs: 2 ** 31 - 1 } },
    { clock },
  );
  t.after(async () => {
    await entities.stop();
    recorder.close();
    await node.stop();
    await inner.close();
  });
  return {
    entities: () => entities,
    clock,
    store: inner,
    release: taking.release,
    mark: () => recorder.length,
    event: (mark, match) => recorder.next(mark, match, 'entity event', 20_000),
  };
}

test('test kit (memory store): a timeout armed by an activation whose save was refused does not fire for its successor’s', async () => {
  const clock = new TestClock(T0);
  const inner = new MemoryStore({ clock });
  const taking = takenAfterFirstReminder(inner, Order.name, 'k1');
  await using kit = await startTestEntities({
    leaseScope: 'key',
    kinds: [Order],
    clock,
    store: taking.store as MemoryStore,
  });
  await refusedArmingThenSuccessor(
    {
      entities: () => kit.entities,
      clock,
      store: inner,
      release: taking.release,
      mark: () => kit.events().length,
      event: (mark, match) => kit.waitForEvent(match, { since: mark }),
    },
    'k1',
  );
  await inner.close();
});

test('SQLite: a timeout armed by an activation whose save was refused does not fire for its successor’s', async (t) => {
  const store = SqliteStore.open(join(dir, 'gen.db'), { synchronous: 'normal' });
  await refusedArmingThenSuccessor(await onStore(t, store, 'k2'), 'k2');
});

test('PostgreSQL: a timeout armed by an activation whose save was refused does not fire for its successor’s', async (t) => {
  if (missing !== undefined) return t.skip(missing);
  const store = await PostgresStore.open(pg.url, { tablePrefix: 'gen_' });
  await refusedArmingThenSuccessor(await onStore(t, store, 'k3'), 'k3');
});

/** A record and a pending timeout as the code before `armedBy` stored them (gen 1, no activation). */
async function legacyOrder(store: Store, key: string, shards: number, dueAt: number): Promise<void> {
  const id = { kind: Order.name, key };
  const lease = await store.acquire({ ...id, owner: 'old-code', ttlMs: 1000 });
  assert.ok(lease.acquired);
  const legacy = {
    state: 'new',
    data: { history: ['new'], placed: 1 },
    entered: true,
    postponed: [],
    timers: { state: { gen: 1, message: 'payment-timeout' } },
    seq: 1,
  };
  await store.write({ ...id, token: lease.token, expectedVersion: 0, state: legacy });
  await store.putReminders(id, { token: lease.token }, [
    {
      name: 'timeout/state',
      shard: shardOf(key, shards),
      dueAt,
      payload: { slot: 'state', gen: 1, message: 'payment-timeout' },
    },
  ]);
  await store.release(id, lease.token);
}

test('a record and a timeout stored before generations named their activation still load and fire (test kit, SQLite)', async (t) => {
  await using kit = await startTestEntities({ leaseScope: 'key', kinds: [Order], time: T0 });
  await legacyOrder(kit.store, 'old1', kit.entities.stats().shards, T0 + WINDOW);
  const o = kit.entity(Order, 'old1');
  // A fire from an activation of today's code that never saved is not the old timer's.
  const stale = {
    '~entity': 'reminder',
    name: 'timeout/state',
    payload: { slot: 'state', gen: 1, armedBy: '9/<0.0.1>', message: 'payment-timeout' },
    fireId: 'stale-1',
    scheduledAt: T0,
  };
  assert.equal(await o.sendDurable(stale as never, stale.fireId), 'accepted');
  assert.equal((await o.stored()).state?.state, 'new');
  kit.advanceTime(WINDOW);
  assert.equal((await kit.fireDueReminders()).length, 1);
  assert.deepEqual((await o.stored()).state?.data, { history: ['new', 'cancelled'], placed: 1 });

  const h = await onStore(t, SqliteStore.open(join(dir, 'legacy.db'), { synchronous: 'normal' }), 'none');
  await legacyOrder(h.store, 'old2', h.entities().stats().shards, T0 + WINDOW);
  h.clock.advance(WINDOW);
  h.entities().reminders!.kick();
  await eventually(
    async () => ((await h.store.load({ kind: Order.name, key: 'old2' })).state as Record_).state === 'cancelled',
    'the old timer fired',
  );
});
