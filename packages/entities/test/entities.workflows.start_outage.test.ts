// `start`, `signal` and `update` ride through a store that loses an answer (a PostgreSQL failover:
// the commit landed, the connection died before its acknowledgement, ERR_ENTITY_STORE_OUTCOME_UNKNOWN
// or ERR_ENTITY_STORE_UNAVAILABLE): the client asks again with the call's request id
// (start_request.ts, ride_through.ts), and the instance answers the repeat as it answered the
// first attempt. No second run (under 'always' and 'terminateIfRunning' a start asked again would
// otherwise start one, or terminate the run it made), no signal kept twice (docs/deploy.md,
// "Running on highly available PostgreSQL").

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { schema } from 'ergo-ts';

import { ErrStoreOutcomeUnknown, MemoryStore, defineWorkflow } from '../src/index.js';
import type { EntityId } from '../src/contract/ids.js';
import type { LeaseRequest, LeaseResult, WriteRequest } from '../src/contract/store.js';
import type { StoredState } from '../src/contract/stored_state.js';
import { storeError } from '../src/store/ambiguous_commit.js';
import { startTestEntities } from '../src/testing/index.js';
import { WfCart } from './workflow_update_kinds.js';

/** Waits for two `add` signals and answers their sum. */
const Sum = defineWorkflow(
  'outage-sum',
  { signals: { add: schema.number() } },
  async (ctx, base: number) => base + (await ctx.signal('add')) + (await ctx.signal('add')),
);

/** Ends at once with its input. */
const Quick = defineWorkflow('outage-quick', async (_ctx, n: number) => n);

/** A memory store whose next write of a workflow's key lands, and then its answer is lost. */
class LostAnswers extends MemoryStore {
  /** The workflow kind whose next write loses its answer (undefined: none). */
  lose: string | undefined;
  /** How the answer is lost: an undecided outcome, or a driver's dead connection as the store's boundary passes it on. */
  how: 'unknown' | 'unavailable' = 'unknown';
  lost = 0;
  override async write(request: WriteRequest): Promise<number> {
    const v = await super.write(request);
    if (request.kind !== this.lose) return v;
    this.lose = undefined;
    this.lost++;
    throw this.how === 'unknown'
      ? ErrStoreOutcomeUnknown.with('outage: the connection was lost and the server was not reached again')
      : (storeError(new Error('Connection terminated unexpectedly'), 'outage write') as Error);
  }
}

for (const idReuse of ['always', 'terminateIfRunning'] as const)
  test(`start with idReuse '${idReuse}' whose answer was lost after it landed: asked again, the same run (no second one)`, async () => {
    const store = new LostAnswers();
    await using k = await startTestEntities({ kinds: [Sum], store });
    const wf = k.entities.workflows;
    // 'always': the id's instance ended; 'terminateIfRunning': it runs.
    const first = await wf.start(Sum, 's1', 0);
    if (idReuse === 'always') {
      await first.signal('add', 1);
      await first.signal('add', 2);
      assert.equal(await first.result(), 3);
    }
    store.lose = Sum.name;
    const again = await wf.start(Sum, 's1', 100, { idReuse, signal: { name: 'add', payload: 10 } });
    assert.equal(store.lost, 1, 'the start write lost its answer');
    assert.equal(again.created, true);
    assert.equal(again.reused, idReuse === 'always' ? 'completed' : 'cancelled');
    assert.equal(again.signalled, 'accepted');
    const d = await again.describe();
    assert.equal(d.status, 'running');
    assert.equal(d.previousRuns?.length, 1, 'one run before this one: no run made by the repeat');
    // The started handle keeps its `signal` method (the start's answer is `signalled`).
    const h = again;
    await h.signal('add', 5);
    assert.equal(await h.result(), 115, 'the run the first attempt made, its signal kept once');
  });

test('start asked again with the same request id under every policy: the first answer, nothing done again', async () => {
  await using k = await startTestEntities({ kinds: [Sum] });
  const call = (key: string, request: object): Promise<unknown> =>
    k.entities.call({ kind: Sum.name, key }, request as never);
  const ended = await k.entities.workflows.start(Sum, 'r0', 0);
  await ended.signal('add', 1);
  await ended.signal('add', 1);
  await ended.result();
  for (const reuse of ['never', 'afterFailure', 'always', 'terminateIfRunning'] as const) {
    const key = reuse === 'always' ? 'r0' : `r-${reuse}`;
    const req = { '~wf': 'start', input: 7, reuse, rid: `rid-${reuse}` };
    const a = await call(key, req);
    const b = await call(key, req);
    assert.deepEqual(b, a, reuse);
    assert.equal((a as { created: boolean }).created, true, reuse);
    const d = await k.entities.workflows.handle(Sum, key).describe();
    assert.equal(d.status, 'running', reuse);
    assert.equal(d.previousRuns?.length ?? 0, reuse === 'always' ? 1 : 0, `${reuse}: no second run`);
  }
  // Another call (another request id) under 'terminateIfRunning' does replace the run.
  const c = (await call('r-terminateIfRunning', {
    '~wf': 'start',
    input: 7,
    reuse: 'terminateIfRunning',
    rid: 'x',
  })) as {
    reused?: string;
  };
  assert.equal(c.reused, 'cancelled');
});

