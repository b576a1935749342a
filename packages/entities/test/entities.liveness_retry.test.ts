// A member's liveness claim (runtime/liveness.ts) when the store cannot be reached as it is taken:
// a PostgreSQL failover closes the claim's session, and the claim taken again at once fails while
// no primary answers. Found on Patroni (entities.workflows.pg_failover.test.ts): the claim was
// never tried again, so the member ran without one for good — a peer declaring it down would then
// read it as gone in the store and take its keys over at once. It is tried again until taken.

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';
import { startNode } from 'ergo-ts';

import { SqliteStore, startEntities, type EntityStore } from '../src/index.js';
import { counterKind } from './counter.js';

const dir = mkdtempSync(join(tmpdir(), 'ergo-liveness-retry-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a liveness claim that fails while the store is unreachable is taken once the store answers again', async (t) => {
  const real = SqliteStore.open(join(dir, 'a.db'));
  let failing = 2;
  let taken = 0;
  // The real store, whose first claims fail as a dropped connection does.
  const store = new Proxy(real, {
    get(target, p) {
      if (p === 'claimLiveness')
        return async (owner: string) => {
          if (failing > 0) {
            failing--;
            throw Object.assign(new Error('Connection terminated unexpectedly'), { code: 'ECONNRESET' });
          }
          const claim = await target.claimLiveness(owner);
          taken++;
          return claim;
        };
      const v = Reflect.get(target, p, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  }) as EntityStore;
  const node = await startNode(`liveretry_${process.pid}@localhost`, { log: { level: 'error' } });
  const entities = await startEntities(node, { leaseScope: 'key', store, kinds: [counterKind(0)] });
  t.after(async () => {
    await entities.stop();
    await node.stop();
    await real.close();
  });
  await eventually(() => taken === 1, 'the claim taken after two failed tries', { timeoutMs: 20_000 });
  assert.equal(failing, 0);
});
