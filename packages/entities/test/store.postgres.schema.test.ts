// A PostgreSQL store's schema set-up beside running members (postgres_setup.ts): a store this
// version already set up opens without DDL, so an open takes no table lock a member's write holds
// (a member restarted during a rolling deploy once died at open with "deadlock detected" in the
// workflow fault checker); and each open puts this version's functions back, which a member of an
// earlier version may have replaced with its own. A real server on a free port (test-support).

import { strict as assert } from 'node:assert';
import { after, test } from 'node:test';

import pg from 'pg';

import { postgresMissing, startPostgres } from '@ergo-ts/test-support';

import { PostgresStore } from '../src/index.js';

const missing = postgresMissing();
if (missing !== undefined) {
  console.log(`# skipped: ${missing}`);
  test('the PostgreSQL schema set-up', (t) => t.skip(missing));
} else {
  const server = await startPostgres();
  after(() => server.stop());

  test(
    'an open beside a transaction that holds a write lock on the events table does not wait for it',
    { timeout: 60_000 },
    async () => {
      const tablePrefix = 'sch1_';
      await (await PostgresStore.open(server.url, { tablePrefix })).close();
      // A member's write in flight: the lock ALTER TABLE (even ADD COLUMN IF NOT EXISTS) waits for.
      const writer = new pg.Client({ connectionString: server.url });
      await writer.connect();
      try {
        await writer.query('BEGIN');
        await writer.query(`LOCK TABLE ${tablePrefix}events IN ROW EXCLUSIVE MODE`);
        // Before: the open re-ran every statement and waited here until the writer's commit.
        const store = await PostgresStore.open(server.url, { tablePrefix });
        await store.close();
        await writer.query('COMMIT');
      } finally {
        await writer.end();
      }
    },
  );

  test("an open puts this version's functions back where an earlier version's replaced them", async () => {
    const tablePrefix = 'sch2_';
    await (await PostgresStore.open(server.url, { tablePrefix })).close();
    const c = new pg.Client({ connectionString: server.url });
    await c.connect();
    try {
      const source = async (): Promise<string> =>
        String(
          (await c.query(`SELECT prosrc FROM pg_proc WHERE proname = $1`, [`${tablePrefix}enqueue`])).rows[0]?.prosrc,
        );
      const ours = await source();
      await c.query(
        `CREATE OR REPLACE FUNCTION ${tablePrefix}enqueue(k TEXT, ky TEXT, mid TEXT, msg TEXT) RETURNS BOOLEAN
         LANGUAGE plpgsql AS $fn$ BEGIN RETURN false; END; $fn$;`,
      );
      assert.notEqual(await source(), ours);
      await (await PostgresStore.open(server.url, { tablePrefix })).close();
      assert.equal(await source(), ours);
    } finally {
      await c.end();
    }
  });
}
