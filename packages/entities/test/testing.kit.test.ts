// The entities test kit (`@ergo-ts/entities/testing`) tested as a user would use it: a cart
// entity kind driven through TestEntities on the real runtime, with a MemoryStore and a test
// clock. Each test checks the kit's promise against the store and the runtime's events, and the
// in-place-mutation test is the one that shows the kit does something: an entity that never
// saves looks right in memory and is caught only because restart() really reloads from the store.

import { strict as assert } from 'node:assert';
import { after, before, test } from 'node:test';

import { UnhandledWatch } from '@ergo-ts/test-support';
import { defineProtocol, schema } from 'ergo-ts';
import { TestClock } from 'ergo-ts/testing';

import { ENTITIES_DEFAULTS, Entity, MemoryStore, defineEntity, shardOf } from '../src/index.js';
import { startTestEntities, type TestEntities } from '../src/testing/index.js';

const watch = new UnhandledWatch('@ergo-ts/entities/testing');
before(() => watch.start());
after(() => watch.stop());

const CartProtocol = defineProtocol('cart', {
  messages: {
    add: schema.object({ add: schema.string() }),
    boom: schema.literal('boom'),
  },
  calls: {
    items: { request: schema.literal('items'), reply: schema.array(schema.string()) },
    clear: { request: schema.literal('clear'), reply: schema.number() },
  },
});

interface CartState {
  items: string[];
}

class CartEntity extends Entity<typeof CartProtocol, CartState> {
  override handleMessage(m: { add: string } | 'boom'): void {
    if (m === 'boom') throw new Error('cart exploded');
    this.state = { items: [...this.state.items, m.add] };
  }
  override handleCall(req: 'items' | 'clear'): string[] | number {
    if (req === 'items') return this.state.items;
    const n = this.state.items.length;
    this.state = { items: [] };
    return n;
  }
}

const Cart = defineEntity('cart', {
  protocol: CartProtocol,
  entity: CartEntity,
  initialState: (): CartState => ({ items: [] }),
  passivateAfterMs: 30_000,
});

/** The classic mistake: the state is changed in place, so the runtime sees no new state and saves nothing. */
class LeakyCartEntity extends CartEntity {
  override handleMessage(m: { add: string } | 'boom'): void {
    if (m !== 'boom') this.state.items.push(m.add);
  }
}

const LeakyCart = defineEntity('leaky-cart', {
  protocol: CartProtocol,
  entity: LeakyCartEntity,
  initialState: (): CartState => ({ items: [] }),
  passivateAfterMs: 0,
});

async function kit(t: { after(fn: () => Promise<void>): void }): Promise<TestEntities> {
  const k = await startTestEntities({ leaseScope: 'key', kinds: [Cart, LeakyCart] });
  t.after(() => k.stop());
  return k;
}

test('send, call and sendDurable run on the real runtime; each resolves once the entity handled and saved it', async (t) => {
  const k = await kit(t);
  const cart = k.entity(Cart, 'c1');
  assert.equal(cart.isActive(), false);
  await cart.send({ add: 'book' });
  // No waiting: the send resolved after the handler ran and its write was accepted.
  assert.deepEqual(await cart.stored(), { state: { items: ['book'] }, version: 1 });
  assert.deepEqual(await cart.call('items'), ['book']);
  assert.equal(await cart.sendDurable({ add: 'pen' }, 'order-1'), 'accepted');
  assert.equal(await cart.sendDurable({ add: 'pen' }, 'order-1'), 'duplicate');
  assert.deepEqual(await cart.stored(), { state: { items: ['book', 'pen'] }, version: 2 });
  assert.equal(await cart.processed('order-1'), true);
  assert.deepEqual(await cart.inbox(), []);
  const a = await cart.activation();
  assert.ok(a !== undefined);
  assert.equal(a.token, 1);
  assert.equal(a.version, 2);
  assert.deepEqual(a.state, { items: ['book', 'pen'] });
  assert.deepEqual(
    cart.events().map((e) => [e.event, e.token, e.version]),
    [
      ['activated', 1, 0],
      ['written', 1, 1],
      ['written', 1, 2],
    ],
  );
  assert.deepEqual(k.events({ event: 'written' }).length, 2);
});

