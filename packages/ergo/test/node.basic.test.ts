// The node (issue 2, item 5) and ERGO-API §5.1 (TestT0NodeBasic): start, spawn/spawnRegister,
// names, send/call from the node, kill, sendExit, process list/info, node info counts, stop
// (graceful, forced, from inside a process), Symbol.asyncDispose, and the node after stop.

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';

import {
  Actor,
  ErrNodeTerminated,
  ErrTaken,
  isError,
  MessagePriority,
  PID,
  ProcessID,
  ProcessState,
  startNode,
  TerminateReasonKill,
  TerminateReasonNormal,
  TerminateReasonShutdown,
  unwrapReason,
  type Alias,
  type Ref,
} from '../src/index.js';
import {
  deferred,
  Inbox,
  nodeName,
  probe,
  quietNode,
  rejectsWith,
  thrown,
  within,
  withNode,
  noUnhandled,
} from './helpers.js';

noUnhandled();

describe('startNode', () => {
  test('validates name@host', async () => {
    await rejectsWith(startNode('noat'), 'ERR_INCORRECT');
    await rejectsWith(startNode('a@'), 'ERR_INCORRECT');
    await rejectsWith(startNode('@b'), 'ERR_INCORRECT');
    await rejectsWith(startNode('a@b@c'), 'ERR_INCORRECT');
    await rejectsWith(startNode('x'.repeat(250) + '@localhost'), 'ERR_ATOM_TOO_LONG');
  });

  test('fresh node: name, isAlive, empty info (§5.1)', async () => {
    const name = nodeName('fresh');
    const node = await quietNode({}, undefined, name);
    try {
      assert.equal(node.name, name);
      assert.ok(node.isAlive());
      assert.equal(node.uptime(), 0);
      const info = node.info();
      assert.equal(info.name, name);
      assert.equal(info.processesTotal, 0);
      assert.equal(info.processesRunning, 0);
      assert.equal(info.processesZombee, 0);
      assert.equal(info.registeredAliases, 0);
      assert.equal(info.registeredNames, 0);
      assert.deepEqual(node.processList(), []);
    } finally {
      await node.stopForce();
    }
  });
});

class Echo extends Actor {
  started: unknown[] = [];
  override init(...args: unknown[]) {
    this.started = args;
  }
  override handleCall(_from: PID, _ref: Ref, req: unknown) {
    if (req === 'args') return this.started;
    if (req === 'from') return _from;
    return req;
  }
  override handleMessage() {}
}

