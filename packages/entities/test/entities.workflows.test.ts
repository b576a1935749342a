// The workflow engine's API, through its public surface: the shared cases (workflow_api_cases.ts)
// on the entities test kit (MemoryStore, test clock) and on the real runtime over a SQLite file
// (wall clock); then what needs the test clock (retry backoffs, step timeouts, sleeps of days,
// signal deadlines), queries, cancel and compensations, children, patches, divergence and its
// resume, and replaying recorded histories. Step functions count their runs (workflow_api_kinds.ts).

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';
import { ProcessID, startNode, type Atom, type Node } from 'ergo-ts';
import { TestClock } from 'ergo-ts/testing';

import {
  MemoryStore,
  SqliteStore,
  defineWorkflow,
  startEntities,
  type Entities,
  type EntityKind,
  type WriteRequest,
} from '../src/index.js';
import type { WorkflowRecord } from '../src/workflow/model/record.js';
import { hostName } from '../src/contract/ids.js';
import { WORKFLOW_PROBE, type WorkflowProbe } from '../src/workflow/instance/probe.js';
import { replayWorkflow, startTestEntities, type TestEntities } from '../src/testing/index.js';
import type { CounterState } from './counter.js';
import { SHARED_CASES, type Rig } from './workflow_api_cases.js';
import {
  Approval,
  Big,
  Child,
  Counter,
  Declined,
  Dice,
  Flaky,
  Forever,
  Parent,
  Saga,
  Sender,
  Sleeper,
  Steps,
  Timed,
  Unstorable,
  VersionedBroken,
  VersionedV1,
  VersionedV2,
  attemptsAt,
  clockRef,
  effects,
  runsOf,
} from './workflow_api_kinds.js';

const KINDS: EntityKind<any, any>[] = [Steps, Flaky, Timed, Sleeper, Approval, Child, Forever, Parent, Saga];
KINDS.push(Sender, Dice, Big, Unstorable, Counter, Declined);
const DAY = 86_400_000;

/** The kit with every kind; leases of an hour, so skipping days fires few renewals. */
async function kit(kinds: EntityKind<any, any>[] = KINDS, more: Parameters<typeof startTestEntities>[0] | object = {}) {
  effects.clear();
  attemptsAt.clear();
  const k = await startTestEntities({ kinds, leaseTtlMs: 3_600_000, ...more });
  clockRef.now = () => k.clock.now();
  return k;
}

function kitRig(k: TestEntities): Rig {
  return {
    workflows: () => k.entities.workflows,
    restart: () => k.restart(),
    async waitsFor(kind, id, name) {
      const idle = await k.workflows.runUntilIdle();
      assert.deepEqual(idle.find((i) => i.workflow === kind && i.id === id)?.signals, [name], `${kind}/${id} waits`);
    },
    record: async (kind, id) => {
      const rec = (await k.store.load({ kind, key: id })).state as WorkflowRecord | undefined;
      return rec?.status === undefined ? undefined : rec;
    },
    counter: async (key) => (await k.entity(Counter, key).stored()).state,
    processed: (key, id) => k.entity(Counter, key).processed(id),
    finish: async (kind, id, result) => {
      const wf = k.workflows.handle(KINDS.find((x) => x.name === kind) as typeof Steps, id);
      await wf.advanceUntilDone().catch(() => undefined);
      return result();
    },
  };
}

describe('the shared cases on the test kit (MemoryStore, test clock)', () => {
  for (const [name, run] of Object.entries(SHARED_CASES))
    test(name, async () => {
      await using k = await kit();
      await run(kitRig(k));
    });
});

