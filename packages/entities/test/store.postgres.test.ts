// The PostgreSQL store against a real PostgreSQL 15 server started for this file (a temporary
// data directory, a free port on 127.0.0.1; test-support's startPostgres): the store conformance
// suite (store_conformance.ts, the same rules the SQLite store keeps), each test on tables of its
// own (a table prefix per test), and PostgreSQL's own options and failures. No server here: the
// file skips with the reason (under CI=true it fails).

import { strict as assert } from 'node:assert';
import { fork } from 'node:child_process';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import pg from 'pg';

import {
  UnhandledWatch,
  eventually,
  ignoredThenAwaited,
  postgresMissing,
  startPostgres,
  within,
} from '@ergo-ts/test-support';

import { startNode } from 'ergo-ts';

import { PostgresStore, entity, startEntities } from '../src/index.js';
import { counterKind } from './counter.js';
import { storeConformance } from './store_conformance.js';
import { statesConformance } from './states_conformance.js';
import { reminderConformance } from './reminder_conformance.js';
import { activationConformance } from './activation_conformance.js';
import { deadLetterConformance } from './dead_letters_conformance.js';

const missing = postgresMissing();
if (missing !== undefined) {
  console.log(`# skipped: ${missing}`);
  test('the PostgreSQL store', (t) => t.skip(missing));
} else {
  const server = await startPostgres();
  const watch = new UnhandledWatch('the PostgreSQL entity store');
  let n = 0;
  before(() => watch.start());
  after(async () => {
    await server.stop();
    watch.stop();
  });

  const freshPostgres = async () => {
    const tablePrefix = `s${++n}_`;
    const store = await PostgresStore.open(server.url, { tablePrefix });
    return { store, again: () => PostgresStore.open(server.url, { tablePrefix }) };
  };
  storeConformance(freshPostgres);
  reminderConformance(freshPostgres);
  activationConformance(freshPostgres);
  statesConformance(freshPostgres);
  deadLetterConformance(freshPostgres);

  test('PostgreSQL options and failures: bad options get ERR_ENTITY_INCORRECT, an unreachable server the driver’s code', async () => {
    await ignoredThenAwaited(() => PostgresStore.open(''), 'ERR_ENTITY_INCORRECT');
    await ignoredThenAwaited(() => PostgresStore.open(server.url, { maxConnections: 0 }), 'ERR_ENTITY_INCORRECT');
    await ignoredThenAwaited(
      () => PostgresStore.open(server.url, { idleInTransactionTimeoutMs: -1 }),
      'ERR_ENTITY_INCORRECT',
    );
    await ignoredThenAwaited(() => PostgresStore.open(server.url, { tablePrefix: 'x; drop' }), 'ERR_ENTITY_INCORRECT');
    // Port 1: nothing listens there.
    await ignoredThenAwaited(() => PostgresStore.open('postgres://postgres@127.0.0.1:1/postgres'), 'ECONNREFUSED');
  });

  // pg-pool drops a connection on any statement error; the store's functions refuse on purpose
  // (a stale token, a version conflict), most often under lease churn and overload, where a new
  // backend per refusal (a fork and an authentication on the server) is the last thing wanted.
  test('a write refused as stale keeps its pooled connection; the next statement runs on the same backend', async (t) => {
    const app = `keep_${process.pid}`;
    const url = `${server.url}${server.url.includes('?') ? '&' : '?'}application_name=${app}`;
    const store = await PostgresStore.open(url, { tablePrefix: 'keep_', maxConnections: 1 });
    t.after(() => store.close());
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    t.after(() => admin.end());
    const backends = async (): Promise<number[]> =>
      (
        await admin.query<{ pid: number }>(
          'SELECT pid FROM pg_stat_activity WHERE application_name = $1 ORDER BY pid',
          [app],
        )
      ).rows.map((r) => r.pid);
    const id = { kind: 'counter', key: 'k' };
    const a = await store.acquire({ ...id, owner: 'a', ttlMs: 60_000 });
    assert.ok(a.acquired);
    assert.equal(await store.write({ ...id, token: a.token, expectedVersion: 0, state: 1 }), 1);
    const before = await backends();
    assert.equal(before.length, 1, 'one pooled connection');
    for (let i = 0; i < 3; i++)
      await assert.rejects(store.write({ ...id, token: a.token + 1, expectedVersion: 1, state: 2 }), {
        code: 'ERR_ENTITY_STALE_TOKEN',
      });
    assert.deepEqual(await store.load(id), { state: 1, version: 1 });
    assert.deepEqual(await backends(), before, 'the same backend: no connection dropped for a refusal');
  });

  test('the store’s name carries no credentials', async () => {
    const store = await PostgresStore.open(server.url.replace('postgres@', 'postgres:secret@'), {
      tablePrefix: 'name_',
    });
    assert.equal(store.name, `postgres://${server.host}:${server.port}/postgres`);
    await store.close();
    await store.close();
  });

  // The long faults run hung when a member stalled inside a write transaction: its session sat
  // "idle in transaction" holding the key's advisory lock and the lease row's share lock, so every
  // other member's acquire, renew, write and enqueue of that key waited with no end (and each
  // wait held a pool connection, until the pools ran dry and no member could renew any lease).
  test('a member paused inside a transaction holds the key only until idleInTransactionTimeoutMs', async (t) => {
    const prefix = 'stall_';
    const url = `${server.url}?application_name=entities-stall`;
    const child = fork(fileURLToPath(new URL('./pg_stall_node.js', import.meta.url)), {
      env: { ...process.env, STALL_URL: url, STALL_PREFIX: prefix, STALL_IDLE_TX_MS: '1000' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const exited = new Promise((r) => child.once('exit', r));
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    t.after(async () => {
      child.kill('SIGKILL');
      await exited;
      await admin.end();
    });
    await within(new Promise((r) => child.once('message', r)), 'the member writing', 30_000);
    const sessions = async (): Promise<string[]> =>
      (
        await admin.query<{ state: string }>(
          "SELECT state FROM pg_stat_activity WHERE application_name = 'entities-stall'",
        )
      ).rows.map((r) => r.state);
    // Pause it; when it stopped between two transactions, let it run and pause it again.
    await eventually(
      async () => {
        child.kill('SIGSTOP');
        const states = await eventually(async () => {
          const s = await sessions();
          return s.includes('active') ? undefined : s;
        }, 'the paused member’s session settled');
        if (states.includes('idle in transaction')) return true;
        child.kill('SIGCONT');
        return false;
      },
      'the member paused inside a transaction',
      { timeoutMs: 30_000 },
    );
    const store = await PostgresStore.open(server.url, { tablePrefix: prefix });
    t.after(() => store.close());
    const id = { kind: 'stall', key: 'k' };
    // Its lease (300 ms) is not renewed: another member takes the key and writes it.
    const lease = await eventually(
      async () => {
        const l = await store.acquire({ ...id, owner: 'other-member', ttlMs: 10_000 });
        return l.acquired ? l : undefined;
      },
      'the key taken over',
      { timeoutMs: 30_000 },
    );
    const { version } = await within(store.load(id), 'load', 30_000);
    assert.equal(
      await within(
        store.write({ ...id, token: lease.token, expectedVersion: version, state: 'taken' }),
        'write',
        30_000,
      ),
      version + 1,
    );
    // The server ended the paused member's transaction session, and with it its locks. (An idle
    // connection of the member's pool, outside any transaction, holds nothing and may stay.)
    await eventually(
      async () => !(await sessions()).includes('idle in transaction'),
      'the paused member’s transaction session ended',
    );
  });

  // Seen by the fault checker: a member paused inside a transaction past the server's
  // idle-in-transaction timeout exited when it resumed (FATAL 25P03 arrived as an 'error' event of
  // a checked-out pg client, which no listener heard). Now the operation fails with a code, the
  // client is discarded, and the next operations run on a fresh connection.
  test('a member paused inside a transaction past idleInTransactionTimeoutMs keeps running when it resumes', async (t) => {
    const prefix = 'resume_';
    const app = 'entities-resume';
    const url = `${server.url}?application_name=${app}`;
    const child = fork(fileURLToPath(new URL('./pg_resume_node.js', import.meta.url)), {
      env: { ...process.env, RESUME_URL: url, RESUME_PREFIX: prefix, RESUME_IDLE_TX_MS: '1000' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let exit: number | string | null | undefined;
    const exited = new Promise((r) =>
      child.once('exit', (code, signal) => {
        exit = code ?? signal;
        r(undefined);
      }),
    );
    const reports: { failed?: string; succeeded?: boolean }[] = [];
    child.on('message', (m) => {
      if (typeof m === 'object') reports.push(m as { failed?: string; succeeded?: boolean });
    });
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    t.after(async () => {
      child.kill('SIGKILL');
      await exited;
      await admin.end();
    });
    await within(new Promise((r) => child.once('message', r)), 'the member writing', 30_000);
    const sessions = async (): Promise<string[]> =>
      (
        await admin.query<{ state: string }>('SELECT state FROM pg_stat_activity WHERE application_name = $1', [app])
      ).rows.map((r) => r.state);
    await eventually(
      async () => {
        child.kill('SIGSTOP');
        const states = await eventually(async () => {
          const s = await sessions();
          return s.includes('active') ? undefined : s;
        }, 'the paused member’s session settled');
        if (states.includes('idle in transaction')) {
          // The server ends the session after 1000 ms idle in transaction. A statement the member
          // wrote just before it stopped may still reach the server and end the transaction (the
          // session then stays, idle: red once in CI): pause it again then.
          const outcome = await eventually(
            async () => {
              const s = await sessions();
              if (s.length === 0) return 'ended';
              return s.includes('idle in transaction') || s.includes('active') ? undefined : 'left';
            },
            'the paused session ended or left its transaction',
            { timeoutMs: 30_000 },
          );
          if (outcome === 'ended') return true;
        }
        child.kill('SIGCONT');
        return false;
      },
      'the member paused inside a transaction until the server ended its session',
      { timeoutMs: 60_000 },
    );
    child.kill('SIGCONT');
    await eventually(() => reports.some((r) => r.succeeded === true), 'an operation succeeded after the failure', {
      timeoutMs: 30_000,
    });
    assert.equal(exit, undefined, 'the member process still runs');
    assert.equal(reports[0]?.failed, 'ERR_ENTITY_STORE_SESSION_LOST');
    // It keeps working: its session is back and busy.
    await eventually(async () => (await sessions()).length > 0, 'the member’s fresh session');
    assert.equal(exit, undefined, 'the member process still runs');
  });

  // Seen in the long faults run: a node cut off from the store answered sendDurable(…, { timeout:
  // 4000 }) only when the store came back, as its local activation waited on the store unbounded.
  test('a call whose activation waits on a key the store keeps locked ends within its timeout', async (t) => {
    const store = await PostgresStore.open(server.url, { tablePrefix: 'locked_' });
    const node = await startNode(`locked${process.pid}@localhost`, { log: { level: 'error' } });
    const entities = await startEntities(node, { leaseScope: 'key', store, kinds: [counterKind(0)] });
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    t.after(async () => {
      await admin.query('ROLLBACK');
      await entities.stop();
      await node.stop();
      await store.close();
      await admin.end();
    });
    // Another session's uncommitted lease row for the key: the activation's upsert waits on it.
    await admin.query('BEGIN');
    await admin.query(
      "INSERT INTO locked_leases (kind, key, token, owner, expires_at) VALUES ('counter', 'held', 1, 'stalled', 0)",
    );
    const c = entity(counterKind(0), 'held');
    // The first call activates (and waits on the store); a later one would find the name taken.
    await assert.rejects(within(entities.call(c, 'get', { timeout: 500 }), 'the call settled', 20_000), {
      code: 'ERR_ENTITY_UNAVAILABLE',
    });
    void entities.call(c, 'get', { timeout: 500 }); // left un-awaited: its rejection is handled
    // The lock gone, the key activates.
    await admin.query('ROLLBACK');
    assert.equal(await entities.call(c, 'get', { timeout: 20_000 }), 0);
  });

  test('tables an earlier version made (events without journal columns) are migrated by open: events get offsets in order', async () => {
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    try {
      await admin.query(`CREATE TABLE old_events (
        kind TEXT NOT NULL, key TEXT NOT NULL, version BIGINT NOT NULL, event TEXT NOT NULL,
        PRIMARY KEY (kind, key, version));
        INSERT INTO old_events VALUES ('cart', 'b', 1, '"b1"');
        INSERT INTO old_events VALUES ('cart', 'a', 1, '"a1"'), ('cart', 'a', 2, '"a2"');`);
    } finally {
      await admin.end();
    }
    const store = await PostgresStore.open(server.url, { tablePrefix: 'old_' });
    const j = await store.readJournal({ kind: 'cart', after: 0, limit: 10 });
    assert.deepEqual(
      j.map((e) => [e.key, e.version, e.type, e.schemaVersion, e.event]),
      [
        ['b', 1, '', 1, 'b1'],
        ['a', 1, '', 1, 'a1'],
        ['a', 2, '', 1, 'a2'],
      ],
    );
    for (let i = 1; i < j.length; i++) assert.ok(j[i]!.offset > j[i - 1]!.offset);
    await store.close();
    const again = await PostgresStore.open(server.url, { tablePrefix: 'old_' });
    assert.deepEqual(await again.readJournal({ kind: 'cart', after: 0, limit: 10 }), j);
    await again.close();
  });

  test('an inbox an earlier version made (no acceptance time) is migrated by open; that version’s enqueue still works', async () => {
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    try {
      await admin.query(`CREATE TABLE oldinbox_inbox (
        seq BIGSERIAL PRIMARY KEY, kind TEXT NOT NULL, key TEXT NOT NULL,
        id TEXT NOT NULL, message TEXT NOT NULL, UNIQUE (kind, key, id));
        INSERT INTO oldinbox_inbox (kind, key, id, message) VALUES ('counter', 'k', 'm1', '1'), ('counter', 'k', 'm2', '2');`);
    } finally {
      await admin.end();
    }
    const before = Date.now();
    const store = await PostgresStore.open(server.url, { tablePrefix: 'oldinbox_' });
    const [pending] = await store.pendingInbox(10);
    assert.equal(pending?.count, 2);
    assert.ok(
      Math.abs(pending.oldestAcceptedAt - before) < 60_000,
      `the migration's time, got ${pending.oldestAcceptedAt}`,
    );
    // An insert naming no time (the enqueue function of an earlier version does so) gets the server's
    // now: a later millisecond than the migration's (two in one would tie).
    const t = Date.now();
    await eventually(() => Date.now() > t + 1, 'the next millisecond');
    const admin2 = new pg.Client({ connectionString: server.url });
    await admin2.connect();
    try {
      await admin2.query(`INSERT INTO oldinbox_inbox (kind, key, id, message) VALUES ('counter', 'j', 'm1', '1')`);
    } finally {
      await admin2.end();
    }
    const all = await store.pendingInbox(10);
    assert.deepEqual(
      all.map((p) => [p.key, p.count]),
      [
        ['k', 2],
        ['j', 1],
      ],
    );
    assert.ok(all[1]!.oldestAcceptedAt >= all[0]!.oldestAcceptedAt);
    await store.close();
    const again = await PostgresStore.open(server.url, { tablePrefix: 'oldinbox_' });
    assert.deepEqual(await again.pendingInbox(10), all);
    await again.close();
  });
}
