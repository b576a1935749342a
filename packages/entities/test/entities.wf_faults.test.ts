// The workflow fault checker (wf_faults.ts), short: five rounds per store (a SIGSTOP longer than
// failure detection, a rolling deploy onto a patched saga body once it ended, a kill -9 mid-step
// or mid-compensation while new sagas take the patched path, every member killed at a journal
// boundary: a cancel's strike, its compensations, a signal wait, a child's start; then, SQLite, a
// hand-off while a saga's charge waits out its retry backoff, or, PostgreSQL, a member starved of
// CPU by busy loops pinned to its core) across
// network-namespace test hosts, over a saga (some cancelled mid-flight), an order (a sleep, a
// confirmation with a timeout), durable sleeps, signals, a child workflow and an outbox-like step; then zero
// violations. The checker's rules (wf_faults_check.ts) are first shown to
// fail on each planted violation. The long run is dist/test/wf_faults_run.js. Needs root, ip/nft
// (and PostgreSQL for its run): skips without (fails under CI=true).

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { postgresMissing, requireHosts } from '@ergo-ts/test-support';

import type { WorkflowJournalEntry } from '../src/index.js';
import { runWorkflowFaults, type WfFaultKind, type WfFaultReport } from './wf_faults.js';
import {
  checkWorkflows,
  indexRules,
  PAUSE_WINDOW_MS,
  resumeLatencies,
  type WfInstance,
  type WfLoggedEvent,
  type WfMarks,
  type WfRecord,
} from './wf_faults_check.js';
import type { Delivery } from './wf_faults_kinds.js';

