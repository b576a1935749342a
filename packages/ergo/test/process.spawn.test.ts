// Spawning children (issue 2, item 6; ERGO-API §5.2 TestSpawn/TestParentLeader): parent and
// leader, spawnRegister from a process, options (leader, mailboxSize, logLevel), LinkParent /
// LinkChild (ignored for node spawns), init failures (returned, thrown, rejected, Stop) that
// reject the spawn and leave nothing behind, and InitTimeout.

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';

import {
  Actor,
  ErrTimeout,
  isError,
  LogLevel,
  MessageExitPID,
  Stop,
  TerminateReasonKill,
  TerminateReasonNormal,
  unwrapReason,
  ExitReason,
  type PID,
  type ProcessFactory,
  type ProcessOptions,
  type Ref,
} from '../src/index.js';
import { engineOf } from '../src/node/internals.js';
import { deferred, Inbox, probe, rejectsWith, runScript, withNode, noUnhandled } from './helpers.js';

noUnhandled();

/** Spawns what it is asked to; answers with the PID or the error code. */
class Parent extends Actor {
  override async handleCall(_from: PID, _ref: Ref, req: unknown): Promise<unknown> {
    const [op, a, b, c] = req as [string, unknown, unknown, unknown];
    try {
      if (op === 'spawn')
        return await this.spawn(a as ProcessFactory, (b ?? {}) as ProcessOptions, ...((c as unknown[]) ?? []));
      if (op === 'spawnRegister')
        return await this.spawnRegister(a as string, b as typeof Actor, (c ?? {}) as ProcessOptions);
      if (op === 'info') return this.info();
    } catch (e) {
      return (e as { code?: string }).code ?? e;
    }
    return undefined;
  }
}

class Child extends Actor {
  args: unknown[] = [];
  override init(...args: unknown[]) {
    this.args = args;
  }
  override handleCall(_f: PID, _r: Ref, req: unknown) {
    if (req === 'args') return this.args;
    if (req === 'whoami') return { parent: this.parent, leader: this.leader, name: this.name, level: this.log.level() };
    return req;
  }
}

describe('children (§5.2 TestSpawn, TestParentLeader)', () => {
  test('spawn and spawnRegister from a process: parent = the caller, leader inherited, args delivered', () =>
    withNode(async (node) => {
      const parent = await node.spawn(Parent);
      const child = (await node.call(parent, ['spawn', Child, {}, [1, 'b']])) as PID;
      assert.deepEqual(await node.call(child, 'args'), [1, 'b']);
      const who = (await node.call(child, 'whoami')) as { parent: PID; leader: PID; name: string };
      assert.ok(who.parent.equals(parent));
      assert.ok(who.leader.equals(node.pid), "leader inherited from the parent (the node's core PID)");
      assert.ok(node.processInfo(child).parent.equals(parent));

      const named = (await node.call(parent, ['spawnRegister', 'kid', Child])) as PID;
      assert.ok(node.processPID('kid').equals(named));
      assert.equal(((await node.call(named, 'whoami')) as { name: string }).name, 'kid');
      assert.ok(node.processInfo(named).parent.equals(parent));
      assert.equal(await node.call(parent, ['spawnRegister', 'kid', Child]), 'ERR_TAKEN');
    }));

  test('options.leader overrides, and grandchildren inherit it', () =>
    withNode(async (node) => {
      const leader = await node.spawn(Child);
      const parent = await node.spawn(Parent, { leader });
      assert.ok(node.processInfo(parent).leader.equals(leader));
      const child = (await node.call(parent, ['spawn', Parent])) as PID;
      assert.ok(node.processInfo(child).leader.equals(leader));
      assert.ok(node.processInfo(child).parent.equals(parent));
    }));

  test('log level inherited from the parent unless set; mailbox size and priority from options', () =>
    withNode(async (node) => {
      const parent = await node.spawn(Parent, { logLevel: LogLevel.Warning });
      const child = (await node.call(parent, ['spawn', Child])) as PID;
      assert.equal(((await node.call(child, 'whoami')) as { level: number }).level, LogLevel.Warning);
      const other = (await node.call(parent, ['spawn', Child, { logLevel: LogLevel.Debug, mailboxSize: 3 }])) as PID;
      assert.equal(((await node.call(other, 'whoami')) as { level: number }).level, LogLevel.Debug);
      assert.equal(node.processInfo(other).mailboxSize, 3);
      const top = await node.spawn(Child);
      assert.equal(node.processInfo(top).logLevel, node.log.level(), 'node spawns inherit the node level');
    }));
});