test('passivation happens when the test clock passes passivateAfterMs, not before; the state stays in the store', async (t) => {
  const k = await kit(t);
  const cart = k.entity(Cart, 'p1');
  await cart.send({ add: 'book' });
  // Real time passing changes nothing, and test time short of passivateAfterMs does not either.
  k.advanceTime(29_999);
  assert.ok((await cart.activation()) !== undefined);
  assert.equal(cart.isActive(), true);
  const passivated = await cart.passivate();
  assert.equal(passivated.event, 'passivated');
  assert.equal(passivated.token, 1);
  assert.equal(cart.isActive(), false);
  assert.equal(await cart.activation(), undefined);
  // The lease was released; the next message activates with a newer token and the saved state.
  assert.deepEqual(await cart.lease(), { token: 1, owner: '', expiresAt: 0 });
  assert.deepEqual(await cart.call('items'), ['book']);
  assert.equal((await cart.activation())?.token, 2);
  // A kind that never passivates says so.
  await assert.rejects(k.entity(LeakyCart, 'x').passivate(), { code: 'ERR_ENTITY_INCORRECT' });
});

test('restart reloads from the store: an entity that changes its state in place is caught (nothing was saved)', async (t) => {
  const k = await kit(t);
  const good = k.entity(Cart, 'g1');
  const leaky = k.entity(LeakyCart, 'l1');
  await good.send({ add: 'book' });
  await leaky.send({ add: 'book' });
  // In memory both look the same...
  assert.deepEqual((await good.activation())?.state, { items: ['book'] });
  assert.deepEqual((await leaky.activation())?.state, { items: ['book'] });
  // ...but only one was saved, and a restart shows it.
  const g = await good.restart();
  const l = await leaky.restart();
  assert.deepEqual(g.state, { items: ['book'] });
  assert.deepEqual(l.state, { items: [] });
  assert.equal(g.token, 2);
  assert.equal(l.token, 2);
  assert.deepEqual(await leaky.stored(), { state: undefined, version: 0 });
  assert.deepEqual(
    leaky.events().map((e) => e.event),
    ['activated', 'stopped', 'activated'],
  );
});

test('a lease taken over by another activation: the entity’s next write is refused as stale and the activation ends', async (t) => {
  const k = await kit(t);
  const cart = k.entity(Cart, 't1');
  await cart.send({ add: 'book' });
  const taken = await cart.takeOver();
  assert.equal(taken.token, 2);
  // A read from memory still answers (as a paused owner would); the write is refused.
  assert.deepEqual(await cart.call('items'), ['book']);
  await assert.rejects(cart.call('clear'), { code: 'ERR_ENTITY_STALE_TOKEN' });
  await k.waitForEvent({ event: 'stopped', kind: 'cart', key: 't1' }, { since: 0 });
  assert.deepEqual(
    cart.events().map((e) => [e.event, e.token]),
    [
      ['activated', 1],
      ['written', 1],
      ['refused', 1],
      ['stopped', 1],
    ],
  );
  assert.deepEqual(await cart.stored(), { state: { items: ['book'] }, version: 1 });
  // A send whose write is refused rejects with ERR_ENTITY_TEST_ENDED rather than passing silently.
  const other = k.entity(Cart, 't2');
  await other.activate();
  await other.takeOver();
  await assert.rejects(other.send({ add: 'pen' }), { code: 'ERR_ENTITY_TEST_ENDED' });
  // While the taker holds the lease the key cannot activate here; once released it can, newer still.
  await assert.rejects(cart.activate(), { code: 'ERR_ENTITY_LEASE_HELD' });
  await taken.release();
  assert.equal((await cart.activate()).token, 3);
  assert.deepEqual(await cart.call('items'), ['book']);
});

test("with shard leases (the default), takeOver takes the key's shard lease: the key and another active key of its shard are fenced", async () => {
  await using k = await startTestEntities({ kinds: [Cart] });
  const cart = k.entity(Cart, 's1');
  await cart.send({ add: 'book' });
  const before = await cart.lease();
  assert.ok(before !== undefined, 'the shard lease the key writes under');
  // Another key of the same shard (64 shards: one in 64 keys on average shares it).
  let n = 0;
  while (shardOf(`s-${n}`, ENTITIES_DEFAULTS.shards) !== shardOf('s1', ENTITIES_DEFAULTS.shards)) n++;
  const sibling = k.entity(Cart, `s-${n}`);
  await sibling.send({ add: 'pen' });
  assert.deepEqual(await sibling.lease(), before, 'one lease for the shard');
  const taken = await cart.takeOver();
  assert.equal(taken.token, before.token + 1);
  const now = await cart.lease();
  assert.equal(now?.token, taken.token);
  assert.equal(now?.owner, taken.owner);
  await assert.rejects(cart.call('clear'), { code: 'ERR_ENTITY_STALE_TOKEN' });
  await assert.rejects(sibling.call('clear'), { code: 'ERR_ENTITY_STALE_TOKEN' });
  assert.deepEqual(await cart.stored(), { state: { items: ['book'] }, version: 1 });
  await taken.release();
  assert.deepEqual(await cart.call('items'), ['book']);
});

