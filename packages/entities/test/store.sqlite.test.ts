// The SQLite store, each test on a fresh temporary file: the store conformance suite
// (store_conformance.ts, the same rules the PostgreSQL store keeps) and SQLite's own options.

import { strict as assert } from 'node:assert';
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';

import { UnhandledWatch, eventually, within } from '@ergo-ts/test-support';

import { PostgresStore, SqliteStore } from '../src/index.js';
import { storeConformance } from './store_conformance.js';
import { statesConformance } from './states_conformance.js';
import { reminderConformance } from './reminder_conformance.js';
import { activationConformance } from './activation_conformance.js';

const dir = mkdtempSync(join(tmpdir(), 'ergo-entities-store-'));
let n = 0;
const watch = new UnhandledWatch('the SQLite entity store');
before(() => watch.start());
after(() => {
  rmSync(dir, { recursive: true, force: true });
  watch.stop();
});

const freshSqlite = () => {
  const path = join(dir, `s${++n}.db`);
  const store = SqliteStore.open(path);
  return Promise.resolve({ store, again: () => Promise.resolve(SqliteStore.open(path)) });
};
storeConformance(freshSqlite);
reminderConformance(freshSqlite);
statesConformance(freshSqlite);
activationConformance(freshSqlite);

test('SQLite options: a bad busy timeout or synchronous mode is refused with ERR_ENTITY_INCORRECT', () => {
  assert.throws(() => SqliteStore.open(join(dir, 'x.db'), { busyTimeoutMs: -1 }), { code: 'ERR_ENTITY_INCORRECT' });
  assert.throws(() => SqliteStore.open(join(dir, 'x.db'), { synchronous: 'off' as 'full' }), {
    code: 'ERR_ENTITY_INCORRECT',
  });
  assert.throws(() => SqliteStore.open(''), { code: 'ERR_ENTITY_INCORRECT' });
});

test('a file an earlier version wrote (events without journal columns) is migrated by open: its events get offsets in order', async () => {
  const path = join(dir, 'old.db');
  const { DatabaseSync } = createRequire(import.meta.url)('node:sqlite') as {
    DatabaseSync: new (p: string) => { exec(sql: string): void; close(): void };
  };
  const old = new DatabaseSync(path);
  old.exec(`CREATE TABLE entity_events (
    kind TEXT NOT NULL, key TEXT NOT NULL, version INTEGER NOT NULL, event TEXT NOT NULL,
    PRIMARY KEY (kind, key, version));
    INSERT INTO entity_events VALUES ('cart', 'b', 1, '"b1"'), ('cart', 'a', 1, '"a1"'), ('cart', 'a', 2, '"a2"');`);
  old.close();
  const store = SqliteStore.open(path);
  const j = await store.readJournal({ kind: 'cart', after: 0, limit: 10 });
  assert.deepEqual(
    j.map((e) => [e.offset, e.key, e.version, e.type, e.schemaVersion, e.event]),
    [
      [1, 'b', 1, '', 1, 'b1'],
      [2, 'a', 1, '', 1, 'a1'],
      [3, 'a', 2, '', 1, 'a2'],
    ],
  );
  await store.close();
  // Opening it again changes nothing.
  const again = SqliteStore.open(path);
  assert.deepEqual(await again.readJournal({ kind: 'cart', after: 0, limit: 10 }), j);
  await again.close();
});

test('an inbox an earlier version wrote (no acceptance time) is migrated by open: its messages count from then', async () => {
  const path = join(dir, 'old-inbox.db');
  const { DatabaseSync } = createRequire(import.meta.url)('node:sqlite') as {
    DatabaseSync: new (p: string) => { exec(sql: string): void; close(): void };
  };
  const old = new DatabaseSync(path);
  old.exec(`CREATE TABLE entity_inbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, key TEXT NOT NULL,
    id TEXT NOT NULL, message TEXT NOT NULL, UNIQUE (kind, key, id));
    INSERT INTO entity_inbox (kind, key, id, message) VALUES ('counter', 'k', 'm1', '1'), ('counter', 'k', 'm2', '2');`);
  old.close();
  const before = Date.now();
  const store = SqliteStore.open(path);
  const pending = await store.pendingInbox(10);
  assert.equal(pending.length, 1);
  assert.equal(pending[0]!.count, 2);
  assert.ok(pending[0]!.oldestAcceptedAt >= before && pending[0]!.oldestAcceptedAt <= Date.now());
  assert.deepEqual(
    (await store.inbox({ kind: 'counter', key: 'k' })).map((m) => m.id),
    ['m1', 'm2'],
  );
  await store.close();
  // Opening it again changes nothing.
  const again = SqliteStore.open(path);
  assert.deepEqual(await again.pendingInbox(10), pending);
  await again.close();
});

