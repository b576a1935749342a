// Inspection (issue 3 item 6, ERGO-API §1 Inspect / Introspection / Node Identity & info rows):
// inspect() calls handleInspect through the urgent queue, process info (state, queue lengths,
// messages in/out, links, monitors, events, aliases, uptime...), short info listings and node
// info counters.

import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';

import { Actor, Event, LogLevel, MessagePriority, PID, ProcessID, ProcessState, type Node } from '../src/index.js';
import {
  deferred,
  exec,
  guardUnhandled,
  Hold,
  rejectsCode,
  spawnChild,
  spawnTest,
  testNode,
} from './lifecycle_helpers.js';

guardUnhandled();

describe('inspect and info', () => {
  let node: Node;
  before(async () => {
    node = await testNode();
  });
  after(async () => {
    await node.stop();
  });

  describe('inspect', () => {
    test('calls handleInspect with the caller and the items; returns its map', async () => {
      const target = await spawnTest(node, {
        hooks: { inspect: (_a, _from, items) => ({ answer: '42', items: items.join('|') }) },
      });
      const asker = await spawnTest(node);
      const r = await exec(node, asker.pid, (a) => a.inspect(target.pid, 'x', 'y'));
      assert.deepEqual(r, { answer: '42', items: 'x|y' });
      const seen = target.inbox.ofKind('inspect');
      assert.equal(seen.length, 1);
      assert.ok(seen[0]!.from.equals(asker.pid));
      assert.deepEqual(seen[0]!.items, ['x', 'y']);
    });

    test('an async handleInspect; a default Actor answers {}', async () => {
      const target = await spawnTest(node, { hooks: { inspect: async () => ({ later: 'yes' }) } });
      const plain = await node.spawn(Actor);
      const asker = await spawnTest(node);
      assert.deepEqual(await exec(node, asker.pid, (a) => a.inspect(target.pid)), { later: 'yes' });
      assert.deepEqual(await exec(node, asker.pid, (a) => a.inspect(plain)), {});
    });

    test('jumps the queue: handled before messages already waiting (urgent queue)', async () => {
      const target = await spawnTest(node);
      const asker = await spawnTest(node);
      const release = deferred<void>();
      const entered = deferred<void>();
      node.send(target.pid, new Hold(release.promise, entered));
      await entered.promise;
      node.send(target.pid, 'queued 1');
      node.send(target.pid, 'queued 2', { priority: MessagePriority.High });
      const queued = deferred<void>();
      const pending = exec(node, asker.pid, (a) => {
        const r = a.inspect(target.pid, 'now');
        queued.resolve();
        return r;
      });
      await queued.promise;
      // The inspect request waits in the urgent queue while the target is busy.
      assert.equal(node.processInfo(target.pid).mailboxQueues.urgent, 1);
      release.resolve();
      await pending;
      await target.inbox.next((s) => s.kind === 'message' && s.message === 'queued 1');
      assert.deepEqual(
        target.inbox.items.map((s) =>
          s.kind === 'message' ? String(s.message instanceof Hold ? 'hold' : s.message) : s.kind,
        ),
        ['hold', 'inspect', 'queued 2', 'queued 1'],
      );
    });

    test('errors: unknown process, remote process, inside terminate; allowed in init (Ergo 3.2)', async () => {
      const asker = await spawnTest(node);
      const ghost = new PID(node.name, 999_999, node.creation);
      await rejectsCode(
        exec(node, asker.pid, (a) => a.inspect(ghost)),
        'ERR_PROCESS_UNKNOWN',
      );
      await rejectsCode(
        exec(node, asker.pid, (a) => a.inspect(new PID('other@host', 1001, 1))),
        'ERR_NOT_ALLOWED',
      );
      const inInit = deferred<unknown>();
      await spawnTest(node, {
        hooks: {
          init(a) {
            a.inspect(asker.pid).then(
              (m) => inInit.resolve(m.actor),
              (e: unknown) => inInit.resolve(e),
            );
          },
        },
      });
      assert.equal(await inInit.promise, 'test');
      const inTerminate = deferred<unknown>();
      const leaving = await spawnTest(node, {
        hooks: {
          terminate(a) {
            a.inspect(asker.pid).then(
              () => inTerminate.resolve('answered'),
              (e: unknown) => inTerminate.resolve(e),
            );
          },
        },
      });
      node.kill(leaving.pid);
      assert.equal(((await inTerminate.promise) as { code?: string }).code, 'ERR_NOT_ALLOWED');
    });
  });

  describe('process info', () => {
    test('identity, state, relations, aliases, events, uptime', async () => {
      const name = 'info_target';
      const parent = await spawnTest(node);
      const other = await spawnTest(node, { name: 'info_other' });
      const child = await spawnChild(node, parent.pid, {
        name,
        options: { logLevel: LogLevel.Warning, env: { Color: 'blue' } },
      });
      const evName = 'info_event';
      const alias = await exec(node, child.pid, (a) => {
        a.registerEvent(evName);
        const al = a.createAlias();
        a.linkPID(other.pid);
        a.monitorProcessID(new ProcessID('info_other', node.name));
        void a.monitorEvent(new Event(evName, node.name));
        // Inside a handler the process is Running.
        assert.equal(a.info().state, ProcessState.Running);
        return al;
      });
      const info = node.processInfo(child.pid);
      assert.ok(info.pid.equals(child.pid));
      assert.equal(info.name, name);
      assert.equal(info.behavior, 'TestActor');
      assert.ok(info.parent.equals(parent.pid));
      assert.ok(info.leader.equals(node.pid));
      assert.equal(info.state, ProcessState.Sleep);
      assert.equal(info.uptime, 0);
      assert.equal(info.logLevel, LogLevel.Warning);
      assert.equal(info.mailboxSize, 0);
      assert.equal(info.messagePriority, MessagePriority.Normal);
      assert.deepEqual(info.aliases.length, 1);
      assert.ok(info.aliases[0]!.equals(alias));
      assert.deepEqual(info.events, [evName]);
      assert.equal(info.linksPID.length, 1);
      assert.ok(info.linksPID[0]!.equals(other.pid));
      assert.equal(info.monitorsProcessID.length, 1);
      assert.equal(info.monitorsProcessID[0]!.name, 'info_other');
      assert.equal(info.monitorsEvent.length, 1);
      assert.ok(info.monitorsEvent[0]!.equals(new Event(evName, node.name)));
      assert.deepEqual(info.monitorsPID, []);
      assert.deepEqual(info.linksAlias, []);
      assert.equal(node.processState(child.pid), ProcessState.Sleep);
      assert.equal(node.processName(child.pid), name);
    });

    test('queue lengths and message counters', async () => {
      const target = await spawnTest(node);
      const sender = await spawnTest(node);
      const before = node.processInfo(target.pid);
      const release = deferred<void>();
      const entered = deferred<void>();
      node.send(target.pid, new Hold(release.promise, entered));
      await entered.promise;
      assert.equal(node.processInfo(target.pid).state, ProcessState.Running);
      await exec(node, sender.pid, (a) => {
        a.send(target.pid, 1);
        a.send(target.pid, 2);
        a.send(target.pid, 3, { priority: MessagePriority.High });
        a.sendWithPriority(target.pid, 4, MessagePriority.Max);
      });
      const busy = node.processInfo(target.pid);
      assert.deepEqual(busy.mailboxQueues, { urgent: 1, system: 1, main: 2, log: 0 });
      assert.equal(busy.messagesIn, before.messagesIn + 5);
      assert.ok(node.processInfo(sender.pid).messagesOut >= 4);
      const short = node.processListShortInfo(target.pid.id, 1);
      assert.equal(short.length, 1);
      assert.ok(short[0]!.pid.equals(target.pid));
      assert.equal(short[0]!.messagesMailbox, 4);
      assert.equal(short[0]!.state, ProcessState.Running);
      release.resolve();
      await target.inbox.next((s) => s.kind === 'message' && s.message === 2);
      await exec(node, target.pid, () => undefined);
      assert.deepEqual(node.processInfo(target.pid).mailboxQueues, { urgent: 0, system: 0, main: 0, log: 0 });
      assert.deepEqual(target.inbox.messages().slice(1), [4, 3, 1, 2], 'urgent → system → main');
    });

    test('info() needs state Running; processInfo of an unknown process is ErrProcessUnknown', async () => {
      const seen = deferred<unknown>();
      await spawnTest(node, {
        hooks: {
          init(a) {
            try {
              a.info();
              seen.resolve('allowed');
            } catch (e) {
              seen.resolve(e);
            }
          },
        },
      });
      assert.equal(((await seen.promise) as { code?: string }).code, 'ERR_NOT_ALLOWED');
      assert.throws(() => node.processInfo(new PID(node.name, 999_999, node.creation)), {
        code: 'ERR_PROCESS_UNKNOWN',
      });
    });

    test('processList and processListShortInfo', async () => {
      const a = await spawnTest(node);
      const b = await spawnTest(node);
      const list = node.processList();
      assert.ok(list.some((p) => p.equals(a.pid)));
      assert.ok(list.some((p) => p.equals(b.pid)));
      const short = node.processListShortInfo(a.pid.id, 2);
      assert.deepEqual(
        short.map((s) => s.pid.id),
        [a.pid.id, b.pid.id],
      );
      assert.throws(() => node.processListShortInfo(999), { code: 'ERR_INCORRECT' });
    });
  });

  describe('node info', () => {
    test('counters follow processes, names, aliases, events, zombees', async () => {
      const n = await testNode({ version: { name: 'app', release: '1.2.3' } });
      try {
        const i0 = n.info();
        assert.equal(i0.name, n.name);
        assert.equal(i0.processesTotal, 0);
        assert.equal(i0.processesRunning, 0);
        assert.equal(i0.processesZombee, 0);
        assert.equal(i0.registeredNames, 0);
        assert.equal(i0.registeredAliases, 0);
        assert.equal(i0.registeredEvents, 0);
        assert.equal(i0.logLevel, LogLevel.Info);
        assert.equal(i0.version.release, '1.2.3');
        assert.equal(i0.framework.name, 'ergo-ts');
        assert.equal(typeof i0.uptime, 'number');
        assert.ok(i0.memoryUsed > 0 && i0.memoryAlloc > 0);
        const p = await spawnTest(n, { name: 'counted' });
        await exec(n, p.pid, (a) => {
          a.createAlias();
          a.registerEvent('counted_event');
          const i = a.node.info();
          assert.equal(i.processesRunning, 1, 'the process asking is running');
        });
        n.registerEvent('node_event');
        const release = deferred<void>();
        const entered = deferred<void>();
        n.send(p.pid, new Hold(release.promise, entered));
        await entered.promise;
        const i1 = n.info();
        assert.equal(i1.processesTotal, 1);
        assert.equal(i1.processesRunning, 1);
        assert.equal(i1.registeredNames, 1);
        assert.equal(i1.registeredAliases, 1);
        assert.equal(i1.registeredEvents, 2);
        n.kill(p.pid);
        assert.equal(n.info().processesZombee, 1);
        release.resolve();
        await p.inbox.terminated();
        const i2 = n.info();
        assert.equal(i2.processesTotal, 0);
        assert.equal(i2.processesZombee, 0);
        assert.equal(i2.registeredNames, 0);
        assert.equal(i2.registeredAliases, 0);
        assert.equal(i2.registeredEvents, 1);
      } finally {
        await n.stop();
      }
      assert.throws(() => n.info(), { code: 'ERR_NODE_TERMINATED' });
      assert.throws(() => n.processList(), { code: 'ERR_NODE_TERMINATED' });
    });
  });
});
