// An activation that failed because the store could not be reached (a failover) waits on its
// member for the store to answer again, within its caller's time, and is tried again then — every
// such activation in the same turn as the first store operation that succeeds (runtime/
// store_health.ts, activation_gate.ts). Before, the failure went back to the caller, who asked
// again on its own timer (a workflow client every 200 ms): through an outage each waiting start
// was one failed attempt per period, and once the store answered each waited out the rest of its
// caller's pause (issue 89). While nothing of the member reaches the store, the first of the
// waiters is let through every PROBE_MS of the runtime's clock to try it. A SQLite store behind a
// switch that makes every operation fail as unreachable; the runtime on a test clock.

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';
import { startNode } from 'ergo-ts';
import { TestClock } from 'ergo-ts/testing';

import { ErrStoreUnavailable } from '../src/contract/errors.js';
import { startEntitiesWith } from '../src/entities.js';
import { defineWorkflow, SqliteStore, type EntityStore } from '../src/index.js';
import { PROBE_MS, StoreHealth } from '../src/runtime/store_health.js';

const dir = mkdtempSync(join(tmpdir(), 'ergo-entities-answers-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const KIND = 'wfanswers';
const Wf = defineWorkflow(KIND, async (ctx, _input: null) => ctx.step('one', () => 1));

/**
 * `store` behind a switch: while `down`, every operation fails with ERR_ENTITY_STORE_UNAVAILABLE
 * (as the PostgreSQL store during a failover); the lease takes of KIND's activations are recorded.
 */
function switched(store: EntityStore): { store: EntityStore; s: { down: boolean }; tries: string[] } {
  const s = { down: false };
  const tries: string[] = [];
  const proxy = new Proxy(store, {
    get(target, p) {
      const v = Reflect.get(target, p, target) as unknown;
      if (typeof v !== 'function' || p === 'close' || p === 'constructor') return v;
      return (...args: unknown[]) => {
        const id = args[0] as { kind?: unknown; key?: unknown } | undefined;
        // A workflow's key activates under its shard's lease (taken first), or its own.
        if ((p === 'acquire' || p === 'acquireAndLoad') && (id?.kind === KIND || id?.kind === '~shard'))
          tries.push(String(id.key));
        if (s.down) return Promise.reject(ErrStoreUnavailable.with('test: the store cannot be reached'));
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: proxy, s, tries };
}

test('starts whose activation failed on an unreachable store wait for it on their member: one try per probe period, then all at once when it answers', async (t) => {
  // The runtime's own timing (the probe, renewals, scans) on a test clock that the test moves.
  const clock = new TestClock(Date.now());
  const sqlite = SqliteStore.open(join(dir, 'answers.db'), { synchronous: 'normal' });
  const { store, s, tries } = switched(sqlite);
  const node = await startNode(`answers-${process.pid}@localhost`, { log: { level: 'error' } });
  const k = await startEntitiesWith(node, { store, kinds: [Wf] }, { clock });
  t.after(async () => {
    s.down = false;
    await k.stop();
    await node.stop();
    await sqlite.close();
  });
  s.down = true;
  const ids = ['a', 'b', 'c', 'd'];
  const starts = ids.map((id) => k.workflows.start(Wf, id, null, { timeout: 60_000 }));
  await eventually(() => k.stats().activationsWaitingForStore === ids.length, 'each start tried, and waits');
  assert.equal(tries.length, ids.length);
  // The store does not answer: the runtime's clock lets one held activation through to try it.
  // (Before, each start's caller asked again 200 ms later: every one of them, on the wall clock.)
  clock.advance(PROBE_MS);
  await eventually(
    () => tries.length > ids.length && k.stats().activationsWaitingForStore === ids.length,
    'the probe tried',
  );
  assert.equal(tries.length, ids.length + 1, 'one try, not one per start');
  // It answers again: the next probe succeeds, and every other held start is tried in its wake.
  s.down = false;
  const before = tries.length;
  clock.advance(PROBE_MS);
  const handles = await Promise.all(starts);
  assert.deepEqual(
    handles.map((h) => h.id),
    ids,
  );
  assert.equal(tries.length - before, ids.length, 'each start once more, no more');
  for (const h of handles) assert.equal(await h.result(), 1);
});

test('StoreHealth: waiters go at the first success after a failure; one by one each PROBE_MS meanwhile; past their time, timeout', async () => {
  const clock = new TestClock(0);
  const h = new StoreHealth(clock);
  assert.equal(await h.answered(10), 'answered', 'not down: at once');
  h.outcome(false, false);
  assert.equal(h.down, false, 'a failure that is not the store being away');
  h.outcome(false, true);
  assert.equal(h.down, true);
  const got: string[] = [];
  const ws = [1, 2, 3].map((i) => h.answered(10_000).then((how) => void got.push(`${i}:${how}`)));
  const late = h.answered(PROBE_MS * 3 + 50).then((how) => void got.push(`late:${how}`));
  clock.advance(PROBE_MS);
  await eventually(() => got.length === 1, 'the first waiter let through');
  assert.deepEqual(got, ['1:probe']);
  h.outcome(true, false);
  await Promise.all(ws.slice(1));
  await late;
  assert.deepEqual(got, ['1:probe', '2:answered', '3:answered', 'late:answered']);
  assert.equal(h.answeredAgain, 1);
  h.outcome(false, true);
  const alone = h.answered(PROBE_MS / 2);
  clock.advance(PROBE_MS / 2);
  assert.equal(await alone, 'timeout');
});
