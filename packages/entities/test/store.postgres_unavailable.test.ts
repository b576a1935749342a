// The PostgreSQL store's one code for a server it cannot reach for now: every driver error of a
// lost, refused or read-only server reaches the store's caller as ERR_ENTITY_STORE_UNAVAILABLE,
// its `cause` the driver's error (ambiguous_commit.ts's `storeError`, at the store's boundary);
// the store's own codes and the server's other errors pass as they are. First the mapping of the
// errors a failover gives, then a real PostgreSQL 15 server: a session ended under a statement
// (57P01), a read-only server (25006), a server gone (ECONNREFUSED). Without a server the real
// part skips with the reason (under CI=true it fails).

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import pg from 'pg';
import { eventually, postgresMissing, startPostgres } from '@ergo-ts/test-support';

import {
  ErrStaleToken,
  ErrStoreOutcomeUnknown,
  ErrStoreSessionLost,
  ErrStoreUnavailable,
  PostgresStore,
} from '../src/index.js';
import { storeError } from '../src/store/ambiguous_commit.js';

const coded = (message: string, code?: string): Error =>
  code === undefined ? new Error(message) : Object.assign(new Error(message), { code });

/** Rejects with ERR_ENTITY_STORE_UNAVAILABLE whose cause has `causeCode`. */
async function unavailable(p: Promise<unknown>, causeCode: string): Promise<void> {
  await assert.rejects(p, (e: Error) => {
    assert.equal((e as { code?: string }).code, 'ERR_ENTITY_STORE_UNAVAILABLE', e.message);
    assert.equal((e.cause as { code?: string }).code, causeCode);
    return true;
  });
}

test('every error of a server not reachable for now maps to ERR_ENTITY_STORE_UNAVAILABLE, its cause the driver’s', () => {
  const failover = [
    coded('Connection terminated unexpectedly'),
    coded('Connection terminated due to connection timeout'),
    coded('timeout exceeded when trying to connect'),
    coded('Client has encountered a connection error and is not queryable'),
    coded('terminating connection due to administrator command', '57P01'),
    coded('terminating connection because of crash of another server process', '57P02'),
    coded('the database system is starting up', '57P03'),
    coded('cannot execute INSERT in a read-only transaction', '25006'),
    coded('connection failure', '08006'),
    coded('could not connect', '08001'),
    coded('protocol violation', '08P01'),
    coded('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'),
    coded('read ECONNRESET', 'ECONNRESET'),
  ];
  for (const driver of failover) {
    const e = storeError(driver, 'store load') as Error;
    assert.ok(ErrStoreUnavailable.is(e), driver.message);
    assert.equal(e.cause, driver);
    assert.match(e.message, /store load: /);
  }
  // The store's own codes, and every other error of the server, as they are.
  const kept = [
    ErrStoreSessionLost.with('x'),
    ErrStoreOutcomeUnknown.with('x'),
    ErrStaleToken.with('x'),
    coded('syntax error', '42601'),
    coded('duplicate key', '23505'),
    coded('a bug'),
  ];
  for (const e of kept) assert.equal(storeError(e, 'store write'), e);
});

const missing = postgresMissing();
if (missing !== undefined) {
  console.log(`# skipped: ${missing}`);
  test('the PostgreSQL store unreachable', (t) => t.skip(missing));
} else
  test('the PostgreSQL store unreachable: a session ended, a read-only server, a server gone give one code', async (t) => {
    const server = await startPostgres();
    t.after(() => server.stop());
    const store = await PostgresStore.open(server.url, { tablePrefix: 'unav_' });
    t.after(() => store.close());
    const admin = new pg.Client({ connectionString: server.url });
    admin.on('error', () => undefined); // the server's stop ends it
    await admin.connect();
    t.after(() => admin.end().catch(() => undefined));
    const id = { kind: 'unav', key: 'k' };
    const lease = await store.acquire({ ...id, owner: 'm', ttlMs: 60_000 });
    assert.ok(lease.acquired);
    assert.equal(await store.write({ ...id, token: lease.token, expectedVersion: 0, state: 1 }), 1);

    // A session ended under a statement (57P01): a load waits on a table locked by another
    // session, and its backend is terminated.
    // (Locked from a session of its own: inside a transaction pg_stat_activity is read once.)
    const locker = new pg.Client({ connectionString: server.url });
    await locker.connect();
    t.after(() => locker.end().catch(() => undefined));
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE unav_state IN ACCESS EXCLUSIVE MODE');
    const load = store.load(id);
    const pid = await eventually(async () => {
      const r = await admin.query<{ pid: number }>(
        "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%unav_state%'",
      );
      return r.rows[0]?.pid;
    }, 'the load waiting on the lock');
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    await unavailable(load, '57P01');
    await locker.end();

    // A read-only server (as a standby answering during a failover): 25006.
    await admin.query('ALTER SYSTEM SET default_transaction_read_only = on');
    await admin.query('SELECT pg_reload_conf()');
    // (An enqueue of a new message id each time: one taken before the reload reached the session conflicts with none.)
    let n = 0;
    const refused = await eventually(async () => {
      try {
        await store.enqueue(id, `m${++n}`, 'hello');
        return undefined;
      } catch (e) {
        return (e as { code?: string }).code === 'ERR_ENTITY_STORE_UNAVAILABLE' ? (e as Error) : undefined;
      }
    }, 'an enqueue refused by the read-only server');
    assert.equal((refused.cause as { code?: string }).code, '25006');
    await admin.query('ALTER SYSTEM RESET default_transaction_read_only');
    await admin.query('SELECT pg_reload_conf()');
    assert.equal(
      await eventually(
        () => store.write({ ...id, token: lease.token, expectedVersion: 1, state: 2 }).catch(() => undefined),
        'the write taken again',
      ),
      2,
    );

    // The server gone: a refused connection.
    await admin.end();
    await server.stop();
    await unavailable(store.load(id), 'ECONNREFUSED');
  });
