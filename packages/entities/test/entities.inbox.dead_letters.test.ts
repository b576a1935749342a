// Poison messages and held leases in one process, on the memory store and on SQLite:
// - a durable message whose handler keeps failing is counted on each failed attempt (as the inbox
//   replays, or as it is handled in a running activation) and, at `inbox.maxAttempts`, moved to
//   the key's dead letters: the key then activates and handles the messages after it; the
//   operator view (`entities.deadLetters`) lists it, retries it (back into the inbox, handed to
//   the key again) or drops it (its id then counts as processed);
// - an activation refused for a lease held elsewhere answers with the holder and lease end the
//   store refused it with, even when that lease is released right after the refusal (a second
//   read answered `held by ` with no holder, and the sweeper waited on nothing).

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { UnhandledWatch, eventually } from '@ergo-ts/test-support';
import { startNode, type Node } from 'ergo-ts';

import {
  Entity,
  MemoryStore,
  SqliteStore,
  defineEntity,
  entity,
  startEntities,
  type EntityStore,
  type LeaseRequest,
} from '../src/index.js';
import { CounterProtocol, counterKind, type CounterState } from './counter.js';

const watch = new UnhandledWatch('@ergo-ts/entities dead letters');
const dir = mkdtempSync(join(tmpdir(), 'ergo-entities-poison-'));
let n = 0;
before(() => watch.start());
after(() => {
  watch.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function node(t: { after(fn: () => Promise<void>): void }): Promise<Node> {
  // 'panic': a handler that throws in a running activation is logged at panic level (expected here).
  const nd = await startNode(`poison${++n}_${process.pid}@localhost`, { log: { level: 'error' } });
  t.after(() => nd.stop());
  return nd;
}

/** Whether `{ add: 13 }` makes the handler throw (a poison message until the test "deploys a fix"). */
let poisoned = true;

class Picky extends Entity<typeof CounterProtocol, CounterState> {
  override handleMessage(m: { add: number }): void {
    if (m.add === 13 && poisoned) throw new Error('13 is unlucky');
    this.state = { n: this.state.n + m.add, adds: this.state.adds + 1 };
  }
  override handleCall(req: 'get' | 'where' | { set: number }): number | string {
    if (req === 'get') return this.state.n;
    return 'n/a';
  }
}
const picky = defineEntity('picky', {
  protocol: CounterProtocol,
  entity: Picky,
  initialState: (): CounterState => ({ n: 0, adds: 0 }),
  passivateAfterMs: 0,
});

const stores: [string, () => EntityStore][] = [
  ['memory', () => new MemoryStore()],
  ['SQLite', () => SqliteStore.open(join(dir, `p${++n}.db`))],
];

for (const [name, open] of stores) {
  test(`${name}: a poison message moves to the dead letters after maxAttempts; the key goes on; retry and drop from entities.deadLetters`, async (t) => {
    poisoned = true;
    const store = open();
    t.after(() => store.close());
    const id = { kind: 'picky', key: 'k' };
    // Accepted by an owner that died before handling them: the sweeper activates the key.
    await store.enqueue(id, 'm1', { add: 13 });
    await store.enqueue(id, 'm2', { add: 2 });
    const nd = await node(t);
    const entities = await startEntities(nd, {
      store,
      kinds: [picky],
      inbox: { pollMs: 20, retryCapMs: 40, maxAttempts: 3 },
    });
    t.after(() => entities.stop());
    const state = async (): Promise<number | undefined> => ((await store.load(id)).state as CounterState)?.n;
    // Three failed replays of m1, then it is set apart and m2 is handled.
    await eventually(async () => (await state()) === 2, 'the message after the poison one handled');
    const dead = await entities.deadLetters.list();
    assert.deepEqual(
      dead.map((d) => [d.kind, d.key, d.id, d.attempts, d.message]),
      [['picky', 'k', 'm1', 3, { add: 13 }]],
    );
    assert.match(dead[0]!.error, /13 is unlucky/);
    assert.deepEqual(await store.inbox(id), []);
    assert.equal(await entities.sendDurable(entity(picky, 'k'), { add: 13 }, 'm1'), 'duplicate', 'a resend stays out');

    // The fix is deployed: retried, the message goes back into the inbox and the key handles it.
    poisoned = false;
    assert.equal(await entities.deadLetters.retry(id, 'm1'), true);
    await eventually(async () => (await state()) === 15, 'the retried message handled');
    assert.equal(await store.processed(id, 'm1'), true);
    assert.deepEqual(await entities.deadLetters.list(), []);
    assert.equal(await entities.deadLetters.retry(id, 'm1'), false, 'nothing left to retry');

    // A poison message sent to the running activation: its failures are counted there too.
    poisoned = true;
    assert.equal(await entities.sendDurable(entity(picky, 'k'), { add: 13 }, 'm3'), 'accepted');
    await eventually(
      async () => (await entities.deadLetters.list({ kind: 'picky' })).length === 1,
      'the second poison message set apart',
    );
    assert.equal(await entities.deadLetters.drop(id, 'm3'), true);
    assert.equal(await store.processed(id, 'm3'), true, 'dropped: counted as processed');
    assert.equal(await entities.sendDurable(entity(picky, 'k'), { add: 13 }, 'm3'), 'duplicate');
    assert.equal(await entities.call(entity(picky, 'k'), 'get'), 15, 'the key answers, its state untouched');
    assert.deepEqual(await entities.deadLetters.list(), []);
  });
}

test('a store without dead letters: the operator view rejects with ERR_ENTITY_INCORRECT; a bad maxAttempts is refused', async (t) => {
  const memory = new MemoryStore();
  const bare = Object.fromEntries(
    ['name', 'acquire', 'renew', 'release', 'load', 'events', 'write', 'enqueue', 'inbox', 'processed', 'lease']
      .concat(['readJournal', 'loadOffset', 'saveOffset', 'close'])
      .map((k) => {
        const v = (memory as unknown as Record<string, unknown>)[k];
        return [k, typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(memory) : v];
      }),
  ) as unknown as EntityStore;
  const nd = await node(t);
  await assert.rejects(startEntities(nd, { store: bare, kinds: [picky], inbox: { maxAttempts: 0 } }), {
    code: 'ERR_ENTITY_INCORRECT',
  });
  const entities = await startEntities(nd, { store: bare, kinds: [picky] });
  t.after(() => entities.stop());
  await assert.rejects(entities.deadLetters.list(), { code: 'ERR_ENTITY_INCORRECT' });
});

test('an activation refused for a held lease answers with the holder and end it was refused with, though that lease is released right after', async (t) => {
  const store = new MemoryStore();
  const id = { kind: 'counter', key: 'h1' };
  const holder = 'elsewhere@localhost#1';
  const held = await store.acquire({ ...id, owner: holder, ttlMs: 60_000 });
  assert.ok(held.acquired);
  const lease = await store.lease(id);
  // The holder hands the key off just after our refusal (between the refusal and any later read).
  const racing = new Proxy(store, {
    get(target, p) {
      if (p === 'acquire')
        return async (r: LeaseRequest) => {
          const answer = await target.acquire(r);
          if (!answer.acquired && r.key === 'h1') await target.release(id, held.token);
          return answer;
        };
      const v = Reflect.get(target, p, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  const nd = await node(t);
  const entities = await startEntities(nd, {
    store: racing,
    kinds: [counterKind(0)],
    leaseScope: 'key',
    takeOverFromDeadMembers: false,
  });
  t.after(() => entities.stop());
  const reply = await entities.activateLocal('counter', 'h1');
  // Before: `{ ok: false, holder: '', expiresAt: 0 }` (the gate read the lease again, released).
  assert.deepEqual(reply, { ok: false, holder, expiresAt: lease!.expiresAt });
  // Released: the next activation takes the key.
  assert.deepEqual(await entities.activateLocal('counter', 'h1'), { ok: true });
});
