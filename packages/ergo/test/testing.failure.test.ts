// Ergo's testing/unit failure_test.go scenarios, ported: the kit's node, process, network and
// remote nodes fail on demand — always, after N calls, once, by argument pattern — count their
// calls, record each injected failure, and recover when cleared; and an actor under test meets
// the injected failures through its own API.

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';

import { Actor, ErrProcessUnknown, ErrTaken, PID, isError } from '../src/index.js';
import { spawnTest, type FailureEvent } from '../src/testing/index.js';

class Idle extends Actor {}

/** A worker spawned with one argument (the spawn records it). */
class Tagged extends Actor {
  override init(_tag: unknown): void {}
}

/** Spawns workers on request and reports the failures it meets. */
class Spawner extends Actor {
  override async handleMessage(from: PID, message: unknown): Promise<void> {
    try {
      const pid = await this.spawn(Tagged, {}, message);
      this.send(from, { started: pid });
    } catch (e) {
      this.send(from, { failed: (e as Error).message });
    }
  }
}

const someone = new PID('test@localhost', 500, 1234567890);

describe('testing kit, Ergo failure injection scenarios', () => {
  test('TestNode failure injection: spawn fails until cleared; calls are counted', async () => {
    const actor = await spawnTest(Idle);
    const node = actor.node;
    node.failures.setMethodFailure('spawn', new Error('spawn failed'));
    await assert.rejects(node.spawn(Idle), /spawn failed/);
    await assert.rejects(node.spawn(Idle), /spawn failed/);
    assert.equal(node.failures.getMethodCallCount('spawn'), 2);
    node.failures.clearMethodFailure('spawn');
    assert.ok((await node.spawn(Idle)) instanceof PID);
  });

  test('TestProcess failure injection: the third spawn of the actor fails (after 2)', async () => {
    const actor = await spawnTest(Spawner);
    actor.process.failures.setMethodFailureAfter('spawn', 2, new Error('process spawn failed'));
    await actor.sendMessage(someone, 'w1');
    await actor.sendMessage(someone, 'w2');
    await actor.sendMessage(someone, 'w3');
    actor.shouldSpawn().times(2);
    actor.shouldSend().to(someone).message({ failed: 'process spawn failed' }).once();
    assert.equal(actor.process.failures.getMethodCallCount('spawn'), 3);
  });

  test('once: only the next call fails', async () => {
    const actor = await spawnTest(Spawner);
    actor.process.failures.setMethodFailureOnce('spawn', new Error('just once'));
    await actor.sendMessage(someone, 'a');
    await actor.sendMessage(someone, 'b');
    actor.shouldSend().to(someone).message({ failed: 'just once' }).once();
    actor.shouldSpawn().args('b').once();
  });

  test('Pattern-based failure: only matching arguments fail', async () => {
    const actor = await spawnTest(Idle);
    const node = actor.node;
    node.failures.setMethodFailurePattern('registerName', 'worker', new Error('worker spawn failed'));
    node.registerName('supervisor', someone);
    assert.throws(() => node.registerName('worker1', someone), /worker spawn failed/);
    node.failures.setMethodFailurePattern('registerName', /^db\d/, new Error('db refused'));
    assert.throws(() => node.registerName('db1', someone), /db refused/);
    node.registerName('worker2', someone); // the pattern rule was replaced
  });

  test('Failure events recorded', async () => {
    const actor = await spawnTest(Idle);
    actor.node.failures.setMethodFailure('kill', new Error('test failure'));
    assert.throws(() => actor.node.kill(someone), /test failure/);
    const failure = actor.events().find((e): e is FailureEvent => e.kind === 'failure');
    assert.ok(failure);
    assert.equal(failure.component, 'node');
    assert.equal(failure.method, 'kill');
    assert.equal(failure.error.message, 'test failure');
  });

  test('Common error helpers: sentinels are thrown as they are', async () => {
    const actor = await spawnTest(Idle);
    const node = actor.node;
    node.failures.setMethodFailure('registerName', ErrTaken);
    node.failures.setMethodFailure('kill', ErrProcessUnknown);
    assert.throws(
      () => node.registerName('x', someone),
      (e) => e === ErrTaken,
    );
    assert.throws(
      () => node.kill(someone),
      (e) => isError(e, ErrProcessUnknown),
    );
    node.failures.clearMethodFailures();
    node.kill(someone);
    assert.equal(node.failures.getMethodCallCount('kill'), 1); // counters were reset by the clear
  });

  test('TestFailureInjectionMultipleComponents: node, process and network fail independently', async () => {
    const actor = await spawnTest(Idle);
    actor.node.failures.setMethodFailure('spawn', new Error('node spawn failed'));
    actor.process.failures.setMethodFailure('send', new Error('process send failed'));
    actor.node.network().failures.setMethodFailure('getNode', new Error('network node failed'));

    await assert.rejects(actor.node.spawn(Idle), /node spawn failed/);
    actor.process.setState(4); // a handler's view: sends are allowed while running
    assert.throws(() => actor.process.send('test', 'message'), /process send failed/);
    actor.process.setState(2);
    await assert.rejects(actor.node.network().getNode('remote@host'), /network node failed/);

    assert.equal(actor.node.failures.getMethodCallCount('spawn'), 1);
    assert.equal(actor.process.failures.getMethodCallCount('send'), 1);
    assert.equal(actor.node.network().failures.getMethodCallCount('getNode'), 1);
    assert.equal(actor.events().filter((e) => e.kind === 'failure').length, 3);
  });

  test('a bad rule is refused with ErrIncorrect', async () => {
    const actor = await spawnTest(Idle);
    assert.throws(
      () => actor.node.failures.setMethodFailureAfter('spawn', -1, new Error('x')),
      /ERR_INCORRECT|incorrect/,
    );
    assert.throws(
      () => actor.node.failures.setMethodFailure('spawn', 'not an error' as unknown as Error),
      /must be an Error/,
    );
  });
});
