// Exits, kill and termination (issue 3 item 3, ERGO-API §1 Kill / Exit / Termination paths /
// Cleanup on exit, §4.1, §7 items 3–5 and 10): sendExit from the node and from processes, the
// state and target rules, kill of an idle process and the zombee rule for a running one, each
// termination reason (normal, shutdown, kill, panic, custom) and what watchers see, the unwrap
// rule, one notification per relationship, and the cleanup of everything a process owned
// (links, monitors, names, aliases, events, timers, pending calls).

import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';

import { format } from 'node:util';

import {
  Actor,
  ErrProcessTerminated,
  Event,
  ExitReason,
  LogLevel,
  MessageDownPID,
  MessageLogProcess,
  MessageEventStop,
  MessageExitPID,
  PID,
  ProcessState,
  Stop,
  TerminateReasonKill,
  TerminateReasonNormal,
  TerminateReasonPanic,
  TerminateReasonShutdown,
  unwrapReason,
  type MessageLog,
  type Node,
} from '../src/index.js';
import {
  deferred,
  exec,
  guardUnhandled,
  Hold,
  Inbox,
  rejectedSoon,
  rejectsCode,
  Return,
  spawnChild,
  spawnTest,
  testNode,
  Throw,
  throwsCode,
} from './lifecycle_helpers.js';

guardUnhandled();

const customReturned = new Error('custom returned');
const text = (m: MessageLog): string => format(m.format, ...m.args);

let seq = 0;
const uniq = (p: string): string => `${p}_${++seq}`;

