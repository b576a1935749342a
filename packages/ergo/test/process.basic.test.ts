// A process seen from its behaviour (issue 2, item 6; ERGO-API §5.2 TestT1ProcessBasic): node,
// name, PID, parent/leader, uptime, state, compression settings, send priority, process-level
// names, and aliases (create, delete, list; cleanup on termination). Env: node.env.test.ts;
// spawn: process.spawn.test.ts.

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';

import {
  Actor,
  Alias,
  MessagePriority,
  ProcessState,
  TerminateReasonNormal,
  type Node,
  type PID,
  type Ref,
} from '../src/index.js';
import { deferred, Inbox, probe, withNode, noUnhandled } from './helpers.js';

noUnhandled();

/** Resolves after the current scheduler drain (the batch that resolved a deferred) has ended. */
function turnAfter(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Runs the function it receives by call inside its handler and returns the result or error code. */
class Runner extends Actor {
  override handleCall(_from: PID, _ref: Ref, req: unknown): unknown {
    try {
      return { ok: (req as (self: Runner) => unknown)(this) };
    } catch (e) {
      return { err: (e as { code?: string }).code ?? String(e) };
    }
  }
}

function run<T>(node: Node, pid: PID, fn: (self: Runner) => T): Promise<{ ok?: T; err?: string }> {
  return node.call(pid, fn) as Promise<{ ok?: T; err?: string }>;
}

describe('§5.2 TestT1ProcessBasic', () => {
  test('node, name, PID, parent, leader, uptime, state', () =>
    withNode(async (node) => {
      const pid = await node.spawnRegister('a', Runner);
      const r = await run(node, pid, (self) => ({
        // The process' own handle on the same node: cached, not the root handle.
        node:
          self.node === self.node &&
          self.node !== node &&
          self.node.pid.equals(node.pid) &&
          self.node.name === node.name,
        name: self.name,
        pid: self.pid,
        parent: self.parent,
        leader: self.leader,
        uptime: self.uptime(),
        state: self.state(),
        behavior: self.process.behaviorName(),
      }));
      assert.equal(r.ok!.node, true);
      assert.equal(r.ok!.name, 'a');
      assert.ok(r.ok!.pid.equals(pid));
      assert.ok(r.ok!.parent.equals(node.pid));
      assert.ok(r.ok!.leader.equals(node.pid));
      assert.equal(r.ok!.uptime, 0);
      assert.equal(r.ok!.state, ProcessState.Running);
      assert.equal(r.ok!.behavior, 'Runner');
    }));

  test('process names: ErrTaken while named; unregister; ErrNameUnknown; register a new one', () =>
    withNode(async (node) => {
      const pid = await node.spawnRegister('a', Runner);
      assert.deepEqual(await run(node, pid, (s) => s.registerName('b')), { err: 'ERR_TAKEN' });
      assert.deepEqual(await run(node, pid, (s) => s.unregisterName()), { ok: undefined });
      assert.deepEqual(await run(node, pid, (s) => s.name), { ok: '' });
      assert.deepEqual(await run(node, pid, (s) => s.unregisterName()), { err: 'ERR_NAME_UNKNOWN' });
      assert.deepEqual(await run(node, pid, (s) => (s.registerName('c'), s.name)), { ok: 'c' });
      assert.ok(node.processPID('c').equals(pid));
      await node.spawnRegister('taken', Runner);
      const other = await node.spawn(Runner);
      assert.deepEqual(await run(node, other, (s) => s.registerName('taken')), { err: 'ERR_TAKEN' });
    }));

  test('compression: defaults, setters, invalid values rejected', () =>
    withNode(async (node) => {
      const pid = await node.spawn(Runner);
      const c = await run(node, pid, (s) => s.compression());
      assert.deepEqual(c.ok, { enable: false, type: 'gzip', level: 0, threshold: 1024 });
      assert.deepEqual(await run(node, pid, (s) => (s.setCompression(true), s.compression().enable)), { ok: true });
      assert.deepEqual(await run(node, pid, (s) => s.setCompressionLevel(7 as never)), { err: 'ERR_INCORRECT' });
      assert.deepEqual(await run(node, pid, (s) => (s.setCompressionLevel(2), s.compression().level)), { ok: 2 });
      assert.deepEqual(await run(node, pid, (s) => s.setCompressionThreshold(1)), { err: 'ERR_INCORRECT' });
      assert.deepEqual(await run(node, pid, (s) => (s.setCompressionThreshold(1124), s.compression().threshold)), {
        ok: 1124,
      });
      assert.deepEqual(await run(node, pid, (s) => s.setCompressionType('brotli' as never)), { err: 'ERR_INCORRECT' });
      assert.deepEqual(await run(node, pid, (s) => (s.setCompressionType('zlib'), s.compression().type)), {
        ok: 'zlib',
      });
      assert.equal(node.processInfo(pid).compression.enable, true);
    }));

  test('send priority: default normal, max accepted, invalid rejected', () =>
    withNode(async (node) => {
      const pid = await node.spawn(Runner);
      assert.deepEqual(await run(node, pid, (s) => s.sendPriority()), { ok: MessagePriority.Normal });
      assert.deepEqual(await run(node, pid, (s) => (s.setSendPriority(MessagePriority.Max), s.sendPriority())), {
        ok: MessagePriority.Max,
      });
      assert.deepEqual(await run(node, pid, (s) => s.setSendPriority(3 as never)), { err: 'ERR_INCORRECT' });
      assert.equal(node.processInfo(pid).messagePriority, MessagePriority.Max);
      await assert.rejects(node.spawn(Runner, { sendPriority: 9 as never }), { code: 'ERR_INCORRECT' });
    }));

  test('important delivery and network order flags', () =>
    withNode(async (node) => {
      const pid = await node.spawn(Runner, { importantDelivery: true });
      assert.deepEqual(await run(node, pid, (s) => [s.importantDelivery(), s.keepNetworkOrder()]), {
        ok: [true, true],
      });
      await run(node, pid, (s) => (s.setImportantDelivery(false), s.setKeepNetworkOrder(false)));
      const info = node.processInfo(pid);
      assert.equal(info.importantDelivery, false);
      assert.equal(info.keepNetworkOrder, false);
    }));
});

describe('aliases (§5.2 TestAliases)', () => {
  test('none initially; listed in creation order; delete leaves the rest; each one routes', () =>
    withNode(async (node) => {
      const inbox = new Inbox();
      const pid = await node.spawn(
        class extends Runner {
          override handleMessage(from: PID, m: unknown) {
            inbox.push(m, from);
          }
        },
      );
      assert.deepEqual(await run(node, pid, (s) => s.aliases()), { ok: [] });
      const a1 = (await run(node, pid, (s) => s.createAlias())).ok!;
      const a2 = (await run(node, pid, (s) => s.createAlias())).ok!;
      assert.ok(a1 instanceof Alias && a2 instanceof Alias);
      assert.ok(!a1.equals(a2));
      assert.equal(a1.node, node.name);
      assert.match(a1.toString(), /^Alias#<[0-9A-F]{8}\.\d+\.\d+\.\d+>$/);
      const list = (await run(node, pid, (s) => s.aliases())).ok!;
      assert.ok(list[0]!.equals(a1) && list[1]!.equals(a2) && list.length === 2);
      assert.equal(node.info().registeredAliases, 2);
      assert.deepEqual(node.processInfo(pid).aliases.map(String), [String(a1), String(a2)]);

      node.send(a1, 'via a1');
      node.send(a2, 'via a2');
      await inbox.count(2);

      await run(node, pid, (s) => s.deleteAlias(a1));
      const after = (await run(node, pid, (s) => s.aliases())).ok!;
      assert.equal(after.length, 1);
      assert.ok(after[0]!.equals(a2));
      assert.throws(() => node.send(a1, 'gone'), { code: 'ERR_PROCESS_UNKNOWN' });
      assert.deepEqual(await run(node, pid, (s) => s.deleteAlias(a1)), { err: 'ERR_ALIAS_UNKNOWN' });
      assert.equal(node.info().registeredAliases, 1);
    }));

  test("deleting another process' alias fails with ErrAliasOwner", () =>
    withNode(async (node) => {
      const owner = await node.spawn(Runner);
      const other = await node.spawn(Runner);
      const alias = (await run(node, owner, (s) => s.createAlias())).ok!;
      assert.deepEqual(await run(node, other, (s) => s.deleteAlias(alias)), { err: 'ERR_ALIAS_OWNER' });
      assert.equal(await node.call(alias, () => 'still routed').then((r) => (r as { ok: unknown }).ok), 'still routed');
    }));

  test('aliases are dropped when the owner terminates', () =>
    withNode(async (node) => {
      const done = deferred<void>();
      const pid = await node.spawn(
        class extends Runner {
          override handleMessage() {
            return TerminateReasonNormal;
          }
          override terminate() {
            done.resolve();
          }
        },
      );
      const alias = (await run(node, pid, (s) => (s.createAlias(), s.createAlias()))).ok!;
      assert.equal(node.info().registeredAliases, 2);
      node.send(pid, 'stop');
      await done.promise;
      assert.equal(node.info().registeredAliases, 0);
      assert.throws(() => node.send(alias, 'x'), { code: 'ERR_PROCESS_UNKNOWN' });
      await assert.rejects(node.call(alias, 'x'), { code: 'ERR_PROCESS_UNKNOWN' });
    }));

  test('info() of the process itself (R only) matches node.processInfo', () =>
    withNode(async (node) => {
      const pid = await node.spawnRegister('me', Runner, { mailboxSize: 7 });
      const r = await run(node, pid, (s) => s.info());
      assert.ok(r.ok!.pid.equals(pid));
      assert.equal(r.ok!.name, 'me');
      assert.equal(r.ok!.mailboxSize, 7);
      assert.equal(r.ok!.state, ProcessState.Running);
      const p = await node.spawn(probe());
      assert.equal(node.processInfo(p).behavior, 'Probe');
    }));

  test('runningTime counts the time its handlers ran: at least what they spent, at most the time that passed', () =>
    withNode(async (node) => {
      const spent = deferred<number>();
      let total = 0;
      let handled = 0;
      const pid = await node.spawn(
        probe(() => {
          // Busy for a while by the handler's own clock (three messages, one batch or several).
          const t0 = performance.now();
          while (performance.now() - t0 < 5);
          total += performance.now() - t0;
          if (++handled === 3) spent.resolve(total);
        }),
      );
      const before = performance.now();
      for (let i = 0; i < 3; i++) node.send(pid, i);
      const ms = await spent.promise;
      await turnAfter();
      const running = node.processInfo(pid).runningTime; // nanoseconds
      const elapsed = performance.now() - before;
      assert.ok(running >= ms * 1e6, `runningTime ${running} ns < ${ms} ms spent in handlers`);
      assert.ok(running <= elapsed * 1e6, `runningTime ${running} ns > ${elapsed} ms elapsed`);
    }));
});