describe('LinkParent / LinkChild', () => {
  test('LinkParent: the child gets an untrappable exit when the parent ends, with its reason', () =>
    withNode(async (node) => {
      const childReason = deferred<Error>();
      class TrappingChild extends Actor {
        override init() {
          this.setTrapExit(true); // the parent's exit cannot be trapped anyway
        }
        override terminate(r: Error) {
          childReason.resolve(r);
        }
      }
      const parent = await node.spawn(
        class extends Parent {
          override handleMessage(_f: PID, m: unknown) {
            return m as Error;
          }
        },
      );
      const child = (await node.call(parent, ['spawn', TrappingChild, { linkParent: true }])) as PID;
      assert.deepEqual(node.processInfo(child).linksPID.map(String), [String(parent)]);
      const why = new Error('parent failed');
      node.send(parent, why);
      const r = await childReason.promise;
      assert.ok(r instanceof ExitReason);
      assert.equal(unwrapReason(r), why);
    }));

  test('LinkChild: the parent gets an exit when the child ends (trapped → MessageExitPID; untrapped → terminates)', () =>
    withNode(async (node) => {
      const inbox = new Inbox();
      class TrappingParent extends Parent {
        override init() {
          this.setTrapExit(true);
        }
        override handleMessage(from: PID, m: unknown) {
          inbox.push(m, from);
        }
      }
      const parent = await node.spawn(TrappingParent);
      const child = (await node.call(parent, ['spawn', Child, { linkChild: true }])) as PID;
      assert.deepEqual(node.processInfo(parent).linksPID.map(String), [String(child)]);
      node.kill(child);
      const [got] = await inbox.count(1);
      assert.ok(got!.message instanceof MessageExitPID);
      assert.ok((got!.message as MessageExitPID).pid.equals(child));
      assert.equal((got!.message as MessageExitPID).reason, TerminateReasonKill);

      const plainReason = deferred<Error>();
      const plain = await node.spawn(
        class extends Parent {
          override terminate(r: Error) {
            plainReason.resolve(r);
          }
        },
      );
      const c2 = (await node.call(plain, ['spawn', Child, { linkChild: true }])) as PID;
      const stop = new Error('child crashed');
      node.sendExit(c2, stop);
      const r = await plainReason.promise;
      assert.ok(r instanceof ExitReason);
      assert.equal(unwrapReason(unwrapReason(r)), stop);
    }));

  test('LinkChild works from init', () =>
    withNode(async (node) => {
      const parentReason = deferred<Error>();
      const childD = deferred<PID>();
      class P extends Actor {
        override async init() {
          childD.resolve(await this.spawn(Child, { linkChild: true }));
        }
        override terminate(r: Error) {
          parentReason.resolve(r);
        }
      }
      const parent = await node.spawn(P);
      const child = await childD.promise;
      assert.deepEqual(node.processInfo(parent).linksPID.map(String), [String(child)]);
      node.kill(child);
      assert.equal(unwrapReason(await parentReason.promise), TerminateReasonKill);
    }));

  test('both options are ignored for node spawns', () =>
    withNode(async (node) => {
      const pid = await node.spawn(Child, { linkParent: true, linkChild: true });
      const info = node.processInfo(pid);
      assert.deepEqual(info.linksPID, []);
      assert.equal(await node.call(pid, 'alive'), 'alive');
    }));

  test('a LinkParent child whose parent ended during its init fails to spawn', () =>
    withNode(async (node) => {
      const gate = deferred<void>();
      const inInit = deferred<void>();
      const result = deferred<unknown>();
      class SlowChild extends Actor {
        override async init() {
          inInit.resolve();
          await gate.promise;
        }
      }
      const parent = await node.spawn(
        probe((_m, _f, self) => {
          self.spawn(SlowChild, { linkParent: true }).then(result.resolve, result.resolve);
          return TerminateReasonNormal;
        }),
      );
      node.send(parent, 'go');
      await inInit.promise;
      gate.resolve();
      const r = await result.promise;
      assert.equal((r as { code?: string }).code, 'ERR_PROCESS_TERMINATED');
      assert.equal(node.info().processesTotal, 0);
    }));

  test('a LinkChild (only) child whose parent ended during its init starts without a link to the dead parent (regression)', () =>
    withNode(async (node) => {
      const gate = deferred<void>();
      const inInit = deferred<void>();
      const result = deferred<unknown>();
      class SlowChild extends Actor {
        override async init() {
          inInit.resolve();
          await gate.promise;
        }
      }
      const parent = await node.spawn(
        probe((_m, _f, self) => {
          self.spawn(SlowChild, { linkChild: true }).then(result.resolve, result.resolve);
          return TerminateReasonNormal;
        }),
      );
      node.send(parent, 'go');
      await inInit.promise;
      gate.resolve();
      const child = (await result.promise) as PID;
      // The relation parent → child would have no live consumer: nobody can ever be told.
      const impl = engineOf(node).processes.get(child.id)!;
      assert.equal(impl.tCount, 0, 'no relation from the ended parent is left on the child');
      node.kill(child);
      assert.equal(node.info().processesTotal, 0);
    }));
});

