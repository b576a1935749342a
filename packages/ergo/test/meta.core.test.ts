// Meta processes, the core (issue 11; ERGO-API §2.5 and the meta rows; §5.14 t013 TestBasic and
// TestLinkMonitor): spawnMeta → Alias, calls/sends/inspect to the alias, exit signals, links and
// monitors on the alias, termination with the parent, start() promises, mailbox limits, info,
// log levels and env.

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';

import {
  ErgoError,
  LogLevel,
  MessageDownAlias,
  MessageExitAlias,
  MessagePriority,
  MetaState,
  Stop,
  TerminateReasonNormal,
  TerminateReasonPanic,
  type Alias,
  type MetaProcess,
  type Node,
  type Ref,
} from '../src/index.js';
import { MetaBase } from '../src/meta/index.js';
import { PID, type Atom } from '../src/index.js';
import { eventually } from '@ergo-ts/test-support';
import { coreOf, fakeNetwork } from './remote_helpers.js';
import {
  deferred,
  exec,
  guardUnhandled,
  rejectsCode,
  spawnTest,
  testNode,
  throwsCode,
  type Deferred,
} from './lifecycle_helpers.js';
import { suiteNode } from './suite_node.js';
import { waitForTermination } from '../src/testing/index.js';

guardUnhandled();

/** A scriptable meta: records what it sees; `stop` settles the start() promise. */
class TestMeta extends MetaBase {
  readonly seen: { from: PID; message: unknown }[] = [];
  readonly terminated = deferred<Error>();
  readonly started = deferred<void>();
  readonly stop = deferred<Error | undefined>();
  readonly messageWaiters: Deferred<unknown>[] = [];
  useStartPromise = true;

  override start(): unknown {
    this.started.resolve();
    return this.useStartPromise ? this.stop.promise : undefined;
  }

  nextMessage(): Promise<unknown> {
    const d = deferred<unknown>();
    this.messageWaiters.push(d);
    return d.promise;
  }

  override handleMessage(from: PID, message: unknown): unknown {
    this.seen.push({ from, message });
    this.messageWaiters.shift()?.resolve(message);
    if (message instanceof Error) return message;
    if (typeof message === 'object' && message !== null && 'forwardTo' in message) {
      this.send((message as { forwardTo: PID }).forwardTo, 'forward');
    }
    if (message === 'throw') throw new Error('meta boom');
    return undefined;
  }

  override handleCall(from: PID, ref: Ref, request: unknown): unknown {
    if (request === 'spawn') return this.meta.spawn(new TestMeta());
    if (request === 'later') {
      // An async handler: the meta stays Running and may answer with sendResponse.
      return Promise.resolve().then(() => {
        this.meta.sendResponse(from, ref, 'answered later');
        return undefined;
      });
    }
    if (request === 'fail') {
      this.meta.sendResponseError(from, ref, new Error('refused'));
      return undefined;
    }
    if (request === 'stop') return new Stop(TerminateReasonNormal, 'bye');
    if (request === 'state') return this.meta.state();
    if (request === 'env') return this.meta.envDefault('COLOR', 'none');
    return request;
  }

  override handleInspect(from: PID, ...items: string[]): Record<string, string> {
    return { [from.toString()]: 'ok', items: items.join(',') };
  }

  override terminate(reason: Error): void {
    this.stop.resolve(undefined);
    this.terminated.resolve(reason);
  }
}

