// Entities across nodes in separate OS processes on loopback sharing one PostgreSQL database (a
// real PostgreSQL 15 server started for this file; each test's cluster on tables of its own): the
// distributed cases of dist_cases.ts. No server here: skips with the reason (fails under CI=true).

import { after, test } from 'node:test';

import { postgresMissing, startPostgres } from '@ergo-ts/test-support';

import { distCases } from './dist_cases.js';

const missing = postgresMissing();
if (missing !== undefined) {
  console.log(`# skipped: ${missing}`);
  test('entities across nodes on PostgreSQL', (t) => t.skip(missing));
} else {
  const server = await startPostgres();
  after(() => server.stop());
  distCases((tag) => Promise.resolve({ db: server.url, prefix: `${tag}_` }));
}
