// The PostgreSQL store against a real PostgreSQL 15 server started for this file (a temporary
// data directory, a free port on 127.0.0.1; test-support's startPostgres): the store conformance
// suite (store_conformance.ts, the same rules the SQLite store keeps), each test on tables of its
// own (a table prefix per test), and PostgreSQL's own options and failures. No server here: the
// file skips with the reason (under CI=true it fails).

import { strict as assert } from 'node:assert';
import { after, before, test } from 'node:test';

import { UnhandledWatch, ignoredThenAwaited, postgresMissing, startPostgres } from '@ergo-ts/test-support';

import { PostgresStore } from '../src/index.js';
import { storeConformance } from './store_conformance.js';

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

  storeConformance(async () => {
    const tablePrefix = `s${++n}_`;
    const store = await PostgresStore.open(server.url, { tablePrefix });
    return { store, again: () => PostgresStore.open(server.url, { tablePrefix }) };
  });

  test('PostgreSQL options and failures: bad options get ERR_ENTITY_INCORRECT, an unreachable server the driver’s code', async () => {
    await ignoredThenAwaited(() => PostgresStore.open(''), 'ERR_ENTITY_INCORRECT');
    await ignoredThenAwaited(() => PostgresStore.open(server.url, { maxConnections: 0 }), 'ERR_ENTITY_INCORRECT');
    await ignoredThenAwaited(() => PostgresStore.open(server.url, { tablePrefix: 'x; drop' }), 'ERR_ENTITY_INCORRECT');
    // Port 1: nothing listens there.
    await ignoredThenAwaited(() => PostgresStore.open('postgres://postgres@127.0.0.1:1/postgres'), 'ECONNREFUSED');
  });

  test('the store’s name carries no credentials', async () => {
    const store = await PostgresStore.open(server.url.replace('postgres@', 'postgres:secret@'), {
      tablePrefix: 'name_',
    });
    assert.equal(store.name, `postgres://${server.host}:${server.port}/postgres`);
    await store.close();
    await store.close();
  });
}