describe('spawn', () => {
  test('class or factory, with args; PIDs are distinct; parent and leader are the core PID', () =>
    withNode(async (node) => {
      const a = await node.spawn(Echo, {}, 1, 'two', { three: 3 });
      assert.ok(a instanceof PID);
      assert.deepEqual(await node.call(a, 'args'), [1, 'two', { three: 3 }]);
      let made = 0;
      const b = await node.spawn(() => (made++, new Echo()), {}, 'x');
      assert.equal(made, 1);
      const c = await node.spawn(() => (made++, new Echo()));
      assert.equal(made, 2, 'factory called once per spawn');
      assert.deepEqual(await node.call(b, 'args'), ['x']);
      assert.ok(!a.equals(b) && !b.equals(c));
      const info = node.processInfo(a);
      assert.ok(info.pid.equals(a));
      assert.ok(info.parent.equals(node.pid));
      assert.ok(info.leader.equals(node.pid));
      assert.equal(info.behavior, 'Echo');
      assert.equal(node.info().processesTotal, 3);
    }));

  test('a bad factory is rejected with ErrIncorrect', () =>
    withNode(async (node) => {
      await rejectsWith(node.spawn(null as never), 'ERR_INCORRECT');
      await rejectsWith(node.spawn((() => ({})) as never), 'ERR_INCORRECT');
      await rejectsWith(node.spawn(Echo, { mailboxSize: -1 }), 'ERR_INCORRECT');
      assert.equal(node.info().processesTotal, 0);
    }));

  test('spawnRegister registers the name; a taken name fails with ErrTaken (§5.1)', () =>
    withNode(async (node) => {
      const pid = await node.spawnRegister('echo', Echo);
      assert.equal(node.processName(pid), 'echo');
      assert.ok(node.processPID('echo').equals(pid));
      assert.equal(node.processInfo(pid).name, 'echo');
      const e = await rejectsWith(node.spawnRegister('echo', Echo), 'ERR_TAKEN');
      assert.ok(isError(e, ErrTaken));
      assert.equal(node.info().processesTotal, 1, 'the failed spawn left nothing behind');
      // send by PID and by name succeed; unknown name fails
      const inbox = new Inbox();
      const p = await node.spawnRegister('inbox', probe(inbox.push));
      node.send(p, 'by-pid');
      node.send('inbox', 'by-name');
      node.send(new ProcessID('inbox'), 'by-processid');
      node.send(new ProcessID('inbox', node.name), 'by-processid-with-node');
      const got = await inbox.count(4);
      assert.deepEqual(
        got.map((s) => s.message),
        ['by-pid', 'by-name', 'by-processid', 'by-processid-with-node'],
      );
      assert.ok(
        got.every((s) => s.from.equals(node.pid)),
        'the node sends as its core PID',
      );
      thrown(() => node.send('nobody', 1), 'ERR_PROCESS_UNKNOWN');
      thrown(() => node.send(new PID(node.name, 99999, node.creation), 1), 'ERR_PROCESS_UNKNOWN');
      thrown(() => node.send(new PID(node.name, p.id, node.creation - 1), 1), 'ERR_PROCESS_UNKNOWN');
      thrown(() => node.send(42 as never, 1), 'ERR_UNSUPPORTED');
      thrown(() => node.send(p, 1, { priority: 7 as never }), 'ERR_INCORRECT');
    }));
});

describe('names (§5.1)', () => {
  test('registerName, ErrTaken, ErrProcessUnknown, unregisterName, ErrNameUnknown', () =>
    withNode(async (node) => {
      const pid = await node.spawn(Echo);
      node.registerName('worker', pid);
      assert.equal(node.processName(pid), 'worker');
      assert.ok(node.processPID('worker').equals(pid));
      const other = await node.spawn(Echo);
      thrown(() => node.registerName('worker', other), 'ERR_TAKEN');
      thrown(() => node.registerName('second', pid), 'ERR_TAKEN'); // one name per process
      thrown(() => node.registerName('ghost', new PID(node.name, 4242, node.creation)), 'ERR_PROCESS_UNKNOWN');
      thrown(() => node.registerName('', pid), 'ERR_INCORRECT');
      thrown(() => node.registerName('n'.repeat(256), other), 'ERR_ATOM_TOO_LONG');

      const info = node.processInfo(pid);
      assert.ok(info.pid.equals(pid));
      assert.equal(info.name, 'worker');
      assert.ok(info.state === ProcessState.Sleep || info.state === ProcessState.Running);
      assert.ok(info.parent.equals(node.pid) && info.leader.equals(node.pid));
      assert.equal(node.info().registeredNames, 1);
      assert.equal(node.info().processesTotal, 2);

      assert.ok(node.unregisterName('worker').equals(pid));
      thrown(() => node.unregisterName('worker'), 'ERR_NAME_UNKNOWN');
      thrown(() => node.processPID('worker'), 'ERR_PROCESS_UNKNOWN');
      assert.equal(node.processName(pid), '');
      assert.equal(node.processInfo(pid).name, '');
      assert.equal(node.info().registeredNames, 0);
      // the name is free again
      node.registerName('worker', other);
      assert.ok(node.processPID('worker').equals(other));
    }));

  test('unregistering a spawn-time name clears ProcessInfo.name', () =>
    withNode(async (node) => {
      const pid = await node.spawnRegister('svc', Echo);
      node.unregisterName('svc');
      assert.equal(node.processInfo(pid).name, '');
      thrown(() => node.send('svc', 1), 'ERR_PROCESS_UNKNOWN');
    }));

  test('a terminated process frees its name', () =>
    withNode(async (node) => {
      const pid = await node.spawnRegister('short', Echo);
      node.kill(pid);
      thrown(() => node.processPID('short'), 'ERR_PROCESS_UNKNOWN');
      await node.spawnRegister('short', Echo);
    }));
});

