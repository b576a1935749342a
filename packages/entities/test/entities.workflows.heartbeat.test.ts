// Step heartbeats (effects.ts, Temporal's activity heartbeats): `info.heartbeat(details)` with the
// step's `heartbeatTimeoutMs`. On the test kit (test clock): an attempt that stops heartbeating is
// failed at its heartbeat timeout, not at its step timeout, and retried with the last details; a
// running attempt shows its last heartbeat in describe(); a cancel reaches a heartbeating step at
// its next heartbeat. On the kit and on SQLite (wall clock): the details a running attempt wrote
// reach the attempt that runs after a restart.

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';
import { startNode } from 'ergo-ts';

import { defineWorkflow, SqliteStore, startEntities, type StepInfo } from '../src/index.js';
import type { WorkflowRecord } from '../src/workflow/model/record.js';
import { startTestEntities } from '../src/testing/index.js';

/** What each attempt of the `copy` steps saw and did, in order. */
const seen: { attempt: number; from: unknown }[] = [];
/** Items a `copy` attempt copies before it hangs (only the first attempt hangs). */
const plan = { hangAfter: 3, items: 6, beatEveryMs: 0 };

/** Copies `plan.items` items, heartbeating `{ done }` after each; a first attempt from scratch hangs after `hangAfter`. */
async function copy(info: StepInfo): Promise<number> {
  const from = (info.heartbeatDetails as { done?: number } | undefined)?.done ?? 0;
  seen.push({ attempt: info.attempt, from });
  for (let done = from; done < plan.items;) {
    if (info.attempt === 1 && from === 0 && done === plan.hangAfter)
      await new Promise((_, reject) => info.signal.addEventListener('abort', () => reject(info.signal.reason)));
    done++;
    info.heartbeat({ done });
    if (plan.beatEveryMs > 0) await new Promise((r) => setTimeout(r, plan.beatEveryMs));
  }
  return plan.items;
}

/** A workflow of one `copy` step with `heartbeatTimeoutMs` (and an hour's step timeout). */
const copying = (name: string, heartbeatTimeoutMs: number) =>
  defineWorkflow(name, { determinismGuard: 'throw' }, async (ctx, _input: null): Promise<number> =>
    ctx.step('copy', copy, { heartbeatTimeoutMs, timeoutMs: 3_600_000, retry: { initialMs: 100 } }),
  );
const WfCopy = copying('wfcopy', 5_000);
/** Its running attempt's details are written at most every second (the floor; 80 % of 1.25 s). */
const WfCopyFast = copying('wfcopyfast', 1_250);

/** Heartbeats in a loop until its signal is aborted (then the heartbeat throws). */
const WfBusy = defineWorkflow('wfbusy', { determinismGuard: 'throw' }, async (ctx, _input: null) =>
  ctx.step('spin', async (info) => {
    for (;;) {
      info.heartbeat();
      await new Promise((r) => setImmediate(r));
    }
  }),
);

const record = async (
  k: { store: { load(a: { kind: string; key: string }): Promise<{ state: unknown }> } },
  kind: string,
  id: string,
) => (await k.store.load({ kind, key: id })).state as WorkflowRecord;

test('an attempt that stops heartbeating fails at its heartbeat timeout and the next one goes on from its last details', async () => {
  seen.length = 0;
  Object.assign(plan, { hangAfter: 3, items: 6, beatEveryMs: 0 });
  await using k = await startTestEntities({ kinds: [WfCopy], leaseTtlMs: 3_600_000 });
  const wf = await k.workflows.start(WfCopy, 'c1', null);
  // Hung after 3 items (a step runs: the kit does not skip time for it): shown running, with its
  // last heartbeat and when it is due again.
  const run = await eventually(async () => {
    const r = (await wf.describe()).running?.find((x) => x.n === 'copy');
    return (r?.heartbeat as { done?: number } | undefined)?.done === 3 ? r : undefined;
  }, 'the attempt hung after item 3');
  assert.equal(run.heartbeatDueAt, run.heartbeatAt! + 5_000);
  assert.equal(run.attempt, 1);
  // 5 s of test time, not the step's hour: attempt 1 fails, attempt 2 starts from item 3.
  k.advanceTime(5_000);
  assert.equal(await wf.advanceUntilDone(), 6);
  assert.deepEqual(seen, [
    { attempt: 1, from: 0 },
    { attempt: 2, from: 3 },
  ]);
  const rec = await record(k, 'wfcopy', 'c1');
  const step = rec.journal.find((e) => e.n === 'copy')!;
  assert.equal(step.a, 2);
});

