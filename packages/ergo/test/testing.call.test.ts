// Ergo's testing/unit call_test.go scenarios, ported: calls answered at once, answered later by
// sendResponse from another call (several pending at a time, found by their CallResult), answered
// with sendResponseError, and an error returned from handleCall terminating the actor.

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';

import { Actor, PID, type Ref } from '../src/index.js';
import { anyRef, spawnTest } from '../src/testing/index.js';

interface Pending {
  from: PID;
  ref: Ref;
  data: unknown;
}

type Command =
  | { command: 'start_task'; task_id: string; data: unknown }
  | { command: 'complete_task'; task_id: string }
  | { command: 'list_tasks' };

class AdvancedCallActor extends Actor {
  pending = new Map<string, Pending>();

  override handleCall(from: PID, ref: Ref, request: unknown): unknown {
    if (typeof request === 'object' && request !== null && 'command' in request) {
      const req = request as Command;
      switch (req.command) {
        case 'start_task':
          this.pending.set(req.task_id, { from, ref, data: req.data });
          return undefined; // answered later
        case 'complete_task': {
          const p = this.pending.get(req.task_id);
          if (p === undefined) return new Error('task not found');
          this.sendResponse(p.from, p.ref, { task_id: req.task_id, result: 'completed', data: p.data });
          this.pending.delete(req.task_id);
          return { status: 'completion_triggered' };
        }
        case 'list_tasks':
          return { tasks: [...this.pending.keys()] };
      }
    }
    if (request === 'process_async') {
      this.sendResponse(from, ref, 'async_complete');
      return undefined;
    }
    return new Error(`unknown request: ${String(request)}`);
  }
}

class CallResponseActor extends Actor {
  pending = new Map<string, { ref: Ref; from: PID }>();

  override init(): void {
    this.log.info('CallResponse actor initialized');
  }
  override handleMessage(_from: PID, message: unknown): void {
    if (message !== 'complete_async') return;
    for (const [key, { ref, from }] of this.pending) {
      this.sendResponse(from, ref, { status: 'completed', data: 'async_response_data' });
      this.pending.delete(key);
    }
  }
  override handleCall(from: PID, ref: Ref, request: unknown): unknown {
    switch (request) {
      case 'sync_request':
        this.sendResponse(from, ref, 'immediate_response');
        return undefined;
      case 'async_request':
        this.pending.set(ref.key, { ref, from });
        this.log.debug('stored async request from %s with ref %s', from.toString(), ref.toString());
        return undefined;
      case 'error_request':
        this.sendResponseError(from, ref, new Error('something went wrong'));
        return undefined;
    }
    return new Error(`unknown request: ${String(request)}`);
  }
}

const client = new PID('client', 123, 1);

describe('testing kit, Ergo call scenarios', () => {
  test('TestAsyncCall_BasicWorkflow: a pending call answered by a later one', async () => {
    const actor = await spawnTest(AdvancedCallActor);
    actor.clearEvents();
    const task1 = await actor.call(client, { command: 'start_task', task_id: 'task_1', data: 'test_data' });
    assert.equal(task1.response, undefined);
    assert.equal(task1.error, undefined);
    assert.equal(task1.responded, false);

    const complete = await actor.call(client, { command: 'complete_task', task_id: 'task_1' });
    assert.deepEqual(complete.response, { status: 'completion_triggered' });
    assert.equal(complete.error, undefined);

    const { response, error } = task1.asyncResponse();
    assert.equal(error, undefined);
    assert.deepEqual(response, { task_id: 'task_1', result: 'completed', data: 'test_data' });

    // Ergo returns the error and the actor stops: an Error from handleCall is a termination reason.
    const missing = await actor.call(client, { command: 'complete_task', task_id: 'nonexistent' });
    assert.equal(missing.response, undefined);
    assert.equal(missing.error?.message, 'task not found');
    actor.shouldTerminate().withReason(new Error('task not found')).once();
  });

  test('TestAsyncCall_ConcurrentRequests: replies reach the right callers', async () => {
    const actor = await spawnTest(AdvancedCallActor);
    const client1 = new PID('client1', 100, 1);
    const client2 = new PID('client2', 200, 1);
    const task1 = await actor.call(client1, { command: 'start_task', task_id: 'task_1', data: 'data_1' });
    const task2 = await actor.call(client2, { command: 'start_task', task_id: 'task_2', data: 'data_2' });
    const list = await actor.call(client1, { command: 'list_tasks' });
    assert.deepEqual((list.response as { tasks: string[] }).tasks.sort(), ['task_1', 'task_2']);

    await actor.call(client1, { command: 'complete_task', task_id: 'task_1' });
    await actor.call(client1, { command: 'complete_task', task_id: 'task_2' });
    assert.deepEqual(task1.response, { task_id: 'task_1', result: 'completed', data: 'data_1' });
    assert.deepEqual(task2.response, { task_id: 'task_2', result: 'completed', data: 'data_2' });
    actor.shouldSendResponse().to(client2).ref(task2.ref).once();
    actor.shouldSendResponse().to(client1).times(4); // task_1, list, two completions
  });

  test('TestAsyncCall_ResponseRetrieval: the reply survives clearEvents', async () => {
    const actor = await spawnTest(AdvancedCallActor);
    const task = await actor.call(client, { command: 'start_task', task_id: 'retrieve_test', data: 'retrieve_data' });
    await actor.call(client, { command: 'complete_task', task_id: 'retrieve_test' });
    actor.clearEvents();
    assert.deepEqual(task.response, { task_id: 'retrieve_test', result: 'completed', data: 'retrieve_data' });
  });

  test('sendResponse inside handleCall answers at once', async () => {
    const actor = await spawnTest(AdvancedCallActor);
    const r = await actor.call(client, 'process_async');
    assert.equal(r.response, 'async_complete');
    actor.shouldSendResponse().to(client).ref(anyRef()).response('async_complete').once();
  });

  test('TestCallResponse: sync, async (answered by a message), and error replies', async () => {
    const actor = await spawnTest(CallResponseActor, { logLevel: -1 });
    actor.shouldLog().containing('CallResponse actor initialized').once();

    const sync = await actor.call(client, 'sync_request');
    assert.equal(sync.response, 'immediate_response');

    const pending = await actor.call(client, 'async_request');
    assert.equal(pending.responded, false);
    actor.shouldLog().containing('stored async request').once();
    actor.shouldNotSendResponse().ref(pending.ref).assert();
    await actor.sendMessage(client, 'complete_async');
    assert.deepEqual(pending.response, { status: 'completed', data: 'async_response_data' });
    actor.shouldSendResponse().ref(pending.ref).response({ status: 'completed', data: 'async_response_data' }).once();

    const failed = await actor.call(client, 'error_request');
    assert.equal(failed.response, undefined);
    assert.equal(failed.error?.message, 'something went wrong');
    actor.shouldSendResponseError().to(client).error(new Error('something went wrong')).once();
    actor.shouldNotTerminate().assert();
  });
});
