// The inbox sweeper across OS processes sharing one PostgreSQL database (a real PostgreSQL 15
// server started for this file; each test's cluster on tables of its own): the cases of
// inbox_cases.ts. No server here: skips with the reason (fails under CI=true).

import { after, test } from 'node:test';

import { postgresMissing, startPostgres } from '@ergo-ts/test-support';

import { inboxCases } from './inbox_cases.js';

const missing = postgresMissing();
if (missing !== undefined) {
  console.log(`# skipped: ${missing}`);
  test('the inbox sweeper across nodes on PostgreSQL', (t) => t.skip(missing));
} else {
  const server = await startPostgres();
  after(() => server.stop());
  inboxCases((tag) => Promise.resolve({ db: server.url, prefix: `${tag}_` }));
}
