// Ergo 3.2's wider ProcessInit state (ERGO-3.2.0-RELEASE.md "Improved ProcessInit state"): in
// init a process may register names and events, create aliases, link, monitor, call, inspect and
// answer calls. It is not in the process table yet, so what it sets up must be live at once (mail
// to its names and aliases waits for the end of init, others may subscribe and watch it) and be
// undone entirely when init fails. An async init awaits its calls; the spawn waits with it.

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';

import {
  Actor,
  type Alias,
  ErgoError,
  Event,
  MessageDownAlias,
  MessageDownEvent,
  MessageDownPID,
  MessageDownProcessID,
  MessageEventStart,
  MessageEventStop,
  MessageExitPID,
  ProcessID,
  TerminateReasonKill,
  type MessageEvent,
  type PID,
  type Ref,
} from '../src/index.js';
import { MetaBase } from '../src/meta/index.js';
import { engineOf } from '../src/node/internals.js';
import { deferred, Inbox, noUnhandled, rejectsWith, thrown, withNode, type Deferred } from './helpers.js';

noUnhandled();

const BOOM = new ErgoError('TEST_INIT_FAILED', 'init failed on purpose');

/** Records what it receives (messages, events) in an Inbox; answers calls with `re:<request>`. */
class Recorder extends Actor {
  inbox!: Inbox;
  override init(inbox: Inbox, trap = false) {
    this.inbox = inbox;
    this.setTrapExit(trap);
  }
  override handleMessage(from: PID, message: unknown) {
    this.inbox.push(message, from);
  }
  override handleEvent(message: MessageEvent) {
    this.inbox.push(message, message.event.node as never);
  }
  override handleCall(_from: PID, _ref: Ref, request: unknown) {
    return `re:${String(request)}`;
  }
  override handleInspect(): Record<string, string> {
    return { role: 'recorder' };
  }
}

/** Takes requests and never answers them; tells `seen` each time one arrives. */
class Silent extends Actor {
  seen!: (request: unknown) => void;
  override init(seen: (request: unknown) => void = () => undefined) {
    this.seen = seen;
  }
  override handleCall(_from: PID, _ref: Ref, request: unknown) {
    this.seen(request);
    return undefined;
  }
}

/**
 * Runs `body` as its init (sync or async); records what it receives; runs a function sent as a
 * call request inside its handler (state Running) and replies with the result.
 */
class InitRunner extends Actor {
  inbox!: Inbox;
  override init(body: (self: InitRunner) => unknown, inbox: Inbox = new Inbox()) {
    this.inbox = inbox;
    return body(this);
  }
  override handleMessage(from: PID, message: unknown) {
    this.inbox.push(message, from);
  }
  override handleCall(_from: PID, _ref: Ref, request: unknown) {
    return typeof request === 'function' ? ((request as (self: InitRunner) => unknown)(this) ?? null) : undefined;
  }
  override handleEvent(message: MessageEvent) {
    this.inbox.push(message, message.event.node as never);
  }
}

