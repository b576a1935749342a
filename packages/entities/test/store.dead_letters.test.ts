// The dead-letter conformance suite (dead_letters_conformance.ts) on the memory store and on the
// SQLite store (a fresh temporary file per test), and SQLite's migration of a file an earlier
// version wrote (its inbox without the failure count). PostgreSQL runs the suite in
// store.postgres.test.ts, against its real server.

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { UnhandledWatch } from '@ergo-ts/test-support';

import { MemoryStore, SqliteStore, jsonCodec } from '../src/index.js';
import { deadLetterConformance } from './dead_letters_conformance.js';

const dir = mkdtempSync(join(tmpdir(), 'ergo-entities-dead-'));
let n = 0;
const watch = new UnhandledWatch('the stores’ dead letters');
before(() => watch.start());
after(() => {
  rmSync(dir, { recursive: true, force: true });
  watch.stop();
});

deadLetterConformance(() => {
  const store = new MemoryStore();
  return Promise.resolve({ store, again: () => Promise.resolve(store.reopen()) });
});
deadLetterConformance(() => {
  const path = join(dir, `s${++n}.db`);
  const store = SqliteStore.open(path);
  return Promise.resolve({ store, again: () => Promise.resolve(SqliteStore.open(path)) });
});

test('SQLite: a file whose inbox has no failure count gets one (0 for its messages), and its messages can be dead-lettered', async () => {
  const path = join(dir, 'old.db');
  interface Db {
    exec(sql: string): void;
    close(): void;
  }
  const { DatabaseSync } = createRequire(import.meta.url)('node:sqlite') as { DatabaseSync: new (p: string) => Db };
  const db = new DatabaseSync(path);
  // The inbox as the version before dead letters made it.
  db.exec(`CREATE TABLE entity_inbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, key TEXT NOT NULL,
    id TEXT NOT NULL, message TEXT NOT NULL, accepted_at INTEGER NOT NULL DEFAULT 0, UNIQUE (kind, key, id));
    INSERT INTO entity_inbox (kind, key, id, message, accepted_at) VALUES ('counter', 'old', 'm', '{"add":1}', 5);`);
  db.close();
  const store = SqliteStore.open(path, { codec: jsonCodec });
  try {
    const l = await store.acquire({ kind: 'counter', key: 'old', owner: 'a', ttlMs: 60_000 });
    assert.ok(l.acquired);
    const f = { kind: 'counter', key: 'old', token: l.token, messageId: 'm', error: 'e', maxAttempts: 2 };
    assert.deepEqual(await store.inboxFailed(f), { attempts: 1, deadLettered: false });
    assert.deepEqual(await store.inboxFailed(f), { attempts: 2, deadLettered: true });
    assert.deepEqual(
      (await store.deadLetters({ limit: 5 })).map((d) => [d.id, d.message, d.acceptedAt]),
      [['m', { add: 1 }, 5]],
    );
  } finally {
    await store.close();
  }
});