// Seen by the fault checker: members sharing a file on one host, one of them stopped while it held
// the write lock, and every store call of the others blocked their whole event loop for up to
// busyTimeoutMs (node:sqlite is synchronous, and SQLite's busy handler sleeps). Now the wait is
// made of timers: the event loop stays free; what does not need the lock (reads, timers, other
// actors) keeps running; the blocked write rejects with a code after the bound, or succeeds once
// the lock is free.
test('another process holding the write lock never blocks this process’s event loop', async (t) => {
  const path = join(dir, 'locked.db');
  const busyTimeoutMs = 4000;
  const store = SqliteStore.open(path, { busyTimeoutMs });
  t.after(() => store.close());
  const id = { kind: 'counter', key: 'k' };
  const first = await store.acquire({ ...id, owner: 'a', ttlMs: 600_000 });
  assert.ok(first.acquired);
  await store.write({ ...id, token: first.token, expectedVersion: 0, state: 1 });

  const holder = fork(fileURLToPath(new URL('./sqlite_lock_node.js', import.meta.url)), [path], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise((r) => holder.once('exit', r));
  t.after(async () => {
    holder.kill('SIGKILL');
    await exited;
  });
  await within(new Promise((r) => holder.once('message', r)), 'the other process holding the lock', 30_000);
  holder.kill('SIGSTOP'); // paused inside its transaction, as a stalled member

  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  // It measures between its own ticks: let it tick before the blocked calls start.
  await eventually(() => delay.count >= 2, 'the event-loop delay monitor running');
  // Blocked writes: each waits for the lock up to busyTimeoutMs, then rejects with a code.
  let ticks = 0;
  const ticker = setInterval(() => ticks++, 5);
  t.after(() => clearInterval(ticker));
  const renew = store.renew(id.kind, 'a', new Map([[id.key, first.token]]), 600_000);
  const write = store.write({ ...id, token: first.token, expectedVersion: 1, state: 2 });
  // Meanwhile reads and timers keep going.
  assert.deepEqual(await store.load(id), { state: 1, version: 1 });
  await Promise.allSettled([renew, write]);
  const samples = delay.count;
  await eventually(() => delay.count > samples, 'the monitor’s next sample');
  delay.disable();
  clearInterval(ticker);
  // A property, not a speed: the whole wait (busyTimeoutMs per call) never sat on the event loop,
  // which stayed free to the scale of the machine's own scheduling, far below the busy timeout.
  const maxDelayMs = delay.max / 1e6;
  assert.ok(
    maxDelayMs < busyTimeoutMs / 4,
    `the event loop was blocked ${maxDelayMs.toFixed(0)} ms at most (busy timeout ${busyTimeoutMs} ms)`,
  );
  assert.ok(ticks > 0);
  await assert.rejects(renew, { code: 'ERR_ENTITY_STORE_BUSY' });
  await assert.rejects(write, { code: 'ERR_ENTITY_STORE_BUSY' });

  // Nothing of the refused writes was written; a write waiting when the lock is freed succeeds.
  const waiting = store.write({ ...id, token: first.token, expectedVersion: 1, state: 3 });
  holder.kill('SIGCONT');
  holder.send('commit');
  assert.equal(await waiting, 2);
  assert.deepEqual(await store.load(id), { state: 3, version: 2 });
  assert.deepEqual(await store.inbox({ kind: 'lock', key: 'holder' }), [{ id: 'm1', message: null }]);
  await eventually(() => holder.exitCode !== null || !holder.connected, 'the holder done');
});

test('the pg driver is loaded by the first PostgresStore.open, not by the package or a SQLite store', async () => {
  // `pg` is CommonJS: once loaded (an ES import included) its files are in require.cache.
  const cache = createRequire(import.meta.url).cache;
  const pgLoaded = (): boolean => Object.keys(cache).some((p) => /[\\/]node_modules[\\/]pg[\\/]/.test(p));
  const store = SqliteStore.open(':memory:');
  await store.close();
  assert.equal(pgLoaded(), false, 'this process imported the package and used a SQLite store: no pg yet');
  // Nothing listens on port 1: the open loads the driver, then its connection is refused.
  await assert.rejects(PostgresStore.open('postgres://127.0.0.1:1/none'));
  assert.equal(pgLoaded(), true, 'PostgresStore.open loaded the driver');
});
