// The workflow fault checker (wf_faults.ts), short: a few randomised rounds per store of kill -9
// (also mid-step), SIGSTOP past the lease, partitions and whole-cluster restarts across
// network-namespace test hosts, over a saga, durable sleeps, signals, a child workflow and an
// outbox step; then zero violations. The checker's rules (wf_faults_check.ts) are first shown to
// fail on each planted violation. The long run is dist/test/wf_faults_run.js. Needs root, ip/nft
// (and PostgreSQL for its run): skips without (fails under CI=true).

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { postgresMissing, requireHosts } from '@ergo-ts/test-support';

import type { WorkflowJournalEntry } from '../src/index.js';
import { runWorkflowFaults, type WfFaultKind, type WfFaultReport } from './wf_faults.js';
import { checkWorkflows, resumeLatencies, type WfInstance, type WfRecord } from './wf_faults_check.js';
import type { Delivery } from './wf_faults_kinds.js';

const d = (k: string, e: string, at = 1000, v?: unknown): Delivery => ({
  k,
  e,
  at,
  node: 'n1',
  ...(v === undefined ? {} : { v }),
});
const j = (
  s: number,
  t: WorkflowJournalEntry['t'],
  n: string,
  at: number,
  more: Partial<WorkflowJournalEntry> = {},
): WorkflowJournalEntry => ({
  s,
  t,
  n,
  at,
  done: true,
  ...more,
});
const done = (output: unknown, journal: WorkflowJournalEntry[] = []): WfRecord => ({
  status: 'completed',
  output,
  journal,
  runs: 1,
});
const inst = (
  wf: WfInstance['wf'],
  id: string,
  input: Record<string, unknown>,
  record: WfRecord | null,
  more: Partial<WfInstance> = {},
): WfInstance => ({
  wf,
  id,
  input,
  started: true,
  record,
  ...more,
});
const violations = (is: WfInstance[], ds: Delivery[]): string => checkWorkflows(is, ds).violations.join('; ');

test('the checker fails on an effect applied twice, an instance never completed, a sleep early, a signal lost, a compensation missing or doubled, an impossible outcome', () => {
  // A failed saga, clean: one reservation, compensated once (its delivery repeated: absorbed).
  const saga = inst(
    'wfsaga',
    'a',
    { items: 1, fail: true },
    done('rolled-back', [
      j(0, 'step', 'reserve-0', 1),
      j(1, 'step', 'charge', 2),
      j(2, 'step', 'compensate:reserve-0', 3),
    ]),
  );
  const sagaDs = [d('wfsaga/a/0', 'a/reserve-0'), d('wfsaga/a/0/undo', 'a/undo-0'), d('wfsaga/a/0/undo', 'a/undo-0')];
  const ok = checkWorkflows([saga], sagaDs);
  assert.deepEqual(ok.violations, []);
  assert.deepEqual([ok.deliveries, ok.applied, ok.compensations], [3, 2, 1]);
  assert.match(violations([saga], [...sagaDs, d('wfsaga/a/9', 'a/reserve-0')]), /effect a\/reserve-0 applied 2 times/);
  assert.match(
    violations([saga], [...sagaDs, d('wfsaga/a/0', 'a/mail')]),
    /idempotency key wfsaga\/a\/0 carried 2 effects/,
  );
  assert.match(violations([saga], sagaDs.slice(0, 1)), /compensation undo-0 was not run/);
  assert.match(
    violations([saga], [...sagaDs, d('wfsaga/a/5/undo', 'a/undo-0')]),
    /compensation undo-0 was run 2 times/,
  );
  assert.match(
    violations([{ ...saga, input: { items: 1, fail: false } }], sagaDs),
    /output "rolled-back" is impossible/,
  );
  // Never completed, lost start, failed.
  assert.match(
    violations([inst('wfsleep', 'b', { sleeps: [] }, { status: 'running', journal: [], runs: 3 })], []),
    /never completed/,
  );
  assert.match(violations([inst('wfsleep', 'b', { sleeps: [] }, null)], []), /the store has no instance/);
  assert.match(
    violations(
      [
        inst(
          'wfsleep',
          'b',
          { sleeps: [] },
          { status: 'failed', journal: [], runs: 1, error: { name: 'Error', message: 'x' } },
        ),
      ],
      [],
    ),
    /ended failed/,
  );
  const waiting = checkWorkflows(
    [inst('wfsignals', 'c', { count: 1 }, { status: 'running', journal: [], runs: 1 }, { signalsGivenUp: 1 })],
    [],
  );
  assert.deepEqual([waiting.violations, waiting.waitingForSignals], [[], 1]);
  // A sleep that fired early: the step after it ran before its `until`.
  const sleep = (stepAt: number): WfInstance =>
    inst(
      'wfsleep',
      'b',
      { sleeps: [500] },
      done(1, [
        j(0, 'sleep', '', 1000, { until: 1500, done: undefined }),
        j(1, 'step', 'after-0', stepAt, { v: stepAt }),
      ]),
    );
  assert.deepEqual(checkWorkflows([sleep(1600)], [d('wfsleep/b/1', 'b/after-0', 1550)]).sleepLateness, [100]);
  assert.equal(violations([sleep(1600)], [d('wfsleep/b/1', 'b/after-0', 1550)]), '');
  assert.match(
    violations([sleep(1450)], []),
    /the sleep at 0 fired early: its next step ran at 1450, before until 1500/,
  );
  assert.match(
    violations([sleep(1600)], [d('wfsleep/b/1', 'b/after-0', 1499)]),
    /the sleep at 0 fired early: its next step ran at 1499, before until 1500/,
  );
  // Signals: lost, doubled, never sent, out of order.
  const sig = (output: string[], acked: string[]): WfInstance =>
    inst('wfsignals', 'c', { count: acked.length }, done(output), { signalsAcked: acked });
  const consumed = (...sids: string[]): Delivery[] => sids.map((s, i) => d(`wfsignals/c/${i}`, `c/consume/${s}`));
  assert.equal(violations([sig(['x', 'y'], ['x', 'y'])], consumed('x', 'y')), '');
  assert.match(violations([sig(['x'], ['x', 'y'])], consumed('x')), /acknowledged signal y was lost/);
  assert.match(violations([sig(['x', 'x'], ['x'])], consumed('x')), /signal x was consumed 2 times/);
  assert.match(
    violations([sig(['x', 'z'], ['x'])], consumed('x', 'z')),
    /consumed signal z, which was never acknowledged/,
  );
  assert.match(
    violations([sig(['y', 'x'], ['x', 'y'])], consumed('y', 'x')),
    /consumed in order y,x, sent in order x,y/,
  );
  // A parent whose child's result it reported is not 2(x+1).
  const parent = inst('wfparent', 'p', { x: 1 }, done(5));
  const pds = [d('wfparent/p/0', 'p/prep'), d('wfparent/p/3', 'p/notify', 1000, 4)];
  assert.equal(violations([parent], pds), '');
  assert.match(
    violations([parent], [pds[0]!, d('wfparent/p/3', 'p/notify', 1000, 6)]),
    /notified child result 6, expected 4/,
  );
  assert.match(violations([{ ...parent, record: done(7) }], pds), /output 7 is impossible/);
});

