#!/usr/bin/env node
// The long run of @ergo-ts/entities' safety checker (packages/entities/test/faults.ts): randomised
// rounds of kill -9 + restart, silent isolation and silent partitions across network-namespace
// test hosts — three entity nodes, each in a host of its own, the PostgreSQL store in a fourth —
// then the checker (two accepted writers of one key, overlapping tokens, a state version going
// backwards, an acknowledged message lost or applied twice). Needs root, ip/nft and Debian's
// postgresql, and a build (`npm run build`).
//   node scripts/entities-faults.mjs [rounds=200] [seed] [watchdog seconds=180]
// Prints each round, then the report as JSON; exits 1 on any violation. A round that runs longer
// than the watchdog's bound prints what the harness, each node and the database wait for.

import { hostsAvailable, postgresMissing } from '@ergo-ts/test-support';

const { runFaults } = await import('../packages/entities/dist/test/faults.js');

const rounds = Number(process.argv[2] ?? 200);
const seed = process.argv[3] === undefined ? undefined : Number(process.argv[3]);
const why = (await hostsAvailable()) ?? postgresMissing();
if (why !== undefined) {
  console.error(`cannot run: ${why}`);
  process.exit(2);
}
const t0 = Date.now();
const watchdogMs = Number(process.argv[4] ?? 180) * 1000;
const stamp = () => new Date().toISOString().slice(11, 19);
const report = await runFaults({ rounds, seed, watchdogMs, progress: (l) => console.log(`${stamp()} ${l}`) });
console.log(JSON.stringify({ ...report, seconds: Math.round((Date.now() - t0) / 1000) }, null, 2));
process.exit(report.violations.length === 0 ? 0 : 1);
