// @ergo-ts/temporal end to end on a real node and store: Temporal-shaped workflows (workflows.ts)
// started, signalled, queried and updated through the Temporal-shaped client, run by a Worker on
// one ergo-ts node with an in-memory store; the Worker restarted mid-way (its instances replayed
// from the store by the next one, handlers and all).

import { strict as assert } from 'node:assert';
import { after, before, test } from 'node:test';

import { startNode, type Node } from 'ergo-ts';
import { MemoryStore } from '@ergo-ts/entities';

import {
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  Client,
  Connection,
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  WorkflowUpdateFailedError,
  WorkflowUpdateStage,
  ServiceError,
} from '../src/client/index.js';
import { Worker } from '../src/worker/index.js';
import { sleep } from '../src/workflow/index.js';
import * as workflows from './workflows.js';

let node: Node;
let connection: Connection;
let client: Client;
let worker: Worker;
let running: Promise<void>;

async function startWorker(): Promise<void> {
  worker = await Worker.create({ connection, workflows, activities: workflows.activities, taskQueue: 'tests' });
  running = worker.run();
}

before(async () => {
  node = await startNode(`temporal${process.pid}@localhost`, { log: { level: 'error' } });
  connection = await Connection.connect({ node, store: new MemoryStore(), entitiesOptions: { stopTimeoutMs: 1_000 } });
  client = new Client({ connection });
  await startWorker();
});

after(async () => {
  if (worker.getState() === 'RUNNING') worker.shutdown();
  await running;
  await node.stop();
  Connection.forget(connection.address);
});

const start = (w: (...a: any[]) => any, id: string, args: unknown[] = [], extra = {}) =>
  client.workflow.start(w, { workflowId: id, taskQueue: 'tests', args, ...extra });

test('an activity is retried by its policy; its last failure reaches the client as ActivityFailure ← ApplicationFailure', async () => {
  assert.equal(await (await start(workflows.retrying, 'r1', ['r1', 2])).result(), 'r1 ok after 3');
  const h = await start(workflows.retrying, 'r2', ['r2', 5]);
  await assert.rejects(h.result(), (err: unknown) => {
    assert.ok(err instanceof WorkflowFailedError);
    assert.ok(err.cause instanceof ActivityFailure, `got ${String(err.cause)}`);
    assert.equal(err.cause.activityType, 'flaky');
    assert.ok(err.cause.cause instanceof ApplicationFailure);
    assert.equal(err.cause.cause.message, 'attempt 3 failed');
    return true;
  });
  assert.equal(workflows.attempts.get('r2'), 3, 'maximumAttempts: 3');
});

test('a non-retryable ApplicationFailure is tried once; its type and nonRetryable survive the journal', async () => {
  const h = await start(workflows.refusing, 'nr');
  await assert.rejects(h.result(), (err: unknown) => {
    assert.ok(err instanceof WorkflowFailedError && err.cause instanceof ActivityFailure);
    const app = err.cause.cause;
    assert.ok(app instanceof ApplicationFailure);
    assert.equal(app.type, 'Refused');
    assert.equal(app.nonRetryable, true);
    return true;
  });
  const events = (await h.fetchHistory()).events.filter((e) => e.activityTaskScheduledEventAttributes);
  assert.equal(events.length, 1);
});

test('scheduleToCloseTimeout ends a hung activity with TimeoutFailure SCHEDULE_TO_CLOSE', async () => {
  assert.equal(await (await start(workflows.deadline, 'dl')).result(), 'SCHEDULE_TO_CLOSE');
});

test('handlers beside the body: signals, a query with arguments, an update with a validator, a body waiting on a promise', async () => {
  const h = await start(workflows.counter, 'c1');
  await h.signal(workflows.add, 3);
  await h.signal(workflows.add, 4);
  assert.equal(await h.executeUpdate(workflows.setLimit, { args: [5] }), 5);
  assert.equal(await h.query(workflows.total, 10), 17, 'the query sees both signals (handled before the update)');
  await assert.rejects(h.executeUpdate(workflows.setLimit, { args: [-1] }), WorkflowUpdateFailedError);
  await h.signal(workflows.finish);
  assert.equal(await h.result(), 5);
  const d = await h.describe();
  assert.equal(d.status.name, 'COMPLETED');
  assert.equal(d.type, 'counter');
});

