// Node shutdown (issue 3 item 7, ERGO-API §1 Graceful stop / Forced stop / Wait / Signals rows,
// §7 item 5): stop() sends untrappable shutdown exits and waits; the shutdownTimeout path logs
// the pending processes and ends them by force with an error; stopForce() kills; a process that
// stops its own node (through its own handle) does not deadlock; async stop hooks after
// processes, bounded by shutdownTimeout; idempotence, wait(), asyncDispose, opt-in signals.

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { format } from 'node:util';

import {
  childSpec,
  ErrTimeout,
  ExitReason,
  LogLevel,
  Supervisor,
  SupervisorType,
  TerminateReasonKill,
  TerminateReasonShutdown,
  unwrapReason,
  type MessageLog,
  type SupervisorSpec,
  type Node,
} from '../src/index.js';
import { engineOf } from '../src/node/internals.js';
import { DEFAULT_SHUTDOWN_TIMEOUT, PENDING_LOG_INTERVAL } from '../src/node/shutdown.js';
import {
  deferred,
  exec,
  guardUnhandled,
  Hold,
  Inbox,
  rejectsCode,
  spawnChild,
  spawnTest,
  TestActor,
  testNode,
  within,
} from './lifecycle_helpers.js';

guardUnhandled();

const text = (m: MessageLog): string => format(m.format, ...m.args);

