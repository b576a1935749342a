// @ergo-ts/temporal: a signal sent before the body registered its handler (Temporal buffers it and
// hands it over once `setHandler` runs), live and on a replay by a restarted Worker; a query with
// several arguments; workflow execution and run timeouts that end a workflow TIMED_OUT. The body
// is held in an activity the test releases, so the signal's arrival before the handler is an
// event, not a race.

import { strict as assert } from 'node:assert';
import { after, before, test } from 'node:test';

import { startNode, type Node } from 'ergo-ts';
import { MemoryStore } from '@ergo-ts/entities';

import { Client, Connection, TimeoutFailure, WorkflowFailedError } from '../src/client/index.js';
import { Worker } from '../src/worker/index.js';
import * as workflows from './message_workflows.js';

let node: Node;
let connection: Connection;
let client: Client;
let worker: Worker;
let running: Promise<void>;

async function startWorker(): Promise<void> {
  worker = await Worker.create({ connection, workflows, activities: workflows.activities, taskQueue: 'messages' });
  running = worker.run();
}

before(async () => {
  node = await startNode(`temporal-msg${process.pid}@localhost`, { log: { level: 'error' } });
  connection = await Connection.connect({
    node,
    store: new MemoryStore(),
    address: 'messages',
    entitiesOptions: { stopTimeoutMs: 1_000 },
  });
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
  client.workflow.start(w, { workflowId: id, taskQueue: 'messages', args, ...extra });

test('a signal sent before the handler is registered is kept and handed over once it is (a body awaiting a promise)', async () => {
  const h = await start(workflows.lateHandler, 'early1', ['early1']);
  await workflows.gateEntered('early1'); // the body waits in the activity: no handler yet
  await h.signal(workflows.hello, 'before');
  workflows.releaseGate('early1');
  assert.equal(await h.result(), 'before');
  // The ended instance's read-only replay hands it over again, at the same point.
  assert.equal(await h.query(workflows.seen, '<', 2), '<before!!');
});

test('the same in a condition, and with signalWithStart (the signal in the start, before the body ran)', async () => {
  const h = await start(workflows.lateCondition, 'early2', ['early2']);
  await workflows.gateEntered('early2');
  await h.signal(workflows.hello, 'kept');
  workflows.releaseGate('early2');
  assert.equal(await h.result(), 'kept');
  workflows.releaseGate('early3'); // its gate lets it through: the signal came with the start
  const s = await client.workflow.signalWithStart(workflows.lateHandler, {
    workflowId: 'early3',
    taskQueue: 'messages',
    args: ['early3'],
    signal: workflows.hello,
    signalArgs: ['with start'],
  });
  assert.equal(await s.result(), 'with start');
});

test('an early signal kept across a Worker restarted before the handler existed: the replay hands it over', async () => {
  const h = await start(workflows.lateHandler, 'early4', ['early4']);
  await workflows.gateEntered('early4', 0);
  await h.signal(workflows.hello, 'across');
  worker.shutdown(); // the activity's attempt is stopped; the signal stays in the record
  await running;
  await startWorker();
  await workflows.gateEntered('early4', 1); // the replay runs the activity again (it never returned)
  workflows.releaseGate('early4');
  assert.equal(await h.result(), 'across');
  assert.equal(await h.query(workflows.seen, '', 0), 'across');
});

test('a query with several arguments gets them in order; one array argument stays one argument', async () => {
  const h = await start(workflows.lateHandler, 'q1', ['q1']);
  workflows.releaseGate('q1');
  await h.signal(workflows.hello, 'x');
  assert.equal(await h.result(), 'x');
  assert.equal(await h.query(workflows.seen, '[', 3), '[x!!!');
  assert.equal(await h.query(workflows.first, ['a', 'b']), '["a","b"]');
});

const timedOut = (err: unknown): boolean => {
  assert.ok(err instanceof WorkflowFailedError, `got ${String(err)}`);
  assert.ok(err.cause instanceof TimeoutFailure, `got ${String(err.cause)}`);
  assert.equal(err.cause.timeoutType, 'START_TO_CLOSE');
  return true;
};

test('workflowRunTimeout ends a run TIMED_OUT: WorkflowFailedError ← TimeoutFailure (START_TO_CLOSE)', async () => {
  const h = await start(workflows.stuck, 't1', [], { workflowRunTimeout: '300ms' });
  await assert.rejects(h.result(), timedOut);
  const d = await h.describe();
  assert.equal(d.status.name, 'TIMED_OUT');
  assert.ok(d.closeTime !== undefined && d.closeTime.getTime() - d.startTime.getTime() >= 300);
  const events = (await h.fetchHistory()).events;
  assert.ok(events.at(-1)?.workflowExecutionTimedOutEventAttributes !== undefined, 'the history ends timed out');
});

test('workflowExecutionTimeout bounds the chain across continue-as-new', async () => {
  const h = await start(workflows.chain, 't2', [2], { workflowExecutionTimeout: '400ms', workflowRunTimeout: '1h' });
  await assert.rejects(h.result(), timedOut);
  const d = await h.describe();
  assert.equal(d.status.name, 'TIMED_OUT');
  assert.equal(d.raw.run, 3, 'its third run timed out');
  assert.equal((d.raw.error?.details as { timeout?: string } | undefined)?.timeout, 'execution');
});
