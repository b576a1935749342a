// The long run of the workflow fault checker (wf_faults.ts): randomised rounds of kill -9 (also
// mid-step and mid-compensation), SIGSTOP past the lease (then SIGCONT or kill -9), SIGSTOP longer
// than failure detection then SIGCONT, silent partitions, isolation, whole-cluster kill -9 +
// restart (also at a journal boundary: a cancel's strike, between or after its compensations, a
// signal wait just begun, a child's start) and rolling deploys onto a patched body, across network-namespace test hosts, over a
// saga with compensations (some cancelled mid-flight), an order (a sleep, a confirmation with a
// timeout, compensations; confirmed and cancelled at random), durable sleeps, signals, a child
// workflow and an outbox-like step; then the checker's rules (wf_faults_check.ts).
// With `--store pg-ha` the store is a Patroni cluster inside the test hosts (etcd, three PostgreSQL
// members, HAProxy: wf_faults_pgha.ts) and the store's own faults — kill -9 of the primary's
// postmaster, SIGSTOP of the primary ~20 s, switchover, the primary cut off from HAProxy, the
// primary cut off from etcd and the other members — are mixed with the members'.
// Needs root, ip/nft, a build (`npm run build`) and, for PostgreSQL, its server binaries (pg-ha:
// etcd, Patroni and HAProxy too).
//   node packages/entities/dist/test/wf_faults_run.js [--store sqlite|postgres|pg-ha] [--rounds 200]
//     [--seed n (the fault plan: each round's fault, victim, workflows and inputs; printed at the
//      start — timing, and what it decides, is not repeated)]
//     [--minutes m (start no round after m minutes of rounds: the cluster's start and the
//      capacity's calibration before them do not count)] [--watchdog seconds (180)]
//     [--long-pause lo-hi (seconds a long SIGSTOP lasts, drawn in [lo, hi]; 12-20)]
//     [--first kind,kind,... (the first rounds' faults, in order; default each kind once)]
//     [--schedule (a workflow schedule runs through the rounds: wf_faults_schedule.ts)]
//     [--store-share 0.4 (pg-ha: the share of random rounds with a store fault)]
//     [--store-faults k,k,... (pg-ha: the store faults drawn from; default all)]
//     [--store-log file (pg-ha: etcd's, Patroni's and HAProxy's lines appended there)]
//     [--overload multiple (a load generator offers sagas open-loop at multiple × the capacity
//      through the rounds: wf_faults.ts WfOverloadOptions) [--capacity sagas/s (else measured)]
//      [--calibrate seconds (15)] [--max-steps n (the members' maxConcurrentSteps; 4)]]
//     [--starve-ms ms (how long a `starve` fault holds its member's core; 8000)]
//     [--starve-hogs n (busy loops pinned beside it; 3)]
//     [--starve-quota share (instead: a cgroup v1 CPU quota of this share of one CPU, e.g. 0.05)]
//     [--logs dir (the nodes' event logs and the sink are copied there at the end)]
// Prints each round, then the report (rounds, operations, faults, violations, figures) as JSON;
// exits 1 on any violation, 2 when the hosts (or PostgreSQL) are missing.

import { appendFileSync } from 'node:fs';

import { hostsAvailable, pgHaMissing, postgresMissing } from '@ergo-ts/test-support';

import { runWorkflowFaults, WF_FAULT_KINDS, type WfFaultKind } from './wf_faults.js';
import { WF_STORE_FAULT_KINDS, type WfStoreFaultKind } from './wf_faults_pgha.js';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
};
const store = arg('store') === 'sqlite' ? 'sqlite' : arg('store') === 'pg-ha' ? 'pg-ha' : 'postgres';
const why =
  hostsAvailable() ?? (store === 'postgres' ? postgresMissing() : store === 'pg-ha' ? pgHaMissing() : undefined);
if (why !== undefined) {
  console.error(`cannot run: ${why}`);
  process.exit(2);
}
const t0 = Date.now();
const minutes = arg('minutes');
const seed = arg('seed');
const longPause = (arg('long-pause') ?? '12-20').split('-').map((x) => Number(x) * 1000);
const [lo, hi] = [longPause[0]!, longPause[1] ?? longPause[0]!];
if (!(lo > 0 && hi >= lo)) {
  console.error(`--long-pause: want seconds 'lo-hi' (lo > 0, hi >= lo), got ${arg('long-pause')}`);
  process.exit(2);
}
const first = arg('first')?.split(',') as WfFaultKind[] | undefined;
const kinds: readonly string[] = [...WF_FAULT_KINDS, ...(store === 'pg-ha' ? WF_STORE_FAULT_KINDS : [])];
if (first !== undefined && first.some((k) => !kinds.includes(k))) {
  console.error(`--first: want kinds among ${kinds.join(',')}, got ${arg('first')}`);
  process.exit(2);
}
const storeShare = arg('store-share');
const storeKinds = arg('store-faults')?.split(',') as WfStoreFaultKind[] | undefined;
if (storeKinds !== undefined && storeKinds.some((k) => !WF_STORE_FAULT_KINDS.includes(k))) {
  console.error(`--store-faults: want kinds among ${WF_STORE_FAULT_KINDS.join(',')}, got ${arg('store-faults')}`);
  process.exit(2);
}
const storeLog = arg('store-log');
const overload = arg('overload');
if (overload !== undefined && !(Number(overload) > 0)) {
  console.error(`--overload: want a multiple of the capacity > 0, got ${overload}`);
  process.exit(2);
}
const capacity = arg('capacity');
const calibrate = arg('calibrate');
const maxSteps = arg('max-steps');
const starveMs = arg('starve-ms');
const starveHogs = arg('starve-hogs');
const starveQuota = arg('starve-quota');
const stamp = (): string => new Date().toISOString().slice(11, 19);
const report = await runWorkflowFaults({
  rounds: Number(arg('rounds') ?? 200),
  store,
  watchdogMs: Number(arg('watchdog') ?? 180) * 1000,
  longPauseMs: [lo, hi],
  ...(process.argv.includes('--schedule') ? { schedule: true } : {}),
  ...(storeShare === undefined ? {} : { storeShare: Number(storeShare) }),
  ...(storeKinds === undefined ? {} : { storeKinds }),
  ...(storeLog === undefined
    ? {}
    : { storeLog: (source: string, line: string) => appendFileSync(storeLog, `${stamp()} ${source} ${line}\n`) }),
  ...(seed === undefined ? {} : { seed: Number(seed) }),
  ...(overload === undefined
    ? {}
    : {
        overload: {
          multiple: Number(overload),
          ...(capacity === undefined ? {} : { capacity: Number(capacity) }),
          ...(calibrate === undefined ? {} : { calibrateMs: Number(calibrate) * 1000 }),
          ...(maxSteps === undefined ? {} : { maxSteps: Number(maxSteps) }),
        },
      }),
  ...(starveMs === undefined ? {} : { starveMs: Number(starveMs) }),
  ...(starveHogs === undefined ? {} : { starveHogs: Number(starveHogs) }),
  ...(starveQuota === undefined ? {} : { starveQuota: Number(starveQuota) }),
  ...(first === undefined ? {} : { first }),
  ...(arg('logs') === undefined ? {} : { keepLogs: arg('logs') }),
  ...(minutes === undefined ? {} : { roundsMs: Number(minutes) * 60_000 }),
  progress: (l) => console.log(`${stamp()} [${store}] ${l}`),
});
console.log(JSON.stringify({ ...report, seconds: Math.round((Date.now() - t0) / 1000) }, null, 2));
process.exit(report.violations.length === 0 ? 0 : 1);