describe('graceful stop', () => {
  test('every process gets an untrappable shutdown exit from its parent; stop resolves once all ended', async () => {
    const node = await testNode();
    const a = await spawnTest(node);
    const b = await spawnTest(node, { name: 'stop_b' });
    await exec(node, b.pid, (x) => x.setTrapExit(true));
    const child = await spawnChild(node, a.pid);
    await exec(node, child.pid, (x) => x.setTrapExit(true));
    assert.equal(node.isAlive(), true);
    await node.stop();
    for (const [p, parent] of [
      [a, node.pid],
      [b, node.pid],
      [child, a.pid],
    ] as const) {
      const r = await p.inbox.terminated();
      assert.ok(r instanceof ExitReason, 'an exit signal, not a kill');
      assert.ok(r.source.toString() === parent.toString(), 'sent as if from the parent');
      assert.equal(unwrapReason(r), TerminateReasonShutdown);
      assert.deepEqual(p.inbox.messages(), [], 'never trapped');
    }
    assert.equal(node.isAlive(), false);
    assert.equal(node.uptime(), 0);
    assert.throws(() => node.info(), { code: 'ERR_NODE_TERMINATED' });
    await rejectsCode(node.spawn(TestActor), 'ERR_NODE_TERMINATED');
    await node.wait(); // resolves at once
    await rejectsCode(node.waitWithTimeout(10), 'ERR_NODE_TERMINATED');
  });

  test('stop waits for slow terminations (async handlers finishing); wait() resolves with it', async () => {
    const node = await testNode();
    const release = deferred<void>();
    const entered = deferred<void>();
    const slow = await spawnTest(node);
    node.send(slow.pid, new Hold(release.promise, entered));
    await entered.promise;
    const waited = node.wait();
    let stopped = false;
    const stopping = node.stop().then(() => {
      stopped = true;
    });
    // The busy process holds the stop while it runs (checked after a full event-loop turn).
    await new Promise((r) => setImmediate(r));
    assert.equal(stopped, false);
    assert.equal(node.isAlive(), true, 'alive while stopping');
    release.resolve();
    await stopping;
    await waited;
    assert.equal(unwrapReason(await slow.inbox.terminated()), TerminateReasonShutdown);
  });

  test('stop is idempotent; stop after stop resolves; asyncDispose stops', async () => {
    const node = await testNode();
    await spawnTest(node);
    const s1 = node.stop();
    const s2 = node.stop();
    await Promise.all([s1, s2]);
    await node.stop();
    await node.stopForce();
    const n2 = await testNode();
    const p = await spawnTest(n2);
    await n2[Symbol.asyncDispose]();
    assert.equal(n2.isAlive(), false);
    assert.equal(unwrapReason(await p.inbox.terminated()), TerminateReasonShutdown, 'a graceful stop');
  });

  test('spawns are refused once stopping; calls left pending fail', async () => {
    const node = await testNode();
    const silent = await spawnTest(node, { hooks: { call: () => undefined } });
    const pending = node.call(silent.pid, 'never answered', { timeout: 60_000 });
    const stopping = node.stop();
    await rejectsCode(node.spawn(TestActor), 'ERR_NODE_TERMINATED');
    await stopping;
    const e = await pending.then(
      () => assert.fail('the call cannot succeed'),
      (err: unknown) => err as { code?: string },
    );
    assert.ok(['ERR_PROCESS_TERMINATED', 'ERR_NODE_TERMINATED'].includes(e.code ?? ''), String(e.code));
  });

  test('a spawn whose async init is still running when the node stops fails with ErrNodeTerminated', async () => {
    const node = await testNode();
    const initGate = deferred<void>();
    const initStarted = deferred<void>();
    const spawning = spawnTest(node, {
      hooks: {
        init: async () => {
          initStarted.resolve();
          await initGate.promise;
        },
      },
    });
    await initStarted.promise;
    const stopping = node.stop();
    initGate.resolve();
    await rejectsCode(spawning, 'ERR_NODE_TERMINATED');
    await stopping;
    assert.equal(node.isAlive(), false);
  });

  test('a process stuck in its async init when the node stops: the spawn fails at once, its name is released (regression)', async () => {
    const node = await testNode({ shutdownTimeout: 300 });
    const initStarted = deferred<void>();
    const spawning = spawnTest(node, {
      name: 'stuck-init',
      hooks: {
        init: () => {
          initStarted.resolve();
          return new Promise<void>(() => undefined); // never settles
        },
      },
    });
    await initStarted.promise;
    await within(node.stop(), 'stop');
    assert.equal(engineOf(node).names.size, 0, 'the spawn-time name is released by the stop');
    await within(rejectsCode(spawning, 'ERR_NODE_TERMINATED'), 'the spawn to fail', 1000);
  });

  test('a root-handle stop called right after an await that resumed in the same tick as a handler touching node waits for every process (regression)', async () => {
    // Before node handles the engine guessed which process called stop() (the one that last read
    // `this.node`). A root-handle stop() waits for every process, whoever touched their handles.
    // (A generous shutdownTimeout: its expiry would reject the stop on a slow machine.)
    const node = await testNode({ shutdownTimeout: 60_000 });
    const reader = await spawnTest(node, {
      hooks: {
        message(a, _f, m) {
          if (m === 'read') void a.node.name;
        },
      },
    });
    const echo = await spawnTest(node, { hooks: { call: () => 'pong' } });
    const reply = node.call(echo.pid, 'ping');
    node.send(reader.pid, 'read'); // runs in the same drain, after the reply settled the call
    await reply; // resumes after the reader touched node, before the microtask that forgets it
    await node.stop();
    assert.equal(node.isAlive(), false, 'stop() resolved only once the node stopped');
    assert.equal(engineOf(node).processes.size, 0);
  });

  test('a root-handle stop called right after an await, in the same tick as a suspended handler touching its node handle, waits for that handler (formerly todo)', async () => {
    const node = await testNode({ shutdownTimeout: 60_000 });
    const gate = deferred<void>();
    const hold = deferred<void>();
    const reader = await spawnTest(node, {
      hooks: {
        message(a, _f, m) {
          if (m === 'read later') return gate.promise.then(() => void a.node.name).then(() => hold.promise);
        },
      },
    });
    node.send(reader.pid, 'read later');
    await new Promise((r) => setImmediate(r));
    gate.resolve(); // the reader's continuation is queued first...
    await Promise.resolve(); // ...then ours, before the microtask that forgets the reader
    const stopping = node.stop();
    let resolved = false;
    void stopping.then(() => (resolved = true));
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
    const early = resolved && node.isAlive();
    hold.resolve();
    await stopping;
    assert.equal(early, false, 'stop() resolved while the node was still running');
  });

  test('loggers are terminated after the processes ended', async () => {
    const node = await testNode();
    const order: string[] = [];
    node.loggerAdd('l', { log: () => undefined, terminate: () => void order.push('logger') });
    await spawnTest(node, { hooks: { terminate: () => void order.push('process') } });
    await node.stop();
    assert.deepEqual(order, ['process', 'logger']);
  });
});