test('resume latency: from the kill (or the end of the sleep it was in) to the next journal entry of each instance active on the killed member', () => {
  const events = [
    { event: 'activated', kind: 'wfsaga', key: 'a', source: 'n1#1' },
    { event: 'written', kind: 'wfsleep', key: 'b', source: 'n1#1' },
    { event: 'activated', kind: 'wfsaga', key: 'gone', source: 'n1#1' },
    { event: 'passivated', kind: 'wfsaga', key: 'gone', source: 'n1#1' },
    { event: 'written', kind: 'wfsignals', key: 'c', source: 'n1#1' },
  ];
  const records = new Map<string, WfRecord>([
    [
      'wfsaga/a',
      { status: 'completed', startedAt: 0, journal: [j(0, 'step', 's', 900), j(1, 'step', 't', 1300)], runs: 2 },
    ],
    [
      'wfsleep/b',
      {
        status: 'completed',
        startedAt: 0,
        journal: [j(0, 'sleep', '', 500, { until: 2000 }), j(1, 'step', 'after-0', 2100)],
        runs: 2,
      },
    ],
    ['wfsaga/gone', { status: 'completed', startedAt: 0, journal: [j(0, 'step', 's', 1500)], runs: 1 }],
    ['wfsignals/c', { status: 'completed', startedAt: 0, journal: [j(0, 'signal', 'item', 5000)], runs: 2 }],
  ]);
  assert.deepEqual(resumeLatencies([{ at: 1000, source: 'n1#1' }], events, records), [300, 100]);
});

async function run(store: 'sqlite' | 'postgres', first: readonly WfFaultKind[]): Promise<WfFaultReport> {
  const report = await runWorkflowFaults({
    rounds: first.length,
    first,
    store,
    progress: (l) => console.log(`# ${l}`),
  });
  console.log(`# ${JSON.stringify(report)}`);
  assert.deepEqual(report.violations, [], `seed ${report.seed}`);
  assert.ok(
    report.operations.starts > 0 && report.completed > 0,
    'workflows were started and completed during the faults',
  );
  return report;
}

test('workflows under kill -9 mid-step, a pause past the lease and a whole-cluster restart, one shared SQLite file: no violation', async (t) => {
  if (!requireHosts(t)) return;
  await run('sqlite', ['midstep', 'pause', 'restart']);
});

test('workflows under kill -9, a partition and a pause past the lease ended by kill -9, PostgreSQL in a host of its own: no violation', async (t) => {
  if (!requireHosts(t)) return;
  const missing = postgresMissing();
  if (missing !== undefined) {
    t.skip(missing);
    return;
  }
  await run('postgres', ['kill', 'partition', 'pausekill']);
});