describe('process list and info', () => {
  test('processList, processListShortInfo, processState', () =>
    withNode(async (node) => {
      const pids: PID[] = [];
      for (let i = 0; i < 5; i++) pids.push(await node.spawn(Echo));
      assert.deepEqual(
        node
          .processList()
          .map((p) => p.id)
          .sort(),
        pids.map((p) => p.id).sort(),
      );
      const short = node.processListShortInfo();
      assert.equal(short.length, 5);
      assert.ok(short.every((s) => s.state === ProcessState.Sleep && s.parent.equals(node.pid)));
      assert.equal(node.processListShortInfo(1000, 2).length, 2);
      assert.deepEqual(
        node.processListShortInfo(pids[3]!.id, 0).map((s) => s.pid.id),
        [pids[3]!.id, pids[4]!.id],
      );
      thrown(() => node.processListShortInfo(5), 'ERR_INCORRECT');
      assert.equal(node.processState(pids[0]!), ProcessState.Sleep);
      thrown(() => node.processInfo(new PID(node.name, 77777, node.creation)), 'ERR_PROCESS_UNKNOWN');
      thrown(() => node.processState(new PID(node.name, 77777, node.creation)), 'ERR_PROCESS_UNKNOWN');
    }));

  test('node info counts processes, running ones, names and aliases', () =>
    withNode(async (node) => {
      const seen = deferred<{ running: number; total: number; aliases: number; names: number }>();
      const gate = deferred<void>();
      const pid = await node.spawnRegister(
        'counter',
        probe(async (msg, _from, self) => {
          if (msg === 'alias') {
            self.createAlias();
            self.createAlias();
            const i = node.info();
            seen.resolve({
              running: i.processesRunning,
              total: i.processesTotal,
              aliases: i.registeredAliases,
              names: i.registeredNames,
            });
            await gate.promise;
          }
        }),
      );
      await node.spawn(Echo);
      node.send(pid, 'alias');
      assert.deepEqual(await seen.promise, { running: 1, total: 2, aliases: 2, names: 1 });
      assert.equal(node.info().processesRunning, 1, 'suspended in an async handler still counts as running');
      node.kill(pid);
      const i2 = node.info();
      assert.equal(i2.processesZombee, 1, 'killed while suspended in a handler: zombee');
      assert.equal(i2.processesRunning, 0);
      assert.equal(i2.processesTotal, 2);
      gate.resolve();
    }));
});

describe('send and call from the node', () => {
  test('call by PID, name, ProcessID and alias; the caller is the core PID', () =>
    withNode(async (node) => {
      const aliasD = deferred<Alias>();
      const pid = await node.spawnRegister(
        'calc',
        probe(
          (msg, _from, self) => {
            if (msg === 'make-alias') aliasD.resolve(self.createAlias());
          },
          (req, from) => (req === 'who' ? from : (req as number) * 2),
        ),
      );
      assert.equal(await node.call(pid, 2), 4);
      assert.equal(await node.call('calc', 3), 6);
      assert.equal(await node.call(new ProcessID('calc', node.name), 4), 8);
      node.send(pid, 'make-alias');
      const alias = await aliasD.promise;
      assert.equal(await node.call(alias, 5), 10);
      assert.ok(((await node.call(pid, 'who')) as PID).equals(node.pid));
      await rejectsWith(node.call('nobody', 1), 'ERR_PROCESS_UNKNOWN');
      await rejectsWith(node.call(pid, 1, { timeout: -1 }), 'ERR_INCORRECT');
    }));

  test('send with priority lands in the chosen queue', () =>
    withNode(async (node) => {
      const inbox = new Inbox();
      const pid = await node.spawn(probe(inbox.push));
      node.send(pid, 'normal');
      node.send(pid, 'high', { priority: MessagePriority.High });
      node.send(pid, 'max', { priority: MessagePriority.Max });
      assert.deepEqual(
        (await inbox.count(3)).map((s) => s.message),
        ['max', 'high', 'normal'],
      );
    }));
});

