#!/usr/bin/env node
// The long run of @ergo-ts/entities' safety checker (packages/entities/test/faults.ts): randomised
// rounds of kill -9 + restart, SIGSTOP + SIGCONT, silent isolation, silent partitions and
// whole-cluster kill -9 + restart across network-namespace test hosts — three entity nodes, each
// in a host of its own, the PostgreSQL store in a fourth (or, with FN_STORE=sqlite, one SQLite
// file they share) — driving a state-mode ledger, an event-sourced ledger (both with reminders)
// and a durable state machine's orders; then the checker (two accepted writers of one key,
// overlapping tokens, a state version going backwards, an acknowledged message or event lost or
// applied twice, a reminder fired early or never, an order in a state its transitions cannot
// reach). Needs root, ip/nft, Debian's postgresql (for PostgreSQL), and a build (`npm run build`).
//   [FN_STORE=sqlite] [FN_LEASE_SCOPE=key|shard] [FN_MINUTES=m] node scripts/entities-faults.mjs [rounds=200] [seed] [watchdog seconds=180]
// FN_LEASE_SCOPE: the runtime's lease scope (default the runtime's own, a lease per shard).
// FN_MINUTES: start no round after m minutes (a time-boxed run reports the rounds it did).
// Prints each round, then the report as JSON; exits 1 on any violation. A round that runs longer
// than the watchdog's bound prints what the harness, each node and the database wait for.

import { hostsAvailable, postgresMissing } from '@ergo-ts/test-support';

const { runFaults } = await import('../packages/entities/dist/test/faults.js');

const rounds = Number(process.argv[2] ?? 200);
const seed = process.argv[3] === undefined ? undefined : Number(process.argv[3]);
const store = process.env.FN_STORE === 'sqlite' ? 'sqlite' : 'postgres';
const why = (await hostsAvailable()) ?? (store === 'postgres' ? postgresMissing() : undefined);
if (why !== undefined) {
  console.error(`cannot run: ${why}`);
  process.exit(2);
}
const t0 = Date.now();
const watchdogMs = Number(process.argv[4] ?? 180) * 1000;
const stamp = () => new Date().toISOString().slice(11, 19);
const report = await runFaults({
  rounds,
  seed,
  store,
  watchdogMs,
  ...(process.env.FN_MINUTES === undefined ? {} : { until: t0 + Number(process.env.FN_MINUTES) * 60_000 }),
  progress: (l) => console.log(`${stamp()} ${l}`),
});
console.log(JSON.stringify({ ...report, seconds: Math.round((Date.now() - t0) / 1000) }, null, 2));
process.exit(report.violations.length === 0 ? 0 : 1);