describe('shutdown timeout', () => {
  test('pending processes are logged (PID, name, state, queues), then killed, and stop rejects with ErrTimeout', async (t) => {
    const logs = new Inbox();
    const node = await testNode({ shutdownTimeout: 200 });
    node.loggerAdd('capture', { log: (m) => logs.push({ kind: 'log', message: m }) });
    const stuck = await spawnTest(node, { name: 'stuck_one' });
    const entered = deferred<void>();
    node.send(stuck.pid, new Hold(new Promise(() => undefined), entered)); // never settles
    await entered.promise;
    node.send(stuck.pid, 'waiting in main');
    const quick = await spawnTest(node);
    const waited = node.wait();
    // Mocked timers: the 200 ms run out only once the quick process has ended (on a loaded
    // machine real ones could expire first, and quick would be killed and listed as pending).
    t.mock.timers.enable({ apis: ['setInterval', 'setTimeout'] });
    let stopping: Promise<void>;
    try {
      stopping = node.stop();
      stopping.catch(() => undefined);
      assert.equal(unwrapReason(await quick.inbox.terminated()), TerminateReasonShutdown);
      t.mock.timers.tick(200);
    } finally {
      t.mock.timers.reset();
    }
    const e = await within(rejectsCode(stopping, 'ERR_TIMEOUT'), 'the stop to give up');
    await within(waited, 'wait() to resolve after a timed-out stop');
    assert.ok(ErrTimeout.is(e));
    assert.equal(await stuck.inbox.terminated(), TerminateReasonKill, 'killed when the time is up');
    assert.equal(node.isAlive(), false);
    const pending = logs
      .ofKind('log')
      .filter((s) => s.message.level === LogLevel.Warning && text(s.message).includes(stuck.pid.toString()));
    assert.ok(pending.length >= 1, 'the pending process is logged');
    const line = text(pending[0]!.message);
    assert.match(line, /'stuck_one'/);
    assert.match(line, /running/);
    assert.match(line, /urgent 1/, 'its undelivered shutdown exit');
    assert.match(line, /main 1/);
    assert.ok(
      !logs.ofKind('log').some((s) => text(s.message).includes(quick.pid.toString())),
      'processes that ended are not listed',
    );
  });

  test('while waiting, the pending processes are logged every 5 s (mocked timers)', async (t) => {
    const logs = new Inbox();
    const node = await testNode({ shutdownTimeout: 60_000 });
    node.loggerAdd('capture', { log: (m) => logs.push({ kind: 'log', message: m }) });
    const stuck = await spawnTest(node, { name: 'slow_poke' });
    const entered = deferred<void>();
    node.send(stuck.pid, new Hold(new Promise(() => undefined), entered));
    await entered.promise;
    t.mock.timers.enable({ apis: ['setInterval', 'setTimeout'] });
    let stopping: Promise<void> | undefined;
    try {
      stopping = node.stop();
      stopping.catch(() => undefined);
      // Stop hooks may await before the exits go out: wait until the stuck process has its exit.
      for (let i = 0; i < 100 && node.processInfo(stuck.pid).mailboxQueues.urgent === 0; i++)
        await new Promise((r) => setImmediate(r));
      assert.equal(node.processInfo(stuck.pid).mailboxQueues.urgent, 1);
      const pendingLines = (): string[] =>
        logs
          .ofKind('log')
          .map((s) => text(s.message))
          .filter((l) => l.includes(stuck.pid.toString()));
      assert.deepEqual(pendingLines(), [], 'nothing logged before 5 s');
      t.mock.timers.tick(4_999);
      assert.deepEqual(pendingLines(), []);
      t.mock.timers.tick(1);
      assert.equal(pendingLines().length, 1, 'logged at 5 s');
      assert.match(pendingLines()[0]!, /'slow_poke'.*running.*urgent 1 system 0 main 0 log 0/);
      t.mock.timers.tick(5_000);
      assert.equal(pendingLines().length, 2, 'and again at 10 s');
    } finally {
      t.mock.timers.reset();
    }
    await node.stopForce();
    await stopping;
    assert.equal(await stuck.inbox.terminated(), TerminateReasonKill);
  });

  test('stopForce during a stuck graceful stop ends it at once', async () => {
    const node = await testNode({ shutdownTimeout: 60_000 });
    const stuck = await spawnTest(node);
    const entered = deferred<void>();
    node.send(stuck.pid, new Hold(new Promise(() => undefined), entered));
    await entered.promise;
    const graceful = node.stop();
    await node.stopForce();
    await within(
      graceful.catch(() => undefined),
      'the graceful stop to settle',
    );
    assert.equal(await stuck.inbox.terminated(), TerminateReasonKill);
    assert.equal(node.isAlive(), false);
  });
});

