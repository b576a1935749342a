// The kit's integration helpers on real nodes: a throwaway node per test disposed by `await
// using`, waiting for a process state and for its termination (with its reason), a generic
// waitFor with a timeout, and a probe process that collects messages, trapped exits, down
// notices, calls and events, with waitForMessage resolving on arrival or timing out with a list
// of what it got.

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';

import {
  Actor,
  ErrTimeout,
  Event,
  MessageDownPID,
  MessageEvent,
  MessageExitPID,
  ProcessState,
  TerminateReasonNormal,
  isError,
  type Node,
  type PID,
  type Ref,
} from '../src/index.js';
import {
  anyPID,
  instanceOf,
  spawnProbe,
  startTestNode,
  structureMatching,
  waitFor,
  waitForState,
  waitForTermination,
} from '../src/testing/index.js';

class Echo extends Actor {
  override async handleMessage(from: PID, message: unknown): Promise<Error | undefined> {
    if (message === 'stop') return TerminateReasonNormal;
    if (typeof message === 'object' && message !== null && 'replyTo' in message) {
      const m = message as { replyTo: string; text: string };
      this.send(m.replyTo, { echo: m.text });
      return undefined;
    }
    if (message === 'slow') {
      await new Promise((r) => setTimeout(r, 20));
      return undefined;
    }
    this.send(from, { echo: message });
    return undefined;
  }
}

