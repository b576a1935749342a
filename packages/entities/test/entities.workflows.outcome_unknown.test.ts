// A start or a signal whose outcome is unknown says so with its own code (issue 89): an attempt
// reached the owner and no answer came back in time, so it may have been kept. Before, the caller
// saw ERR_ENTITY_UNAVAILABLE ("failed"), and 124 "failed" starts of an overload run existed, and a
// signal without an id sent again after such a failure was taken twice. Asked again the same way,
// each is kept once: the start answers `created: false`, the signal with the same id 'duplicate'.

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { ErrTimeout, schema, startNode } from 'ergo-ts';

import { ErrEntityOverloaded, ErrEntityUnavailable, ErrLeaseHeld, ErrStaleToken } from '../src/contract/errors.js';
import { defineWorkflow, SqliteStore, startEntities, type EntityStore } from '../src/index.js';
import { markUndelivered } from '../src/contract/undelivered.js';
import { askThrough } from '../src/workflow/client/ride_through.js';

const dir = mkdtempSync(join(tmpdir(), 'ergo-wf-outcome-unknown-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const Taker = defineWorkflow(
  'wf-ou-taker',
  async (ctx) => {
    const got: number[] = [];
    for (;;) {
      const s = await ctx.signal('add');
      got.push(s.n);
      if (s.n === 0) return got;
    }
  },
  { signals: { add: schema.object({ n: schema.number() }) } },
);

/** The store's writes of `kind` held while `gate` is set: the owner gets the request and answers nothing in time. */
function holdWrites(store: EntityStore, kind: string): { hold(): void; release(): void } {
  let gate: Promise<void> | undefined;
  let open: () => void = () => undefined;
  const write = store.write.bind(store);
  (store as { write: EntityStore['write'] }).write = async (request) => {
    if (request.kind === kind && gate !== undefined) await gate;
    return write(request);
  };
  return {
    hold: () => {
      gate ??= new Promise<void>((resolve) => (open = resolve));
    },
    release: () => {
      gate = undefined;
      open();
    },
  };
}

test('a start and a signal that got no answer in time reject with ERR_WORKFLOW_OUTCOME_UNKNOWN; asked again the same way, each is kept once', async (t) => {
  const store = SqliteStore.open(join(dir, 'unknown.db'));
  const writes = holdWrites(store, 'wf-ou-taker');
  const node = await startNode(`wfou_${process.pid}@localhost`, { log: { level: 'panic' } });
  const entities = await startEntities(node, { store, kinds: [Taker] });
  t.after(async () => {
    await entities.stop();
    await node.stop();
    await store.close();
  });
  const wf = entities.workflows;

  writes.hold();
  await assert.rejects(
    wf.start(Taker, 't1', {}, { timeout: 400 }),
    (err: Error & { code?: string; cause?: unknown }) => {
      assert.equal(err.code, 'ERR_WORKFLOW_OUTCOME_UNKNOWN');
      assert.match(err.message, /wf-ou-taker\/t1: start/);
      assert.ok(err.cause instanceof Error, 'the last attempt’s failure is its cause');
      return true;
    },
  );
  writes.release();
  const again = await wf.start(Taker, 't1', {}, { timeout: 10_000 });
  assert.equal(again.created, false, 'the first start was kept: asked again, it is answered as existing');

  const h = wf.handle(Taker, 't1');
  writes.hold();
  await assert.rejects(h.signal('add', { n: 1 }, { id: 's1', timeout: 400 }), { code: 'ERR_WORKFLOW_OUTCOME_UNKNOWN' });
  writes.release();
  assert.equal(await h.signal('add', { n: 1 }, { id: 's1', timeout: 10_000 }), 'duplicate', 'kept once, by its id');
  assert.equal(await h.signal('add', { n: 0 }, { id: 's2' }), 'accepted');
  assert.deepEqual(await h.result({ timeout: 10_000 }), [1, 0], 'the body took the signal once');
});

test('a start whose first attempt may have been kept and whose next is refused by an overloaded owner rejects ERR_WORKFLOW_OUTCOME_UNKNOWN, not ERR_ENTITY_OVERLOADED (the checker found such "refused" starts stored)', async () => {
  // Attempt 1: no answer in time (it may have been written); attempt 2: the owner, overloaded
  // now (the key moved on and is not active there), takes no new work.
  const timedOut = ErrEntityUnavailable.with('wf/x within 4000 ms (no answer)', ErrTimeout.with('no answer'));
  // A retry-after past the call's timeout: the refusal is final (a shorter one is waited out and asked again).
  const refused = Object.assign(ErrEntityOverloaded.with('wf/x: overloaded'), { retryAfterMs: 60_000 });
  const asks: Error[] = [timedOut, refused];
  const err = await askThrough(10_000, () => Promise.reject(asks.shift()!), 'workflow wf/x: start').then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.equal((err as { code?: unknown }).code, 'ERR_WORKFLOW_OUTCOME_UNKNOWN');
  assert.equal((err as { cause?: unknown }).cause, refused, 'its cause the refusal, with its retryAfterMs');
  // Refused with nothing asked before: nothing was kept, the refusal itself.
  const alone = await askThrough(10_000, () => Promise.reject(refused), 'workflow wf/x: start').then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.equal(alone, refused);
});

test('a start whose router gave up after an attempt that may have run it (an activation that took it and ended unanswered) is unknown when the next is refused; one that reached nothing is refused', async () => {
  const refused = Object.assign(ErrEntityOverloaded.with('wf/x: overloaded'), { retryAfterMs: 60_000 });
  // The router's own verdict, no timeout along its causes: activated, then ended before it answered.
  const endedUnanswered = ErrEntityUnavailable.with('wf/x within 4000 ms (activated, then ended before it answered)');
  const asks: Error[] = [endedUnanswered, refused];
  const err = await askThrough(10_000, () => Promise.reject(asks.shift()!), 'workflow wf/x: start').then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.equal((err as { code?: unknown }).code, 'ERR_WORKFLOW_OUTCOME_UNKNOWN');
  // Marked by the router as reaching no handler (every attempt found no process, no route, ...).
  const unreached = markUndelivered(ErrEntityUnavailable.with('wf/x within 4000 ms (no activation answered)'));
  const asks2: Error[] = [unreached, refused];
  const err2 = await askThrough(10_000, () => Promise.reject(asks2.shift()!), 'workflow wf/x: start').then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.equal(err2, refused);
});

test('a start whose write was fenced (its activation lost the key: a stale token, a lease held elsewhere) is asked again, not refused to its caller', async () => {
  // During a failover the checker's start callers saw ERR_ENTITY_STALE_TOKEN: the activation's
  // write was refused, nothing kept, and the key's new owner answers the same request.
  for (const fenced of [
    ErrStaleToken.with('wf/x: token 3 is stale'),
    ErrEntityUnavailable.with('wf/x: remote', ErrLeaseHeld.with('held by b')),
  ]) {
    const asks: (() => Promise<string>)[] = [() => Promise.reject(fenced), () => Promise.resolve('created')];
    assert.equal(await askThrough(10_000, () => asks.shift()!(), 'workflow wf/x: start'), 'created');
    assert.equal(asks.length, 0, 'asked twice');
  }
  // Fenced until the deadline: the last failure, not an unknown outcome (nothing was kept).
  const stale = ErrStaleToken.with('stale');
  const err = await askThrough(300, () => Promise.reject(stale), 'workflow wf/x: start').then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.equal(err, stale);
});