describe('init failures', () => {
  test('returned Error, thrown Error, rejected promise, Stop: the spawn rejects with it; nothing is left behind', () =>
    withNode(async (node) => {
      let terminated = 0;
      const failures: [string, Error, (e: Error) => unknown][] = [
        ['returned', new Error('returned'), (e) => e],
        [
          'thrown',
          new Error('thrown'),
          (e) => {
            throw e;
          },
        ],
        ['rejected', new Error('rejected'), async (e) => Promise.reject(e)],
        [
          'async-thrown',
          new Error('async thrown'),
          async (e) => {
            await Promise.resolve();
            throw e;
          },
        ],
        ['stop', new Error('stopped'), (e) => new Stop(e)],
      ];
      for (const [name, err, how] of failures) {
        const inbox = new Inbox();
        const sink = await node.spawn(probe(inbox.push));
        class Failing extends Actor {
          override init() {
            this.sendAfter(sink, 'timer from a failed init', 1);
            return how(err);
          }
          override terminate() {
            terminated++;
          }
        }
        const e = await node.spawnRegister(`failing-${name}`, Failing).then(
          () => assert.fail(`${name}: spawn should fail`),
          (x: unknown) => x,
        );
        assert.equal(e, err, `${name}: rejected with init's own error`);
        assert.throws(() => node.processPID(`failing-${name}`), { code: 'ERR_PROCESS_UNKNOWN' });
        // the name is free again
        const again = await node.spawnRegister(`failing-${name}`, Child);
        node.kill(again);
        node.kill(sink);
      }
      assert.equal(terminated, 0, 'terminate is not called for a process whose init failed');
      assert.equal(node.info().processesTotal, 0);
      assert.equal(node.info().registeredNames, 0);
    }));

  test('timers armed in a failed init never fire', () =>
    withNode(async (node) => {
      const inbox = new Inbox();
      const sink = await node.spawn(probe(inbox.push));
      class F extends Actor {
        override init() {
          this.sendAfter(sink, 'from failed init', 1);
          return new Error('no');
        }
      }
      assert.equal(((await node.spawn(F).catch((e: unknown) => e)) as Error).message, 'no');
      const ok = await node.spawn(
        probe((_m, _f, self) => {
          self.sendAfter(sink, 'sentinel', 30);
        }),
      );
      node.send(ok, 'go');
      await inbox.count(1);
      assert.deepEqual(inbox.messages(), ['sentinel']);
    }));

  test('a failed init stops the children it spawned with LinkChild or LinkParent', () =>
    withNode(async (node) => {
      const reasons: Error[] = [];
      const both = deferred<void>();
      const onEnd = (r: Error) => {
        reasons.push(r);
        if (reasons.length === 2) both.resolve();
      };
      const why = new Error('init gave up');
      class P extends Actor {
        override async init() {
          await this.spawn(probe(undefined, undefined, onEnd), { linkChild: true });
          await this.spawn(probe(undefined, undefined, onEnd), { linkParent: true });
          return why;
        }
      }
      assert.equal(await node.spawn(P).catch((e: unknown) => e), why);
      await both.promise;
      for (const r of reasons) assert.equal(unwrapReason(r), why);
      assert.equal(node.info().processesTotal, 0);
    }));
});