test('a Worker restarted mid-way: the next one replays the handlers and the body goes on', async () => {
  const h = await start(workflows.counter, 'c2');
  await h.signal(workflows.add, 2);
  assert.equal(await h.executeUpdate(workflows.setLimit, { args: [50] }), 50);
  worker.shutdown();
  await running;
  await assert.rejects(h.query(workflows.total, 0), ServiceError, 'no Worker: no answer');
  // What Temporal's server answers with no worker running, read from the store.
  assert.equal((await h.describe()).status.name, 'RUNNING');
  const events = (await client.workflow.getHandle('c2').fetchHistory()).events;
  assert.ok(
    events.some((e) => e.workflowExecutionStartedEventAttributes !== undefined),
    'the history is read',
  );
  await startWorker();
  assert.equal(await h.query(workflows.total, 0), 2, 'state rebuilt by the replay');
  await h.signal(workflows.add, 1);
  await h.signal(workflows.finish);
  assert.equal(await h.result(), 3);
});

test('a handler runs during sleep, as in Temporal', async () => {
  const h = await start(workflows.sleeper, 's1');
  await h.signal(workflows.add, 7);
  assert.equal(await h.result(), 7);
});

test('a start made before the Worker registered its workflows waits for it, then runs', async () => {
  const other = await startNode(`temporal-early${process.pid}@localhost`, { log: { level: 'error' } });
  const early = await Connection.connect({
    node: other,
    store: new MemoryStore(),
    address: 'early',
    entitiesOptions: { stopTimeoutMs: 1_000 },
  });
  const c = new Client({ connection: early });
  const started = c.workflow.start('waiter', { workflowId: 'e1', taskQueue: 'tests', args: [40] });
  const w = await Worker.create({ connection: early, workflows, activities: workflows.activities, taskQueue: 'tests' });
  const run = w.run();
  const h = await started;
  await h.signal(workflows.add, 2);
  assert.equal(await h.result(), 42);
  w.shutdown();
  await run;
  Connection.forget('early');
  await other.stop();
});

test('a Worker with enableNonLocalActivities: false runs no activity: it times out at schedule-to-start (its schedule-to-close)', async () => {
  assert.equal(
    await client.workflow.execute(workflows.startBounded, { workflowId: 'nl0', taskQueue: 'tests', args: [4] }),
    '8',
  );
  const other = await startNode(`temporal-local${process.pid}@localhost`, { log: { level: 'error' } });
  const local = await Connection.connect({ node: other, store: new MemoryStore(), address: 'local-only' });
  const w = await Worker.create({
    connection: local,
    workflows,
    activities: workflows.activities,
    taskQueue: 'tests',
    enableNonLocalActivities: false,
  });
  const run = w.run();
  const c = new Client({ connection: local });
  assert.equal(
    await c.workflow.execute(workflows.startBounded, { workflowId: 'nl1', taskQueue: 'tests', args: [4] }),
    'SCHEDULE_TO_START',
  );
  w.shutdown();
  await run;
  Connection.forget('local-only');
  await other.stop();
});

test('handlers that wait: an update sleeps, another waits in a condition the others make true; allHandlersFinished', async () => {
  const h = await start(workflows.napper, 'w1');
  const at = await h.startUpdate(workflows.atLeast, { args: [10], waitForStage: WorkflowUpdateStage.ACCEPTED });
  // Both handed over in atLeast's condition (it waits for them), nap's sleep durable.
  assert.equal(await h.executeUpdate(workflows.nap, { args: [30, 4] }), 4);
  await h.signal(workflows.add, 6);
  assert.equal(await at.result(), 10);
  await h.signal(workflows.finish);
  assert.deepEqual(await h.result(), ['nap 4', 'woke 4', 'add 6', 'atLeast 10']);
});

