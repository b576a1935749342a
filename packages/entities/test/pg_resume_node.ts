// A store member that enqueues and writes one key back to back, for store.postgres.test.ts: the
// test pauses it (SIGSTOP) inside a transaction for longer than its idleInTransactionTimeoutMs,
// waits for the server to end the session, and resumes it (SIGCONT). It reports over IPC each
// operation that failed ({ failed: code }) and, after a failure, the first that succeeded
// ({ succeeded: true }). Environment: RESUME_URL (the database, with `application_name` so the
// test finds this process's sessions), RESUME_PREFIX (table prefix), RESUME_IDLE_TX_MS.

import { PostgresStore } from '../src/index.js';

const store = await PostgresStore.open(process.env.RESUME_URL!, {
  tablePrefix: process.env.RESUME_PREFIX!,
  maxConnections: 1,
  idleInTransactionTimeoutMs: Number(process.env.RESUME_IDLE_TX_MS),
});
const id = { kind: 'resume', key: 'k' };
const lease = await store.acquire({ ...id, owner: 'resumed-member', ttlMs: 600_000 });
if (!lease.acquired) throw new Error('pg_resume_node: the lease is held');
process.send!('ready');
let version = 0;
let failed = false;
for (let n = 0; ; n++) {
  try {
    // Enqueues and entity writes are one statement each; a reminder write is a transaction of
    // several, the one a pause can stop inside.
    if (n % 3 === 0) await store.enqueue(id, `m${n}`, n);
    else if (n % 3 === 1)
      version = await store.write({ ...id, token: lease.token, expectedVersion: version, state: n });
    else
      await store.putReminders(id, { token: lease.token }, [
        { name: 'r', shard: 0, dueAt: Date.now() + 3_600_000, payload: n },
      ]);
    if (failed) {
      failed = false;
      process.send!({ succeeded: true });
    }
  } catch (e) {
    failed = true;
    process.send!({ failed: (e as { code?: string }).code ?? String(e) });
    // A write whose COMMIT was cut may have landed: read the version back.
    version = (await store.load(id).catch(() => ({ version }))).version;
  }
}