describe('exits and termination', () => {
  let node: Node;
  const records: MessageLog[] = [];
  const logs = new Inbox();
  before(async () => {
    node = await testNode();
    node.loggerAdd('capture', {
      log: (m) => {
        records.push(m);
        logs.push({ kind: 'log', message: m });
      },
    });
  });
  after(async () => {
    await node.stop();
  });

  describe('sendExit', () => {
    test('from the node: the actor terminates with ExitReason(core PID, reason)', async () => {
      const t = await spawnTest(node);
      const reason = new Error('custom');
      node.sendExit(t.pid, reason);
      const r = await t.inbox.terminated();
      assert.ok(r instanceof ExitReason);
      assert.ok((r.source as PID).equals(node.pid));
      assert.equal(r.reason, reason);
      assert.equal(unwrapReason(r), reason);
      assert.match(r.message, /custom/);
    });

    test('from the node to a node-spawned trapping actor: cannot be trapped (the core PID is its parent)', async () => {
      const t = await spawnTest(node);
      await exec(node, t.pid, (a) => a.setTrapExit(true));
      node.sendExit(t.pid, TerminateReasonShutdown);
      assert.equal(unwrapReason(await t.inbox.terminated()), TerminateReasonShutdown);
      assert.deepEqual(t.inbox.messages(), []);
    });

    test('from the node to a trapping process that another process spawned: trappable (the core PID is not its parent)', async () => {
      const parent = await spawnTest(node);
      const child = await spawnChild(node, parent.pid);
      await exec(node, child.pid, (a) => a.setTrapExit(true));
      node.sendExit(child.pid, TerminateReasonShutdown);
      const { message, from } = await child.inbox.message(MessageExitPID);
      assert.ok(message.pid.equals(node.pid));
      assert.ok(from.equals(node.pid));
      assert.equal(message.reason, TerminateReasonShutdown);
      assert.equal(await exec(node, child.pid, () => 'alive'), 'alive');
    });

    test('node.sendExit argument errors', async () => {
      const t = await spawnTest(node);
      throwsCode(() => node.sendExit(t.pid, undefined as unknown as Error), 'ERR_INCORRECT');
      throwsCode(() => node.sendExit(t.pid, 'reason' as unknown as Error), 'ERR_INCORRECT');
      throwsCode(
        () => node.sendExit(new PID(node.name, 999_999, node.creation), TerminateReasonNormal),
        'ERR_PROCESS_UNKNOWN',
      );
      node.kill(t.pid);
      throwsCode(() => node.sendExit(t.pid, TerminateReasonNormal), 'ERR_PROCESS_UNKNOWN');
    });

    test('exit with the normal reason still terminates a non-trapping actor (Ergo semantics)', async () => {
      const t = await spawnTest(node);
      const w = await spawnTest(node);
      await exec(node, w.pid, (a) => a.monitorPID(t.pid));
      node.sendExit(t.pid, TerminateReasonNormal);
      assert.equal(unwrapReason(await t.inbox.terminated()), TerminateReasonNormal);
      assert.equal((await w.inbox.message(MessageDownPID)).message.reason, TerminateReasonNormal);
    });

    test('from a process: to a sibling (terminates it), never to itself, its parent or its leader', async () => {
      const parent = await spawnTest(node);
      const a = await spawnChild(node, parent.pid);
      const b = await spawnChild(node, parent.pid);
      const leader = await spawnTest(node);
      const c = await spawnChild(node, parent.pid, { options: { leader: leader.pid } });
      await exec(node, a.pid, (x) => {
        throwsCode(() => x.sendExit(x.pid, TerminateReasonNormal), 'ERR_NOT_ALLOWED');
        throwsCode(() => x.sendExit(parent.pid, TerminateReasonNormal), 'ERR_NOT_ALLOWED');
        throwsCode(() => x.sendExit(node.pid, TerminateReasonNormal), 'ERR_NOT_ALLOWED'); // leader = core PID
        throwsCode(() => x.sendExit(b.pid, null as unknown as Error), 'ERR_INCORRECT');
        x.sendExit(b.pid, TerminateReasonShutdown);
      });
      await exec(node, c.pid, (x) =>
        throwsCode(() => x.sendExit(leader.pid, TerminateReasonNormal), 'ERR_NOT_ALLOWED'),
      );
      const r = await b.inbox.terminated();
      assert.ok((r as ExitReason).source.toString() === a.pid.toString());
      assert.equal(unwrapReason(r), TerminateReasonShutdown);
    });

    test('sendExit works inside terminate (state Terminated allows it)', async () => {
      const victim = await spawnTest(node);
      const sender = await spawnTest(node, {
        hooks: {
          terminate(a) {
            a.sendExit(victim.pid, new Error('from terminate'));
          },
        },
      });
      node.kill(sender.pid);
      assert.equal(unwrapReason(await victim.inbox.terminated()).message, 'from terminate');
    });

    test('sendExitAfter delivers later; its cancel function stops it before it fires', async () => {
      const sender = await spawnTest(node);
      const t1 = await spawnTest(node);
      const t2 = await spawnTest(node);
      const cancel = await exec(node, sender.pid, (a) => {
        const c = a.sendExitAfter(t2.pid, new Error('cancelled'), 20);
        a.sendExitAfter(t1.pid, new Error('late'), 40);
        return c;
      });
      assert.equal(cancel(), true);
      assert.equal(cancel(), false, 'only the first cancel stops it');
      assert.equal(unwrapReason(await t1.inbox.terminated()).message, 'late');
      // t2's exit was due before t1's: it would have arrived first.
      assert.equal(await exec(node, t2.pid, () => 'alive'), 'alive');
    });
  });

  describe('kill', () => {
    test('an idle process terminates at once with TerminateReasonKill (not wrapped)', async () => {
      const t = await spawnTest(node);
      node.kill(t.pid);
      assert.throws(() => node.processInfo(t.pid), { code: 'ERR_PROCESS_UNKNOWN' });
      assert.equal(await t.inbox.terminated(), TerminateReasonKill);
      throwsCode(() => node.kill(t.pid), 'ERR_PROCESS_UNKNOWN');
    });

    test('a running process becomes a zombee: operations fail, it ends with kill when its handler settles', async () => {
      const release = deferred<void>();
      const entered = deferred<void>();
      const afterResume = deferred<unknown>();
      const watcherSeen = new Inbox();
      const t = await spawnTest(node, {
        hooks: {
          async message(a, _from, m) {
            if (m !== 'work') return;
            entered.resolve();
            await release.promise;
            try {
              a.send(a.pid, 'x');
              afterResume.resolve('send worked');
            } catch (e) {
              afterResume.resolve(e);
            }
          },
        },
      });
      const w = await spawnTest(node, { inbox: watcherSeen });
      await exec(node, w.pid, (a) => a.monitorPID(t.pid));
      node.send(t.pid, 'work');
      await entered.promise;
      assert.equal(node.processState(t.pid), ProcessState.Running);
      node.kill(t.pid);
      assert.equal(node.processState(t.pid), ProcessState.Zombee);
      assert.equal(node.info().processesZombee, 1);
      node.kill(t.pid); // again: nothing more happens
      release.resolve();
      assert.equal(((await afterResume.promise) as { code?: string }).code, 'ERR_NOT_ALLOWED');
      assert.equal(await t.inbox.terminated(), TerminateReasonKill);
      assert.equal(node.info().processesZombee, 0);
      const { message } = await w.inbox.message(MessageDownPID);
      assert.equal(message.reason, TerminateReasonKill);
      await exec(node, w.pid, () => undefined);
      assert.equal(watcherSeen.messages().length, 1, 'one notification, however many kills');
    });

    test('a process killing itself from its handler becomes a zombee and ends when the handler returns', async () => {
      const t = await spawnTest(node, {
        hooks: {
          message(a, _f, m) {
            if (m !== 'suicide') return;
            a.node.kill(a.pid);
            assert.equal(a.state(), ProcessState.Zombee);
            throwsCode(() => a.send(a.pid, 'x'), 'ERR_NOT_ALLOWED');
          },
        },
      });
      node.send(t.pid, 'suicide');
      assert.equal(await t.inbox.terminated(), TerminateReasonKill);
    });

    test('a process killed while waiting for a reply: its call fails at once, then it ends', async () => {
      const received = deferred<void>();
      const silent = await spawnTest(node, {
        hooks: {
          call: () => {
            received.resolve();
            return undefined; // never answered
          },
        },
      });
      const callFailed = deferred<unknown>();
      const t = await spawnTest(node);
      const pending = exec(node, t.pid, (a) =>
        a.call(silent.pid, 'never answered').then(
          () => callFailed.resolve('replied'),
          (e: unknown) => callFailed.resolve(e),
        ),
      );
      await received.promise;
      assert.equal(node.processState(t.pid), ProcessState.WaitResponse);
      node.kill(t.pid);
      assert.equal(node.processState(t.pid), ProcessState.Zombee);
      const e = (await callFailed.promise) as Error & { code?: string };
      assert.equal(e.code, 'ERR_PROCESS_TERMINATED');
      assert.equal(await t.inbox.terminated(), TerminateReasonKill);
      await rejectsCode(pending, 'ERR_PROCESS_TERMINATED');
    });
  });

  describe('termination reasons', () => {
    // Last column: logged as an error (Ergo logs abnormal returns; it does not log kills: null = not checked).
    const cases: [string, (pid: PID) => void, (r: Error) => void, Error, boolean | null][] = [
      [
        'normal (returned)',
        (pid) => node.send(pid, new Return(TerminateReasonNormal)),
        (r) => assert.equal(r, TerminateReasonNormal),
        TerminateReasonNormal,
        false,
      ],
      [
        'shutdown (returned)',
        (pid) => node.send(pid, new Return(TerminateReasonShutdown)),
        (r) => assert.equal(r, TerminateReasonShutdown),
        TerminateReasonShutdown,
        false,
      ],
      [
        'custom (returned)',
        (pid) => node.send(pid, new Return(customReturned)),
        (r) => assert.equal(r, customReturned),
        customReturned,
        true,
      ],
      ['kill', (pid) => node.kill(pid), (r) => assert.equal(r, TerminateReasonKill), TerminateReasonKill, null],
      [
        'panic (thrown)',
        (pid) => node.send(pid, new Throw(new Error('boom'))),
        (r) => assert.equal(r, TerminateReasonPanic),
        TerminateReasonPanic,
        false,
      ],
      [
        'panic (rejected promise)',
        (pid) => node.send(pid, new Hold(rejectedSoon(new Error('async boom')))),
        (r) => assert.equal(r, TerminateReasonPanic),
        TerminateReasonPanic,
        false,
      ],
    ];
    for (const [label, end, checkTerminate, expected, loggedAsError] of cases) {
      test(label, async () => {
        const t = await spawnTest(node);
        const w = await spawnTest(node);
        await exec(node, w.pid, (a) => a.monitorPID(t.pid));
        const before = records.length;
        end(t.pid);
        checkTerminate(await t.inbox.terminated());
        const { message } = await w.inbox.message(MessageDownPID);
        assert.equal(message.reason, expected);
        const mine = records
          .slice(before)
          .filter(
            (m) =>
              text(m).includes(t.pid.toString()) ||
              (m.source instanceof MessageLogProcess && m.source.pid.equals(t.pid)),
          );
        const errors = mine.filter((m) => m.level === LogLevel.Error);
        if (loggedAsError !== null)
          assert.equal(errors.length > 0, loggedAsError, `abnormal reasons are logged as errors (${label})`);
        if (expected === TerminateReasonPanic) {
          const panics = mine.filter((m) => m.level === LogLevel.Panic);
          assert.equal(panics.length, 1, 'a panic is logged once');
          assert.match(text(panics[0]!), /boom[\s\S]*\n\s+at /, 'with the error and its stack');
        }
      });
    }

    test('Stop(reason, reply) from handleCall replies first, then stops', async () => {
      const t = await spawnTest(node, {
        hooks: { call: (_a, _f, _r, req) => new Stop(TerminateReasonNormal, `bye ${String(req)}`) },
      });
      assert.equal(await node.call(t.pid, 'x'), 'bye x');
      assert.equal(await t.inbox.terminated(), TerminateReasonNormal);
      assert.throws(() => node.processInfo(t.pid), { code: 'ERR_PROCESS_UNKNOWN' });
    });

    test('terminate that throws or rejects is logged and never escapes', async () => {
      const a = await spawnTest(node, {
        hooks: {
          terminate() {
            throw new Error('terminate threw');
          },
        },
      });
      class RejectingTerminate extends Actor {
        override async terminate(): Promise<void> {
          throw new Error('terminate rejected');
        }
      }
      const b = await node.spawn(RejectingTerminate);
      node.kill(a.pid);
      node.kill(b);
      await logs.next((s) => s.kind === 'log' && text(s.message).includes('terminate threw'), 'the throw logged');
      await logs.next(
        (s) => s.kind === 'log' && text(s.message).includes('terminate rejected'),
        'the rejection logged',
      );
    });
  });

  describe('the unwrap rule and one notification per relationship', () => {
    test('an untrapped exit: terminate gets ExitReason, the watchers of the linker get the unwrapped reason', async () => {
      const b = await spawnTest(node);
      const a = await spawnTest(node);
      const c = await spawnTest(node);
      await exec(node, a.pid, (x) => x.linkPID(b.pid));
      await exec(node, c.pid, (x) => {
        x.setTrapExit(true);
        x.monitorPID(a.pid);
        x.linkPID(a.pid);
      });
      node.kill(b.pid);
      const r = await a.inbox.terminated();
      assert.ok(r instanceof ExitReason);
      assert.equal(r.reason, TerminateReasonKill);
      const down = await c.inbox.message(MessageDownPID);
      const exit = await c.inbox.message(MessageExitPID);
      assert.equal(down.message.reason, TerminateReasonKill, 'one level of wrapping removed');
      assert.equal(exit.message.reason, TerminateReasonKill);
      await exec(node, c.pid, () => undefined);
      assert.equal(c.inbox.messages().length, 2, 'one exit and one down: one per relationship');
    });

    test('trapped exit signals of a living target do not consume the relationship', async () => {
      const t = await spawnTest(node);
      const w = await spawnTest(node);
      await exec(node, t.pid, (x) => x.setTrapExit(true));
      await exec(node, w.pid, (x) => x.monitorPID(t.pid));
      const sibling = await spawnTest(node);
      await exec(node, sibling.pid, (x) => x.sendExit(t.pid, new Error('first')));
      await t.inbox.message(MessageExitPID);
      assert.equal(node.processInfo(w.pid).monitorsPID.length, 1, 'monitor still there');
      node.kill(t.pid);
      assert.equal((await w.inbox.message(MessageDownPID)).message.reason, TerminateReasonKill);
    });
  });

  describe('cleanup of everything a terminated process owned', () => {
    test('name, aliases and events are released (and reusable)', async () => {
      const name = uniq('owner');
      const evName = uniq('owner_ev');
      const t = await spawnTest(node, { name });
      const base = node.info();
      const alias = await exec(node, t.pid, (a) => {
        a.registerEvent(evName);
        a.createAlias();
        return a.createAlias();
      });
      const mid = node.info();
      assert.equal(mid.registeredAliases, base.registeredAliases + 2);
      assert.equal(mid.registeredEvents, base.registeredEvents + 1);
      node.kill(t.pid);
      const end = node.info();
      assert.equal(end.registeredNames, base.registeredNames - 1);
      assert.equal(end.registeredAliases, base.registeredAliases);
      assert.equal(end.registeredEvents, base.registeredEvents);
      throwsCode(() => node.processPID(name), 'ERR_PROCESS_UNKNOWN');
      throwsCode(() => node.send(alias, 'x'), 'ERR_PROCESS_UNKNOWN');
      throwsCode(() => node.send(name, 'x'), 'ERR_PROCESS_UNKNOWN');
      // Reusable.
      const t2 = await spawnTest(node, { name });
      await exec(node, t2.pid, (a) => a.registerEvent(evName));
      assert.ok(node.processPID(name).equals(t2.pid));
    });

    test('its own links and monitors are dropped: an event producer hears the last subscriber leave', async () => {
      const evName = uniq('sub_ev');
      const producer = await spawnTest(node);
      await exec(node, producer.pid, (a) => a.registerEvent(evName, { notify: true }));
      const sub = await spawnTest(node);
      const other = await spawnTest(node);
      await exec(node, sub.pid, async (a) => {
        await a.linkEvent(new Event(evName, node.name));
        await a.monitorEvent(new Event(evName, node.name));
        a.linkPID(other.pid);
      });
      node.kill(sub.pid);
      const { message } = await producer.inbox.message(MessageEventStop);
      assert.equal(message.name, evName);
      // `other` ending later notifies nobody (and throws nothing).
      node.kill(other.pid);
      await other.inbox.terminated();
      assert.deepEqual(sub.inbox.messages(), []);
    });

    test('its timers (sendAfter, sendExitAfter) are cancelled', async () => {
      const recorder = await spawnTest(node);
      const victim = await spawnTest(node);
      const t = await spawnTest(node);
      await exec(node, t.pid, (a) => {
        a.sendAfter(recorder.pid, 'late', 10);
        a.sendExitAfter(victim.pid, new Error('late exit'), 10);
      });
      node.kill(t.pid);
      // A marker timer due after the cancelled ones: had they fired, their effects came first.
      await exec(node, recorder.pid, (a) => void a.sendAfter(a.pid, 'marker', 40));
      await recorder.inbox.next((s) => s.kind === 'message' && s.message === 'marker');
      assert.deepEqual(recorder.inbox.messages(), ['marker']);
      assert.equal(await exec(node, victim.pid, () => 'alive'), 'alive');
    });

    test('calls it held fail at once with ErrProcessTerminated (deferred reply, abnormal end)', async () => {
      const t = await spawnTest(node, { hooks: { call: () => undefined } });
      const p = node.call(t.pid, 'never answered');
      await exec(node, t.pid, () => undefined); // the request has been handled (deferred)
      node.sendExit(t.pid, new Error('gone'));
      const e = (await rejectsCode(p, 'ERR_PROCESS_TERMINATED')) as Error & { cause?: unknown };
      assert.ok(ErrProcessTerminated.is(e));
      assert.equal(unwrapReason(e.cause as Error).message, 'gone');
    });

    test('requests still queued when it ends fail at once', async () => {
      const release = deferred<void>();
      const entered = deferred<void>();
      const t = await spawnTest(node);
      node.send(t.pid, new Hold(release.promise, entered));
      await entered.promise;
      const p1 = node.call(t.pid, 'queued 1');
      const p2 = node.call(t.pid, 'queued 2');
      node.kill(t.pid); // zombee
      release.resolve();
      await rejectsCode(p1, 'ERR_PROCESS_TERMINATED');
      await rejectsCode(p2, 'ERR_PROCESS_TERMINATED');
      assert.equal(await t.inbox.terminated(), TerminateReasonKill);
    });

    test('a call to a process that already ended fails with ErrProcessUnknown', async () => {
      const t = await spawnTest(node);
      node.kill(t.pid);
      await rejectsCode(node.call(t.pid, 'x'), 'ERR_PROCESS_UNKNOWN');
    });
  });
});
