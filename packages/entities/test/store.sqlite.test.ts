// The SQLite store, each test on a fresh temporary file: the store conformance suite
// (store_conformance.ts, the same rules the PostgreSQL store keeps) and SQLite's own options.

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { UnhandledWatch } from '@ergo-ts/test-support';

import { SqliteStore } from '../src/index.js';
import { storeConformance } from './store_conformance.js';

const dir = mkdtempSync(join(tmpdir(), 'ergo-entities-store-'));
let n = 0;
const watch = new UnhandledWatch('the SQLite entity store');
before(() => watch.start());
after(() => {
  rmSync(dir, { recursive: true, force: true });
  watch.stop();
});

storeConformance(() => {
  const path = join(dir, `s${++n}.db`);
  const store = SqliteStore.open(path);
  return Promise.resolve({ store, again: () => Promise.resolve(SqliteStore.open(path)) });
});

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