describe('stop hooks after processes (async: closing sockets after the last terminate packets)', () => {
  test('the stop waits for an async hook; it runs once every process has ended, before the node is stopped', async () => {
    const node = await testNode();
    const p = await spawnTest(node);
    const seen: string[] = [];
    const release = deferred<void>();
    const entered = deferred<void>();
    engineOf(node).addStopHook({
      afterProcesses: async () => {
        seen.push(`hook: ${node.processList().length} processes, alive ${node.isAlive()}`);
        entered.resolve();
        await release.promise;
        seen.push('hook done');
      },
    });
    let stopped = false;
    const stopping = node.stop().then(() => {
      stopped = true;
    });
    await within(entered.promise, 'the hook to run');
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
    assert.equal(stopped, false, 'the stop waits for the hook');
    release.resolve();
    await stopping;
    assert.deepEqual(seen, ['hook: 0 processes, alive true', 'hook done']);
    assert.equal(unwrapReason(await p.inbox.terminated()), TerminateReasonShutdown);
    assert.equal(node.isAlive(), false);
  });

  test('a hook that never settles is bounded by shutdownTimeout: the stop rejects with ErrTimeout and the node is stopped', async () => {
    const node = await testNode({ shutdownTimeout: 100 });
    engineOf(node).addStopHook({ afterProcesses: () => new Promise<void>(() => undefined) });
    const waited = node.wait();
    const e = await rejectsCode(node.stop(), 'ERR_TIMEOUT');
    assert.match(e.message, /hook/);
    await within(waited, 'wait() to resolve');
    assert.equal(node.isAlive(), false);
  });

  test('a failing hook (throw or rejection) is logged and the stop goes on', async () => {
    const logs = new Inbox();
    const node = await testNode();
    node.loggerAdd('capture', { log: (m) => logs.push({ kind: 'log', message: m }) });
    const ran: string[] = [];
    const engine = engineOf(node);
    engine.addStopHook({
      afterProcesses: () => {
        ran.push('throws');
        throw new Error('hook threw');
      },
    });
    engine.addStopHook({
      afterProcesses: async () => {
        ran.push('rejects');
        throw new Error('hook rejected');
      },
    });
    engine.addStopHook({ afterProcesses: () => void ran.push('last') });
    await node.stop();
    assert.deepEqual(ran, ['throws', 'rejects', 'last']);
    const lines = logs.ofKind('log').map((s) => text(s.message));
    assert.ok(lines.some((l) => l.includes('hook threw')));
    assert.ok(lines.some((l) => l.includes('hook rejected')));
  });
});

describe('the shutdownTimeout option', () => {
  test('defaults: 3 minutes, pending processes logged every 5 s', () => {
    assert.equal(DEFAULT_SHUTDOWN_TIMEOUT, 180_000);
    assert.equal(PENDING_LOG_INTERVAL, 5_000);
  });

  test('must be a positive integer of milliseconds', async () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Infinity, '100' as unknown as number]) {
      await rejectsCode(testNode({ shutdownTimeout: bad }), 'ERR_INCORRECT');
    }
  });
});

describe('forced stop', () => {
  test('stopForce kills every process (idle and busy) and resolves', async () => {
    const node = await testNode();
    const idle = await spawnTest(node);
    const busy = await spawnTest(node);
    const entered = deferred<void>();
    node.send(busy.pid, new Hold(new Promise(() => undefined), entered));
    await entered.promise;
    await node.stopForce();
    assert.equal(await idle.inbox.terminated(), TerminateReasonKill);
    assert.equal(await busy.inbox.terminated(), TerminateReasonKill);
    assert.equal(node.isAlive(), false);
  });
});