describe('meta processes: core', () => {
  let node: Node;
  suiteNode((n) => (node = n));

  test('t013 TestBasic: call, send, inspect, child meta, exit signal with its exact reason', async () => {
    const { pid } = await spawnTest(node);
    const m = new TestMeta();
    const id = await exec(node, pid, (a) => a.spawnMeta(m));
    await m.started.promise;
    assert.equal(await exec(node, pid, (a) => a.call(id, 'ping-pong')), 'ping-pong');

    const got = m.nextMessage();
    await exec(node, pid, (a) => a.send(id, 'hello'));
    assert.equal(await got, 'hello');
    assert.ok(m.seen[0]!.from.equals(pid));

    const insp = await exec(node, pid, (a) => a.inspectMeta(id, 'a', 'b'));
    assert.deepEqual(insp, { [pid.toString()]: 'ok', items: 'a,b' });

    const child = (await exec(node, pid, (a) => a.call(id, 'spawn'))) as Alias;
    assert.equal(child.constructor.name, 'Alias');
    assert.deepEqual(
      node.processInfo(pid).metas.map((x) => x.toString()),
      [id.toString(), child.toString()],
    );

    const reason = new Error('test meta exit');
    await exec(node, pid, (a) => a.sendExitMeta(id, reason));
    assert.equal(await m.terminated.promise, reason);
    assert.deepEqual(
      node.processInfo(pid).metas.map((x) => x.toString()),
      [child.toString()],
    );
    throwsCode(() => node.metaInfo(id), 'ERR_META_UNKNOWN');
    await rejectsCode(
      exec(node, pid, (a) => a.call(id, 'x')),
      'ERR_PROCESS_UNKNOWN',
    );
  });

  test('t013 TestLinkMonitor: meta sends as its parent; link/monitor on the alias; parent exit ends its meta with the same reason', async () => {
    const { pid: root } = await spawnTest(node);
    // The parent traps exits, links/monitors its own metas.
    const { pid: parent, inbox } = await exec(node, root, async (a) => {
      const { Inbox, TestActor } = await import('./lifecycle_helpers.js');
      const box = new Inbox();
      const p = await a.spawn(TestActor, {}, box, { init: (t) => t.setTrapExit(true) });
      return { pid: p, inbox: box };
    });

    const m1 = new TestMeta();
    const id1 = await exec(node, parent, (a) => a.spawnMeta(m1));
    node.send(id1, { forwardTo: parent });
    const fwd = await inbox.next((s) => s.kind === 'message' && s.message === 'forward', 'forward');
    assert.ok((fwd as { from: PID }).from.equals(parent), 'a meta sends with its parent PID');

    await exec(node, parent, (a) => a.link(id1));
    const term = new Error('term meta');
    await exec(node, root, (a) => a.sendExitMeta(id1, term));
    const { message: exit } = await inbox.message(MessageExitAlias);
    assert.ok(exit.alias.equals(id1));
    assert.equal(exit.reason, term);

    const m2 = new TestMeta();
    const id2 = await exec(node, parent, (a) => a.spawnMeta(m2));
    await exec(node, parent, (a) => a.monitor(id2));
    await exec(node, root, (a) => a.sendExitMeta(id2, term));
    const { message: down } = await inbox.message(MessageDownAlias);
    assert.ok(down.alias.equals(id2));
    assert.equal(down.reason, term);

    const m3 = new TestMeta();
    await exec(node, parent, (a) => a.spawnMeta(m3));
    const pidterm = new Error('blabla');
    await exec(node, root, (a) => a.sendExit(parent, pidterm));
    assert.equal(await m3.terminated.promise, pidterm);
  });

  test('start(): a settling promise ends the meta (normal, an Error, or a panic when it rejects)', async () => {
    const { pid } = await spawnTest(node);
    const a = new TestMeta();
    const idA = await exec(node, pid, (x) => x.spawnMeta(a));
    await a.started.promise;
    const watcher = await spawnTest(node);
    await exec(node, watcher.pid, (x) => x.monitor(idA));
    a.stop.resolve(undefined);
    assert.equal(await a.terminated.promise, TerminateReasonNormal);
    const { message } = await watcher.inbox.message(MessageDownAlias);
    assert.equal(message.reason, TerminateReasonNormal);

    const b = new TestMeta();
    await exec(node, pid, (x) => x.spawnMeta(b));
    const custom = new Error('io over');
    b.stop.resolve(custom);
    assert.equal(await b.terminated.promise, custom);

    class Rejecting extends TestMeta {
      override start(): unknown {
        return Promise.reject(new Error('start failed'));
      }
    }
    const c = new Rejecting();
    await exec(node, pid, (x) => x.spawnMeta(c));
    assert.equal(await c.terminated.promise, TerminateReasonPanic);
  });

  test('handlers: a returned Error stops, a throw panics, Stop replies then stops, async replies with sendResponse', async () => {
    const { pid } = await spawnTest(node);
    const a = new TestMeta();
    const idA = await exec(node, pid, (x) => x.spawnMeta(a));
    assert.equal(await exec(node, pid, (x) => x.call(idA, 'later')), 'answered later');
    await assert.rejects(
      exec(node, pid, (x) => x.call(idA, 'fail')),
      /refused/,
    );
    assert.equal(await exec(node, pid, (x) => x.call(idA, 'state')), MetaState.Running);
    assert.equal(await exec(node, pid, (x) => x.call(idA, 'stop')), 'bye');
    assert.equal(await a.terminated.promise, TerminateReasonNormal);

    const b = new TestMeta();
    const idB = await exec(node, pid, (x) => x.spawnMeta(b));
    const mine = new Error('mine');
    node.send(idB, mine);
    assert.equal(await b.terminated.promise, mine);

    const c = new TestMeta();
    const idC = await exec(node, pid, (x) => x.spawnMeta(c));
    node.send(idC, 'throw');
    assert.equal(await c.terminated.promise, TerminateReasonPanic);
  });

  test('a meta with no start promise lives until told; sendResponse outside a handler is not allowed', async () => {
    const { pid } = await spawnTest(node);
    const m = new TestMeta();
    m.useStartPromise = false;
    const id = await exec(node, pid, (x) => x.spawnMeta(m));
    await m.started.promise;
    assert.equal(m.meta.state(), MetaState.Sleep);
    throwsCode(() => m.meta.sendResponse(pid, node.makeRef(), 1), 'ERR_NOT_ALLOWED');
    throwsCode(() => m.meta.setSendPriority(MessagePriority.High), 'ERR_NOT_ALLOWED');
    assert.equal(await exec(node, pid, (x) => x.call(id, 'echo')), 'echo');
    await exec(node, pid, (x) => x.sendExitMeta(id, TerminateReasonNormal));
    assert.equal(await m.terminated.promise, TerminateReasonNormal);
    assert.equal(m.meta.state(), MetaState.Terminated);
    throwsCode(() => m.meta.spawn(new TestMeta()), 'ERR_NOT_ALLOWED');
  });

  test('metaInfo, log levels, env of the parent, send priority and compression options', async () => {
    const { pid } = await spawnTest(node, { options: { env: { color: 'blue' } } });
    const m = new TestMeta();
    const id = await exec(node, pid, (x) =>
      x.spawnMeta(m, {
        mailboxSize: 7,
        sendPriority: MessagePriority.High,
        compression: true,
        logLevel: LogLevel.Warning,
      }),
    );
    await m.started.promise;
    const info = node.metaInfo(id);
    assert.ok(info.id.equals(id));
    assert.ok(info.parent.equals(pid));
    assert.equal(info.behavior, 'TestMeta');
    assert.equal(info.mailboxSize, 7);
    assert.equal(info.messagePriority, MessagePriority.High);
    assert.equal(info.logLevel, LogLevel.Warning);
    assert.equal(info.state, MetaState.Sleep);
    assert.equal(m.meta.compression(), true);
    assert.equal(m.meta.sendPriority(), MessagePriority.High);
    assert.equal(await exec(node, pid, (x) => x.metaInfo(id).behavior), 'TestMeta');
    assert.equal(node.logLevelMeta(id), LogLevel.Warning);
    node.setLogLevelMeta(id, LogLevel.Debug);
    assert.equal(node.logLevelMeta(id), LogLevel.Debug);
    throwsCode(() => node.setLogLevelMeta(id, 99 as LogLevel), 'ERR_INCORRECT');
    assert.equal(await exec(node, pid, (x) => x.call(id, 'env')), 'blue');
    assert.equal(m.meta.env('COLOR'), 'blue');
    assert.deepEqual(await node.inspectMeta(id, 'z'), { [node.pid.toString()]: 'ok', items: 'z' });
    assert.equal(node.metaInfo(id).messagesIn >= 2, true);
    await exec(node, pid, (x) => x.sendExitMeta(id, TerminateReasonNormal));
    await m.terminated.promise;
  });

  test('errors: unknown metas, bad options, async init, a full mailbox', async () => {
    const { pid } = await spawnTest(node);
    const procAlias = await exec(node, pid, (x) => x.createAlias());
    await exec(node, pid, (x) => throwsCode(() => x.sendExitMeta(procAlias, new Error('x')), 'ERR_META_UNKNOWN'));
    const gone = node.makeRef();
    const { Alias } = await import('../src/index.js');
    const unknown = new Alias(gone.node, gone.creation, gone.id);
    await exec(node, pid, (x) => throwsCode(() => x.sendExitMeta(unknown, new Error('x')), 'ERR_ALIAS_UNKNOWN'));
    await exec(node, pid, (x) => throwsCode(() => x.metaInfo(unknown), 'ERR_META_UNKNOWN'));
    await rejectsCode(node.inspectMeta(unknown), 'ERR_META_UNKNOWN');
    throwsCode(() => node.logLevelMeta(unknown), 'ERR_META_UNKNOWN');
    await exec(node, pid, (x) => throwsCode(() => x.spawnMeta(new TestMeta(), { mailboxSize: -1 }), 'ERR_INCORRECT'));
    await exec(node, pid, (x) => throwsCode(() => x.spawnMeta({} as never), 'ERR_INCORRECT'));
    class AsyncInit extends TestMeta {
      override init(meta: MetaProcess): unknown {
        super.init(meta);
        return Promise.resolve();
      }
    }
    await exec(node, pid, (x) => throwsCode(() => x.spawnMeta(new AsyncInit()), 'ERR_INCORRECT'));
    class FailingInit extends TestMeta {
      override init(): unknown {
        return new ErgoError('ERR_MINE', 'no socket');
      }
    }
    await exec(node, pid, (x) => throwsCode(() => x.spawnMeta(new FailingInit()), 'ERR_MINE'));
    assert.deepEqual(node.processInfo(pid).metas, []);

    // A bounded meta whose handler is busy: the main queue fills, then refuses.
    const release = deferred<void>();
    class Busy extends TestMeta {
      override handleMessage(from: PID, message: unknown): unknown {
        super.handleMessage(from, message);
        return message === 'block' ? release.promise : undefined;
      }
    }
    const busy = new Busy();
    const id = await exec(node, pid, (x) => x.spawnMeta(busy, { mailboxSize: 2 }));
    const blocked = busy.nextMessage();
    node.send(id, 'block');
    await blocked;
    node.send(id, 1);
    node.send(id, 2);
    throwsCode(() => node.send(id, 3), 'ERR_META_MAILBOX_FULL');
    assert.equal(node.metaInfo(id).state, MetaState.Running);
    assert.equal(node.metaInfo(id).mailboxQueues.main, 2);
    const first = busy.nextMessage();
    const drained = busy.nextMessage();
    release.resolve();
    // Handled once its handler's promise settles: wait for that, not for an order of microtasks
    // (a scheduler drain may already be pending and run the call below first).
    assert.equal(await first, 1);
    assert.equal(await drained, 2);
    // A sleeping meta ends at once with its parent; this one is idle again after the queue drains.
    assert.equal(await exec(node, pid, (x) => x.call(id, 'echo')), 'echo');
    assert.deepEqual(
      busy.seen.map((s) => s.message),
      ['block', 1, 2],
    );
  });

  test('remote peers reach a meta through the Core: send, call (the reply crosses back), monitor', async () => {
    const own = await testNode();
    const X = 'peer_meta@remote' as Atom;
    const conn = fakeNetwork(own, X).get(X)!;
    const core = coreOf(own);
    const { pid } = await spawnTest(own);
    const m = new TestMeta();
    const id = await exec(own, pid, (a) => a.spawnMeta(m));
    const remote = new PID(X, 1001, 7);
    const options = { priority: MessagePriority.Normal, important: false, compression: null, keepNetworkOrder: true };
    const got = m.nextMessage();
    core.routeSendAlias(remote, id, options, 'from afar');
    assert.equal(await got, 'from afar');
    assert.ok(m.seen[0]!.from.equals(remote));

    core.routeCallAlias(remote, id, { ...options, ref: own.makeRef() }, 'ping');
    await eventually(() => conn.of('sendResponse').length === 1, 'the reply crosses back');
    const [from, to, , reply] = conn.of('sendResponse')[0]! as [PID, PID, unknown, unknown];
    assert.ok(from.equals(pid), 'a meta answers as its parent');
    assert.ok(to.equals(remote));
    assert.equal(reply, 'ping');

    core.routeMonitorAlias(remote, id);
    const reason = new Error('gone');
    await exec(own, pid, (a) => a.sendExitMeta(id, reason));
    await m.terminated.promise;
    const [target, why] = conn.of('sendTerminateAlias')[0]! as [Alias, Error];
    assert.ok(target.equals(id));
    assert.equal(why, reason);
    await own.stop();
  });

  test('sendExitMetaAfter fires later and can be cancelled; a running meta ends with its parent after its handler', async () => {
    const { pid } = await spawnTest(node);
    const m = new TestMeta();
    const id = await exec(node, pid, (x) => x.spawnMeta(m));
    const cancel = await exec(node, pid, (x) => x.sendExitMetaAfter(id, new Error('never'), 60_000));
    assert.equal(cancel(), true);
    const late = new Error('late');
    await exec(node, pid, (x) => x.sendExitMetaAfter(id, late, 1));
    assert.equal(await m.terminated.promise, late);

    const release = deferred<void>();
    let siblingError: unknown;
    class Busy extends TestMeta {
      override handleMessage(): unknown {
        this.messageWaiters.shift()?.resolve(undefined);
        return release.promise.then(() => {
          // Its parent is gone: it cannot add a sibling that nobody would end.
          try {
            this.meta.spawn(new TestMeta());
          } catch (e) {
            siblingError = e;
          }
        });
      }
    }
    const busy = new Busy();
    const idB = await exec(node, pid, (x) => x.spawnMeta(busy));
    const entered = busy.nextMessage();
    node.send(idB, 'block');
    await entered;
    const reason = new Error('parent gone');
    const parentGone = waitForTermination(node, pid, { timeout: 20_000 });
    node.sendExit(pid, reason);
    // The parent is gone (the exit is handled in its own turn: wait for it, not for a microtask
    // order); its meta ends once its handler settles, with the parent's reason.
    assert.equal(await parentGone, reason);
    release.resolve();
    assert.equal(await busy.terminated.promise, reason);
    assert.equal((siblingError as { code?: string }).code, 'ERR_NOT_ALLOWED');
    throwsCode(() => node.metaInfo(idB), 'ERR_META_UNKNOWN');
  });
});