describe('what can be spawned', () => {
  test('a class that extends no behaviour, a non-function, a factory returning no behaviour: ErrIncorrect, nothing left behind', () =>
    withNode(async (node) => {
      class NotAnActor {
        x = 1;
      }
      const e = await rejectsWith(node.spawn(NotAnActor as unknown as typeof Actor), 'ERR_INCORRECT');
      assert.match(e.message, /NotAnActor does not extend a process behaviour/);
      await rejectsWith(node.spawn(class {} as unknown as typeof Actor), 'ERR_INCORRECT');
      await rejectsWith(node.spawn(42 as unknown as typeof Actor), 'ERR_INCORRECT');
      await rejectsWith(node.spawn((() => ({})) as unknown as typeof Actor), 'ERR_INCORRECT');
      // A factory's own TypeError is its own: passed through.
      const own = await node
        .spawn((() => {
          throw new TypeError('factory bug');
        }) as unknown as typeof Actor)
        .then(
          () => assert.fail('must reject'),
          (err: unknown) => err as Error,
        );
      assert.ok(own instanceof TypeError && own.message === 'factory bug');
      assert.equal(node.info().processesTotal, 0);
    }));
});

describe('InitTimeout (port extension)', () => {
  test('an init that does not finish in time fails the spawn with ErrTimeout and is discarded', () =>
    withNode(async (node) => {
      const childEnded = deferred<Error>();
      class Stuck extends Actor {
        override async init() {
          await this.spawn(
            probe(undefined, undefined, (r) => childEnded.resolve(r)),
            { linkChild: true },
          );
          await new Promise(() => undefined); // never
        }
      }
      const e = await rejectsWith(node.spawnRegister('stuck', Stuck, { initTimeout: 30 }), 'ERR_TIMEOUT');
      assert.ok(isError(e, ErrTimeout));
      assert.throws(() => node.processPID('stuck'), { code: 'ERR_PROCESS_UNKNOWN' });
      assert.ok(isError(unwrapReason(await childEnded.promise), ErrTimeout), 'its LinkChild child was stopped');
      assert.equal(node.info().processesTotal, 0);
      // a quick init is not affected
      const ok = await node.spawn(
        class extends Child {
          // eslint-disable-next-line @typescript-eslint/no-misused-promises -- an async init on purpose: spawn awaits it
          override async init() {
            await Promise.resolve();
          }
        },
        { initTimeout: 5_000 },
      );
      assert.equal(await node.call(ok, 'x'), 'x');
      await rejectsWith(node.spawn(Child, { initTimeout: -1 }), 'ERR_INCORRECT');
    }));

  test('an init that resolves after its timeout changes nothing', () =>
    withNode(async (node) => {
      const release = deferred<void>();
      const resolvedLate = deferred<void>();
      class Late extends Actor {
        override async init() {
          await release.promise;
          resolvedLate.resolve();
        }
      }
      await rejectsWith(node.spawnRegister('late', Late, { initTimeout: 10 }), 'ERR_TIMEOUT');
      release.resolve();
      await resolvedLate.promise;
      await new Promise((r) => setImmediate(r));
      assert.equal(node.info().processesTotal, 0);
      assert.throws(() => node.processPID('late'), { code: 'ERR_PROCESS_UNKNOWN' });
    }));

  test('the init timeout fires even when nothing else keeps the process alive', { timeout: 20_000 }, async () => {
    const r = await runScript(`
      import { startNode, Actor } from 'INDEX';
      class Stuck extends Actor { init() { return new Promise(() => {}); } }
      const node = await startNode('it@localhost', { log: { defaultLogger: { disable: true } } });
      try { await node.spawn(Stuck, { initTimeout: 30 }); console.log('spawned'); }
      catch (e) { console.log('rejected', e.code); }
      await node.stopForce();
    `);
    assert.equal(r.stdout.trim(), 'rejected ERR_TIMEOUT', r.stderr);
    assert.equal(r.code, 0);
  });
});

describe('node shutdown during a spawn', () => {
  test('a spawn whose init finishes after stop began is rejected with ErrNodeTerminated', () =>
    withNode(async (node) => {
      const gate = deferred<void>();
      const inInit = deferred<void>();
      class Slow extends Actor {
        override async init() {
          inInit.resolve();
          await gate.promise;
        }
      }
      await node.spawn(Child);
      const spawning = node.spawn(Slow);
      await inInit.promise;
      const stopping = node.stop();
      gate.resolve();
      await rejectsWith(spawning, 'ERR_NODE_TERMINATED');
      await stopping;
    }));
});