test('a cancel reaches a running step at its next heartbeat', async () => {
  await using k = await startTestEntities({ kinds: [WfBusy], leaseTtlMs: 3_600_000 });
  const wf = await k.workflows.start(WfBusy, 'b1', null);
  await eventually(
    async () => (await wf.describe()).running?.some((r) => r.heartbeatAt !== undefined),
    'the step heartbeats',
  );
  await wf.cancel('stop');
  await assert.rejects(wf.result(), { code: 'ERR_WORKFLOW_CANCELLED' });
});

/** Its first attempt fails; its second waits for `release`. */
const release = { go: (): void => undefined };
const WfFlaky = defineWorkflow('wfflaky', { determinismGuard: 'throw' }, async (ctx, _input: null) =>
  ctx.step(
    'flaky',
    async (info) => {
      if (info.attempt === 1) throw Object.assign(new Error('the partner answered 503'), { code: 'ERR_PARTNER' });
      await new Promise<void>((r) => (release.go = r));
      return info.attempt;
    },
    { retry: { initialMs: 10 } },
  ),
);

test("a running attempt shows the error its step's previous attempt failed with", async () => {
  await using k = await startTestEntities({ kinds: [WfFlaky], leaseTtlMs: 3_600_000 });
  const wf = await k.workflows.start(WfFlaky, 'f1', null);
  const run = await eventually(async () => {
    k.advanceTime(10); // the backoff, on the test clock
    const r = (await wf.describe()).running?.find((x) => x.n === 'flaky');
    return r?.attempt === 2 ? r : undefined;
  }, 'attempt 2 runs');
  assert.equal(run.lastError?.code, 'ERR_PARTNER');
  assert.match(run.lastError!.message, /503/);
  release.go();
  assert.equal(await wf.result(), 2);
});

/** Its first attempt fails (503); its second heartbeats `{ n }` at each `beat.next()`, and returns at `beat.done()`. */
const beat = { next: (): void => undefined, done: (): void => undefined, finished: false };
const WfBeatAfterFail = defineWorkflow('wfbeatfail', { determinismGuard: 'throw' }, async (ctx, _input: null) =>
  ctx.step(
    'call',
    async (info) => {
      if (info.attempt === 1) throw Object.assign(new Error('the partner answered 503'), { code: 'ERR_PARTNER' });
      for (let n = 1; !beat.finished; n++) {
        await new Promise<void>((r) => (beat.next = r));
        info.heartbeat({ n });
      }
      return info.attempt;
    },
    { retry: { initialMs: 10 }, heartbeatTimeoutMs: 3_600_000, timeoutMs: 3_600_000 },
  ),
);

