// Ergo 3.2's call variants (`Call`, `CallWithTimeout`, `CallWithPriority`, `CallImportant`,
// `CallPID`, `CallProcessID`, `CallAlias`) on the Node and on a Process, `Node.Inspect`, and
// `Process.SendWithPriorityAfter`. Timeouts are milliseconds here (Ergo: seconds).

import { strict as assert } from 'node:assert';
import { describe, mock, test } from 'node:test';

import {
  Actor,
  type Alias,
  MessagePriority,
  PID,
  ProcessID,
  type Atom,
  type HandlerResult,
  type MessageOptions,
  type Node,
  type Ref,
} from '../src/index.js';
import { fakeNetwork } from './remote_helpers.js';
import { deferred, Inbox, noUnhandled, rejectsWith, withNode, type Deferred } from './helpers.js';

noUnhandled();

/**
 * Answers `re:<request>` (never answers 'silence'), records what it handles in `seen`, blocks
 * on a Deferred sent as a message, runs a function sent as a message inside its handler.
 */
class Server extends Actor {
  seen!: Inbox;
  override init(seen: Inbox = new Inbox()) {
    this.seen = seen;
  }
  override handleMessage(from: PID, message: unknown): HandlerResult {
    if (typeof message === 'function') return (message as (self: Server) => Promise<void>)(this);
    if (message instanceof Gate) {
      message.entered.resolve();
      return message.release.promise;
    }
    this.seen.push(message, from);
  }
  override handleCall(from: PID, _ref: Ref, request: unknown) {
    this.seen.push(`call:${String(request)}`, from);
    return request === 'silence' ? undefined : `re:${String(request)}`;
  }
  override handleInspect(from: PID, ...items: string[]): Record<string, string> {
    this.seen.push('inspect', from);
    return { server: 'yes', items: items.join(',') };
  }
}

/** Keeps a Server busy until released. */
class Gate {
  readonly entered: Deferred<void> = deferred<void>();
  readonly release: Deferred<void> = deferred<void>();
}

/** Runs `fn` inside the server's handler (state Running) and resolves with its result. */
function inside<T>(node: Node, pid: PID, fn: (self: Server) => Promise<T> | T): Promise<T> {
  const d = deferred<T>();
  node.send(pid, (self: Server) => {
    let r: Promise<T> | T;
    try {
      r = fn(self);
    } catch (e) {
      d.reject(e);
      return undefined;
    }
    return Promise.resolve(r).then(d.resolve, d.reject);
  });
  return d.promise;
}

describe('Node call variants', () => {
  test('callWithTimeout: the reply, or ErrTimeout; a timeout out of range is ErrIncorrect', () =>
    withNode(async (node) => {
      const s = await node.spawn(Server);
      assert.equal(await node.callWithTimeout(s, 'q', 10_000), 're:q');
      await rejectsWith(node.callWithTimeout(s, 'silence', 10), 'ERR_TIMEOUT');
      await rejectsWith(node.callWithTimeout(s, 'q', 0), 'ERR_INCORRECT');
      await rejectsWith(node.callWithTimeout(s, 'q', -5), 'ERR_INCORRECT');
    }));

  test('callWithPriority: a High request overtakes queued normal messages; an unknown priority is ErrIncorrect', () =>
    withNode(async (node) => {
      const seen = new Inbox();
      const s = await node.spawn(Server, {}, seen);
      const gate = new Gate();
      node.send(s, gate);
      await gate.entered.promise;
      node.send(s, 'a');
      node.send(s, 'b');
      const reply = node.callWithPriority(s, 'urgent', MessagePriority.High);
      gate.release.resolve();
      assert.equal(await reply, 're:urgent');
      assert.deepEqual(
        (await seen.count(3)).map((x) => x.message),
        ['call:urgent', 'a', 'b'],
      );
      await rejectsWith(node.callWithPriority(s, 'q', 7 as MessagePriority), 'ERR_INCORRECT');
    }));

  test('callPID / callProcessID / callAlias: by their target kind, with an optional timeout; another kind is ErrIncorrect', () =>
    withNode(async (node) => {
      const s = await node.spawnRegister('variants_server', Server);
      const alias = await inside(node, s, (self) => self.createAlias());
      assert.equal(await node.callPID(s, 'pid'), 're:pid');
      assert.equal(
        await node.callProcessID(new ProcessID('variants_server' as Atom, node.name), 'name', 10_000),
        're:name',
      );
      assert.equal(await node.callAlias(alias, 'alias', 10_000), 're:alias');
      await rejectsWith(node.callPID(s, 'silence', 10), 'ERR_TIMEOUT');
      await rejectsWith(node.callPID('variants_server' as unknown as PID, 'x'), 'ERR_INCORRECT');
      await rejectsWith(node.callProcessID(s as unknown as ProcessID, 'x'), 'ERR_INCORRECT');
      await rejectsWith(node.callAlias(s as unknown as Alias, 'x'), 'ERR_INCORRECT');
      await rejectsWith(node.callPID(new PID(node.name, 999_999, node.creation), 'x'), 'ERR_PROCESS_UNKNOWN');
    }));

  test('callImportant: locally as call (errors at once); remotely the request carries the important flag', () =>
    withNode(async (node) => {
      const s = await node.spawn(Server);
      assert.equal(await node.callImportant(s, 'q'), 're:q');
      await rejectsWith(node.callImportant('nobody_here', 'q'), 'ERR_PROCESS_UNKNOWN');
      const X = 'x@remote' as Atom;
      const conn = fakeNetwork(node, X).get(X)!;
      const remote = new PID(X, 1001, 7);
      void node.callImportant(remote, 'q').catch(() => undefined);
      void node.callWithPriority(remote, 'q', MessagePriority.Max).catch(() => undefined);
      void node.callProcessID(new ProcessID('svc' as Atom, X), 'q', 10).catch(() => undefined);
      const calls = conn.of('callPID') as [PID, PID, MessageOptions, unknown][];
      assert.equal(calls[0]![2].important, true);
      assert.equal(calls[1]![2].important, false);
      assert.equal(calls[1]![2].priority, MessagePriority.Max);
      assert.equal(conn.of('callProcessID').length, 1);
    }));
});

