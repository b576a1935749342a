// A shard lease lost and taken again by the same member vouches only for the activations under its
// new token (issue 89). The fault checker on SQLite, its host loaded: member A's shard was taken
// by a member that joined (token 2) and handed back at once; A's renewal learned the loss and sent
// its activations their exit, but one of them was busy and still registered when another key of the
// shard activated here and took the shard again (token 3). That activation's check before a side
// effect asked whether the shard lease was fresh — it was, under token 3 — and ran a step with
// token 1, seconds after another member had held the instance: 53 effects in 65 rounds.
// Here the busy activation is a call waiting on the test (its exit waits behind it, as an actor's
// mail waits for an async handler), so the window is held open without timing. The confirmation
// is the runtime's, not a store's: the case runs on SQLite and on PostgreSQL.

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { UnhandledWatch, eventually, postgresMissing, startPostgres } from '@ergo-ts/test-support';
import { LogLevel, defineProtocol, schema, startNode } from 'ergo-ts';

import {
  ENTITIES_DEFAULTS,
  Entity,
  PostgresStore,
  SHARD_LEASE_KIND,
  SqliteStore,
  defineEntity,
  entity,
  shardOf,
  startEntities,
  type EntityStore,
} from '../src/index.js';
import { leaseConfirmed, leaseFreshNow } from '../src/kinds/entity.js';
import { EventLog } from './events.js';
import { LogRecords } from './log_records.js';

// PostgreSQL starts before any test is registered: run directly (`node --test`), node:test runs
// the file's after() hooks once the tests registered so far have ended, so a test registered after
// a top-level await that outlasted the SQLite case ran with the event log already closed.
const missing = postgresMissing();
const server = missing === undefined ? await startPostgres() : undefined;
if (server !== undefined) after(() => server.stop());

const dir = mkdtempSync(join(tmpdir(), 'ergo-entities-shardlease-retaken-'));
const watch = new UnhandledWatch('@ergo-ts/entities shard lease taken again');
const log = new EventLog();
before(() => watch.start());
after(() => {
  log.close();
  rmSync(dir, { recursive: true, force: true });
  watch.stop();
});

const HoldProtocol = defineProtocol('hold', {
  calls: {
    set: { request: schema.object({ set: schema.integer() }), reply: schema.number() },
    hold: {
      request: schema.literal('hold'),
      reply: schema.object({ fresh: schema.boolean(), confirmed: schema.boolean() }),
    },
  },
});

/** Opened by the test: a `hold` call waits on it, keeping its activation busy. */
let gate: Promise<void> = Promise.resolve();

class HoldEntity extends Entity<typeof HoldProtocol, { n: number }> {
  override async handleCall(req: 'hold' | { set: number }): Promise<number | { fresh: boolean; confirmed: boolean }> {
    if (req !== 'hold') {
      this.state = { n: req.set };
      return req.set;
    }
    await gate;
    // What the workflow engine asks before a step, a compensation or an outbox delivery.
    const fresh = leaseFreshNow(this);
    const confirmed = await leaseConfirmed(this);
    return { fresh, confirmed };
  }
}

const holdKind = defineEntity('hold', {
  protocol: HoldProtocol,
  entity: HoldEntity,
  initialState: () => ({ n: 0 }),
});

/** Opens a store: twice on the same data, once for this member and once for the other. */
type OpenStore = () => Promise<EntityStore & { close(): Promise<void> }>;

let nodes = 0;

/** The case on one store (see the top of this file). */
async function retaken(t: { after(fn: () => Promise<void>): void }, openStore: OpenStore): Promise<void> {
  const store = await openStore();
  const other = await openStore(); // the other member's connection
  const node = await startNode(`retaken${++nodes}_${process.pid}@localhost`, { log: { level: 'warning' } });
  // Renewals every 20 ms (the loss is learned at once), a ttl no pause of this test comes near.
  const entities = await startEntities(node, {
    store,
    kinds: [holdKind],
    leaseScope: 'shard',
    leaseTtlMs: 60_000,
    renewIntervalMs: 20,
  });
  const records = new LogRecords(node);
  // The held call let go whatever failed (its activation's stop would wait for it).
  let open = (): void => undefined;
  t.after(async () => {
    open();
    await entities.stop();
    await node.stop();
    await other.close();
    await store.close();
  });
  const first = 'r0';
  const s = shardOf(first, ENTITIES_DEFAULTS.shards);
  let second = '';
  for (let i = 1; second === ''; i++) if (shardOf(`r${i}`, ENTITIES_DEFAULTS.shards) === s) second = `r${i}`;
  assert.equal(await entities.call(entity(holdKind, first), { set: 1 }), 1);
  const shard = { kind: SHARD_LEASE_KIND, key: String(s) };
  const held = await store.lease(shard);
  assert.ok(held !== undefined);
  const oldToken = held.token;
  assert.equal(entities.leaseFresh(holdKind.name, first, oldToken), true, 'fresh while held');

  // The first key's activation busy: its exit, when sent, waits until this call settles.
  gate = new Promise<void>((r) => (open = r));
  const holding = entities.call(entity(holdKind, first), 'hold', { timeout: 30_000 });

  // Another member takes the shard over (this one declared dead) and hands it back at once.
  const taken = await other.acquire({ ...shard, owner: 'other-member#1', ttlMs: 60_000, takeOverFrom: held.owner });
  assert.ok(taken.acquired && taken.token === oldToken + 1);
  await other.release(shard, taken.token);
  // This member's renewal learns the shard was lost and sends the shard's activations their exit.
  await eventually(
    () => records.lines(LogLevel.Warning, new RegExp(`^entities: shard ${s} lease lost`)).length > 0,
    'the renewal learned the shard was lost',
  );

  // Another key of the shard activates here: the shard's lease is taken again, under a newer token.
  assert.equal(await entities.call(entity(holdKind, second), { set: 2 }), 2);
  const retaken = await store.lease(shard);
  assert.ok(retaken !== undefined && retaken.token === oldToken + 2, `retaken: ${JSON.stringify(retaken)}`);
  assert.equal(entities.leaseFresh(holdKind.name, second, retaken.token), true, 'the new token is fresh');

  // The first key's activation still runs under the old token: nothing vouches for it now.
  assert.equal(entities.leaseFresh(holdKind.name, first, oldToken), false, 'the old token is not fresh');
  assert.equal(await entities.confirmLease(holdKind.name, first, oldToken), false, 'nor confirmed');
  open();
  assert.deepEqual(await holding, { fresh: false, confirmed: false }, 'the busy activation may run no side effect');
  await log.wait((e) => e.event === 'stopped' && e.key === first && e.node === node.name, 'the old activation ended');
  // Its end (a lost lease, reported under the old token) takes nothing from the new token's confirmation.
  assert.equal(entities.leaseFresh(holdKind.name, second, retaken.token), true, 'the new token is still fresh');
  assert.equal(await entities.confirmLease(holdKind.name, first, oldToken), false, 'the old one never again');
}

test('SQLite: a shard lease lost and taken again here: an activation still under the old token is not confirmed by the new one', (t) => {
  const file = join(dir, 'retaken.db');
  return retaken(t, () => Promise.resolve(SqliteStore.open(file)));
});

if (server === undefined) {
  console.log(`# skipped: ${missing}`);
  test('PostgreSQL: a shard lease taken again here', (t) => t.skip(missing));
} else {
  const url = server.url;
  test('PostgreSQL: a shard lease lost and taken again here: an activation still under the old token is not confirmed by the new one', (t) =>
    retaken(t, () => PostgresStore.open(url, { tablePrefix: 'retaken_' })));
}
