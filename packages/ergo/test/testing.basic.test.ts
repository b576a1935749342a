// Ergo's testing/unit basic_test.go scenarios, ported to the kit: an actor's init side effects
// (self send, two spawns, a debug log), a message that sends, calls and sends the call's result,
// dynamic values (a generated alias) matched with anyAlias/structureMatching/predicates, the
// kit's own node and log handles, and reading the event history.

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';

import { Actor, type Alias, LogLevel, PID, TerminateReasonNormal, type Ref } from '../src/index.js';
import { anyAlias, spawnTest, structureMatching, type SendEvent } from '../src/testing/index.js';

/** What the example actor tells the manager about a worker it created. */
class WorkerCreated {
  constructor(readonly id: Alias) {}
}

const nobody = new PID('' as string, 0, 0);

class ExampleActor extends Actor {
  value = 0;

  override async init(..._args: unknown[]): Promise<void> {
    this.value = 1;
    this.send(this.pid, 'hello');
    this.log.debug('actor started %s %d', this.pid.toString(), this.value);
    await this.spawn(ExampleActor, {}, 1);
    await this.spawn(ExampleActor, {});
  }

  override async handleMessage(_from: PID, message: unknown): Promise<Error | undefined> {
    switch (message) {
      case 'increase': {
        this.value += 8;
        this.log.info('increased value by %d', 8);
        this.send('abc', this.value);
        const x = await this.call(nobody, 12345);
        this.send('def', x);
        return undefined;
      }
      case 'create_worker': {
        // Ergo spawns a meta process here; ergo-ts has no meta processes yet, so the dynamic
        // value is an alias the actor creates.
        const id = this.createAlias();
        this.send('manager', new WorkerCreated(id));
        return undefined;
      }
    }
    return TerminateReasonNormal;
  }

  override handleCall(_from: PID, _ref: Ref, request: unknown): unknown {
    return request === 'test_request' ? 'test_response' : undefined;
  }
}

describe('testing kit, Ergo basic scenarios', () => {
  test('TestExampleActor: init effects, message handling, state', async () => {
    const actor = await spawnTest(ExampleActor, { logLevel: LogLevel.Debug, env: { test_mode: true } });

    actor.shouldSend().to(actor.pid).message('hello').once();
    actor.shouldSpawn().times(2);
    actor.shouldLog().level(LogLevel.Debug).containing('actor started').once();
    assert.equal(actor.behavior.value, 1);
    assert.equal(actor.behavior.env('TEST_MODE'), true);

    await actor.sendMessage(nobody, 'increase');
    actor.shouldSend().to('abc').message(9).once();
    actor.shouldCall().to(nobody).request(12345).once();
    actor.shouldSend().to('def').once(); // the call's (mocked) result
    assert.equal(actor.behavior.value, 9);
  });

  test('TestDynamicValues: a generated value captured and matched', async () => {
    const actor = await spawnTest(ExampleActor);
    actor.clearEvents();
    await actor.sendMessage(nobody, 'create_worker');

    const created = actor.shouldSend().to('manager').capture() as SendEvent;
    const id = (created.message as WorkerCreated).id;
    actor
      .shouldSend()
      .to('manager')
      .messageMatching((m) => m instanceof WorkerCreated && m.id.node === actor.node.name && m.id.equals(id))
      .once();
    actor
      .shouldSend()
      .to('manager')
      .message(structureMatching(WorkerCreated, { id: anyAlias() }))
      .once();
    actor.shouldSend().to('manager').message(new WorkerCreated(id)).once();
  });

  test('TestBuiltInAssertions: node, process and log handles', async () => {
    const actor = await spawnTest(ExampleActor);
    assert.ok(actor.process);
    assert.equal(actor.node.name, 'test@localhost');
    assert.equal(actor.node.isAlive(), true);
    assert.ok(actor.eventCount() >= 0);
    const original = actor.process.log.level();
    actor.process.log.setLevel(LogLevel.Warning);
    assert.equal(actor.process.log.level(), LogLevel.Warning);
    actor.process.log.setLevel(original);
    assert.equal(actor.process.log.level(), LogLevel.Info);
  });

  test('TestEventInspection: events, clearEvents, lastEvent', async () => {
    const actor = await spawnTest(ExampleActor);
    assert.ok(actor.eventCount() > 0);
    const hello = actor
      .events()
      .find((e) => e.kind === 'send' && e.to instanceof PID && e.to.equals(actor.pid) && e.message === 'hello');
    assert.ok(hello, 'the hello send is in the history');
    actor.clearEvents();
    assert.equal(actor.eventCount(), 0);
    await actor.sendMessage(nobody, 'increase');
    assert.ok(actor.eventCount() > 0);
    assert.equal(actor.lastEvent()?.kind, 'send');
  });

  test('an unknown message stops the example actor normally', async () => {
    const actor = await spawnTest(ExampleActor);
    await actor.sendMessage(nobody, 'something else');
    actor.shouldTerminate().withReason(TerminateReasonNormal).once();
    const r = await spawnTest(ExampleActor).then((a) => a.call(nobody, 'test_request'));
    assert.equal(r.response, 'test_response');
  });
});