test('a record written before request ids (no startRequest, no signalCalls) reads as one with none kept', async () => {
  await using k = await startTestEntities({ kinds: [Sum] });
  // A start as an older client sends it: no request id; the record keeps none.
  const old = { '~wf': 'start', input: 1 } as never;
  assert.deepEqual(await k.entities.call({ kind: Sum.name, key: 'o1' }, old), { created: true, status: 'running' });
  const h = k.entities.workflows.handle(Sum, 'o1');
  assert.equal(await h.signal('add', 2, { id: 'two' }), 'accepted');
  assert.equal(await h.signal('add', 2, { id: 'two' }), 'duplicate');
  const again = await k.entities.workflows.start(Sum, 'o1', 5);
  assert.equal(again.created, false);
  await h.signal('add', 3);
  assert.equal(await h.result(), 6);
});

test('signal without an id whose answer was lost after it landed: asked again, kept once, answered accepted', async () => {
  const store = new LostAnswers();
  await using k = await startTestEntities({ kinds: [Sum], store });
  const h = await k.entities.workflows.start(Sum, 'g1', 0);
  store.how = 'unavailable';
  store.lose = Sum.name;
  assert.equal(await h.signal('add', 1), 'accepted');
  assert.equal(store.lost, 1, 'the signal write lost its answer');
  assert.equal(await h.signal('add', 10), 'accepted');
  assert.equal(await h.result(), 11, 'the first signal kept once');
});

test("signal with the user's id whose answer was lost: its own retry is accepted, another call with the id a duplicate", async () => {
  const store = new LostAnswers();
  await using k = await startTestEntities({ kinds: [Sum], store });
  const h = await k.entities.workflows.start(Sum, 'g2', 0);
  store.lose = Sum.name;
  assert.equal(await h.signal('add', 1, { id: 'one' }), 'accepted');
  assert.equal(store.lost, 1);
  assert.equal(await h.signal('add', 1, { id: 'one' }), 'duplicate');
  assert.equal(await h.signal('add', 10), 'accepted');
  assert.equal(await h.result(), 11);
});

test('update while the store cannot be reached for a while: asked again with its id, answered once', async () => {
  class Outage extends MemoryStore {
    failures = 0;
    #gone(kind: string): Error | undefined {
      if (kind !== WfCart.name || this.failures <= 0) return undefined;
      this.failures--;
      return storeError(new Error('Connection terminated unexpectedly'), 'outage') as Error;
    }
    override acquire(request: LeaseRequest): Promise<LeaseResult> {
      const e = this.#gone(request.kind);
      return e === undefined ? super.acquire(request) : Promise.reject(e);
    }
    override load(id: EntityId): Promise<StoredState> {
      const e = this.#gone(id.kind);
      return e === undefined ? super.load(id) : Promise.reject(e);
    }
  }
  const store = new Outage();
  await using k = await startTestEntities({ kinds: [WfCart], store });
  const h = await k.entities.workflows.start(WfCart, 'u1', { limit: 10 });
  assert.equal(await h.update('add', { sku: 'a', qty: 2 }), 2);
  await k.restart(); // the instance is in the store only
  store.failures = 4;
  const again = k.entities.workflows.handle(WfCart, 'u1');
  assert.equal(await again.update('add', { sku: 'b', qty: 3 }, { timeoutMs: 60_000 }), 5);
  assert.equal(store.failures, 0, 'the store failed under the update');
  await again.update('checkout', { note: 'n' });
  assert.equal(await again.result(), 5);
});

test('a store unavailable for longer than the call: start rejects with ERR_ENTITY_STORE_UNAVAILABLE at its timeout', async () => {
  class Down extends MemoryStore {
    down = false;
    override write(request: WriteRequest): Promise<number> {
      if (this.down && request.kind === Quick.name)
        return Promise.reject(
          storeError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 'down'),
        );
      return super.write(request);
    }
  }
  const store = new Down();
  await using k = await startTestEntities({ kinds: [Quick], store });
  store.down = true;
  await assert.rejects(k.entities.workflows.start(Quick, 'q1', 1, { timeout: 1000 }), (e: Error) => {
    assert.equal((e as { code?: string }).code, 'ERR_ENTITY_STORE_UNAVAILABLE');
    assert.equal((e.cause as { code?: string }).code, 'ECONNREFUSED', "its cause: the driver's error");
    return true;
  });
  store.down = false;
  assert.equal(await (await k.entities.workflows.start(Quick, 'q1', 1)).result(), 1);
});
