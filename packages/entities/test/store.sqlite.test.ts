// The SQLite store, each test on a fresh temporary file: the store conformance suite
// (store_conformance.ts, the same rules the PostgreSQL store keeps) and SQLite's own options.

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { UnhandledWatch } from '@ergo-ts/test-support';

import { SqliteStore } from '../src/index.js';
import { storeConformance } from './store_conformance.js';
import { reminderConformance } from './reminder_conformance.js';

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

test('SQLite options: a bad busy timeout or synchronous mode is refused with ERR_ENTITY_INCORRECT', () => {
  assert.throws(() => SqliteStore.open(join(dir, 'x.db'), { busyTimeoutMs: -1 }), { code: 'ERR_ENTITY_INCORRECT' });
  assert.throws(() => SqliteStore.open(join(dir, 'x.db'), { synchronous: 'off' as 'full' }), {
    code: 'ERR_ENTITY_INCORRECT',
  });
  assert.throws(() => SqliteStore.open(''), { code: 'ERR_ENTITY_INCORRECT' });
});