describe('each method Ergo 3.2 allows in init', () => {
  test('registerName: the name takes mail at once (handled after init); processPID finds it once init succeeded', () =>
    withNode(async (node) => {
      const gate = deferred<void>();
      const registered = deferred<unknown>();
      const inbox = new Inbox();
      const spawning = node.spawn(
        InitRunner,
        {},
        async (self) => {
          self.registerName('named_in_init');
          registered.resolve(thrown(() => self.registerName('second_name'), 'ERR_TAKEN').code);
          await gate.promise;
        },
        inbox,
      );
      assert.equal(await registered.promise, 'ERR_TAKEN', 'one name per process, in init too');
      node.send('named_in_init', 'early');
      thrown(() => node.processPID('named_in_init'), 'ERR_PROCESS_UNKNOWN');
      const other = await node.spawn(Recorder, {}, new Inbox());
      thrown(() => node.registerName('named_in_init', other), 'ERR_TAKEN');
      gate.resolve();
      const pid = await spawning;
      assert.ok(node.processPID('named_in_init').equals(pid));
      assert.equal(node.processName(pid), 'named_in_init');
      const [first] = await inbox.count(1);
      assert.equal(first!.message, 'early');
    }));

  test('unregisterName: the name is free again and its watchers get ErrUnregistered', () =>
    withNode(async (node) => {
      const gate = deferred<void>();
      const watcherInbox = new Inbox();
      const watcher = await node.spawn(InitRunner, {}, () => undefined, watcherInbox);
      const spawning = node.spawnRegister('given_up', InitRunner, {}, async (self) => {
        await gate.promise;
        self.unregisterName();
        thrown(() => self.unregisterName(), 'ERR_NAME_UNKNOWN');
      });
      // The spawn-time name is reserved: others may watch it while init runs.
      await node.call(watcher, (w: InitRunner) => w.monitorProcessID(new ProcessID('given_up' as never, node.name)));
      gate.resolve();
      const pid = await spawning;
      assert.equal(node.processName(pid), '');
      const [down] = await watcherInbox.count(1);
      assert.ok(down!.message instanceof MessageDownProcessID);
      assert.equal((down!.message as MessageDownProcessID).reason.message, 'unregistered');
      await node.spawnRegister('given_up', Recorder, {}, new Inbox());
    }));

  test('createAlias / deleteAlias: an alias made in init takes mail at once; a deleted one is gone', () =>
    withNode(async (node) => {
      const gate = deferred<void>();
      const made = deferred<{ kept: Alias; dropped: Alias }>();
      const inbox = new Inbox();
      const spawning = node.spawn(
        InitRunner,
        {},
        async (self) => {
          const kept = self.createAlias();
          const dropped = self.createAlias();
          self.deleteAlias(dropped);
          made.resolve({ kept, dropped });
          await gate.promise;
        },
        inbox,
      );
      const { kept, dropped } = await made.promise;
      node.send(kept, 'via alias');
      thrown(() => node.send(dropped, 'lost'), 'ERR_PROCESS_UNKNOWN');
      gate.resolve();
      const pid = await spawning;
      assert.deepEqual(node.processInfo(pid).aliases, [kept]);
      assert.equal((await inbox.count(1))[0]!.message, 'via alias');
    }));

  test('registerEvent / unregisterEvent: subscribers may join during init; the producer hears it after init', () =>
    withNode(async (node) => {
      const gate = deferred<void>();
      const token = deferred<Ref>();
      const producerInbox = new Inbox();
      const spawning = node.spawn(
        InitRunner,
        {},
        async (self) => {
          self.registerEvent('gone_in_init');
          self.unregisterEvent('gone_in_init');
          token.resolve(self.registerEvent('made_in_init', { notify: true, buffer: 1 }));
          await gate.promise;
        },
        producerInbox,
      );
      const tok = await token.promise;
      const subscriberInbox = new Inbox();
      const subscribed = deferred<unknown>();
      await node.spawn(
        InitRunner,
        {},
        (self) => {
          self.monitorEvent(new Event('made_in_init' as never, node.name)).then(subscribed.resolve, subscribed.resolve);
          self
            .monitorEvent(new Event('gone_in_init' as never, node.name))
            .then(subscribed.resolve, (e: { code?: string }) => void producerInbox.push(e.code, self.pid));
        },
        subscriberInbox,
      );
      assert.deepEqual(await subscribed.promise, [], 'subscribed to an event whose producer is still in init');
      gate.resolve();
      await spawning;
      const seen = await producerInbox.count(2);
      assert.ok(
        seen.some((s) => s.message === 'ERR_EVENT_UNKNOWN'),
        'an event unregistered in init is gone',
      );
      assert.ok(
        seen.some((s) => s.message instanceof MessageEventStart),
        'notify: the start queued in init is handled after it',
      );
      node.sendEvent('made_in_init', tok, 'published');
      const [ev] = await subscriberInbox.count(1);
      assert.equal((ev!.message as MessageEvent).message, 'published');
    }));

  test('link / monitor (every target kind): live after init; an exit that arrives during init is handled right after it', () =>
    withNode(async (node) => {
      const gate = deferred<void>();
      const watching = deferred<void>();
      const linked = await node.spawn(Recorder, {}, new Inbox());
      const monitored = await node.spawnRegister('monitored_by_name', Recorder, {}, new Inbox());
      const dropped = await node.spawn(Recorder, {}, new Inbox());
      const inbox = new Inbox();
      const codes: Record<string, string> = {};
      const spawning = node.spawn(
        InitRunner,
        {},
        async (self) => {
          self.setTrapExit(true);
          self.linkPID(linked);
          self.monitorProcessID(new ProcessID('monitored_by_name' as never, node.name));
          self.link(dropped);
          self.monitor(dropped);
          self.unlink(dropped);
          self.demonitor(dropped);
          for (const [op, fn] of [
            ['monitorNode', () => self.monitorNode('far@away')],
            ['linkNode', () => self.linkNode('far@away')],
            ['unlinkNode', () => self.unlinkNode('far@away')],
          ] as const) {
            try {
              fn();
              codes[op] = 'ok';
            } catch (e) {
              codes[op] = (e as { code: string }).code;
            }
          }
          watching.resolve();
          await gate.promise;
        },
        inbox,
      );
      await watching.promise;
      // Past the state check: without a network a node cannot be watched; nothing was recorded.
      assert.deepEqual(codes, {
        monitorNode: 'ERR_NETWORK_STOPPED',
        linkNode: 'ERR_NETWORK_STOPPED',
        unlinkNode: 'ERR_TARGET_UNKNOWN',
      });
      node.kill(linked);
      gate.resolve();
      const pid = await spawning;
      const info = node.processInfo(pid);
      assert.deepEqual(info.linksPID, [], 'the link on the killed process was consumed by its exit');
      assert.deepEqual(info.monitorsProcessID, [new ProcessID('monitored_by_name' as never, node.name)]);
      const [exit] = await inbox.count(1);
      assert.ok(
        exit!.message instanceof MessageExitPID && exit!.message.pid.equals(linked),
        'the exit queued in init arrived',
      );
      assert.equal((exit!.message as MessageExitPID).reason, TerminateReasonKill);
      node.kill(monitored);
      const [, down] = await inbox.count(2);
      assert.ok(down!.message instanceof MessageDownProcessID);
      node.kill(dropped);
      node.send(pid, 'last');
      const third = (await inbox.count(3))[2]!;
      assert.equal(third.message, 'last', 'unlink/demonitor in init: nothing from the dropped target');
    }));

  test('linkEvent / monitorEvent resolve with the buffer in init', () =>
    withNode(async (node) => {
      const tok = await new Promise<Ref>(
        (resolve) => void node.spawn(InitRunner, {}, (self) => resolve(self.registerEvent('buffered', { buffer: 2 }))),
      );
      node.sendEvent('buffered', tok, 'one');
      const got = deferred<unknown[]>();
      await node.spawn(InitRunner, {}, async (self) => {
        const linked = await self.linkEvent(new Event('buffered' as never, node.name));
        self.unlinkEvent(new Event('buffered' as never, node.name));
        const monitored = await self.monitorEvent(new Event('buffered' as never, node.name));
        got.resolve([...linked, ...monitored].map((m) => m.message));
      });
      assert.deepEqual(await got.promise, ['one', 'one']);
    }));

  test('call and its variants: an async init awaits the reply, and the spawn waits for init', () =>
    withNode(async (node) => {
      const server = await node.spawnRegister('server', Recorder, {}, new Inbox());
      const alias = await new Promise<Alias>(
        (resolve) => void node.spawn(InitRunner, {}, (self) => resolve(self.createAlias())),
      );
      const replies = deferred<unknown[]>();
      await node.spawn(InitRunner, {}, async (self) => {
        replies.resolve([
          await self.call(server, 'plain'),
          await self.call('server', 'by name'),
          await self.callPID(server, 'pid'),
          await self.callProcessID(new ProcessID('server' as never, node.name), 'processID', 1000),
          await self.callWithTimeout(server, 'timeout', 1000),
          await self.callWithPriority(server, 'priority', 1),
          await self.callImportant(server, 'important'),
          await self.callAlias(alias, 'alias', 50).catch((e: { code?: string }) => e.code),
        ]);
      });
      // The alias belongs to an InitRunner, which answers only functions: that call times out.
      assert.deepEqual(await replies.promise, [
        're:plain',
        're:by name',
        're:pid',
        're:processID',
        're:timeout',
        're:priority',
        're:important',
        'ERR_TIMEOUT',
      ]);
    }));

  test('a pending call holds the spawn: it resolves only after the reply reached init', () =>
    withNode(async (node) => {
      const asked = deferred<unknown>();
      const silent = await node.spawn(Silent, {}, (r: unknown) => asked.resolve(r));
      let held: { from: PID; ref: Ref } | undefined;
      const engine = engineOf(node);
      const got = deferred<unknown>();
      let spawned = false;
      const spawning = node
        .spawn(InitRunner, {}, async (self) => {
          got.resolve(await self.call(silent, 'wait for me', { timeout: 60_000 }));
        })
        .then((pid) => ((spawned = true), pid));
      assert.equal(await asked.promise, 'wait for me');
      for (const c of engine.calls.pending()) held = { from: c.caller, ref: c.ref };
      assert.equal(engine.initing.size, 1, 'the caller is a process in init');
      await new Promise((r) => setImmediate(r));
      assert.equal(spawned, false, 'the spawn waits for the init that waits for the reply');
      node.spawn(InitRunner, {}, (self) => self.sendResponse(held!.from, held!.ref, 'answered')).catch(assert.fail);
      const pid = await spawning;
      assert.equal(await got.promise, 'answered');
      assert.ok(node.processList().some((p) => p.equals(pid)));
      assert.equal(engine.initing.size, 0);
    }));

  test('a call from init times out with ErrTimeout; init may go on', () =>
    withNode(async (node) => {
      const silent = await node.spawn(Silent);
      const code = deferred<unknown>();
      const pid = await node.spawn(InitRunner, {}, async (self) => {
        code.resolve(await self.callWithTimeout(silent, 'q', 20).catch((e: { code?: string }) => e.code));
      });
      assert.equal(await code.promise, 'ERR_TIMEOUT');
      assert.ok(node.processList().some((p) => p.equals(pid)));
    }));

  test('inspect and inspectMeta in init answer', () =>
    withNode(async (node) => {
      const target = await node.spawn(Recorder, {}, new Inbox());
      class InspectedMeta extends MetaBase {
        override start(): unknown {
          return new Promise(() => undefined); // stays up until its owner ends
        }
        override handleInspect(_from: PID, ...items: string[]): Record<string, string> {
          return { meta: items.join(',') };
        }
      }
      const got = deferred<unknown[]>();
      await node.spawn(InitRunner, {}, async (self) => {
        const meta = self.spawnMeta(new InspectedMeta());
        got.resolve([await self.inspect(target), await self.inspectMeta(meta, 'x', 'y')]);
      });
      assert.deepEqual(await got.promise, [{ role: 'recorder' }, { meta: 'x,y' }]);
    }));

  test('sendResponse / sendResponseError / sendResponseImportant in init: a child answers the call its parent deferred', () =>
    withNode(async (node) => {
      const important = deferred<unknown>();
      class Answerer extends Actor {
        override init(from: PID, ref: Ref, request: string) {
          if (request === 'fail') this.sendResponseError(from, ref, new Error('refused in init'));
          else if (request === 'important')
            this.sendResponseImportant(from, ref, 'acked in init').then(
              () => important.resolve('ok'),
              important.resolve,
            );
          else this.sendResponse(from, ref, `child:${request}`);
        }
      }
      class Delegator extends Actor {
        override handleCall(from: PID, ref: Ref, request: unknown) {
          void this.spawn(Answerer, {}, from, ref, request as string);
          return undefined;
        }
      }
      const d = await node.spawn(Delegator);
      assert.equal(await node.call(d, 'x'), 'child:x');
      await assert.rejects(node.call(d, 'fail'), /refused in init/);
      assert.equal(await node.call(d, 'important'), 'acked in init');
      assert.equal(await important.promise, 'ok');
    }));
});

