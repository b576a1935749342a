// Links (issue 3 item 1, ERGO-API §5.7 TestT6ActorLink, §5.3 TestTrapExit, §7 items 1, 3–5):
// one-way links to a PID, a name (ProcessID or Atom), an alias and an event; every reason (kill,
// custom error, shutdown, panic, and ErrUnregistered for name/alias/event) with trap-exit off
// (the linker terminates with ExitReason(target, reason)) and on (MessageExit* in handleMessage);
// exits that cannot be trapped (parent, LinkParent); LinkChild; unlink rules; urgent delivery.

import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';

import {
  ErrUnregistered,
  Event,
  ExitReason,
  MessageExitAlias,
  MessageExitEvent,
  MessageExitPID,
  MessageExitProcessID,
  ProcessID,
  TerminateReasonKill,
  TerminateReasonNormal,
  TerminateReasonPanic,
  TerminateReasonShutdown,
  unwrapReason,
  type Alias,
  PID,
  type Node,
} from '../src/index.js';
import {
  deferred,
  exec,
  rejectsCode,
  guardUnhandled,
  Hold,
  spawnChild,
  spawnTest,
  testNode,
  Throw,
  throwsCode,
  type Inbox,
  CUSTOM_REASON,
  endTarget,
  REASONS,
  uniq,
} from './lifecycle_helpers.js';

guardUnhandled();

const custom = CUSTOM_REASON;

/**
 * Waits for the linker's reaction: with trap on, the MessageExit* (returned, linker alive);
 * with trap off, its termination with ExitReason(source, reason) (returned, linker gone).
 */
async function reaction<T>(
  node: Node,
  linker: { pid: PID; inbox: Inbox },
  trap: boolean,
  cls: abstract new (...a: never[]) => T,
): Promise<{ exit?: T; from?: PID; terminated?: ExitReason }> {
  if (trap) {
    const { message, from } = await linker.inbox.message(cls);
    // Still alive, and the relation is gone after its one notification.
    const info = await exec(node, linker.pid, (a) => a.info());
    assert.equal(
      info.linksPID.length + info.linksProcessID.length + info.linksAlias.length + info.linksEvent.length,
      0,
    );
    assert.equal(linker.inbox.ofKind('terminate').length, 0);
    return { exit: message, from };
  }
  const r = await linker.inbox.terminated();
  assert.ok(r instanceof ExitReason, `linker terminates with an ExitReason, got ${String(r)}`);
  assert.throws(() => node.processInfo(linker.pid), { code: 'ERR_PROCESS_UNKNOWN' });
  return { terminated: r };
}