describe('kill and sendExit', () => {
  test('kill of an idle process: gone at once, terminate gets TerminateReasonKill (§5.1)', () =>
    withNode(async (node) => {
      const reason = deferred<Error>();
      const pid = await node.spawnRegister(
        'victim',
        probe(undefined, undefined, (r) => reason.resolve(r)),
      );
      node.kill(pid);
      assert.equal(await reason.promise, TerminateReasonKill);
      thrown(() => node.processInfo(pid), 'ERR_PROCESS_UNKNOWN');
      thrown(() => node.kill(pid), 'ERR_PROCESS_UNKNOWN');
      assert.equal(node.info().processesTotal, 0);
      assert.equal(node.info().registeredNames, 0);
    }));

  test('kill of a busy process: zombee until its handler settles, then killed', () =>
    withNode(async (node) => {
      const inHandler = deferred<void>();
      const release = deferred<void>();
      const reason = deferred<Error>();
      const pid = await node.spawn(
        probe(
          async () => {
            inHandler.resolve();
            await release.promise;
          },
          undefined,
          (r) => reason.resolve(r),
        ),
      );
      node.send(pid, 'work');
      await inHandler.promise;
      node.kill(pid);
      assert.equal(node.processState(pid), ProcessState.Zombee);
      assert.equal(node.info().processesZombee, 1);
      assert.equal(reason.settled, false);
      release.resolve();
      assert.equal(await reason.promise, TerminateReasonKill);
      assert.equal(node.info().processesTotal, 0);
    }));

  test('sendExit: ErrIncorrect without a reason; from the node it terminates (untrappable)', () =>
    withNode(async (node) => {
      const reason = deferred<Error>();
      class Trapper extends Actor {
        override init() {
          this.setTrapExit(true);
        }
        override terminate(r: Error) {
          reason.resolve(r);
        }
      }
      const pid = await node.spawn(Trapper);
      thrown(() => node.sendExit(pid, undefined as never), 'ERR_INCORRECT');
      thrown(() => node.sendExit(pid, 'x' as never), 'ERR_INCORRECT');
      thrown(
        () => node.sendExit(new PID(node.name, 31337, node.creation), TerminateReasonNormal),
        'ERR_PROCESS_UNKNOWN',
      );
      node.sendExit(pid, TerminateReasonNormal);
      const r = await reason.promise;
      assert.equal(unwrapReason(r), TerminateReasonNormal, 'the parent (core PID) exit cannot be trapped');
    }));
});