test('a child signalled by its parent, executeChild by name, continue-as-new keeping the memo', async () => {
  assert.equal(await (await start(workflows.parent, 'p1', [1])).result(), '6/2');
  const h = await start(workflows.looping, 'l1', [3], { memo: { owner: 'ada' } });
  assert.equal(await h.result(), 'ada continued');
  assert.deepEqual((await h.describe()).memo, { owner: 'ada' });
});

test('a cancel reaches the body as a CancelledFailure; rethrown, the run ends cancelled', async () => {
  const h = await start(workflows.blocked, 'cx');
  await h.cancel();
  await assert.rejects(h.result(), (err: unknown) => {
    assert.ok(err instanceof WorkflowFailedError);
    assert.ok(err.cause instanceof CancelledFailure, `got ${String(err.cause)}`);
    return true;
  });
  assert.ok(workflows.sawCancel.has('cx'), "the body's catch saw a CancelledFailure");
  assert.equal((await h.describe()).status.name, 'CANCELLED');
});

test("a start of a running id: WorkflowExecutionAlreadyStartedError, or the running one's handle with USE_EXISTING", async () => {
  const h = await start(workflows.counter, 'dup');
  await assert.rejects(start(workflows.counter, 'dup'), WorkflowExecutionAlreadyStartedError);
  const same = await start(workflows.counter, 'dup', [], { workflowIdConflictPolicy: 'USE_EXISTING' });
  await same.signal(workflows.finish);
  assert.equal(await h.result(), 0);
});

test('cancellation scopes: an activity cancelled by its scope (ActivityFailure ← CancelledFailure), withTimeout, nonCancellable; the root scope not cancellable', async () => {
  const h = await start(workflows.scoped, 'sc');
  await workflows.scopedReady.promise;
  await h.signal(workflows.finish);
  assert.equal(await h.result(), 'activity cancelled, timed out, 42, ERR_TEMPORAL_UNSUPPORTED');
});

test('startUpdate: ACCEPTED and COMPLETED stages, getUpdateHandle by id, a validator refusal at result()', async () => {
  const h = await start(workflows.counter, 'su');
  const accepted = await h.startUpdate(workflows.setLimit, {
    args: [7],
    updateId: 'lim-7',
    waitForStage: WorkflowUpdateStage.ACCEPTED,
  });
  assert.equal(accepted.updateId, 'lim-7');
  assert.equal(await accepted.result(), 7);
  assert.equal(await h.getUpdateHandle<number>('lim-7', workflows.setLimit).result(), 7);
  const done = await h.startUpdate(workflows.setLimit, { args: [3], waitForStage: WorkflowUpdateStage.COMPLETED });
  assert.equal(await done.result(), 3);
  const bad = await h.startUpdate(workflows.setLimit, { args: [-1], waitForStage: WorkflowUpdateStage.ACCEPTED });
  await assert.rejects(bad.result(), WorkflowUpdateFailedError);
  await assert.rejects(h.getUpdateHandle('never-sent').result(), (err: unknown) => {
    assert.equal((err as { code?: unknown }).code ?? (err as Error).name, 'ERR_WORKFLOW_UPDATE_NOT_FOUND');
    return true;
  });
  await assert.rejects(h.startUpdate(workflows.setLimit, { args: [1], waitForStage: WorkflowUpdateStage.ADMITTED }), {
    code: 'ERR_TEMPORAL_UNSUPPORTED',
  });
  await h.signal(workflows.add, 5);
  await h.signal(workflows.finish);
  assert.equal(await h.result(), 3);
});

test('a query right after signals to a body awaiting a promise sees them all handled', async () => {
  const h = await start(workflows.counter, 'cq');
  assert.equal(await h.query(workflows.total, 0), 0);
  for (const n of [1, 2, 3, 4]) await h.signal(workflows.add, n);
  assert.equal(await h.query(workflows.total, 0), 10);
  await h.signal(workflows.finish);
  assert.equal(await h.result(), 10);
});

test('the API outside a workflow is refused with a code', async () => {
  assert.throws(() => sleep(1), { code: 'ERR_TEMPORAL_OUTSIDE_WORKFLOW' });
});