describe('testing integration helpers', () => {
  test('startTestNode: a fresh node per test, stopped by await using', async () => {
    let kept: Node | undefined;
    {
      await using node = await startTestNode();
      kept = node;
      assert.equal(node.isAlive(), true);
      assert.match(node.name, /^test\d+_\d+@localhost$/);
      await using other = await startTestNode();
      assert.notEqual(other.name, node.name);
    }
    assert.equal(kept.isAlive(), false);
  });

  test('probe: waits for a message that arrives later, or one already received; answers calls', async () => {
    await using node = await startTestNode();
    const probe = await spawnProbe(node, 'probe');
    const echo = await node.spawn(Echo);

    const later = probe.waitForMessage({ echo: 'hi' }); // waiting before it arrives
    node.send(echo, { replyTo: 'probe', text: 'hi' });
    const got = await later;
    assert.ok(got.from?.equals(echo));
    assert.equal(got.kind, 'message');

    node.send(echo, { replyTo: 'probe', text: 'again' });
    await waitFor(() => (probe.messages().length === 2 ? true : undefined), 'the second echo');
    const already = await probe.waitForMessage({ echo: 'again' }); // received before the wait
    assert.ok(already.from?.equals(echo));
    // a record is returned once: a second wait for the same message times out
    await assert.rejects(probe.waitForMessage({ echo: 'again' }, { timeout: 20 }), (e) => isError(e, ErrTimeout));

    assert.equal(await node.call(probe.pid, 'question'), true);
    probe.respond((req) => `answer to ${String(req)}`);
    assert.equal(await node.call('probe', 'q2'), 'answer to q2');
    assert.deepEqual(
      probe
        .received()
        .filter((r) => r.kind === 'call')
        .map((r) => r.message),
      ['question', 'q2'],
    );
  });

  test('probe: waitForMessage times out with ErrTimeout listing what was received', async () => {
    await using node = await startTestNode();
    const probe = await spawnProbe(node);
    node.send(probe.pid, 'something else');
    await waitFor(() => (probe.messages().length > 0 ? true : undefined), 'the first message');
    await assert.rejects(probe.waitForMessage('never', { timeout: 30 }), (e: unknown) => {
      assert.ok(isError(e, ErrTimeout));
      assert.match((e as Error).message, /no message matching 'never' within 30 ms/);
      assert.match((e as Error).message, /message: 'something else'/);
      return true;
    });
  });

  test('probe: trapped exits, down notices and events are collected', async () => {
    await using node = await startTestNode();
    const probe = await spawnProbe(node);
    const echo = await node.spawn(Echo);
    // the probe is passive (it never links or monitors): a watcher relays what it gets to it
    class Watcher extends Actor {
      override handleMessage(_from: PID, m: unknown): void {
        if (m === 'watch') {
          this.setTrapExit(true);
          this.link(echo);
          this.monitor(echo);
          this.send(probe.pid, 'watching');
          return;
        }
        this.send(probe.pid, m);
      }
    }
    const watcher = await node.spawn(Watcher);
    node.send(watcher, 'watch');
    await probe.waitForMessage('watching');
    node.send(echo, 'stop');
    const exit = await probe.waitForMessage(instanceOf(MessageExitPID));
    assert.ok((exit.message as MessageExitPID).pid.equals(echo));
    assert.ok(exit.from?.equals(watcher));
    const down = await probe.waitForMessage(instanceOf(MessageDownPID));
    assert.equal((down.message as MessageDownPID).reason, TerminateReasonNormal);

    class Publisher extends Actor {
      token: Ref | undefined;
      override handleMessage(_f: PID, m: unknown): void {
        if (m === 'register') {
          this.token = this.registerEvent('news');
          this.send(probe.pid, 'registered');
        }
        if (m === 'publish') this.sendEvent('news', this.token!, 'extra!');
      }
    }
    const publisher = await node.spawn(Publisher);
    node.send(publisher, 'register');
    await probe.waitForMessage('registered');
    class Subscriber extends Actor {
      override async handleMessage(): Promise<void> {
        await this.monitorEvent(new Event('news', node.name));
        this.send(probe.pid, 'subscribed');
      }
      override handleEvent(m: MessageEvent): void {
        this.send(probe.pid, m);
      }
    }
    const sub = await node.spawn(Subscriber);
    node.send(sub, 'subscribe');
    await probe.waitForMessage('subscribed');
    node.send(publisher, 'publish');
    const ev = await probe.waitForMessage(structureMatching(MessageEvent, { message: 'extra!' }));
    assert.ok(ev.message instanceof MessageEvent);
  });

  test('waitForTermination resolves with the reason; undefined for a process already gone', async () => {
    await using node = await startTestNode();
    const echo = await node.spawn(Echo);
    const ended = waitForTermination(node, echo);
    node.send(echo, 'stop');
    assert.equal(await ended, TerminateReasonNormal);
    assert.equal(await waitForTermination(node, echo), undefined);
    await waitForState(node, echo, ProcessState.Terminated);
  });

  test('waitForState sees a process inside an async handler; waitFor times out with ErrTimeout', async () => {
    await using node = await startTestNode();
    const echo = await node.spawn(Echo);
    node.send(echo, 'slow');
    await waitForState(node, echo, ProcessState.Running);
    await waitForState(node, echo, ProcessState.Sleep);
    await assert.rejects(
      waitFor(() => undefined, 'nothing', { timeout: 20 }),
      (e) => isError(e, ErrTimeout) && /waiting for nothing/.test((e as Error).message),
    );
    await assert.rejects(
      waitForState(node, echo, ProcessState.Running, { timeout: 20 }),
      (e) => isError(e, ErrTimeout) && /to be running \(it is sleep\)/.test((e as Error).message),
    );
    assert.ok(anyPID().test(echo));
  });

  test('waitFor awaits an async probe: undefined means not yet, a rejection rejects', async () => {
    let polls = 0;
    const got = await waitFor(async () => {
      await new Promise((r) => setImmediate(r));
      return ++polls >= 3 ? `after ${polls}` : undefined;
    }, 'three polls');
    // The value, not the probe's Promise.
    assert.equal(got, 'after 3');
    assert.equal(polls, 3);
    await assert.rejects(
      waitFor(() => Promise.reject(new Error('probe failed')), 'a failing probe'),
      /probe failed/,
    );
    await assert.rejects(
      waitFor(() => Promise.resolve(undefined), 'never', { timeout: 20 }),
      (e) => isError(e, ErrTimeout) && /waiting for never/.test((e as Error).message),
    );
  });
});