describe('stop', () => {
  test('graceful stop: every process gets shutdown, stop resolves after they ended; node is dead (§5.1)', async () => {
    const node = await quietNode();
    const reasons: Error[] = [];
    const slowDone = deferred<void>();
    const idleDone = deferred<void>();
    for (let i = 0; i < 3; i++)
      await node.spawn(
        probe(undefined, undefined, (r) => {
          reasons.push(r);
          if (reasons.length === 3) idleDone.resolve();
        }),
      );
    // A process busy in an async handler is waited for.
    const release = deferred<void>();
    const busy = deferred<void>();
    const slow = await node.spawn(
      probe(
        async () => {
          busy.resolve();
          await release.promise;
        },
        undefined,
        (r) => {
          reasons.push(r);
          slowDone.resolve();
        },
      ),
    );
    node.send(slow, 'busy');
    // Stop only once the handler runs: on a loaded machine 'busy' may still be queued after a
    // turn of the event loop, and the stop's urgent exit signal would overtake it.
    await within(busy.promise, 'the slow process to take busy');
    await rejectsWith(node.waitWithTimeout(0), 'ERR_TIMEOUT');
    const waited = node.wait();
    const stopping = node.stop();
    let stopped = false;
    void stopping.then(() => (stopped = true));
    // The idle processes end (however many turns that takes on a loaded machine); stop still
    // waits for the busy one.
    await idleDone.promise;
    await new Promise((r) => setImmediate(r));
    assert.equal(stopped, false, 'stop waits for the busy process');
    assert.equal(reasons.length, 3);
    release.resolve();
    await stopping;
    await slowDone.promise;
    await waited;
    assert.equal(reasons.length, 4);
    for (const r of reasons) assert.equal(unwrapReason(r), TerminateReasonShutdown);
    assert.equal(node.isAlive(), false);
    assert.equal(node.uptime(), 0);
    thrown(() => node.info(), 'ERR_NODE_TERMINATED');
    await rejectsWith(node.waitWithTimeout(10), 'ERR_NODE_TERMINATED');
    await rejectsWith(node.spawn(Echo), 'ERR_NODE_TERMINATED');
    thrown(() => node.send(slow, 1), 'ERR_NODE_TERMINATED');
    await rejectsWith(node.call(slow, 1), 'ERR_NODE_TERMINATED');
    thrown(() => node.processList(), 'ERR_NODE_TERMINATED');
    const e = thrown(() => node.makeRef());
    assert.ok(isError(e, ErrNodeTerminated));
    // idempotent
    await node.stop();
    await node.stopForce();
    await node.wait();
  });

  test('stopForce kills everything at once, pending calls fail', async () => {
    const node = await quietNode();
    const reasons: Error[] = [];
    const hang = deferred<void>();
    const pid = await node.spawn(
      probe(
        async () => {
          await hang.promise;
        },
        () => undefined, // never answers
        (r) => reasons.push(r),
      ),
    );
    await node.spawn(probe(undefined, undefined, (r) => reasons.push(r)));
    node.send(pid, 'busy');
    const pending = node.call(pid, 'q', { timeout: 60_000 });
    await new Promise((r) => setImmediate(r));
    await node.stopForce();
    assert.equal(node.isAlive(), false);
    assert.deepEqual(reasons, [TerminateReasonKill, TerminateReasonKill]);
    const err = await rejectsWith(pending, 'ERR_PROCESS_TERMINATED');
    assert.equal(err.cause, TerminateReasonKill);
    hang.resolve();
  });

  test('Symbol.asyncDispose stops gracefully (await using)', async () => {
    const reason = deferred<Error>();
    let nodeRef: { isAlive(): boolean } | undefined;
    {
      await using node = await quietNode();
      nodeRef = node;
      await node.spawn(probe(undefined, undefined, (r) => reason.resolve(r)));
    }
    assert.equal(nodeRef!.isAlive(), false);
    assert.equal(unwrapReason(await reason.promise), TerminateReasonShutdown);
  });

  test("stop() through the handler's own node handle resolves for that caller at once; the node then stops, the caller last", async () => {
    const node = await quietNode();
    const others: Error[] = [];
    for (let i = 0; i < 3; i++) await node.spawn(probe(undefined, undefined, (r) => others.push(r)));
    const resolvedWith = deferred<boolean>();
    let stopperEnded = false;
    const stopper = await node.spawn(
      probe(
        async (_m, _f, self) => {
          await self.node.stop();
          // The caller cannot wait for its own end: it is released while the node is stopping.
          resolvedWith.resolve(node.isAlive());
        },
        undefined,
        () => {
          stopperEnded = true;
        },
      ),
    );
    node.send(stopper, 'stop');
    assert.equal(await resolvedWith.promise, true, 'released before the node finished stopping');
    await node.wait();
    assert.equal(others.length, 3, 'every other process ended');
    assert.ok(stopperEnded, 'the caller ended with its own shutdown exit');
    assert.equal(node.isAlive(), false);
  });
});