describe('others and a process in init', () => {
  test('others may monitor and link to it by PID; when its init fails they hear init’s error', () =>
    withNode(async (node) => {
      const gate = deferred<void>();
      const watcherInbox = new Inbox();
      const outcomes: string[] = [];
      const tried = deferred<void>();
      class Watcher extends Recorder {
        override handleMessage(from: PID, message: unknown) {
          if (message === 'hello from init') {
            for (const [op, fn] of [
              ['monitor', () => this.monitorPID(from)],
              ['link', () => this.linkPID(from)],
            ] as const) {
              try {
                fn();
                outcomes.push(`${op}:ok`);
              } catch (e) {
                outcomes.push(`${op}:${(e as { code: string }).code}`);
              }
            }
            tried.resolve();
            return;
          }
          super.handleMessage(from, message);
        }
      }
      const watcher = await node.spawn(Watcher, {}, watcherInbox, true);
      let child: PID | undefined;
      const spawning = node.spawn(InitRunner, {}, async (self) => {
        child = self.pid;
        self.send(watcher, 'hello from init');
        await gate.promise;
        return BOOM;
      });
      await tried.promise;
      assert.deepEqual(outcomes, ['monitor:ok', 'link:ok']);
      gate.resolve();
      assert.equal(await spawning.catch((e: unknown) => e), BOOM);
      const got = await watcherInbox.count(2);
      const down = got.find((s) => s.message instanceof MessageDownPID)!.message as MessageDownPID;
      const exit = got.find((s) => s.message instanceof MessageExitPID)!.message as MessageExitPID;
      assert.ok(down.pid.equals(child!) && exit.pid.equals(child!));
      assert.equal(down.reason, BOOM);
      assert.equal(exit.reason, BOOM);
    }));

  test('a monitor made on a process in init stays once its init succeeds', () =>
    withNode(async (node) => {
      const gate = deferred<void>();
      const watcherInbox = new Inbox();
      const monitored = deferred<void>();
      class Watcher extends Recorder {
        override handleMessage(from: PID, message: unknown) {
          if (message === 'watch me') {
            this.monitorPID(from);
            monitored.resolve();
            return;
          }
          super.handleMessage(from, message);
        }
      }
      const watcher = await node.spawn(Watcher, {}, watcherInbox);
      const spawning = node.spawn(InitRunner, {}, async (self) => {
        self.send(watcher, 'watch me');
        await gate.promise;
      });
      await monitored.promise;
      gate.resolve();
      const pid = await spawning;
      node.kill(pid);
      const [down] = await watcherInbox.count(1);
      assert.ok(down!.message instanceof MessageDownPID && down!.message.pid.equals(pid));
      assert.equal((down!.message as MessageDownPID).reason, TerminateReasonKill);
    }));

  test('nested inits: a child monitors its parent while both are in init, and hears the parent’s failed init', () =>
    withNode(async (node) => {
      const childInbox = new Inbox();
      const childPid = deferred<PID>();
      const spawning = node.spawn(InitRunner, {}, async (parent) => {
        childPid.resolve(
          await parent.spawn(
            InitRunner,
            {},
            (child) => {
              child.monitorPID(child.parent);
            },
            childInbox,
          ),
        );
        return BOOM;
      });
      assert.equal(await spawning.catch((e: unknown) => e), BOOM);
      const child = await childPid.promise;
      const [down] = await childInbox.count(1);
      assert.ok(down!.message instanceof MessageDownPID);
      assert.equal((down!.message as MessageDownPID).reason, BOOM);
      node.kill(child);
    }));

  test('linkParent / linkChild together with the same links made during init: one relation each way', () =>
    withNode(async (node) => {
      const parentInbox = new Inbox();
      const spawned = deferred<PID>();
      const linkedInInit = deferred<void>();
      const gate = deferred<void>();
      class Parent extends Recorder {
        override handleMessage(from: PID, message: unknown) {
          if (message === 'link me') {
            this.linkPID(from); // the child is still in init
            linkedInInit.resolve();
            return;
          }
          if (message === 'spawn') {
            this.spawn(InitRunner, { linkParent: true, linkChild: true }, async (child) => {
              child.link(child.parent);
              child.send(child.parent, 'link me');
              await gate.promise;
            }).then(spawned.resolve, spawned.reject);
            return;
          }
          super.handleMessage(from, message);
        }
      }
      const parent = await node.spawn(Parent, {}, parentInbox, true);
      node.send(parent, 'spawn');
      await linkedInInit.promise;
      gate.resolve();
      const child = await spawned.promise;
      assert.deepEqual(node.processInfo(child).linksPID, [parent]);
      assert.deepEqual(node.processInfo(parent).linksPID, [child]);
    }));
});

