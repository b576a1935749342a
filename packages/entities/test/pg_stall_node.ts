// A store member that writes one key back to back, for store.postgres.test.ts: the test pauses
// it (SIGSTOP) inside a transaction (a reminder write's), as a GC pause, a frozen VM or a network cut leaves a
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
// Reminder writes are transactions holding the key's lock (an entity write is one statement, its
// transaction inside the server, so a paused client holds nothing there): one of each, in turn.
let version = 0;
for (let n = 0; ; n++) {
  if (n % 2 === 0)
    await store.putReminders(id, { token: lease.token }, [
      { name: 'r', shard: 0, dueAt: Date.now() + 3_600_000, payload: n },
    ]);
  else version = await store.write({ ...id, token: lease.token, expectedVersion: version, state: version });
}