const dir = mkdtempSync(join(tmpdir(), 'ergo-entities-wfapi-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

describe('the shared cases on SQLite (wall clock)', () => {
  for (const [name, run] of Object.entries(SHARED_CASES))
    test(name, async (t) => {
      clockRef.now = () => Date.now();
      effects.clear();
      attemptsAt.clear();
      const store = SqliteStore.open(join(dir, `wf${++files}.db`), { synchronous: 'normal' });
      const node: Node = await startNode(`wfapi${files}_${process.pid}@localhost`, { log: { level: 'warning' } });
      const begin = (): Promise<Entities> => startEntities(node, { store, kinds: KINDS, reminders: { pollMs: 50 } });
      let entities = await begin();
      t.after(async () => {
        await entities.stop();
        await node.stop();
        await store.close();
      });
      const probe = async (kind: string, id: string): Promise<WorkflowProbe | undefined> => {
        try {
          return (await node.call(
            new ProcessID(hostName(kind, id) as Atom, node.name as Atom),
            WORKFLOW_PROBE,
          )) as WorkflowProbe;
        } catch {
          return undefined;
        }
      };
      await run({
        workflows: () => entities.workflows,
        async restart() {
          await entities.stop();
          entities = await begin();
        },
        async waitsFor(kind, id, name) {
          await eventually(async () => {
            const p = await probe(kind, id);
            return p !== undefined && p.parked && p.signals.includes(name);
          }, `${kind}/${id} waits for ${name}`);
        },
        record: async (kind, id) => {
          const rec = (await store.load({ kind, key: id })).state as WorkflowRecord | undefined;
          return rec?.status === undefined ? undefined : rec;
        },
        counter: async (key) => (await store.load({ kind: Counter.name, key })).state as CounterState | undefined,
        processed: (key, id) => store.processed({ kind: Counter.name, key }, id),
        finish: (_kind, _id, result) => result(),
      });
    });
});

describe('time on the test clock', () => {
  test('a workflow that sleeps three days completes by advanceUntilDone; never a millisecond early', async () => {
    await using k = await kit();
    const wf = await k.workflows.start(Sleeper, 'z1', { days: 3 });
    await k.workflows.runUntilIdle();
    const slept = (await wf.describe()).timers;
    assert.deepEqual(
      slept.map((x) => [x.t, x.until - k.clock.now()]),
      [['sleep', 3 * DAY]],
    );
    k.advanceTime(3 * DAY - 1);
    await k.fireDueReminders();
    await k.workflows.runUntilIdle();
    assert.equal(runsOf('wf-sleeper', 'z1', 2), 0, 'the step after the sleep has not run');
    assert.equal((await wf.record())?.status, 'running');
    assert.equal(await wf.advanceUntilDone(), 3 * DAY, 'it woke exactly three days after it slept');
    assert.equal(runsOf('wf-sleeper', 'z1', 2), 1);
  });

  test('a retried step waits its backoff (100, 200, then capped at 300 ms) and stops after maxAttempts', async () => {
    await using k = await kit();
    const wf = await k.workflows.start(Flaky, 'f1', { failures: 3 });
    assert.equal(await wf.advanceUntilDone(), 4);
    const at = attemptsAt.get('wf-flaky/f1/0/step:flaky')!;
    assert.deepEqual(
      at.slice(1).map((x, i) => x - at[i]!),
      [100, 200, 300],
    );
    const capped = await k.workflows.start(Flaky, 'f2', { failures: 9 });
    await assert.rejects(capped.advanceUntilDone(), (err: Error & { cause?: Error }) => {
      assert.equal((err as { code?: string }).code, 'ERR_WORKFLOW_FAILED');
      assert.match(err.cause!.message, /after 4 attempt\(s\)/);
      return true;
    });
    assert.equal(runsOf('wf-flaky', 'f2', 0), 4);
  });

  test("a step's attempt is aborted at its timeoutMs, not before: ERR_WORKFLOW_TIMEOUT", async () => {
    await using k = await kit();
    const wf = await k.workflows.start(Timed, 't1', undefined);
    await eventually(() => runsOf('wf-timed', 't1', 0) === 1, 'the attempt started');
    k.advanceTime(999);
    assert.equal(effects.get('wf-timed/t1/0/step:slow aborted'), undefined, 'not aborted before its timeout');
    k.advanceTime(1);
    assert.equal(effects.get('wf-timed/t1/0/step:slow aborted'), 1);
    await assert.rejects(wf.result(), (err: Error & { cause?: Error }) => {
      assert.equal((err as { code?: string }).code, 'ERR_WORKFLOW_FAILED');
      assert.match(err.cause!.message, /ERR_WORKFLOW_TIMEOUT: workflow: timed out: attempt 1 took longer than 1000 ms/);
      return true;
    });
  });

  test('signals: one sent before the wait is kept for it; a wait times out at its deadline; queries answer running and ended', async () => {
    await using k = await kit();
    const wf = await k.workflows.start(Approval, 'a1', { timeoutMs: 3_600_000, sleepMs: 60_000 });
    await k.workflows.runUntilIdle();
    assert.equal(await wf.signal('approve', { by: 'ann' }), 'accepted'); // during the sleep: before the wait
    assert.equal(await wf.query('state'), 'waiting');
    k.advanceTime(60_000);
    await k.fireDueReminders();
    await eventually(async () => (await wf.query('state')) === 'approved by ann', 'the kept signal is consumed');
    await assert.rejects(wf.query('nope' as 'state'), { code: 'ERR_WORKFLOW_INCORRECT' });
    assert.equal(await wf.advanceUntilDone(), 'timed out', 'the second wait timed out after an hour');
    assert.equal(await wf.query('state'), 'timed out', 'an ended instance answers from a replay');
    const timeout = (await wf.describe()).history.find((e) => e.e !== undefined);
    assert.equal(timeout?.e?.code, 'ERR_WORKFLOW_TIMEOUT');
  });

  test('advanceUntilDone refuses to wait for a signal without a timeout: ERR_WORKFLOW_TEST_STUCK naming it', async () => {
    await using k = await kit();
    const wf = await k.workflows.start(Steps, 'w1', { n: 1 });
    await assert.rejects(wf.advanceUntilDone(), (err: Error) => {
      assert.equal((err as { code?: string }).code, 'ERR_WORKFLOW_TEST_STUCK');
      assert.match(err.message, /waits for signal go/);
      return true;
    });
  });
});

describe('cancel, compensations and children', () => {
  test('cancel: pending operations throw ERR_WORKFLOW_CANCELLED, compensations still run, children are cancelled', async () => {
    await using k = await kit();
    const wf = await k.workflows.start(Saga, 'o1', { order: 'o1' });
    await k.workflows.runUntilIdle();
    assert.equal(await wf.cancel('customer changed their mind'), 'cancelled');
    await assert.rejects(wf.result(), { code: 'ERR_WORKFLOW_CANCELLED' });
    assert.deepEqual(await wf.query('undone'), ['refund c-o1', 'release r-o1'], 'newest first');
    const rec = (await wf.record())!;
    assert.equal(rec.status, 'cancelled');
    assert.equal(rec.error?.code, 'ERR_WORKFLOW_CANCELLED', 'the wait threw the cancellation');
    const compensations = rec.journal.filter((e) => e.n.startsWith('compensate:'));
    assert.deepEqual(
      compensations.map((e) => e.n),
      ['compensate:refund', 'compensate:reserve'],
    );
    assert.deepEqual(
      await wf.query('keys'),
      compensations.map((e) => `wf-saga/o1/${e.s}/step:${e.n}`),
      'each compensation gets its own step idempotency key',
    );
    const child = k.workflows.handle(Forever, 'o1-watch');
    await eventually(async () => (await child.record())?.status === 'cancelled', 'the child is cancelled');
    assert.equal(await wf.cancel(), 'cancelled', 'a second cancel is a no-op');
  });

  test('a cancel reaching an instance that is not active ends it cancelled, and its queries answer', async () => {
    await using k = await kit();
    const wf = await k.workflows.start(Saga, 'o3', { order: 'o3' });
    await k.workflows.runUntilIdle();
    await k.restart();
    await wf.cancel();
    await assert.rejects(wf.result(), { code: 'ERR_WORKFLOW_CANCELLED' });
    // Its body threw before its first lookup: the query waited forever before engine.ts's #finish marked it caught up.
    assert.ok(Array.isArray(await wf.query('undone')));
  });

  // A body resumed after a cancel replays its journaled steps (pushing their compensations) before
  // the cancel strikes at its first new or still-waiting operation.
  test('a cancel reaching an instance that is not active (after a restart) still runs its compensations', async () => {
    await using k = await kit();
    const wf = await k.workflows.start(Saga, 'o2', { order: 'o2' });
    await k.workflows.runUntilIdle();
    await k.restart(); // nothing holds the instance in memory now
    await wf.cancel();
    await assert.rejects(wf.result(), { code: 'ERR_WORKFLOW_CANCELLED' });
    assert.deepEqual(await wf.query('undone'), ['refund c-o2', 'release r-o2']);
  });

  test('a child workflow runs to its end and its output comes back typed; a failed child fails the parent', async () => {
    await using k = await kit();
    const ok = await k.workflows.start(Parent, 'p1', 5);
    assert.equal(await ok.advanceUntilDone(), 11);
    assert.equal((await k.workflows.handle(Child, 'p1-child').record())?.output, 10);
    const bad = await k.workflows.start(Parent, 'p2', -1);
    await assert.rejects(bad.advanceUntilDone(), (err: Error & { cause?: Error }) => {
      assert.equal((err as { code?: string }).code, 'ERR_WORKFLOW_FAILED');
      assert.match(err.cause!.message, /negative/);
      return true;
    });
  });
});

describe('versioning', () => {
  /** Starts instance `id` on kit `first` (old code), stops it, and gives a kit on `second` (new code), same store. */
  async function upgrade(first: EntityKind<any, any>, second: EntityKind<any, any>, ids: string[]) {
    const clock = new TestClock();
    const store = new MemoryStore({ clock });
    const old = await kit([first], { store, clock });
    for (const id of ids) await old.workflows.start(VersionedV1, id, undefined);
    await old.workflows.runUntilIdle();
    const before = await Promise.all(ids.map((id) => old.workflows.handle(VersionedV1, id).describe()));
    await old.stop();
    const now = await kit([second], { store, clock });
    return { kit: now, store, before, [Symbol.asyncDispose]: async () => (await now.stop(), await store.close()) };
  }

  test('patched: an instance started on the old code keeps the old path, a new one takes the new path', async () => {
    await using up = await upgrade(VersionedV1, VersionedV2, ['old']);
    const k = up.kit;
    const fresh = await k.workflows.start(VersionedV2, 'new', undefined);
    for (const id of ['old', 'new']) await k.workflows.handle(VersionedV2, id).signal('go', null);
    assert.equal(await k.workflows.handle(VersionedV2, 'old').result(), 'v1 path');
    assert.equal(await fresh.result(), 'v2 path');
    assert.deepEqual(
      (await fresh.describe()).history.map((e) => `${e.t} ${e.n}`),
      ['step pay', 'patch notify-before-ship', 'step notify', 'step ship', 'signal go'],
    );
  });

  test('code changed without a patch: the instance halts (blocked, ERR_WORKFLOW_DIVERGED naming the operation), resumes once fixed', async () => {
    const naming = /operation 1: the journal has step 'ship', the code asked for step 'notify'/;
    await using up = await upgrade(VersionedV1, VersionedBroken, ['d1']);
    // The replayer says so before any deploy.
    await assert.rejects(replayWorkflow(VersionedBroken, JSON.stringify(up.before[0])), (err: Error) => {
      assert.equal((err as { code?: string }).code, 'ERR_WORKFLOW_DIVERGED');
      assert.match(err.message, naming);
      return true;
    });
    assert.deepEqual(await replayWorkflow(VersionedV2, up.before[0]!), {
      replayed: 2,
      entries: 2,
      ended: 'end-of-journal',
    });
    const wf = up.kit.workflows.handle(VersionedBroken, 'd1');
    const journal = (await wf.record())!.journal;
    await wf.signal('go', null); // activates it: its replay diverges
    await assert.rejects(wf.advanceUntilDone(), (err: Error) => {
      assert.equal((err as { code?: string }).code, 'ERR_WORKFLOW_DIVERGED');
      assert.match(err.message, naming);
      return true;
    });
    const halted = await wf.describe();
    assert.equal(halted.status, 'running');
    assert.equal(halted.blocked?.code, 'ERR_WORKFLOW_DIVERGED');
    assert.deepEqual((await wf.record())!.journal, journal, 'nothing journaled past the divergence');
    assert.equal(runsOf('wf-versioned', 'd1', 1), 0);
    await up.kit.stop();
    // The fixed code (with the patch) deployed: resume.
    await using fixed = await kit([VersionedV2], { store: up.store, clock: up.kit.clock });
    const again = fixed.workflows.handle(VersionedV2, 'd1');
    assert.equal(await again.resume(), 'resumed');
    assert.equal(await again.advanceUntilDone(), 'v1 path');
    assert.equal((await again.describe()).blocked, undefined);
  });
});

describe('replaying recorded histories (replayWorkflow)', () => {
  test('a completed history replays against its own code; removing or reordering an operation is named', async () => {
    await using k = await kit();
    const wf = await k.workflows.start(Steps, 'h1', { n: 2 });
    await k.workflows.runUntilIdle();
    await wf.signal('go', 1);
    await wf.result();
    const saved = JSON.stringify(await wf.record()); // a stored record, as saved from production
    assert.deepEqual(await replayWorkflow(Steps, saved), {
      replayed: 3,
      entries: 3,
      ended: 'returned',
      output: 31,
    });
    assert.equal(runsOf('wf-steps', 'h1', 0), 1, 'a replay runs no step');
    const { defineWorkflow } = await import('../src/index.js');
    const shorter = defineWorkflow('wf-steps', async (ctx) => ctx.step('a', () => 0));
    await assert.rejects(
      replayWorkflow(shorter, saved),
      /operation 1: the journal has signal 'go', the code returned without asking for it/,
    );
    const renamed = defineWorkflow('wf-steps', async (ctx) => ctx.step('a2', () => 0));
    await assert.rejects(replayWorkflow(renamed, saved), {
      code: 'ERR_WORKFLOW_DIVERGED',
      message: /operation 0: the journal has step 'a', the code asked for step 'a2'/,
    });
    await assert.rejects(replayWorkflow(Steps, { input: 1 }), { code: 'ERR_ENTITY_INCORRECT' });
  });
});

describe('the wake-up reminder of a running instance', () => {
  /** Three steps, no wait: every write but the start's and the end's is a step's. */
  const Three = defineWorkflow('wf-three', async (ctx) => {
    let n = 0;
    for (const s of ['a', 'b', 'c']) n = await ctx.step(s, () => n + 1);
    return n;
  });

  test('is written with the start and removed with the end, not written again with each step while it is far off', async () => {
    const changes: string[] = [];
    class Recording extends MemoryStore {
      override write(request: WriteRequest): Promise<number> {
        if (request.kind === Three.name) {
          const r = request.reminders;
          changes.push(
            [...(r?.put ?? []).map((p) => `put ${p.name}`), ...(r?.cancel ?? []).map((c) => `cancel ${c}`)].join(),
          );
        }
        return super.write(request);
      }
    }
    // The test clock stands still: each step's write comes less than half of resumeAfterMs after the start's.
    await using k = await kit([Three], { store: new Recording() });
    const wf = await k.workflows.start(Three, 'w1', undefined);
    assert.equal(await wf.result(), 3);
    assert.deepEqual(changes, ['put wake', '', '', '', 'cancel wake']);
  });
});