describe('links', () => {
  let node: Node;
  before(async () => {
    node = await testNode();
  });
  after(async () => {
    await node.stop();
  });

  describe('linkPID (§5.7 TestLinkPID)', () => {
    for (const trap of [false, true]) {
      for (const [label, reason] of REASONS) {
        test(`${label}, trap exit ${trap ? 'on' : 'off'}`, async () => {
          const target = await spawnTest(node);
          const linker = await spawnTest(node);
          await exec(node, linker.pid, (a) => {
            a.setTrapExit(trap);
            assert.deepEqual(a.info().linksPID, []);
            a.linkPID(target.pid);
            const links = a.info().linksPID;
            assert.equal(links.length, 1);
            assert.ok(links[0]!.equals(target.pid));
          });
          endTarget(node, target.pid, reason);
          // The target's terminate sees the reason (wrapped one level for exit signals).
          assert.equal(unwrapReason(await target.inbox.terminated()), reason);
          const r = await reaction(node, linker, trap, MessageExitPID);
          if (trap) {
            assert.ok(r.exit!.pid.equals(target.pid));
            assert.equal(r.exit!.reason, reason);
            assert.ok(r.from!.equals(target.pid), 'exit comes from the terminated process');
          } else {
            assert.ok((r.terminated!.source as PID).equals(target.pid));
            assert.equal(unwrapReason(r.terminated!), reason);
          }
        });
      }
    }
  });

  describe('linkProcessID (§5.7 TestLinkProcessID)', () => {
    for (const trap of [false, true]) {
      for (const [label, reason] of [...REASONS, ['unregistered', ErrUnregistered] as [string, Error]]) {
        test(`${label}, trap exit ${trap ? 'on' : 'off'}`, async () => {
          const name = uniq('lnk_name');
          const target = await spawnTest(node, { name });
          const linker = await spawnTest(node);
          const pname = new ProcessID(name, node.name);
          await exec(node, linker.pid, (a) => {
            a.setTrapExit(trap);
            a.linkProcessID(pname);
            const links = a.info().linksProcessID;
            assert.equal(links.length, 1);
            assert.ok(links[0]!.equals(pname));
          });
          if (reason === ErrUnregistered) await exec(node, target.pid, (a) => a.unregisterName());
          else endTarget(node, target.pid, reason);
          const r = await reaction(node, linker, trap, MessageExitProcessID);
          if (trap) {
            assert.ok(r.exit!.processID.equals(pname));
            assert.equal(r.exit!.reason, reason);
            assert.ok(r.from!.equals(node.pid), 'name notifications come from the core PID');
          } else {
            assert.ok((r.terminated!.source as ProcessID).equals(pname));
            assert.equal(unwrapReason(r.terminated!), reason);
          }
          if (reason === ErrUnregistered) {
            // Unregistering does not touch the process itself.
            assert.deepEqual(await exec(node, target.pid, (a) => a.name), '');
            node.kill(target.pid);
          }
        });
      }
    }

    test('link by Atom (a plain string is a local name); node.unregisterName fires ErrUnregistered', async () => {
      const name = uniq('lnk_atom');
      await spawnTest(node, { name });
      const linker = await spawnTest(node);
      await exec(node, linker.pid, (a) => {
        a.setTrapExit(true);
        a.link(name);
        const links = a.info().linksProcessID;
        assert.equal(links.length, 1);
        assert.ok(
          links[0]!.equals(new ProcessID(name, node.name)),
          'an Atom is normalised to ProcessID{name, local node}',
        );
      });
      node.unregisterName(name);
      const { message } = await linker.inbox.message(MessageExitProcessID);
      assert.equal(message.processID.name, name);
      assert.equal(message.reason, ErrUnregistered);
    });

    test('a ProcessID with an empty node means the local node', async () => {
      const name = uniq('lnk_local');
      const target = await spawnTest(node, { name });
      const linker = await spawnTest(node);
      await exec(node, linker.pid, (a) => {
        a.setTrapExit(true);
        a.linkProcessID(new ProcessID(name));
      });
      node.kill(target.pid);
      const { message } = await linker.inbox.message(MessageExitProcessID);
      assert.equal(message.reason, TerminateReasonKill);
      // Unlinking with the same (empty-node) form works too.
      await exec(node, linker.pid, (a) => {
        assert.throws(() => a.unlinkProcessID(new ProcessID(name)), { code: 'ERR_TARGET_UNKNOWN' });
      });
    });
  });

  describe('linkAlias (§5.7 TestLinkAlias)', () => {
    for (const trap of [false, true]) {
      for (const [label, reason] of [...REASONS, ['unregistered', ErrUnregistered] as [string, Error]]) {
        test(`${label}, trap exit ${trap ? 'on' : 'off'}`, async () => {
          const target = await spawnTest(node);
          const alias = await exec(node, target.pid, (a) => a.createAlias());
          const linker = await spawnTest(node);
          await exec(node, linker.pid, (a) => {
            a.setTrapExit(trap);
            a.linkAlias(alias);
            const links = a.info().linksAlias;
            assert.equal(links.length, 1);
            assert.ok(links[0]!.equals(alias));
          });
          if (reason === ErrUnregistered) await exec(node, target.pid, (a) => a.deleteAlias(alias));
          else endTarget(node, target.pid, reason);
          const r = await reaction(node, linker, trap, MessageExitAlias);
          if (trap) {
            assert.ok(r.exit!.alias.equals(alias));
            assert.equal(r.exit!.reason, reason);
            assert.ok(r.from!.equals(node.pid));
          } else {
            assert.ok((r.terminated!.source as Alias).equals(alias));
            assert.equal(unwrapReason(r.terminated!), reason);
          }
          if (reason === ErrUnregistered) node.kill(target.pid);
        });
      }
    }
  });

  describe('linkEvent (§5.7 TestLinkEvent)', () => {
    for (const trap of [false, true]) {
      for (const [label, reason] of [...REASONS, ['unregistered', ErrUnregistered] as [string, Error]]) {
        test(`${label}, trap exit ${trap ? 'on' : 'off'}`, async () => {
          const evName = uniq('lnk_ev');
          const target = await spawnTest(node);
          await exec(node, target.pid, (a) => a.registerEvent(evName));
          const event = new Event(evName, node.name);
          const linker = await spawnTest(node);
          await exec(node, linker.pid, async (a) => {
            a.setTrapExit(trap);
            assert.deepEqual(await a.linkEvent(event), [], 'no buffer: empty history');
            const links = a.info().linksEvent;
            assert.equal(links.length, 1);
            assert.ok(links[0]!.equals(event));
          });
          if (reason === ErrUnregistered) await exec(node, target.pid, (a) => a.unregisterEvent(evName));
          else endTarget(node, target.pid, reason);
          const r = await reaction(node, linker, trap, MessageExitEvent);
          if (trap) {
            assert.ok(r.exit!.event.equals(event));
            assert.equal(r.exit!.reason, reason);
            assert.ok(r.from!.equals(node.pid));
          } else {
            assert.ok((r.terminated!.source as Event).equals(event));
            assert.equal(unwrapReason(r.terminated!), reason);
          }
          if (reason === ErrUnregistered) node.kill(target.pid);
        });
      }
    }
  });

  test('unknown targets (§5.7 TestLinkUnknown)', async () => {
    const linker = await spawnTest(node);
    const me = linker.pid;
    await exec(node, me, async (a) => {
      const ghost = new PID(me.node, me.id + 10000, me.creation);
      assert.throws(() => a.linkPID(ghost), { code: 'ERR_PROCESS_UNKNOWN' });
      assert.throws(() => a.linkProcessID(new ProcessID('no_such_name', node.name)), { code: 'ERR_PROCESS_UNKNOWN' });
      assert.throws(() => a.link('no_such_name'), { code: 'ERR_PROCESS_UNKNOWN' });
      const alias = a.createAlias();
      a.deleteAlias(alias);
      assert.throws(() => a.linkAlias(alias), { code: 'ERR_ALIAS_UNKNOWN' });
      assert.throws(() => a.link(new Event('no_such_event', node.name)), { code: 'ERR_EVENT_UNKNOWN' });
      await rejectsCode(a.linkEvent(new Event('no_such_event', node.name)), 'ERR_EVENT_UNKNOWN');
      assert.deepEqual(a.info().linksPID, []);
    });
  });

  test('self-link is not allowed (PID, own name, own alias); a duplicate link is ErrTargetExist', async () => {
    const target = await spawnTest(node);
    const selfName = uniq('self');
    const linker = await spawnTest(node, { name: selfName });
    await exec(node, linker.pid, (a) => {
      throwsCode(() => a.linkPID(a.pid), 'ERR_NOT_ALLOWED');
      throwsCode(() => a.link(selfName), 'ERR_NOT_ALLOWED');
      throwsCode(() => a.linkProcessID(new ProcessID(selfName, node.name)), 'ERR_NOT_ALLOWED');
      throwsCode(() => a.linkAlias(a.createAlias()), 'ERR_NOT_ALLOWED');
      assert.equal(a.info().linksProcessID.length + a.info().linksAlias.length, 0);
      a.linkPID(target.pid);
      throwsCode(() => a.linkPID(target.pid), 'ERR_TARGET_EXIST');
      throwsCode(() => a.link(target.pid), 'ERR_TARGET_EXIST');
      assert.equal(a.info().linksPID.length, 1);
    });
  });

  test('unlink of a link that does not exist is ErrTargetUnknown (every target kind)', async () => {
    const name = uniq('unl');
    const target = await spawnTest(node, { name });
    const alias = await exec(node, target.pid, (a) => a.createAlias());
    const evName = uniq('unl_ev');
    await exec(node, target.pid, (a) => a.registerEvent(evName));
    const linker = await spawnTest(node);
    await exec(node, linker.pid, (a) => {
      throwsCode(() => a.unlinkPID(target.pid), 'ERR_TARGET_UNKNOWN');
      throwsCode(() => a.unlinkProcessID(new ProcessID(name, node.name)), 'ERR_TARGET_UNKNOWN');
      throwsCode(() => a.unlink(name), 'ERR_TARGET_UNKNOWN');
      throwsCode(() => a.unlinkAlias(alias), 'ERR_TARGET_UNKNOWN');
      throwsCode(() => a.unlinkEvent(new Event(evName, node.name)), 'ERR_TARGET_UNKNOWN');
      // A monitor is not a link.
      a.monitorPID(target.pid);
      throwsCode(() => a.unlinkPID(target.pid), 'ERR_TARGET_UNKNOWN');
      // Linked then unlinked: a second unlink fails.
      a.linkPID(target.pid);
      a.unlinkPID(target.pid);
      throwsCode(() => a.unlinkPID(target.pid), 'ERR_TARGET_UNKNOWN');
    });
  });

  test('after unlink the target ending does not reach the former linker', async () => {
    const target = await spawnTest(node);
    const alias = await exec(node, target.pid, (a) => a.createAlias());
    const linker = await spawnTest(node);
    await exec(node, linker.pid, (a) => {
      a.linkPID(target.pid);
      a.linkAlias(alias);
      a.unlinkPID(target.pid);
      a.unlink(alias);
      assert.deepEqual(a.info().linksPID, []);
      assert.deepEqual(a.info().linksAlias, []);
    });
    node.kill(target.pid);
    await target.inbox.terminated();
    // Trap exit is off: an exit would have terminated it. The call is handled after any urgent mail.
    assert.equal(await exec(node, linker.pid, () => 'alive'), 'alive');
    assert.equal(linker.inbox.ofKind('terminate').length, 0);
  });

  test('links are one-way: the target does not hear about the linker ending', async () => {
    const target = await spawnTest(node);
    const linker = await spawnTest(node);
    await exec(node, linker.pid, (a) => a.linkPID(target.pid));
    await exec(node, target.pid, (a) => a.setTrapExit(true));
    node.kill(linker.pid);
    await linker.inbox.terminated();
    assert.equal(await exec(node, target.pid, () => 'alive'), 'alive');
    assert.deepEqual(target.inbox.messages(), [], 'no MessageExitPID towards the target');
  });

  test('link is allowed in init (Ergo 3.2) and while running, not inside terminate', async () => {
    const target = await spawnTest(node);
    const seen = deferred<unknown>();
    const linker = await spawnTest(node, {
      hooks: {
        init(a) {
          try {
            a.linkPID(target.pid);
            seen.resolve('linked');
          } catch (e) {
            seen.resolve(e);
          }
        },
      },
    });
    assert.equal(await seen.promise, 'linked');
    assert.ok(node.processInfo(linker.pid).linksPID[0]!.equals(target.pid), 'the link made in init is live');
    const inTerminate = deferred<unknown>();
    const leaving = await spawnTest(node, {
      hooks: {
        terminate(a) {
          try {
            a.linkPID(target.pid);
            inTerminate.resolve('linked');
          } catch (e) {
            inTerminate.resolve(e);
          }
        },
      },
    });
    node.kill(leaving.pid);
    assert.equal(((await inTerminate.promise) as { code?: string }).code, 'ERR_NOT_ALLOWED');
  });

  test('exit signals use the urgent queue: they overtake queued messages', async () => {
    const target = await spawnTest(node);
    const linker = await spawnTest(node);
    await exec(node, linker.pid, (a) => {
      a.setTrapExit(true);
      a.linkPID(target.pid);
    });
    // Keep the linker busy, queue two normal messages, then end the target.
    const release = deferred<void>();
    const entered = deferred<void>();
    node.send(linker.pid, new Hold(release.promise, entered));
    await entered.promise;
    node.send(linker.pid, 'first');
    node.send(linker.pid, 'second');
    node.kill(target.pid);
    const queues = node.processInfo(linker.pid).mailboxQueues;
    assert.equal(queues.urgent, 1, 'the exit waits in the urgent queue');
    assert.equal(queues.main, 2);
    release.resolve();
    await linker.inbox.next((s) => s.kind === 'message' && s.message === 'second');
    const order = linker.inbox.messages().slice(1);
    assert.ok(order[0] instanceof MessageExitPID, 'the exit is handled before the earlier messages');
    assert.deepEqual(order.slice(1), ['first', 'second']);
  });

  test('one notification per relationship: PID link, name link and alias link each fire once', async () => {
    const name = uniq('multi');
    const target = await spawnTest(node, { name });
    const alias = await exec(node, target.pid, (a) => a.createAlias());
    const linker = await spawnTest(node);
    await exec(node, linker.pid, (a) => {
      a.setTrapExit(true);
      a.linkPID(target.pid);
      a.link(name);
      a.linkAlias(alias);
    });
    node.kill(target.pid);
    await linker.inbox.message(MessageExitPID);
    await linker.inbox.message(MessageExitProcessID);
    await linker.inbox.message(MessageExitAlias);
    // Barrier, then count: exactly three exits, all with the kill reason.
    await exec(node, linker.pid, () => undefined);
    const exits = linker.inbox.messages();
    assert.equal(exits.length, 3);
    for (const m of exits) assert.equal((m as { reason: Error }).reason, TerminateReasonKill);
  });

  describe('trap exit (§5.3 TestTrapExit) and exits that cannot be trapped', () => {
    test('setTrapExit toggles false → true → false', async () => {
      const { pid } = await spawnTest(node);
      await exec(node, pid, (a) => {
        assert.equal(a.trapExit(), false);
        a.setTrapExit(true);
        assert.equal(a.trapExit(), true);
        a.setTrapExit(false);
        assert.equal(a.trapExit(), false);
      });
    });

    test("a trapping child receives a sibling's sendExit(shutdown) as MessageExitPID and keeps running", async () => {
      const parent = await spawnTest(node);
      const child = await spawnChild(node, parent.pid);
      const sibling = await spawnChild(node, parent.pid);
      await exec(node, child.pid, (a) => a.setTrapExit(true));
      await exec(node, sibling.pid, (a) => a.sendExit(child.pid, TerminateReasonShutdown));
      const { message, from } = await child.inbox.message(MessageExitPID);
      assert.ok(message.pid.equals(sibling.pid));
      assert.equal(message.reason, TerminateReasonShutdown);
      assert.ok(from.equals(sibling.pid));
      assert.equal(await exec(node, child.pid, () => 'alive'), 'alive');
    });

    test("the parent's sendExit(shutdown) terminates a trapping child; its reason unwraps to shutdown", async () => {
      const parent = await spawnTest(node);
      const child = await spawnChild(node, parent.pid);
      await exec(node, child.pid, (a) => a.setTrapExit(true));
      await exec(node, parent.pid, (a) => a.sendExit(child.pid, TerminateReasonShutdown));
      const r = await child.inbox.terminated();
      assert.ok(r instanceof ExitReason);
      assert.ok((r.source as PID).equals(parent.pid));
      assert.equal(unwrapReason(r), TerminateReasonShutdown);
      assert.deepEqual(child.inbox.messages(), [], 'not delivered as a message');
    });

    test('LinkParent: the child ends with its parent even when trapping exits', async () => {
      const parent = await spawnTest(node);
      const child = await spawnChild(node, parent.pid, { options: { linkParent: true } });
      await exec(node, child.pid, (a) => {
        a.setTrapExit(true);
        const links = a.info().linksPID;
        assert.equal(links.length, 1);
        assert.ok(links[0]!.equals(parent.pid));
      });
      node.sendExit(parent.pid, custom);
      const r = await child.inbox.terminated();
      assert.ok(r instanceof ExitReason);
      assert.ok((r.source as PID).equals(parent.pid));
      assert.equal(unwrapReason(r), custom, 'the parent’s own reason, unwrapped one level');
    });

    test('LinkChild: the parent gets an exit when the child ends (trapped here)', async () => {
      const parent = await spawnTest(node);
      await exec(node, parent.pid, (a) => a.setTrapExit(true));
      const child = await spawnChild(node, parent.pid, { options: { linkChild: true } });
      assert.equal(node.processInfo(parent.pid).linksPID.length, 1);
      node.send(child.pid, new Throw());
      const { message } = await parent.inbox.message(MessageExitPID);
      assert.ok(message.pid.equals(child.pid));
      assert.equal(message.reason, TerminateReasonPanic);
    });

    test('LinkParent and LinkChild are ignored for node spawns', async () => {
      const p = await spawnTest(node, { options: { linkParent: true, linkChild: true } });
      const info = node.processInfo(p.pid);
      assert.deepEqual(info.linksPID, []);
    });

    test('untrapped: normal reason also terminates the linker (Ergo, unlike Erlang)', async () => {
      const target = await spawnTest(node);
      const linker = await spawnTest(node);
      await exec(node, linker.pid, (a) => a.linkPID(target.pid));
      node.sendExit(target.pid, TerminateReasonNormal);
      const r = await linker.inbox.terminated();
      assert.equal(unwrapReason(r), TerminateReasonNormal);
    });
  });
});