describe('stop from inside a process', () => {
  test('awaiting node.stop() in a handler does not deadlock', async () => {
    const node = await testNode();
    const done = deferred<string>();
    const stopper = await spawnTest(node, {
      hooks: {
        async message(a, _f, m) {
          if (m !== 'stop the node') return;
          await a.node.stop();
          done.resolve('stop resolved inside the process');
        },
      },
    });
    const other = await spawnTest(node);
    node.send(stopper.pid, 'stop the node');
    assert.equal(await within(done.promise, 'stop to resolve inside the handler'), 'stop resolved inside the process');
    await within(node.wait(), 'the node to stop');
    assert.equal(unwrapReason(await other.inbox.terminated()), TerminateReasonShutdown);
    assert.equal(unwrapReason(await stopper.inbox.terminated()), TerminateReasonShutdown);
  });

  test('awaiting node.stop() after an earlier await in the same handler does not deadlock', async () => {
    // A deadlock shows as the guard below expiring, not as the stop's timeout: a short
    // shutdownTimeout could expire on a slow machine and reject a stop that was not stuck.
    const node = await testNode({ shutdownTimeout: 60_000 });
    const done = deferred<string>();
    const stopper = await spawnTest(node, {
      hooks: {
        async message(a, _f, m) {
          if (m !== 'stop later') return;
          await Promise.resolve();
          await new Promise((r) => setImmediate(r));
          try {
            await a.node.stop();
            done.resolve('resolved');
          } catch (e) {
            done.resolve(String((e as { code?: string }).code));
          }
        },
      },
    });
    node.send(stopper.pid, 'stop later');
    assert.equal(await within(done.promise, 'stop to settle inside the handler', 10_000), 'resolved');
    await node.wait();
  });

  test('a supervised child (or an application member) awaiting node.stop() does not hold the stop until shutdownTimeout', async () => {
    // Held, the stop would reject with ErrTimeout once this passes; long, so that a slow machine
    // cannot make a stop that was not held reach it.
    const node = await testNode({ shutdownTimeout: 30_000 });
    const inside = deferred<string>();
    class Sup extends Supervisor {
      override init(): SupervisorSpec {
        return {
          type: SupervisorType.OneForOne,
          children: [
            childSpec({
              name: 'admin',
              factory: TestActor,
              args: [
                new Inbox(),
                {
                  message: async (a: TestActor, _f: unknown, m: unknown) => {
                    if (m !== 'shut everything down') return;
                    await a.node.stop().then(
                      () => inside.resolve('resolved'),
                      (e: unknown) => inside.resolve(String(e)),
                    );
                  },
                },
              ],
            }),
          ],
        };
      }
    }
    await node.spawn(Sup);
    node.send('admin', 'shut everything down');
    const outcome = await node.stop().then(
      () => 'resolved',
      (e: { code?: string }) => e.code,
    );
    assert.equal(outcome, 'resolved', 'the graceful stop finished without timing out');
    assert.equal(await within(inside.promise, 'the stop inside the child'), 'resolved');
  });

  test('stopForce from inside a handler', async () => {
    const node = await testNode();
    const p = await spawnTest(node, {
      hooks: {
        message(a, _f, m) {
          if (m === 'force') void a.node.stopForce();
        },
      },
    });
    node.send(p.pid, 'force');
    await within(node.wait(), 'the node to stop');
    assert.equal(await p.inbox.terminated(), TerminateReasonKill);
  });
});

describe('signals', () => {
  /** The listener a node added for `signal` (called directly: emitting a real signal would reach the test runner too). */
  function addedListener(signal: 'SIGTERM' | 'SIGINT', before: Function[]): () => void {
    const added = process.listeners(signal).filter((l) => !before.includes(l));
    assert.equal(added.length, 1, `one ${signal} listener added`);
    return added[0] as () => void;
  }

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    test(`handleSignals is opt-in: no listeners by default; ${signal} stops a node that asked for it`, async () => {
      const before = process.listeners(signal);
      const plain = await testNode();
      assert.equal(process.listenerCount(signal), before.length, 'no handler without the option');
      const node = await testNode({ handleSignals: true });
      const onSignal = addedListener(signal, before);
      const p = await spawnTest(node);
      onSignal();
      await within(node.wait(), `the node to stop on ${signal}`);
      assert.equal(unwrapReason(await p.inbox.terminated()), TerminateReasonShutdown, 'a graceful stop');
      assert.deepEqual(process.listeners(signal), before, 'handlers removed after stop');
      assert.equal(plain.isAlive(), true, 'other nodes are untouched');
      await plain.stop();
    });
  }

  test('the signal handlers are removed by a normal stop too', async () => {
    const beforeTerm = process.listeners('SIGTERM');
    const beforeInt = process.listeners('SIGINT');
    const node: Node = await testNode({ handleSignals: true });
    addedListener('SIGTERM', beforeTerm);
    addedListener('SIGINT', beforeInt);
    await node.stop();
    assert.deepEqual(process.listeners('SIGTERM'), beforeTerm);
    assert.deepEqual(process.listeners('SIGINT'), beforeInt);
  });
});
