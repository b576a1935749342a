// A `result()` caller rides through a store that is briefly unreachable (a PostgreSQL failover:
// the driver's "Connection terminated unexpectedly", a 57P01 shutdown, a session lost): the
// owner's activation cannot load the instance for a while, and the caller asks again until its
// own timeout instead of getting the driver's error (docs/deploy.md, "Running on highly
// available PostgreSQL"). A store wrapper fails the instance's loads a few times, as a failover
// does, after a restart left the instance only in the store.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { MemoryStore, defineWorkflow } from '../src/index.js';
import type { EntityId } from '../src/contract/ids.js';
import type { LeaseRequest, LeaseResult } from '../src/contract/store.js';
import type { StoredState } from '../src/contract/stored_state.js';
import { storeError } from '../src/store/ambiguous_commit.js';
import { startTestEntities } from '../src/testing/index.js';

const Double = defineWorkflow('outage-double', async (ctx, n: number) => ctx.step('double', () => n * 2));

/**
 * Errors as a failover gives them, as the PostgreSQL store's boundary passes them on: the driver's
 * (with no code) and the server's shutdown, each as ERR_ENTITY_STORE_UNAVAILABLE.
 */
function gone(i: number): Error {
  const driver =
    i % 2 === 0
      ? new Error('Connection terminated unexpectedly')
      : Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
  return storeError(driver, 'outage') as Error;
}

class Outage extends MemoryStore {
  /** Loads and leases of the workflow's keys still to fail. */
  failures = 0;
  failed = 0;
  #fail(kind: string): Error | undefined {
    if (kind !== Double.name || this.failures <= 0) return undefined;
    this.failures--;
    return gone(this.failed++);
  }
  override acquire(request: LeaseRequest): Promise<LeaseResult> {
    const e = this.#fail(request.kind);
    return e === undefined ? super.acquire(request) : Promise.reject(e);
  }
  override load(id: EntityId): Promise<StoredState> {
    const e = this.#fail(id.kind);
    return e === undefined ? super.load(id) : Promise.reject(e);
  }
}

test('result() rides through a store unreachable for a while: it asks again and gets the output', async () => {
  const store = new Outage();
  await using k = await startTestEntities({ kinds: [Double], store });
  const wf = await k.workflows.start(Double, 'w1', 21);
  assert.equal(await wf.result(), 42);
  await k.restart(); // the instance is in the store only
  store.failures = 6;
  assert.equal(await k.entities.workflows.handle(Double, 'w1').result({ timeout: 60_000 }), 42);
  assert.ok(store.failed >= 1, 'the store failed under the result');
});

test('result() still ends at its own timeout while the store stays unreachable', async () => {
  const store = new Outage();
  await using k = await startTestEntities({ kinds: [Double], store });
  assert.equal(await (await k.workflows.start(Double, 'w2', 1)).result(), 2);
  await k.restart();
  store.failures = Number.MAX_SAFE_INTEGER;
  await assert.rejects(k.entities.workflows.handle(Double, 'w2').result({ timeout: 1500 }), {
    code: 'ERR_WORKFLOW_TIMEOUT',
  });
});
