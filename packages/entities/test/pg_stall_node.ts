// A store member that writes one key back to back, for store.postgres.test.ts: the test pauses
// it (SIGSTOP) inside a write transaction, as a GC pause, a frozen VM or a network cut leaves a
// member, and checks that the key does not stay locked for everyone else. Environment:
// STALL_URL (the database, with `application_name` so the test finds this process's sessions),
// STALL_PREFIX (table prefix), STALL_IDLE_TX_MS (the store's idleInTransactionTimeoutMs).

import { PostgresStore } from '../src/index.js';

const store = await PostgresStore.open(process.env.STALL_URL!, {
  tablePrefix: process.env.STALL_PREFIX!,
  maxConnections: 1,
  idleInTransactionTimeoutMs: Number(process.env.STALL_IDLE_TX_MS),
});
const id = { kind: 'stall', key: 'k' };
const lease = await store.acquire({ ...id, owner: 'stalled-member', ttlMs: 300 });
if (!lease.acquired) throw new Error('pg_stall_node: the lease is held');
process.send!('ready');
let version = 0;
for (;;) version = await store.write({ ...id, token: lease.token, expectedVersion: version, state: version });