describe('init failing after it set things up', () => {
  test('names, aliases, events, links, monitors, subscriptions, timers and pending calls are all undone', () =>
    withNode(async (node) => {
      const engine = engineOf(node);
      const before = node.info();
      const gate = deferred<void>();
      const ready = deferred<Alias>();
      const callFailed: Deferred<unknown> = deferred<unknown>();
      const producerInbox = new Inbox();
      const producer = await node.spawn(
        InitRunner,
        {},
        (self) => void self.registerEvent('watched_by_doomed', { notify: true }),
        producerInbox,
      );
      const target = await node.spawn(Recorder, {}, new Inbox());
      const silent = await node.spawn(Silent);
      const spawning = node.spawn(InitRunner, {}, async (self) => {
        self.registerName('doomed');
        const alias = self.createAlias();
        self.registerEvent('doomed_event');
        self.link(target);
        self.monitor(target);
        await self.monitorEvent(new Event('watched_by_doomed' as never, node.name));
        self.sendAfter(target, 'never', 60_000);
        self.call(silent, 'pending', { timeout: 60_000 }).catch(callFailed.resolve);
        ready.resolve(alias);
        await gate.promise;
        throw BOOM;
      });
      const alias = await ready.promise;
      // Others watch what the doomed process registered.
      const watcherInbox = new Inbox();
      await node.spawn(
        InitRunner,
        {},
        (w) => {
          w.monitorProcessID(new ProcessID('doomed' as never, node.name));
          w.monitorAlias(alias);
          void w.monitorEvent(new Event('doomed_event' as never, node.name));
        },
        watcherInbox,
      );
      assert.equal(node.info().registeredNames, before.registeredNames + 1);
      gate.resolve();
      assert.equal(await spawning.catch((e: unknown) => e), BOOM);

      const downs = (await watcherInbox.count(3)).map((s) => s.message);
      assert.ok(
        downs.some((m) => m instanceof MessageDownProcessID && m.reason === BOOM),
        'the name’s watchers hear init’s error',
      );
      assert.ok(
        downs.some((m) => m instanceof MessageDownAlias && m.reason === BOOM),
        'the alias’s watchers too',
      );
      assert.ok(
        downs.some((m) => m instanceof MessageDownEvent && m.reason === BOOM),
        'the event’s subscribers too',
      );
      const producerSaw = (await producerInbox.count(2)).map((s) => s.message);
      assert.ok(
        producerSaw[0] instanceof MessageEventStart && producerSaw[1] instanceof MessageEventStop,
        'its subscription was dropped',
      );
      assert.equal(
        ((await callFailed.promise) as { code?: string }).code,
        'ERR_PROCESS_TERMINATED',
        'its pending call failed',
      );

      thrown(() => node.processPID('doomed'), 'ERR_PROCESS_UNKNOWN');
      thrown(() => node.send(alias, 'x'), 'ERR_PROCESS_UNKNOWN');
      const after = node.info();
      assert.equal(after.registeredNames, before.registeredNames);
      assert.equal(after.registeredAliases, before.registeredAliases);
      assert.equal(after.registeredEvents, before.registeredEvents + 1, 'only the producer’s event is left');
      assert.equal(engine.processes.get(target.id)!.tCount, 0, 'no relation left on the target');
      assert.equal(engine.initing.size, 0);
      assert.equal(engine.calls.size, 0);
      // Everything can be taken again.
      await node.spawnRegister('doomed', InitRunner, {}, (self) => void self.registerEvent('doomed_event'));
      void producer;
    }));

  test('initTimeout while init awaits a call: the spawn fails with ErrTimeout, the call and the name are released', () =>
    withNode(async (node) => {
      const engine = engineOf(node);
      const asked = deferred<void>();
      const silent = await node.spawn(Silent, {}, () => asked.resolve());
      const lateError = deferred<unknown>();
      const spawning = node.spawn(InitRunner, { initTimeout: 50 }, async (self) => {
        self.registerName('slowpoke');
        await self.call(silent, 'q', { timeout: 60_000 }).catch((e: unknown) => lateError.resolve(e));
      });
      await asked.promise;
      await rejectsWith(spawning, 'ERR_TIMEOUT');
      assert.equal(
        ((await lateError.promise) as { code?: string }).code,
        'ERR_PROCESS_TERMINATED',
        'the late init sees its call fail',
      );
      thrown(() => node.processPID('slowpoke'), 'ERR_PROCESS_UNKNOWN');
      assert.equal(engine.calls.size, 0);
      assert.equal(engine.initing.size, 0);
      await node.spawnRegister('slowpoke', Recorder, {}, new Inbox());
    }));
});