test('a handler that throws ends the activation: send rejects with ERR_ENTITY_TEST_ENDED, the next message re-activates', async (t) => {
  const k = await kit(t);
  const cart = k.entity(Cart, 'b1');
  await cart.send({ add: 'book' });
  await assert.rejects(cart.send('boom'), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'ERR_ENTITY_TEST_ENDED');
    assert.match(err.message, /stopped cart\/b1 token 1/);
    return true;
  });
  assert.equal(cart.isActive(), false);
  await cart.send({ add: 'pen' });
  assert.deepEqual(await cart.call('items'), ['book', 'pen']);
});

test('leases live on the test clock: renewals on it keep an active entity’s lease; inbox messages replay on activation', async (t) => {
  const clock = new TestClock(Date.UTC(2030, 5, 1));
  const store = new MemoryStore({ clock });
  const k = await startTestEntities({ leaseScope: 'key', kinds: [Cart], clock, store, leaseTtlMs: 10_000 });
  t.after(() => k.stop());
  const cart = k.entity(Cart, 'r1');
  await cart.activate();
  const first = await cart.lease();
  assert.equal(first?.expiresAt, Date.UTC(2030, 5, 1) + 10_000);
  // 25 s of test time: renewals (every 3 333 ms) ran on the clock, so the lease is still ours.
  k.advanceTime(25_000);
  await cart.activation();
  const renewed = await cart.lease();
  assert.equal(renewed?.owner, first?.owner);
  assert.ok(renewed!.expiresAt > clock.now(), 'the lease was renewed on the test clock');
  // Accepted messages left in the inbox (by an activation that died first) are replayed on activation.
  await store.enqueue({ kind: 'cart', key: 'r2' }, 'left-1', { add: 'left' });
  const r2 = k.entity(Cart, 'r2');
  assert.deepEqual(await r2.inbox(), [{ id: 'left-1', message: { add: 'left' } }]);
  assert.deepEqual((await r2.activate()).state, { items: ['left'] });
  assert.deepEqual(await r2.inbox(), []);
  assert.equal(await r2.processed('left-1'), true);
  // The kit left the store it was given open.
  await k.stop();
  assert.deepEqual((await store.load({ kind: 'cart', key: 'r2' })).version, 1);
  await store.close();
});

test('restarting the runtime: a new owner, and every key activates again from what the store holds', async (t) => {
  const k = await kit(t);
  const cart = k.entity(Cart, 'n1');
  await cart.send({ add: 'book' });
  const owner = (await cart.lease())?.owner;
  const runtime = k.entities;
  await k.restart();
  assert.notEqual(k.entities, runtime);
  assert.equal(cart.isActive(), false);
  assert.deepEqual(await cart.call('items'), ['book']);
  const lease = await cart.lease();
  assert.notEqual(lease?.owner, owner);
  assert.equal(lease?.token, 2);
});

test('the kit refuses what it cannot do with a coded error', async (t) => {
  const k = await kit(t);
  const Other = defineEntity('other', {
    protocol: CartProtocol,
    entity: CartEntity,
    initialState: (): CartState => ({ items: [] }),
  });
  assert.throws(() => k.entity(Other, 'x'), { code: 'ERR_ENTITY_INCORRECT' });
  assert.throws(() => k.entity(Cart, ''), { code: 'ERR_ENTITY_INCORRECT' });
  await assert.rejects(k.entity(Cart, 'nope').passivate(), { code: 'ERR_ENTITY_INCORRECT' });
  await assert.rejects(startTestEntities({ leaseScope: 'key', kinds: [Cart, Cart] }), { code: 'ERR_ENTITY_INCORRECT' });
  await assert.rejects(startTestEntities({ leaseScope: 'key', kinds: [Cart], timeoutMs: 0 }), {
    code: 'ERR_ENTITY_INCORRECT',
  });
});