test("a failed attempt keeps its own time while the next attempt's heartbeats are written", async () => {
  beat.finished = false;
  await using k = await startTestEntities({ kinds: [WfBeatAfterFail], leaseTtlMs: 3_600_000 });
  const wf = await k.workflows.start(WfBeatAfterFail, 'bf1', null);
  const run = await eventually(async () => {
    k.advanceTime(10); // the backoff, on the test clock
    const r = (await wf.describe()).running?.find((x) => x.n === 'call');
    return r?.attempt === 2 ? r : undefined;
  }, 'attempt 2 runs');
  const failed = (await record(k, 'wfbeatfail', 'bf1')).journal.find((e) => e.t === 'retry')!;
  assert.equal(failed.ea, failed.at, 'written when attempt 1 failed');
  assert.equal(run.lastErrorAt, failed.ea);
  // Ten minutes on, attempt 2 heartbeats: its details are written (at most every 30 s).
  k.advanceTime(600_000);
  const beatAt = k.clock.now();
  const written = await eventually(async () => {
    beat.next();
    const e = (await record(k, 'wfbeatfail', 'bf1')).journal.find((x) => x.t === 'retry');
    return e?.h === undefined ? undefined : e;
  }, "attempt 2's heartbeat is written");
  assert.equal(written.at, beatAt, "the entry's write is the heartbeat's");
  assert.equal(written.ea, failed.ea, "the failure's time is kept");
  assert.equal(written.e?.code, 'ERR_PARTNER');
  const d = await wf.describe();
  assert.equal(d.history.find((e) => e.t === 'retry')?.ea, failed.ea);
  const now = d.running?.find((x) => x.n === 'call');
  assert.equal(now?.lastErrorAt, failed.ea);
  assert.ok(now?.heartbeatAt !== undefined && now.heartbeatAt >= beatAt);
  beat.finished = true;
  beat.next();
  assert.equal(await wf.result(), 2);
});

test('bad heartbeat options are refused with ERR_WORKFLOW_INCORRECT', async () => {
  const Bad = defineWorkflow('wfbadbeat', async (ctx, _input: null) =>
    ctx.step('x', () => 1, { heartbeatTimeoutMs: -1 }).catch((err: { code?: string }) => err.code ?? '?'),
  );
  await using k = await startTestEntities({ kinds: [Bad], leaseTtlMs: 3_600_000 });
  const wf = await k.workflows.start(Bad, 'x1', null);
  assert.equal(await wf.result(), 'ERR_WORKFLOW_INCORRECT');
});

const dir = mkdtempSync(join(tmpdir(), 'ergo-entities-heartbeat-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('SQLite: the details a running attempt wrote reach the attempt that runs after a restart', async (t) => {
  seen.length = 0;
  // Beats every 20 ms for 2.4 s; its details are written at most every second.
  Object.assign(plan, { hangAfter: Infinity, items: 120, beatEveryMs: 20 });
  const store = SqliteStore.open(join(dir, 'beats.db'), { synchronous: 'normal' });
  const node = await startNode(`hb-${process.pid}@localhost`, { log: { level: 'warning' } });
  // A stop that does not wait for the running attempt: as a crash, its run just ends.
  const begin = () =>
    startEntities(node, { store, kinds: [WfCopyFast], reminders: { pollMs: 50 }, handOffTimeoutMs: 1 });
  let entities = await begin();
  t.after(async () => {
    await entities.stop();
    await node.stop();
    await store.close();
  });
  await entities.workflows.start(WfCopyFast, 's1', null);
  const written = await eventually(
    async () => {
      const rec = (await store.load({ kind: 'wfcopyfast', key: 's1' })).state as WorkflowRecord;
      return (rec.journal.find((e) => e.t === 'retry' && e.n === 'copy')?.h as { done?: number } | undefined)?.done;
    },
    'the running attempt wrote its details',
    { timeoutMs: 60_000 },
  );
  await entities.stop(); // the attempt ends with its run: the next owner replays the step
  entities = await begin();
  assert.equal(await entities.workflows.handle(WfCopyFast, 's1').result(), 120);
  // The attempt that ran after the restart went on from what was written (not from 0).
  const after = seen.at(-1)!;
  assert.ok(seen.length >= 2, 'an attempt ran after the restart');
  assert.ok(
    typeof after.from === 'number' && after.from >= written,
    `went on from ${String(after.from)} (written ${written})`,
  );
});