describe('Process call variants', () => {
  test('every variant from a handler; wrong target kinds are ErrIncorrect; remote callImportant sets the flag', () =>
    withNode(async (node) => {
      const s = await node.spawnRegister('p_variants', Server);
      const alias = await inside(node, s, (self) => self.createAlias());
      const caller = await node.spawn(Server);
      const replies = await inside(node, caller, async (self) => [
        await self.callWithTimeout(s, 't', 10_000),
        await self.callWithPriority(s, 'p', MessagePriority.High),
        await self.callImportant(s, 'i'),
        await self.callPID(s, 'pid'),
        await self.callProcessID(new ProcessID('p_variants' as Atom, node.name), 'pid2', 10_000),
        await self.callAlias(alias, 'a'),
        await self.callPID(s, 'silence', 10).catch((e: { code?: string }) => e.code),
        await self.callAlias(s as unknown as Alias, 'x').catch((e: { code?: string }) => e.code),
        await self.callProcessID(alias as unknown as ProcessID, 'x').catch((e: { code?: string }) => e.code),
        await self.callPID(alias as unknown as PID, 'x').catch((e: { code?: string }) => e.code),
      ]);
      assert.deepEqual(replies, [
        're:t',
        're:p',
        're:i',
        're:pid',
        're:pid2',
        're:a',
        'ERR_TIMEOUT',
        'ERR_INCORRECT',
        'ERR_INCORRECT',
        'ERR_INCORRECT',
      ]);
      const X = 'x@remote' as Atom;
      const conn = fakeNetwork(node, X).get(X)!;
      await inside(node, caller, (self) => void self.callImportant(new PID(X, 1001, 7), 'q').catch(() => undefined));
      const [[, , o]] = conn.of('callPID') as [PID, PID, MessageOptions, unknown][];
      assert.equal(o!.important, true);
    }));
});

describe('Node.inspect', () => {
  test('by PID, name or ProcessID; the errors of a process inspect', () =>
    withNode(async (node) => {
      const s = await node.spawnRegister('inspected', Server);
      assert.deepEqual(await node.inspect(s, 'a', 'b'), { server: 'yes', items: 'a,b' });
      assert.deepEqual(await node.inspect('inspected'), { server: 'yes', items: '' });
      assert.deepEqual(await node.inspect(new ProcessID('inspected' as Atom, node.name) as unknown as string), {
        server: 'yes',
        items: '',
      });
      await rejectsWith(node.inspect(new PID(node.name, 999_999, node.creation)), 'ERR_PROCESS_UNKNOWN');
      await rejectsWith(node.inspect('nobody'), 'ERR_PROCESS_UNKNOWN');
      await rejectsWith(node.inspect(new PID('other@host', 1001, 1)), 'ERR_NOT_ALLOWED');
      await rejectsWith(node.inspect(42 as unknown as PID), 'ERR_INCORRECT');
    }));

  test('it jumps the queue: a busy process answers it before its queued messages', () =>
    withNode(async (node) => {
      const seen = new Inbox();
      const s = await node.spawn(Server, {}, seen);
      const gate = new Gate();
      node.send(s, gate);
      await gate.entered.promise;
      node.send(s, 'queued');
      const inspecting = node.inspect(s);
      gate.release.resolve();
      assert.equal((await inspecting).server, 'yes');
      assert.deepEqual(
        (await seen.count(2)).map((x) => x.message),
        ['inspect', 'queued'],
        'answered before the queued message',
      );
    }));
});

describe('sendWithPriorityAfter', () => {
  test('the delayed message lands in the queue of its priority; cancel stops it; bad priority or delay is ErrIncorrect', () =>
    withNode(async (node) => {
      const seen = new Inbox();
      const target = await node.spawn(Server, {}, seen);
      const sender = await node.spawn(Server);
      const gate = new Gate();
      node.send(target, gate);
      await gate.entered.promise;
      mock.timers.enable({ apis: ['setTimeout'] });
      try {
        const cancels = await inside(node, sender, (self) => [
          self.sendWithPriorityAfter(target, 'high later', MessagePriority.High, 1000),
          self.sendWithPriorityAfter(target, 'max later', MessagePriority.Max, 1000),
          self.sendWithPriorityAfter(target, 'cancelled', MessagePriority.High, 1000),
        ]);
        assert.equal(cancels[2]!(), true, 'cancelled before it fired');
        mock.timers.tick(1000);
        assert.deepEqual(node.processInfo(target).mailboxQueues, { urgent: 1, system: 1, main: 0, log: 0 });
        assert.equal(cancels[0]!(), false, 'already fired');
      } finally {
        mock.timers.reset();
      }
      gate.release.resolve();
      assert.deepEqual(
        (await seen.count(2)).map((x) => x.message),
        ['max later', 'high later'],
      );
      const codes = await inside(node, sender, (self) =>
        [
          () => self.sendWithPriorityAfter(target, 'x', 9 as MessagePriority, 10),
          () => self.sendWithPriorityAfter(target, 'x', MessagePriority.High, -1),
        ].map((f) => {
          try {
            f();
            return 'ok';
          } catch (e) {
            return (e as { code?: string }).code;
          }
        }),
      );
      assert.deepEqual(codes, ['ERR_INCORRECT', 'ERR_INCORRECT']);
    }));
});
