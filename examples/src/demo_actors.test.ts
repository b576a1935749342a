// Unit tests of the demo's actors with ergo-ts/testing: each actor runs against the kit's
// recording node (no real node, no timing), driven message by message; the supervisor's child
// callbacks are exercised by feeding it a child's exit. The last test runs the same supervisor
// on a real throwaway node with the kit's integration helpers.

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';

import {
  Event,
  LogLevel,
  MessageDownProcessID,
  MessageEvent,
  PID,
  ProcessID,
  TerminateReasonNormal,
  TerminateReasonPanic,
} from 'ergo-ts';
import {
  anyPID,
  satisfies,
  spawnTest,
  startTestNode,
  structureMatching,
  waitFor,
  waitForTermination,
} from 'ergo-ts/testing';

import { Counter, Ticker, Watcher, Worker, WorkerSupervisor } from './demo_actors.js';

const client = new PID('client@localhost', 1001, 1);

describe('demo actors, unit-tested with ergo-ts/testing', () => {
  test('Counter: starts from its argument, counts, answers, stops with a reply', async () => {
    const counter = await spawnTest(Counter, { args: [40] });
    counter.shouldLog().level(LogLevel.Info).message('counter starts at 40').once();

    await counter.sendMessage(client, 'inc');
    await counter.sendMessage(client, 'inc');
    const get = await counter.call(client, 'get');
    assert.equal(get.response, 42);

    const stop = await counter.call(client, 'stop');
    assert.equal(stop.response, 'stopped at 42');
    counter.shouldTerminate().withReason(TerminateReasonNormal).once();
  });

  test('Ticker: registers its event on the first message, then publishes prices', async () => {
    const ticker = await spawnTest(Ticker);
    ticker.shouldSend().to(ticker.pid).message('register').once();
    assert.equal(ticker.events().filter((e) => e.kind === 'event').length, 0, 'no event registered in init');

    await ticker.deliverSelfMessages();
    const registered = ticker.shouldRegisterEvent().named('prices').once();
    assert.deepEqual(registered.options, { buffer: 3 });

    await ticker.sendMessage(client, 'tick');
    ticker
      .shouldSendEvent()
      .named('prices')
      .message(
        structureMatching(undefined, {
          price: satisfies((p: number) => Number.isInteger(p) && p >= 95 && p <= 105, 'a price within 5 of 100'),
        }),
      )
      .once();
  });

  test('Watcher: subscribes to prices and the counter, logs updates and downs', async () => {
    const watcher = await spawnTest(Watcher);
    const prices = new Event('prices', watcher.node.name);
    watcher.node.setEventBuffer(prices, [
      new MessageEvent(prices, 1n, { price: 99 }),
      new MessageEvent(prices, 2n, { price: 101 }),
    ]);

    await watcher.deliverSelfMessages(); // its 'subscribe'
    watcher.shouldMonitor().target(prices).once();
    watcher.shouldMonitor().target('counter').once();
    watcher.shouldLog().message('subscribed to prices (2 buffered)').once();

    await watcher.sendEvent(prices, { price: 103 });
    watcher.shouldLog().message('price update: {"price":103}').once();

    await watcher.deliver(new MessageDownProcessID(new ProcessID('counter', watcher.node.name), TerminateReasonNormal));
    watcher.shouldLog().containing('watched process counter went down: normal').once();
    watcher.shouldNotTerminate().assert();
  });

  test('Worker: counts jobs; a crash is a panic', async () => {
    const worker = await spawnTest(Worker, { args: [1], register: 'worker1' });
    worker.shouldLog().message('worker 1 is up (worker1)').once();
    await worker.sendMessage(client, 'job');
    assert.equal((await worker.call(client, 'jobs')).response, 1);
    await worker.sendMessage(client, 'crash');
    worker.shouldTerminate().withReason(TerminateReasonPanic).once();
    worker.shouldLog().level(LogLevel.Panic).containing('crashing on purpose').once();
  });

  test('WorkerSupervisor: starts both workers linked, reports starts, restarts a crashed one', async () => {
    const sup = await spawnTest(WorkerSupervisor);
    const first1 = sup
      .shouldSpawn()
      .factory(Worker)
      .register('worker1')
      .args(1)
      .options(structureMatching(undefined, { linkParent: true, linkChild: true }))
      .once();
    sup.shouldSpawn().factory(Worker).register('worker2').args(2).once();

    await sup.deliverSelfMessages(); // the child-start notices it sent itself
    sup.shouldLog().message(`supervisor: worker1 started as ${first1.pid}`).once();
    sup.shouldLog().containing('supervisor: worker2 started as').once();

    sup.clearEvents();
    await sup.sendExit(first1.pid, TerminateReasonPanic); // worker1 crashed
    const restarted = sup.shouldSpawn().factory(Worker).register('worker1').once();
    assert.ok(anyPID().test(restarted.pid));
    assert.ok(!restarted.pid.equals(first1.pid));

    await sup.deliverSelfMessages();
    sup.shouldLog().level(LogLevel.Warning).message(`supervisor: worker1 (${first1.pid}) terminated: panic`).once();
    sup.shouldLog().message(`supervisor: worker1 started as ${restarted.pid}`).once();
    sup.shouldNotTerminate().assert();
  });

  test('the same supervisor on a real node heals a crashed worker (integration helpers)', async () => {
    await using node = await startTestNode();
    await node.spawnRegister('workers', WorkerSupervisor);
    const before = node.processPID('worker1');
    const ended = waitForTermination(node, before); // listening before the crash is sent
    node.send('worker1', 'crash');
    assert.equal(await ended, TerminateReasonPanic);
    const after = await waitFor(() => {
      try {
        const pid = node.processPID('worker1');
        return pid.equals(before) ? undefined : pid;
      } catch {
        return undefined;
      }
    }, 'worker1 to be restarted');
    assert.equal(await node.call(after, 'jobs'), 0);
  });
});
