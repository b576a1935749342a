// Events (issue 3 item 4, ERGO-API §5.8 TestT7ActorEvent, §1 events rows, §3.2): registration
// with notify and buffer, the token check and its delegation, history returned by
// linkEvent/monitorEvent, MessageEventStart/Stop to the producer as subscribers come and go,
// unregister and producer death reaching subscribers, event id and timestamp on every message,
// node-level events.

import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';

import {
  ErrUnregistered,
  Event,
  MessageDownEvent,
  MessageEvent,
  MessageEventStart,
  MessageEventStop,
  MessageExitEvent,
  MessagePriority,
  Ref,
  TerminateReasonKill,
  type Node,
} from '../src/index.js';
import {
  deferred,
  exec,
  guardUnhandled,
  Hold,
  rejectsCode,
  spawnTest,
  testNode,
  throwsCode,
} from './lifecycle_helpers.js';

guardUnhandled();

let seq = 0;
const uniq = (p: string): string => `${p}_${++seq}`;

describe('events', () => {
  let node: Node;
  before(async () => {
    node = await testNode();
  });
  after(async () => {
    await node.stop();
  });

  test('§5.8 TestEvent: start, delivery, history, fan-out, stop', async () => {
    const name = uniq('ev58');
    const producer = await spawnTest(node);
    const token = await exec(node, producer.pid, (a) => a.registerEvent(name, { notify: true, buffer: 10 }));
    assert.ok(token instanceof Ref);
    const event = new Event(name, node.name);

    // consumer1 links: empty history; the producer hears the first subscriber.
    const c1 = await spawnTest(node);
    assert.deepEqual(await exec(node, c1.pid, (a) => a.linkEvent(event)), []);
    const start = await producer.inbox.message(MessageEventStart);
    assert.equal(start.message.name, name);
    assert.ok(start.from.equals(node.pid), 'from the core PID');

    // A published message reaches consumer1's handleEvent with the event id and a timestamp.
    const before = BigInt(Date.now()) * 1_000_000n;
    await exec(node, producer.pid, (a) => a.sendEvent(name, token, { n: 1 }));
    const afterSend = BigInt(Date.now() + 1) * 1_000_000n;
    const e1 = await c1.inbox.event();
    assert.ok(e1 instanceof MessageEvent);
    assert.ok(e1.event.equals(event));
    assert.equal(typeof e1.timestamp, 'bigint');
    assert.ok(e1.timestamp > 0n);
    // Unix nanoseconds of the send (a 1 s allowance: the engine may read a different clock than Date).
    assert.ok(
      e1.timestamp >= before - 1_000_000_000n && e1.timestamp <= afterSend + 1_000_000_000n,
      'timestamp is Unix nanoseconds',
    );
    assert.deepEqual(e1.message, { n: 1 });

    // consumer2 monitors: the history holds exactly the one previous event.
    const c2 = await spawnTest(node);
    const history = await exec(node, c2.pid, (a) => a.monitorEvent(event));
    assert.equal(history.length, 1);
    assert.ok(history[0] instanceof MessageEvent);
    assert.deepEqual(history[0]!.message, { n: 1 });
    assert.ok(history[0]!.event.equals(event));
    assert.equal(history[0]!.timestamp, e1.timestamp);

    // The next event reaches both.
    await exec(node, producer.pid, (a) => a.sendEvent(name, token, 'second'));
    for (const c of [c1, c2]) {
      const e = await c.inbox.event((m) => m.message === 'second');
      assert.ok(e.timestamp >= e1.timestamp, 'timestamps do not go back');
    }

    // One start only; after unlink + demonitor the producer hears the stop.
    await exec(node, c1.pid, (a) => a.unlinkEvent(event));
    await exec(node, producer.pid, () => undefined);
    assert.equal(
      producer.inbox.messages().filter((m) => m instanceof MessageEventStop).length,
      0,
      'one subscriber left: no stop yet',
    );
    await exec(node, c2.pid, (a) => a.demonitorEvent(event));
    const stop = await producer.inbox.message(MessageEventStop);
    assert.equal(stop.message.name, name);
    await exec(node, producer.pid, () => undefined);
    assert.equal(producer.inbox.messages().filter((m) => m instanceof MessageEventStart).length, 1);

    // Unsubscribed: nothing more arrives.
    await exec(node, producer.pid, (a) => a.sendEvent(name, token, 'third'));
    await exec(node, c1.pid, () => undefined);
    await exec(node, c2.pid, () => undefined);
    assert.equal(c1.inbox.ofKind('event').length, 2);
    assert.equal(c2.inbox.ofKind('event').length, 1);
  });

  test('start/stop again when subscribers come back; a link and a monitor of one process count as two', async () => {
    const name = uniq('ev_again');
    const producer = await spawnTest(node);
    await exec(node, producer.pid, (a) => a.registerEvent(name, { notify: true }));
    const event = new Event(name, node.name);
    const c = await spawnTest(node);
    await exec(node, c.pid, async (a) => {
      await a.linkEvent(event);
      await a.monitorEvent(event);
      a.unlinkEvent(event);
    });
    await exec(node, producer.pid, () => undefined);
    assert.deepEqual(
      producer.inbox.messages().map((m) => m?.constructor.name),
      ['MessageEventStart'],
    );
    await exec(node, c.pid, (a) => a.demonitorEvent(event));
    await producer.inbox.message(MessageEventStop);
    await exec(node, c.pid, (a) => a.monitorEvent(event));
    await producer.inbox.message(MessageEventStart);
    // A subscriber that dies leaves too.
    node.kill(c.pid);
    await producer.inbox.message(MessageEventStop);
    await exec(node, producer.pid, () => undefined);
    assert.deepEqual(
      producer.inbox.messages().map((m) => m?.constructor.name),
      ['MessageEventStart', 'MessageEventStop', 'MessageEventStart', 'MessageEventStop'],
    );
  });

  test('without notify the producer hears nothing', async () => {
    const name = uniq('ev_quiet');
    const producer = await spawnTest(node);
    await exec(node, producer.pid, (a) => a.registerEvent(name));
    const c = await spawnTest(node);
    await exec(node, c.pid, async (a) => {
      await a.monitorEvent(new Event(name, node.name));
      a.demonitorEvent(new Event(name, node.name));
    });
    await exec(node, producer.pid, () => undefined);
    assert.deepEqual(producer.inbox.messages(), []);
  });

  test('buffer keeps the last N messages, oldest first', async () => {
    const name = uniq('ev_buf');
    const producer = await spawnTest(node);
    await exec(node, producer.pid, (a) => {
      const t = a.registerEvent(name, { buffer: 3 });
      for (let i = 1; i <= 5; i++) a.sendEvent(name, t, i);
    });
    const c = await spawnTest(node);
    const h = await exec(node, c.pid, (a) => a.linkEvent(new Event(name, node.name)));
    assert.deepEqual(
      h.map((m) => m.message),
      [3, 4, 5],
    );
    for (let i = 1; i < h.length; i++) assert.ok(h[i]!.timestamp >= h[i - 1]!.timestamp);
  });

  test('the token: wrong token → ErrEventOwner; unknown event → ErrEventUnknown; delegation works', async () => {
    const name = uniq('ev_tok');
    const producer = await spawnTest(node);
    const token = await exec(node, producer.pid, (a) => a.registerEvent(name));
    const c = await spawnTest(node);
    await exec(node, c.pid, (a) => a.monitorEvent(new Event(name, node.name)));
    const delegate = await spawnTest(node);
    await exec(node, delegate.pid, (a) => {
      throwsCode(() => a.sendEvent(name, node.makeRef(), 'forged'), 'ERR_EVENT_OWNER');
      throwsCode(() => a.sendEvent(uniq('no_such_event'), token, 'x'), 'ERR_EVENT_UNKNOWN');
      a.sendEvent(name, token, 'delegated'); // any holder of the token may publish
    });
    const e = await c.inbox.event();
    assert.equal(e.message, 'delegated');
    assert.ok(e.event.equals(new Event(name, node.name)));
    // The node may publish with the token as well.
    node.sendEvent(name, token, 'from node');
    assert.equal((await c.inbox.event()).message, 'from node');
    throwsCode(() => node.sendEvent(name, node.makeRef(), 'forged'), 'ERR_EVENT_OWNER');
  });

  test('registration rules: ErrTaken, ErrEventOwner on foreign unregister, ErrEventUnknown, events() lists', async () => {
    const name = uniq('ev_reg');
    const producer = await spawnTest(node);
    const other = await spawnTest(node);
    const baseline = node.info().registeredEvents;
    await exec(node, producer.pid, (a) => {
      assert.deepEqual(a.events(), []);
      a.registerEvent(name, { notify: true, buffer: 10 });
      a.registerEvent(`${name}_2`, { notify: true, buffer: 10 });
      assert.deepEqual(a.events(), [name, `${name}_2`]);
      throwsCode(() => a.registerEvent(name), 'ERR_TAKEN');
    });
    assert.equal(node.info().registeredEvents, baseline + 2);
    assert.deepEqual(node.processInfo(producer.pid).events, [name, `${name}_2`]);
    await exec(node, other.pid, (a) => {
      throwsCode(() => a.registerEvent(name), 'ERR_TAKEN');
      throwsCode(() => a.unregisterEvent(name), 'ERR_EVENT_OWNER');
      throwsCode(() => a.unregisterEvent(uniq('none')), 'ERR_EVENT_UNKNOWN');
    });
    throwsCode(() => node.registerEvent(name), 'ERR_TAKEN');
    throwsCode(() => node.unregisterEvent(name), 'ERR_EVENT_OWNER');
    await exec(node, producer.pid, (a) => {
      a.unregisterEvent(name);
      assert.deepEqual(a.events(), [`${name}_2`]);
    });
    assert.equal(node.info().registeredEvents, baseline + 1);
  });

  test('subscription errors: unknown event, duplicate subscription; subscribing in init works (Ergo 3.2)', async () => {
    const name = uniq('ev_sub');
    const producer = await spawnTest(node);
    await exec(node, producer.pid, (a) => a.registerEvent(name));
    const event = new Event(name, node.name);
    const c = await spawnTest(node);
    await exec(node, c.pid, async (a) => {
      await rejectsCode(a.linkEvent(new Event(uniq('none'), node.name)), 'ERR_EVENT_UNKNOWN');
      await rejectsCode(a.monitorEvent(new Event(uniq('none'), node.name)), 'ERR_EVENT_UNKNOWN');
      await a.linkEvent(event);
      await rejectsCode(a.linkEvent(event), 'ERR_TARGET_EXIST');
      await a.monitorEvent(event);
      await rejectsCode(a.monitorEvent(event), 'ERR_TARGET_EXIST');
    });
    const inInit = deferred<unknown>();
    await spawnTest(node, {
      hooks: {
        init(a) {
          a.monitorEvent(event).then(
            () => inInit.resolve('subscribed'),
            (e: unknown) => inInit.resolve(e),
          );
        },
      },
    });
    assert.equal(await inInit.promise, 'subscribed');
  });

  test('an Event with an empty node means the local node (subscribe and unsubscribe)', async () => {
    const name = uniq('ev_local');
    const producer = await spawnTest(node);
    const token = await exec(node, producer.pid, (a) => a.registerEvent(name, { notify: true }));
    const c = await spawnTest(node);
    await exec(node, c.pid, (a) => a.monitorEvent(new Event(name, '')));
    await producer.inbox.message(MessageEventStart);
    await exec(node, producer.pid, (a) => a.sendEvent(name, token, 'hi'));
    assert.equal((await c.inbox.event()).message, 'hi');
    await exec(node, c.pid, (a) => a.demonitorEvent(new Event(name, '')));
    await producer.inbox.message(MessageEventStop);
  });

  test('unregister notifies subscribers with ErrUnregistered; producer death with its reason', async () => {
    for (const how of ['unregister', 'kill'] as const) {
      const name = uniq(`ev_end_${how}`);
      const producer = await spawnTest(node);
      await exec(node, producer.pid, (a) => a.registerEvent(name));
      const event = new Event(name, node.name);
      const linker = await spawnTest(node);
      const monitor = await spawnTest(node);
      await exec(node, linker.pid, async (a) => {
        a.setTrapExit(true);
        await a.linkEvent(event);
      });
      await exec(node, monitor.pid, (a) => a.monitorEvent(event));
      if (how === 'unregister') await exec(node, producer.pid, (a) => a.unregisterEvent(name));
      else node.kill(producer.pid);
      const reason = how === 'unregister' ? ErrUnregistered : TerminateReasonKill;
      const exit = await linker.inbox.message(MessageExitEvent);
      assert.ok(exit.message.event.equals(event));
      assert.equal(exit.message.reason, reason);
      const down = await monitor.inbox.message(MessageDownEvent);
      assert.ok(down.message.event.equals(event));
      assert.equal(down.message.reason, reason);
      throwsCode(() => node.sendEvent(name, node.makeRef(), 'x'), 'ERR_EVENT_UNKNOWN');
      await exec(node, linker.pid, async (a) => {
        assert.deepEqual(a.info().linksEvent, []);
        await rejectsCode(a.linkEvent(event), 'ERR_EVENT_UNKNOWN');
      });
    }
  });

  test('node-level events: the core PID is the producer', async () => {
    const name = uniq('ev_node');
    const token = node.registerEvent(name, { buffer: 2 });
    node.sendEvent(name, token, 'before');
    const c = await spawnTest(node);
    const h = await exec(node, c.pid, (a) => {
      a.setTrapExit(true);
      return a.linkEvent(new Event(name, node.name));
    });
    assert.deepEqual(
      h.map((m) => m.message),
      ['before'],
    );
    node.sendEvent(name, token, 'after');
    assert.equal((await c.inbox.event()).message, 'after');
    node.unregisterEvent(name);
    const { message, from } = await c.inbox.message(MessageExitEvent);
    assert.equal(message.reason, ErrUnregistered);
    assert.ok(from.equals(node.pid));
  });

  test('invalid priorities are refused: sendEvent (process and node), plain process sends, calls', async () => {
    const name = uniq('ev_badprio');
    const producer = await spawnTest(node);
    const token = await exec(node, producer.pid, (a) => a.registerEvent(name));
    const c = await spawnTest(node);
    await exec(node, c.pid, (a) => a.monitorEvent(new Event(name, node.name)));
    await exec(node, producer.pid, (a) => {
      for (const bad of [3, -1, 1.5, 9]) {
        throwsCode(() => a.sendEvent(name, token, 'bad', { priority: bad as MessagePriority }), 'ERR_INCORRECT');
        // Without the check a priority of 9 lands in the log queue and reaches handleLog.
        throwsCode(() => a.send(c.pid, 'bad', { priority: bad as MessagePriority }), 'ERR_INCORRECT');
      }
    });
    throwsCode(() => node.sendEvent(name, token, 'bad', { priority: 5 as MessagePriority }), 'ERR_INCORRECT');
    await rejectsCode(node.call(c.pid, 'bad', { priority: 9 as MessagePriority }), 'ERR_INCORRECT');
    await exec(node, c.pid, () => undefined);
    assert.deepEqual(c.inbox.items, [], 'nothing was delivered');
  });

  test("the publisher's priority picks the queue: a High event overtakes queued normal messages", async () => {
    const name = uniq('ev_prio');
    const producer = await spawnTest(node);
    const token = await exec(node, producer.pid, (a) => a.registerEvent(name));
    const c = await spawnTest(node);
    await exec(node, c.pid, (a) => a.monitorEvent(new Event(name, node.name)));
    const release = deferred<void>();
    const entered = deferred<void>();
    node.send(c.pid, new Hold(release.promise, entered));
    await entered.promise;
    node.send(c.pid, 'normal');
    await exec(node, producer.pid, (a) => a.sendEvent(name, token, 'urgent news', { priority: MessagePriority.High }));
    assert.equal(node.processInfo(c.pid).mailboxQueues.system, 1);
    release.resolve();
    await c.inbox.next((s) => s.kind === 'message' && s.message === 'normal');
    const kinds = c.inbox.items.map((s) => s.kind);
    assert.deepEqual(kinds, ['message', 'event', 'message'], 'the event was handled before the earlier normal message');
  });
});