const d = (k: string, e: string, at = 1000, v?: unknown, src = 'n1#1'): Delivery => ({
  k,
  e,
  at,
  node: src.slice(0, src.indexOf('#')),
  src,
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
  // A failed saga, clean: one reservation, compensated once (its delivery repeated: absorbed). The
  // keys are opaque to the checker (here in the `<kind>/<id>/<seq>/<op>:<name>` form).
  const saga = inst(
    'wfsaga',
    'a',
    { items: 1, fail: true },
    done('rolled-back', [
      j(0, 'step', 'reserve-0', 1),
      j(1, 'step', 'charge', 2, { e: { name: 'Error', message: 'card declined' } }),
      j(2, 'step', 'compensate:reserve-0', 3),
    ]),
  );
  const sagaDs = [
    d('wfsaga/a/0/step:reserve-0', 'a/reserve-0', 1000),
    d('wfsaga/a/2/step:compensate:reserve-0', 'a/undo-0', 1100),
    d('wfsaga/a/2/step:compensate:reserve-0', 'a/undo-0', 1200, undefined, 'n2#1'),
  ];
  const ok = checkWorkflows([saga], sagaDs);
  assert.deepEqual(ok.violations, []);
  assert.deepEqual([ok.deliveries, ok.applied, ok.compensations], [3, 2, 1]);
  assert.match(violations([saga], [...sagaDs, d('wfsaga/a/9', 'a/reserve-0')]), /effect a\/reserve-0 applied 2 times/);
  assert.match(
    violations([saga], [...sagaDs, d('wfsaga/a/0/step:reserve-0', 'a/mail')]),
    /idempotency key wfsaga\/a\/0\/step:reserve-0 carried 2 effects/,
  );
  assert.match(violations([saga], sagaDs.slice(0, 1)), /compensation undo-0 was not run/);
  assert.match(
    violations([saga], [...sagaDs, d('wfsaga/a/5/undo', 'a/undo-0', 1300)]),
    /effect a\/undo-0 applied 2 times/,
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
    violations([sleep(1600)], [d('wfsleep/b/1/step:after-0', 'b/after-0', 1499)]),
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
  // A signal given up with an unknown outcome (an attempt may have landed) may be consumed; one
  // given up after refusals that wrote nothing may not.
  const unknownZ = inst('wfsignals', 'c', { count: 2 }, done(['x', 'z']), {
    signalsAcked: ['x'],
    signalsGivenUp: 1,
    signalsUnknown: ['z'],
  });
  assert.equal(violations([unknownZ], consumed('x', 'z')), '');
  const refusedZ = inst('wfsignals', 'c', { count: 2 }, done(['x', 'z']), { signalsAcked: ['x'], signalsGivenUp: 1 });
  assert.match(violations([refusedZ], consumed('x', 'z')), /consumed signal z, which was never acknowledged/);
  assert.match(
    violations([sig(['y', 'x'], ['x', 'y'])], consumed('y', 'x')),
    /consumed in order y,x, sent in order x,y/,
  );
  // A continue-as-new chain: one run per signal, run numbers 1..n linked, each closed 'continued'.
  const link = (run: number) => ({ run, status: 'continued' });
  const chain = (run: number, links: { run: number; status: string }[], output = ['x', 'y', 'z']): WfInstance =>
    inst(
      'wfcan',
      'k',
      { count: 3, got: [] },
      { ...done(output), run, previousRuns: links },
      { signalsAcked: ['x', 'y', 'z'] },
    );
  const canDs = ['x', 'y', 'z'].map((s, i) => d(`wfcan/k/1${i === 0 ? '' : `~c${i}`}/step:consume`, `k/consume/${s}`));
  assert.equal(violations([chain(3, [link(1), link(2)])], canDs), '');
  assert.match(violations([chain(2, [link(1)])], canDs), /ended in run 2, expected run 3/);
  assert.match(violations([chain(3, [link(1), link(1)])], canDs), /linked previous runs 1,1, expected 1..2/);
  assert.match(
    violations([chain(3, [link(1), { run: 2, status: 'completed' }])], canDs),
    /a previous run closed otherwise than 'continued'/,
  );
  assert.match(violations([chain(3, [link(1), link(2)])], canDs.slice(1)), /effect consume\/x applied 0 times/);
  // Updates: taken once each in the order answered, applied once, every answer the journal's.
  const upd = (output: string[], answers: { uid: string; answer: unknown }[], taken = output.length): WfInstance =>
    inst('wfupd', 'u', { count: 2 }, { ...done(output), attributes: { taken } }, { signalsAcked: ['a', 'b'], answers });
  const applied = [d('wfupd/u/1/step:apply-0', 'u/apply/a'), d('wfupd/u/4/step:apply-1', 'u/apply/b')];
  const answered = [
    { uid: 'a', answer: 'a@0' },
    { uid: 'a', answer: 'a@0' },
    { uid: 'b', answer: 'b@1' },
  ];
  assert.equal(violations([upd(['a', 'b'], answered)], applied), '');
  assert.match(violations([upd(['b', 'a'], answered)], applied), /took updates b,a, answered in order a,b/);
  assert.match(
    violations([upd(['a', 'b'], [...answered, { uid: 'a', answer: 'a@1' }])], applied),
    /update a answered "a@1", the journal gives a@0/,
  );
  assert.match(violations([upd(['a', 'b'], answered)], applied.slice(1)), /effect apply\/a applied 0 times/);
  assert.match(violations([upd(['a', 'b'], answered, 1)], applied), /search attribute taken 1, 2 updates taken/);
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

test('the checker fails on an effect after its instance ended, an effect from an activation that lost its lease, and a step re-run on a process neither paused nor moved', () => {
  const child = inst('wfchild', 'p.child', { x: 2 }, { ...done(4), endedAt: 2000 });
  const work = (at: number, src = 'n1#1'): Delivery =>
    d('wfchild/p.child/0/step:work', 'p.child/work', at, undefined, src);
  assert.equal(violations([child], [work(1000)]), '');
  assert.match(
    violations([child], [work(1000), work(2500, 'n2#1')]),
    /wfchild\/p.child: effect p.child\/work delivered by n2#1 at 2500, 500 ms after the instance ended completed/,
  );
  // Stale: n1#1 activated at 100, n2#1 took it over at 300; n1#1 delivers at 400 (a zombie after a pause).
  const ev = (event: string, source: string, at: number): WfLoggedEvent => ({
    event,
    kind: 'wfchild',
    key: 'p.child',
    source,
    at,
  });
  const takeover = { pauses: [], events: [ev('activated', 'n1#1', 100), ev('activated', 'n2#1', 300)] };
  assert.match(
    checkWorkflows([child], [work(400)], takeover).violations.join('; '),
    /delivered by n1#1 at 400, after n2#1 activated the instance at 300 \(n1#1's own activation at 100\): an effect from an activation that had lost its lease/,
  );
  assert.deepEqual(
    checkWorkflows([child], [work(400)], { pauses: [], events: [...takeover.events, ev('activated', 'n1#1', 350)] })
      .violations,
    [],
  );
  // The documented window: n1#1 stopped (SIGSTOP at 250, before n2#1's takeover at 300) between
  // its lease check and the effect, which reaches the sink right after its SIGCONT at 380: counted,
  // not a violation. The same effect long after the SIGCONT, or with the stop after the takeover, is.
  const windowed = checkWorkflows([child], [work(400)], {
    ...takeover,
    pauses: [{ source: 'n1#1', from: 250, to: 380 }],
  });
  assert.deepEqual(windowed.violations, []);
  assert.equal(windowed.lateInPauseWindow, 1);
  assert.match(
    checkWorkflows([child], [work(380 + PAUSE_WINDOW_MS + 1)], {
      ...takeover,
      pauses: [{ source: 'n1#1', from: 250, to: 380 }],
    }).violations.join('; '),
    /an effect from an activation that had lost its lease/,
  );
  assert.match(
    checkWorkflows([child], [work(400)], {
      ...takeover,
      pauses: [{ source: 'n1#1', from: 310, to: 380 }],
    }).violations.join('; '),
    /an effect from an activation that had lost its lease/,
  );
  // After the instance ended, the same: a stop before the end and the effect right after SIGCONT.
  const ended = inst('wfchild', 'p.child', { x: 2 }, { ...done(4), endedAt: 300 });
  const afterEnd = checkWorkflows([ended], [work(400)], {
    pauses: [{ source: 'n1#1', from: 250, to: 380 }],
    events: [ev('activated', 'n1#1', 100)],
  });
  assert.deepEqual(afterEnd.violations, []);
  assert.equal(afterEnd.lateInPauseWindow, 1);
  assert.match(
    checkWorkflows([ended], [work(400)], {
      pauses: [{ source: 'n1#1', from: 310, to: 380 }],
      events: [],
    }).violations.join('; '),
    /after the instance ended/,
  );
  // An activation that finished its start later with an older token (it took the lease before the
  // deliverer took it over: stale from the start, its writes refused) supersedes nothing.
  const tok = (e: WfLoggedEvent, token: number): WfLoggedEvent => ({ ...e, token });
  assert.deepEqual(
    checkWorkflows([child], [work(400)], {
      pauses: [],
      events: [tok(ev('activated', 'n1#1', 100), 15), tok(ev('activated', 'n2#1', 300), 14)],
    }).violations,
    [],
  );
  assert.match(
    checkWorkflows([child], [work(400)], {
      pauses: [],
      events: [tok(ev('activated', 'n1#1', 100), 15), tok(ev('activated', 'n2#1', 300), 16)],
    }).violations.join('; '),
    /an effect from an activation that had lost its lease/,
  );
  // The deliverer's own newer activation logged 2 ms after the effect (its start replayed the wake-up
  // fire and the body ran the step before `activated` was published): its own, not a lost lease.
  assert.deepEqual(
    checkWorkflows([child], [work(400)], {
      pauses: [],
      events: [
        tok(ev('activated', 'n1#1', 100), 7),
        tok(ev('activated', 'n2#1', 300), 8),
        tok(ev('activated', 'n1#1', 402), 9),
      ],
    }).violations,
    [],
  );
  // Re-run: one key twice on n1#1 with nothing in between.
  assert.match(
    violations([child], [work(1000), work(1200)]),
    /key wfchild\/p.child\/0\/step:work \(p.child\/work\) delivered again by n1#1 200 ms later \(at 1000 and 1200\), with no kill or pause of it and no loss or move of the instance in between/,
  );
  // Explained: another incarnation (a kill), a pause of n1#1, its activation ended, or another process took it.
  const explained = (ds: Delivery[], marks: WfMarks): number => {
    const r = checkWorkflows([child], ds, marks);
    assert.deepEqual(r.violations, []);
    return r.rerunsExplained;
  };
  assert.equal(explained([work(1000), work(1200, 'n1#2')], { pauses: [], events: [] }), 0);
  assert.equal(
    explained([work(1000), work(1200)], { pauses: [{ source: 'n1#1', from: 900, to: 1100 }], events: [] }),
    1,
  );
  assert.equal(explained([work(1000), work(1200)], { pauses: [], events: [ev('stopped', 'n1#1', 1100)] }), 1);
  assert.equal(explained([work(1000), work(1200)], { pauses: [], events: [ev('written', 'n3#1', 1100)] }), 1);
  assert.match(
    checkWorkflows([child], [work(1000), work(1200)], {
      pauses: [{ source: 'n2#1', from: 900, to: 1100 }],
      events: [ev('written', 'n1#1', 1100)],
    }).violations.join('; '),
    /delivered again by n1#1/,
  );
});

test('the checker fails on a compensation for a saga that succeeded, missing after a cancel, not newest first, before what it undoes, or for a charge journaled failed; an audit without its patch; a cancel never asked; result() disagreeing', () => {
  // Two reservations, charged, then cancelled: every compensation ran once, newest first.
  const journal = [
    j(0, 'step', 'reserve-0', 1),
    j(1, 'step', 'reserve-1', 2),
    j(2, 'patch', 'v2', 3),
    j(3, 'step', 'audit-v2', 4),
    j(4, 'step', 'charge', 5),
    j(5, 'step', 'compensate:charge', 6),
    j(6, 'step', 'compensate:reserve-1', 7),
    j(7, 'step', 'compensate:reserve-0', 8),
  ];
  const cancelled: WfRecord = { status: 'cancelled', journal, runs: 1, endedAt: 9000 };
  const saga = inst('wfsaga', 's', { items: 2, fail: false }, cancelled, {
    cancel: 'cancelled',
    result: { status: 'cancelled' },
  });
  const ds = [
    d('k0', 's/reserve-0', 100),
    d('k1', 's/reserve-1', 200),
    d('k2', 's/audit-v2', 300),
    d('k3', 's/charge', 400),
    d('k4', 's/refund', 500),
    d('k5', 's/undo-1', 600),
    d('k6', 's/undo-0', 700),
  ];
  const ok = checkWorkflows([saga], ds);
  assert.deepEqual([ok.violations, ok.cancelled, ok.compensations], [[], 1, 3]);
  const without = (e: string): Delivery[] => ds.filter((x) => x.e !== e);
  assert.match(
    violations([saga], without('s/undo-1')),
    /compensation undo-1 was not run \(reservation 1 was made; cancelled\)/,
  );
  assert.match(
    violations([saga], without('s/refund')),
    /compensation refund was not run \(the charge was journaled done/,
  );
  assert.match(violations([{ ...saga, cancel: undefined }], ds), /ended cancelled, but no cancel was asked/);
  assert.match(violations([{ ...saga, cancel: 'closed' }], ds), /ended cancelled, but no cancel was accepted/);
  // An undo of a reservation never made is allowed (its compensation was pushed before the step).
  assert.equal(violations([saga], without('s/reserve-1')), '');
  // Not newest first: in the journal, and in the deliveries.
  const swapped = journal.map((e) =>
    e.s === 6 ? { ...e, n: 'compensate:reserve-0' } : e.s === 7 ? { ...e, n: 'compensate:reserve-1' } : e,
  );
  assert.match(
    violations([{ ...saga, record: { ...cancelled, journal: swapped } }], ds),
    /compensations journaled in order compensate:charge, compensate:reserve-0, compensate:reserve-1: not newest first/,
  );
  assert.match(
    violations([saga], [...without('s/undo-0'), d('k6', 's/undo-0', 550)]),
    /undo-0 delivered at 550, before undo-1 at 600: not newest first/,
  );
  assert.match(
    violations([saga], [...ds, d('k1', 's/reserve-1', 650)]),
    /undo-1 delivered at 600, before reserve-1's delivery at 650/,
  );
  // A compensation journaled twice.
  assert.match(
    violations(
      [{ ...saga, record: { ...cancelled, journal: [...journal, j(8, 'step', 'compensate:reserve-0', 9)] } }],
      ds,
    ),
    /2 compensate:reserve-0 steps journaled/,
  );
  // The charge delivered but journaled failed (a cancel that did not wait for it): no refund can run.
  const failedCharge = journal
    .filter((e) => e.n !== 'compensate:charge')
    .map((e) => (e.n === 'charge' ? { ...e, e: { name: 'Error', message: 'ERR_WORKFLOW_CANCELLED' } } : e));
  assert.match(
    violations([{ ...saga, record: { ...cancelled, journal: failedCharge } }], without('s/refund')),
    /the charge was delivered but journaled failed \(ERR_WORKFLOW_CANCELLED\): its refund can never run/,
  );
  // Audits: one behind each patch journaled, none without.
  assert.match(
    violations([{ ...saga, record: { ...cancelled, journal: journal.filter((e) => e.t !== 'patch') } }], ds),
    /effect audit-v2 applied, but the journal has no patch v2/,
  );
  // A saga that succeeded: no compensation at all.
  const okJournal = journal.slice(0, 5).concat([j(5, 'step', 'mail', 6)]);
  const succeeded = inst('wfsaga', 's', { items: 2, fail: false }, { ...done('done', okJournal), endedAt: 9000 });
  const okDs = [...ds.slice(0, 4), d('k7', 's/mail', 450)];
  assert.equal(violations([succeeded], okDs), '');
  assert.match(
    violations([succeeded], [...okDs, d('k6', 's/undo-0', 700)]),
    /compensation undo-0 ran, but the saga completed "done"/,
  );
  assert.match(
    violations([succeeded], [...okDs, d('k4', 's/refund', 700)]),
    /compensation refund ran, but the saga completed/,
  );
  assert.match(
    violations(
      [succeeded],
      okDs.filter((x) => x.e !== 's/audit-v2'),
    ),
    /effect audit-v2 applied 0 times, expected 1/,
  );
  // result() must agree with the record.
  assert.match(
    violations([{ ...succeeded, result: { status: 'cancelled' } }], okDs),
    /result\(\) answered cancelled, the instance ended completed/,
  );
  assert.match(
    violations([{ ...succeeded, result: { status: 'completed', output: 'rolled-back' } }], okDs),
    /result\(\) answered "rolled-back", the record holds "done"/,
  );
  assert.match(
    violations([{ ...succeeded, result: { status: 'none', why: 'no member answered' } }], okDs),
    /result\(\) did not answer \(no member answered\), the instance ended completed/,
  );
  assert.equal(violations([{ ...succeeded, result: { status: 'completed', output: 'done' } }], okDs), '');
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

test('the checker fails on an order compensated after its confirmation, a cancelled order missing or doubling a compensation, an engine error reaching a body, a replay that diverged on an unchanged body', () => {
  const steps = [j(0, 'step', 'reserve', 10), j(1, 'step', 'charge', 20), j(2, 'sleep', '', 30, { until: 40 })];
  const effects = (id: string, ...whats: string[]): Delivery[] =>
    whats.map((w, i) => d(`wforder/${id}/${i}/${w}`, `${id}/${w}`, 100 + i));
  const shipped = inst(
    'wforder',
    'o',
    {},
    done('shipped', [...steps, j(3, 'signal', 'confirm', 50, { v: { sid: 'o-confirm' } }), j(4, 'step', 'ship', 60)]),
  );
  assert.equal(violations([shipped], effects('o', 'reserve', 'charge', 'ship')), '');
  assert.match(
    violations([shipped], effects('o', 'reserve', 'charge', 'ship', 'refund')),
    /wforder\/o: a confirmed order was compensated \(unreserve 0, refund 1\)/,
  );
  const cancelled = (journal: WorkflowJournalEntry[]): WfInstance =>
    inst('wforder', 'c', {}, { status: 'cancelled', journal, runs: 2, cancel: 'x' }, { cancel: 'cancelled' });
  const struck = [
    ...steps.slice(0, 2),
    j(2, 'sleep', '', 30, { until: 40, e: { name: 'ErgoError', code: 'ERR_WORKFLOW_CANCELLED', message: 'x' } }),
    j(3, 'step', 'compensate:charge', 50),
    j(4, 'step', 'compensate:reserve', 60),
  ];
  assert.equal(violations([cancelled(struck)], effects('c', 'reserve', 'charge', 'refund', 'unreserve')), '');
  assert.match(
    violations([cancelled(struck)], effects('c', 'reserve', 'charge', 'refund')),
    /wforder\/c: cancelled: compensation unreserve applied 0 times \(reserve was journaled\)/,
  );
  assert.match(
    violations(
      [cancelled([...struck, j(5, 'step', 'compensate:charge', 70)])],
      effects('c', 'reserve', 'charge', 'refund', 'unreserve'),
    ),
    /2 compensate:charge steps journaled/,
  );
  const ship = (c?: true) => j(5, 'step', 'ship', 45, c === undefined ? {} : { c });
  const shipped2 = effects('c', 'reserve', 'charge', 'ship', 'refund', 'unreserve');
  assert.equal(violations([cancelled([...struck.slice(0, 2), ship(true), ...struck.slice(3)])], shipped2), '');
  assert.match(
    violations([cancelled([...struck.slice(0, 2), ship(), ...struck.slice(3)])], shipped2),
    /wforder\/c: cancelled after ship was journaled done before the cancel/,
  );
  const engine = inst(
    'wforder',
    'e',
    {},
    {
      status: 'failed',
      journal: [
        ...steps,
        j(3, 'signal', 'confirm', 50, {
          e: { name: 'ErgoError', code: 'ERR_PROCESS_UNKNOWN', message: 'unknown process' },
        }),
      ],
      runs: 2,
      error: { name: 'ErgoError', code: 'ERR_PROCESS_UNKNOWN', message: 'unknown process' },
    },
  );
  assert.match(
    violations([engine], []),
    /wforder\/e: an engine error reached the body \(operation 3: ERR_PROCESS_UNKNOWN/,
  );
  assert.match(
    violations(
      [{ ...shipped, diverged: 'the journal has step compensate:charge' }],
      effects('o', 'reserve', 'charge', 'ship'),
    ),
    /wforder\/o: a replay diverged though its body never changed/,
  );
});

test("the checker fails on a step or a retry entry carrying an engine's code, a step journaled after more attempts than its own failures, and a start refused every time that exists", () => {
  // A flaky charge: attempt 1 failed by itself, attempt 2 succeeded: a = 2. Every other step: 1.
  const journal = (
    charge: Partial<WorkflowJournalEntry>,
    more: WorkflowJournalEntry[] = [],
  ): WorkflowJournalEntry[] => [
    j(0, 'step', 'reserve-0', 10, { a: 1 }),
    j(1, 'step', 'charge', 20, { a: 2, ...charge }),
    j(2, 'step', 'mail', 30, { a: 1 }),
    ...more,
  ];
  const ds = [d('k0', 's/reserve-0', 5), d('k1', 's/charge', 15), d('k2', 's/mail', 25)];
  const saga = (charge: Partial<WorkflowJournalEntry>, flaky = true, more: WorkflowJournalEntry[] = []): WfInstance =>
    inst('wfsaga', 's', { items: 1, fail: false, flaky }, { ...done('done', journal(charge, more)), endedAt: 9000 });
  assert.equal(violations([saga({})], ds), '');
  // The hand-off during the backoff burned attempts 2..5: journaled failed with the run's end.
  const runEnded = { name: 'ErgoError', code: 'ERR_WORKFLOW_RUN_ENDED', message: 'its activation hands off' };
  const burned = inst(
    'wfsaga',
    's',
    { items: 1, fail: false, flaky: true },
    {
      status: 'completed',
      output: 'rolled-back',
      journal: [
        j(0, 'step', 'reserve-0', 10, { a: 1 }),
        j(1, 'step', 'charge', 20, { a: 5, e: runEnded }),
        j(2, 'step', 'compensate:reserve-0', 30, { a: 1 }),
      ],
      runs: 3,
      endedAt: 9000,
    },
  );
  const found = violations([burned], [d('k0', 's/reserve-0', 5), d('k3', 's/undo-0', 35)]);
  assert.match(found, /an engine error reached the body \(operation 1 \(step charge\): ERR_WORKFLOW_RUN_ENDED/);
  assert.match(
    found,
    /step charge journaled failed \(ERR_WORKFLOW_RUN_ENDED\) after 5 attempt\(s\), its own failures allow 2/,
  );
  // Done, but after an attempt more than its own failures (one lost to an engine failure).
  assert.match(
    violations([saga({ a: 3 })], ds),
    /step charge journaled done after 3 attempt\(s\), its own failures allow 2/,
  );
  assert.match(
    violations([saga({ a: 2 }, false)], ds),
    /step charge journaled done after 2 attempt\(s\), its own failures allow 1/,
  );
  const twice = journal({}).map((e) => (e.n === 'mail' ? { ...e, a: 2 } : e));
  assert.match(
    violations(
      [inst('wfsaga', 's', { items: 1, fail: false, flaky: true }, { ...done('done', twice), endedAt: 9000 })],
      ds,
    ),
    /step mail journaled done after 2 attempt\(s\), its own failures allow 1/,
  );
  // A retry entry left with an engine's code (an engine failure counted as an attempt).
  const retry = j(3, 'retry', 'x', 40, { done: false, e: { name: 'ErgoError', code: 'ERR_TIMEOUT', message: 't' } });
  assert.match(violations([saga({}, true, [retry])], ds), /operation 3 \(retry x\): ERR_TIMEOUT/);
  // A start refused ERR_ENTITY_OVERLOADED at every ask creates nothing.
  assert.match(
    violations([{ ...saga({}), started: false, refusedOnly: true }], ds),
    /every start was refused ERR_ENTITY_OVERLOADED, yet the store has the instance \(completed\)/,
  );
  assert.equal(violations([{ ...saga({}), started: false, refusedOnly: true, record: null }], []), '');
});

async function run(store: 'sqlite' | 'postgres', first: readonly WfFaultKind[]): Promise<WfFaultReport> {
  const report = await runWorkflowFaults({
    rounds: first.length,
    first,
    store,
    // CI's short variant of the long pause: still longer than failure detection (1 s leases, a
    // 1.5 s heartbeat), short enough for the whole run to stay near a minute.
    longPauseMs: [4000, 5000],
    // A starvation long enough to outlast a few leases (1 s), short enough for CI.
    starveMs: 3000,
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

test("workflows under a pause longer than failure detection, a rolling deploy onto a patched body, kill -9 mid-step, every member killed at a journal boundary and a hand-off during a step's retry backoff, one shared SQLite file: no violation", async (t) => {
  if (!requireHosts(t)) return;
  await run('sqlite', ['longpause', 'deploy', 'midstep', 'boundary', 'backoff']);
});

test('workflows under a pause longer than failure detection, a rolling deploy onto a patched body, kill -9 mid-compensation, every member killed at a journal boundary and a member starved of CPU, PostgreSQL in a host of its own: no violation', async (t) => {
  if (!requireHosts(t)) return;
  const missing = postgresMissing();
  if (missing !== undefined) {
    t.skip(missing);
    return;
  }
  await run('postgres', ['longpause', 'deploy', 'compkill', 'boundary', 'starve']);
});

test("the checker fails on a state index row missing or not its record's, and counts that are not the tally of the records", () => {
  const rec = (status: string, attributes?: Record<string, unknown>): WfRecord => ({
    status,
    journal: [],
    runs: 1,
    startedAt: 100,
    ...(status === 'running' ? {} : { endedAt: 200 }),
    ...(attributes === undefined ? {} : { attributes }),
  });
  const is = [
    inst('wfupd', 'a', {}, rec('completed', { taken: 2, x: 'y' })),
    inst('wfupd', 'b', {}, rec('running')),
    inst('wfupd', 'c', {}, null),
  ];
  const rows = {
    a: { status: 'completed', started: 100, ended: 200, attributes: { x: 'y', taken: 2 } },
    b: { status: 'running', started: 100 },
  };
  const index = (r: object, counts: Record<string, number> = { completed: 1, running: 1 }) =>
    new Map([['wfupd', { rows: r, counts }]]) as Parameters<typeof indexRules>[1];
  assert.deepEqual(indexRules(is, index(rows)), []);
  assert.match(
    indexRules(is, index({ a: rows.a })).join('; '),
    /wfupd\/b: no state index row \(the record is running\)/,
  );
  assert.match(
    indexRules(is, index({ ...rows, b: { status: 'completed', started: 100, ended: 200 } })).join('; '),
    /wfupd\/b: state index row .*"completed".*, its record derives .*"running"/,
  );
  assert.match(
    indexRules(is, index({ ...rows, a: { ...rows.a, attributes: { taken: 1, x: 'y' } } })).join('; '),
    /wfupd\/a: state index row/,
  );
  assert.match(indexRules(is, index(rows, { completed: 2 })).join('; '), /wfupd: state index counts/);
});
