// Monitors (issue 3 item 2, ERGO-API §5.6 TestT5ActorMonitor, §3.1, §7 item 3): MessageDown* in
// the system queue with the target's reason (kill, custom error, shutdown, panic) for a PID, a
// name, an alias and an event; ErrUnregistered when a name/alias/event is withdrawn while its
// process lives; unknown targets; demonitor; one notification per monitor.

import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';

import { format } from 'node:util';

import {
  ErrUnregistered,
  LogLevel,
  MessageEventStart,
  MessagePriority,
  Event,
  MessageDownAlias,
  MessageDownEvent,
  MessageDownPID,
  MessageDownProcessID,
  MessageExitPID,
  PID,
  ProcessID,
  unwrapReason,
  type Node,
} from '../src/index.js';
import {
  deferred,
  exec,
  rejectsCode,
  guardUnhandled,
  Hold,
  Inbox,
  spawnTest,
  testNode,
  Throw,
  throwsCode,
  CUSTOM_REASON,
  endTarget,
  REASONS,
  uniq,
} from './lifecycle_helpers.js';

guardUnhandled();

const custom = CUSTOM_REASON;
const WITH_UNREGISTERED: [string, Error][] = [...REASONS, ['unregistered', ErrUnregistered]];

describe('monitors', () => {
  let node: Node;
  before(async () => {
    node = await testNode();
  });
  after(async () => {
    await node.stop();
  });

  describe('monitorPID (§5.6 TestMonitorPID)', () => {
    for (const [label, reason] of REASONS) {
      test(label, async () => {
        const watcher = await spawnTest(node);
        const target = await spawnTest(node);
        assert.deepEqual(node.processInfo(watcher.pid).monitorsPID, []);
        await exec(node, watcher.pid, (a) => a.monitorPID(target.pid));
        const mons = node.processInfo(watcher.pid).monitorsPID;
        assert.equal(mons.length, 1);
        assert.ok(mons[0]!.equals(target.pid));
        endTarget(node, target.pid, reason);
        // The target's terminate sees the reason; then it is gone from the node.
        assert.equal(unwrapReason(await target.inbox.terminated()), reason);
        assert.throws(() => node.processInfo(target.pid), { code: 'ERR_PROCESS_UNKNOWN' });
        const { message, from } = await watcher.inbox.message(MessageDownPID);
        assert.ok(message.pid.equals(target.pid));
        assert.equal(message.reason, reason, 'exactly the reason, unwrapped');
        assert.ok(from.equals(target.pid), 'down comes from the terminated process');
        // The watcher lives on (monitors never terminate) and the monitor is gone.
        assert.deepEqual(await exec(node, watcher.pid, (a) => a.info().monitorsPID), []);
      });
    }
  });

  describe('monitorProcessID (§5.6 TestMonitorProcessID)', () => {
    for (const [label, reason] of WITH_UNREGISTERED) {
      test(label, async () => {
        const name = uniq('mon_name');
        const target = await spawnTest(node, { name });
        const watcher = await spawnTest(node);
        const pname = new ProcessID(name, node.name);
        assert.deepEqual(node.processInfo(watcher.pid).monitorsProcessID, []);
        await exec(node, watcher.pid, (a) => a.monitorProcessID(pname));
        const mons = node.processInfo(watcher.pid).monitorsProcessID;
        assert.equal(mons.length, 1);
        assert.ok(mons[0]!.equals(pname));
        if (reason === ErrUnregistered) await exec(node, target.pid, (a) => a.unregisterName());
        else endTarget(node, target.pid, reason);
        const { message, from } = await watcher.inbox.message(MessageDownProcessID);
        assert.ok(message.processID.equals(pname));
        assert.equal(message.reason, reason);
        assert.ok(from.equals(node.pid), 'name notifications come from the core PID');
        if (reason === ErrUnregistered) {
          assert.doesNotThrow(() => node.processState(target.pid), 'the process itself lives on');
          node.kill(target.pid);
        }
      });
    }

    test('monitor by Atom; name unregistered by the node', async () => {
      const name = uniq('mon_atom');
      await spawnTest(node, { name });
      const watcher = await spawnTest(node);
      await exec(node, watcher.pid, (a) => a.monitor(name));
      assert.equal(node.processInfo(watcher.pid).monitorsProcessID.length, 1);
      node.unregisterName(name);
      const { message } = await watcher.inbox.message(MessageDownProcessID);
      assert.equal(message.processID.name, name);
      assert.equal(message.reason, ErrUnregistered);
    });
  });

  describe('monitorAlias (§5.6 TestMonitorAlias)', () => {
    for (const [label, reason] of WITH_UNREGISTERED) {
      test(label, async () => {
        const target = await spawnTest(node);
        const alias = await exec(node, target.pid, (a) => a.createAlias());
        const watcher = await spawnTest(node);
        await exec(node, watcher.pid, (a) => a.monitorAlias(alias));
        const mons = node.processInfo(watcher.pid).monitorsAlias;
        assert.equal(mons.length, 1);
        assert.ok(mons[0]!.equals(alias));
        if (reason === ErrUnregistered) await exec(node, target.pid, (a) => a.deleteAlias(alias));
        else endTarget(node, target.pid, reason);
        const { message, from } = await watcher.inbox.message(MessageDownAlias);
        assert.ok(message.alias.equals(alias));
        assert.equal(message.reason, reason);
        assert.ok(from.equals(node.pid));
        if (reason === ErrUnregistered) node.kill(target.pid);
      });
    }
  });

  describe('monitorEvent (§5.6 TestMonitorEvent)', () => {
    for (const [label, reason] of WITH_UNREGISTERED) {
      test(label, async () => {
        const evName = uniq('mon_ev');
        const target = await spawnTest(node);
        await exec(node, target.pid, (a) => a.registerEvent(evName));
        const event = new Event(evName, node.name);
        const watcher = await spawnTest(node);
        await exec(node, watcher.pid, async (a) => assert.deepEqual(await a.monitorEvent(event), []));
        const mons = node.processInfo(watcher.pid).monitorsEvent;
        assert.equal(mons.length, 1);
        assert.ok(mons[0]!.equals(event));
        if (reason === ErrUnregistered) await exec(node, target.pid, (a) => a.unregisterEvent(evName));
        else endTarget(node, target.pid, reason);
        const { message, from } = await watcher.inbox.message(MessageDownEvent);
        assert.ok(message.event.equals(event));
        assert.equal(message.reason, reason);
        assert.ok(from.equals(node.pid));
        if (reason === ErrUnregistered) node.kill(target.pid);
      });
    }
  });

  test('unknown targets (§5.6 TestMonitorUnknown)', async () => {
    const watcher = await spawnTest(node);
    await exec(node, watcher.pid, async (a) => {
      const ghost = new PID(a.pid.node, a.pid.id + 10000, a.pid.creation);
      throwsCode(() => a.monitorPID(ghost), 'ERR_PROCESS_UNKNOWN');
      throwsCode(() => a.monitorProcessID(new ProcessID('test', node.name)), 'ERR_PROCESS_UNKNOWN');
      throwsCode(() => a.monitor('test'), 'ERR_PROCESS_UNKNOWN');
      const alias = a.createAlias();
      a.deleteAlias(alias);
      throwsCode(() => a.monitorAlias(alias), 'ERR_ALIAS_UNKNOWN');
      throwsCode(() => a.monitor(new Event('test', node.name)), 'ERR_EVENT_UNKNOWN');
      await rejectsCode(a.monitorEvent(new Event('test', node.name)), 'ERR_EVENT_UNKNOWN');
      // A PID of a previous incarnation of this node is unknown too.
      throwsCode(() => a.monitorPID(new PID(a.pid.node, a.pid.id, a.pid.creation - 1)), 'ERR_PROCESS_UNKNOWN');
    });
  });

  test('monitoring itself is not allowed (PID, own name, own alias); a duplicate monitor is ErrTargetExist', async () => {
    const target = await spawnTest(node);
    const selfName = uniq('self');
    const watcher = await spawnTest(node, { name: selfName });
    await exec(node, watcher.pid, (a) => {
      throwsCode(() => a.monitorPID(a.pid), 'ERR_NOT_ALLOWED');
      throwsCode(() => a.monitor(selfName), 'ERR_NOT_ALLOWED');
      throwsCode(() => a.monitorAlias(a.createAlias()), 'ERR_NOT_ALLOWED');
      a.monitorPID(target.pid);
      throwsCode(() => a.monitorPID(target.pid), 'ERR_TARGET_EXIST');
      throwsCode(() => a.monitor(target.pid), 'ERR_TARGET_EXIST');
      // A link on the same target is a separate relationship.
      a.linkPID(target.pid);
    });
  });

  test('demonitor: no down afterwards; demonitor of an unknown monitor is ErrTargetUnknown', async () => {
    const name = uniq('demon');
    const target = await spawnTest(node, { name });
    const alias = await exec(node, target.pid, (a) => a.createAlias());
    const evName = uniq('demon_ev');
    await exec(node, target.pid, (a) => a.registerEvent(evName));
    const event = new Event(evName, node.name);
    const watcher = await spawnTest(node);
    await exec(node, watcher.pid, (a) => {
      throwsCode(() => a.demonitorPID(target.pid), 'ERR_TARGET_UNKNOWN');
      throwsCode(() => a.demonitor(name), 'ERR_TARGET_UNKNOWN');
      throwsCode(() => a.demonitorAlias(alias), 'ERR_TARGET_UNKNOWN');
      throwsCode(() => a.demonitorEvent(event), 'ERR_TARGET_UNKNOWN');
      a.monitorPID(target.pid);
      a.monitorProcessID(new ProcessID(name, node.name));
      a.monitorAlias(alias);
      void a.monitorEvent(event); // its Promise is safe to ignore (the event exists; this test reads no messages)
      a.demonitorPID(target.pid);
      a.demonitor(name);
      a.demonitor(alias);
      a.demonitorEvent(event);
      const info = a.info();
      assert.equal(
        info.monitorsPID.length + info.monitorsProcessID.length + info.monitorsAlias.length + info.monitorsEvent.length,
        0,
      );
      throwsCode(() => a.demonitorPID(target.pid), 'ERR_TARGET_UNKNOWN');
    });
    node.kill(target.pid);
    await target.inbox.terminated();
    await exec(node, watcher.pid, () => undefined); // barrier: the system queue is drained first
    assert.deepEqual(watcher.inbox.messages(), []);
  });

  test('down messages use the system queue: after urgent mail, before queued normal messages', async () => {
    const a1 = await spawnTest(node);
    const a2 = await spawnTest(node);
    const watcher = await spawnTest(node);
    await exec(node, watcher.pid, (a) => {
      a.setTrapExit(true);
      a.monitorPID(a1.pid);
      a.linkPID(a2.pid);
    });
    const release = deferred<void>();
    const entered = deferred<void>();
    node.send(watcher.pid, new Hold(release.promise, entered));
    await entered.promise;
    node.send(watcher.pid, 'normal');
    node.kill(a1.pid); // down → system queue
    node.kill(a2.pid); // exit → urgent queue
    const q = node.processInfo(watcher.pid).mailboxQueues;
    assert.deepEqual({ urgent: q.urgent, system: q.system, main: q.main }, { urgent: 1, system: 1, main: 1 });
    release.resolve();
    await watcher.inbox.next((s) => s.kind === 'message' && s.message === 'normal');
    const order = watcher.inbox.messages().slice(1);
    assert.ok(order[0] instanceof MessageExitPID, 'urgent first');
    assert.ok(order[1] instanceof MessageDownPID, 'system next');
    assert.equal(order[2], 'normal');
  });

  test("notifications bypass a bounded mailbox's limit (downs, exits, event start/stop); event overflow is logged", async () => {
    const logs = new Inbox();
    node.loggerAdd('bounded_capture', { log: (m) => logs.push({ kind: 'log', message: m }) }, LogLevel.Warning);
    try {
      const t1 = await spawnTest(node);
      const t2 = await spawnTest(node);
      const evName = uniq('bounded_ev');
      const producer = await spawnTest(node, { options: { mailboxSize: 1 } });
      const token = await exec(node, producer.pid, (a) => a.registerEvent(evName, { notify: true }));
      // Busy producer whose system queue is at its limit of 1.
      const relP = deferred<void>();
      const inP = deferred<void>();
      node.send(producer.pid, new Hold(relP.promise, inP));
      await inP.promise;
      node.send(producer.pid, 'p-system', { priority: MessagePriority.High });
      throwsCode(
        () => node.send(producer.pid, 'p-system 2', { priority: MessagePriority.High }),
        'ERR_PROCESS_MAILBOX_FULL',
      );
      const w = await spawnTest(node, { options: { mailboxSize: 1 } });
      await exec(node, w.pid, (a) => {
        a.setTrapExit(true);
        a.monitorPID(t1.pid);
        a.linkPID(t2.pid);
        void a.monitorEvent(new Event(evName, node.name)); // safe to ignore: the event exists
      });
      assert.equal(node.processInfo(producer.pid).mailboxQueues.system, 2, 'MessageEventStart queued beyond the limit');
      // Busy watcher with every queue at its limit of 1.
      const release = deferred<void>();
      const entered = deferred<void>();
      node.send(w.pid, new Hold(release.promise, entered));
      await entered.promise;
      node.send(w.pid, 'main', { priority: MessagePriority.Normal });
      node.send(w.pid, 'system', { priority: MessagePriority.High });
      node.send(w.pid, 'urgent', { priority: MessagePriority.Max });
      throwsCode(() => node.send(w.pid, 'one too many'), 'ERR_PROCESS_MAILBOX_FULL');
      node.kill(t1.pid);
      node.kill(t2.pid);
      const q = node.processInfo(w.pid).mailboxQueues;
      assert.deepEqual({ urgent: q.urgent, system: q.system, main: q.main }, { urgent: 2, system: 2, main: 1 });
      // An event to a full queue is not dropped silently: the failure is logged.
      node.sendEvent(evName, token, 'overflow');
      await logs.next(
        (s) => s.kind === 'log' && format(s.message.format, ...s.message.args).includes(w.pid.toString()),
        'the overflow warning',
      );
      release.resolve();
      await w.inbox.message(MessageDownPID);
      await w.inbox.message(MessageExitPID);
      relP.resolve();
      await producer.inbox.message(MessageEventStart);
    } finally {
      node.loggerDelete('bounded_capture');
    }
  });

  test('a down does not terminate the watcher, trap exit or not', async () => {
    const target = await spawnTest(node);
    const watcher = await spawnTest(node);
    await exec(node, watcher.pid, (a) => {
      assert.equal(a.trapExit(), false);
      a.monitorPID(target.pid);
    });
    node.send(target.pid, new Throw());
    await watcher.inbox.message(MessageDownPID);
    assert.equal(await exec(node, watcher.pid, () => 'alive'), 'alive');
  });

  test('several watchers of one target each get exactly one down', async () => {
    const target = await spawnTest(node);
    const watchers = await Promise.all([1, 2, 3].map(() => spawnTest(node)));
    for (const w of watchers) await exec(node, w.pid, (a) => a.monitorPID(target.pid));
    node.sendExit(target.pid, custom);
    for (const w of watchers) {
      const { message } = await w.inbox.message(MessageDownPID);
      assert.equal(message.reason, custom);
      await exec(node, w.pid, () => undefined);
      assert.equal(w.inbox.messages().length, 1);
    }
  });

  test("a watcher's own end drops its monitors silently", async () => {
    const target = await spawnTest(node);
    const watcher = await spawnTest(node);
    await exec(node, watcher.pid, (a) => a.monitorPID(target.pid));
    node.kill(watcher.pid);
    await watcher.inbox.terminated();
    // Monitoring the target again from another process starts from a clean slate.
    const w2 = await spawnTest(node);
    await exec(node, w2.pid, (a) => a.monitorPID(target.pid));
    node.kill(target.pid);
    await w2.inbox.message(MessageDownPID);
    assert.deepEqual(watcher.inbox.messages(), []);
  });
});
