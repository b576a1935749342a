// sendResponseImportant / sendResponseErrorImportant (Ergo 3.2, "important delivery for
// responses"): the responder learns whether its reply reached a waiting caller. Locally at once:
// resolved, ErrResponseIgnored (the caller no longer waits) or ErrProcessUnknown (no such
// caller). Remotely the reply carries the important flag and the promise is the connection's ack;
// on the receiving side, Core reports an important reply nobody waits for with ErrResponseIgnored.

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';

import {
  Actor,
  MessageDownPID,
  PID,
  type Atom,
  type HandlerResult,
  type MessageOptions,
  type Node,
  type Ref,
} from '../src/index.js';
import { RecordingConnection, coreOf, routerOf } from './remote_helpers.js';
import { deferred, noUnhandled, rejectsWith, withNode } from './helpers.js';

noUnhandled();

/** A request as the responder saw it. */
interface Held {
  from: PID;
  ref: Ref;
}

/**
 * Holds every request (replies later); runs a function sent as a message inside its handler;
 * hands any other message to `onMessage`.
 */
class Holder extends Actor {
  held: Held[] = [];
  onRequest: (h: Held) => void = () => undefined;
  onMessage: (m: unknown) => void = () => undefined;
  override init(onRequest?: (h: Held) => void, onMessage?: (m: unknown) => void) {
    if (onRequest) this.onRequest = onRequest;
    if (onMessage) this.onMessage = onMessage;
  }
  override handleCall(from: PID, ref: Ref) {
    const h = { from, ref };
    this.held.push(h);
    this.onRequest(h);
    return undefined;
  }
  override handleMessage(_from: PID, message: unknown): HandlerResult {
    if (typeof message === 'function') return (message as (self: Holder) => Promise<void>)(this);
    this.onMessage(message);
  }
}

/**
 * Runs `fn` inside the holder's handler (state Running; the handler stays suspended until `fn`'s
 * promise settles) and resolves with its result.
 */
function inHolder<T>(node: Node, holder: PID, fn: (self: Holder) => Promise<T> | T): Promise<T> {
  const d = deferred<T>();
  node.send(holder, (self: Holder) => {
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

describe('locally', () => {
  test('a waiting caller gets the value or the error; the responder resolves', () =>
    withNode(async (node) => {
      const asked = deferred<Held>();
      const holder = await node.spawn(Holder, {}, (h: Held) => asked.resolve(h));
      const calling = node.call(holder, 'q');
      const h = await asked.promise;
      await inHolder(node, holder, (self) => self.sendResponseImportant(h.from, h.ref, 'value'));
      assert.equal(await calling, 'value');

      const asked2 = deferred<Held>();
      const holder2 = await node.spawn(Holder, {}, (x: Held) => asked2.resolve(x));
      const failing = node.call(holder2, 'q');
      const h2 = await asked2.promise;
      await inHolder(node, holder2, (self) => self.sendResponseErrorImportant(h2.from, h2.ref, new Error('no way')));
      await assert.rejects(failing, /no way/);
    }));

  test('a process caller (in a handler) is answered the same way', () =>
    withNode(async (node) => {
      const asked = deferred<Held>();
      const holder = await node.spawn(Holder, {}, (h: Held) => asked.resolve(h));
      const caller = await node.spawn(Holder);
      const reply = inHolder(node, caller, (self) => self.call(holder, 'q'));
      const h = await asked.promise;
      assert.ok(h.from.equals(caller));
      await inHolder(node, holder, (self) => self.sendResponseImportant(h.from, h.ref, 42));
      assert.equal(await reply, 42);
    }));

  test('a caller that timed out: ErrResponseIgnored (node caller and process caller)', () =>
    withNode(async (node) => {
      const asked = deferred<Held>();
      const holder = await node.spawn(Holder, {}, (h: Held) => asked.resolve(h));
      await rejectsWith(node.call(holder, 'q', { timeout: 10 }), 'ERR_TIMEOUT');
      const h = await asked.promise;
      await rejectsWith(
        inHolder(node, holder, (self) => self.sendResponseImportant(h.from, h.ref, 'late')),
        'ERR_RESPONSE_IGNORED',
      );
      await rejectsWith(
        inHolder(node, holder, (self) => self.sendResponseErrorImportant(h.from, h.ref, new Error('late'))),
        'ERR_RESPONSE_IGNORED',
      );

      const asked2 = deferred<Held>();
      const holder2 = await node.spawn(Holder, {}, (x: Held) => asked2.resolve(x));
      const caller = await node.spawn(Holder);
      await rejectsWith(
        inHolder(node, caller, (self) => self.call(holder2, 'q', { timeout: 10 })),
        'ERR_TIMEOUT',
      );
      const h2 = await asked2.promise;
      await rejectsWith(
        inHolder(node, holder2, (self) => self.sendResponseImportant(h2.from, h2.ref, 'late')),
        'ERR_RESPONSE_IGNORED',
      );
      // A plain sendResponse to the same caller is dropped silently, as before.
      await inHolder(node, holder2, (self) => self.sendResponse(h2.from, h2.ref, 'late'));
    }));

  test('a caller that ended, or never existed: ErrProcessUnknown', () =>
    withNode(async (node) => {
      const asked = deferred<Held>();
      const holder = await node.spawn(Holder, {}, (h: Held) => asked.resolve(h));
      const caller = await node.spawn(Holder);
      const down = deferred<unknown>();
      const watcher = await node.spawn(Holder, {}, undefined, (m: unknown) => down.resolve(m));
      await inHolder(node, watcher, (self) => self.monitorPID(caller));
      void inHolder(node, caller, (self) => self.call(holder, 'q', { timeout: 60_000 })).catch(() => undefined);
      const h = await asked.promise;
      node.kill(caller);
      assert.ok((await down.promise) instanceof MessageDownPID, 'the caller has left the node');
      await rejectsWith(
        inHolder(node, holder, (self) => self.sendResponseImportant(h.from, h.ref, 'too late')),
        'ERR_PROCESS_UNKNOWN',
      );
      const ghost = new PID(node.name, 999_999, node.creation);
      await rejectsWith(
        inHolder(node, holder, (self) => self.sendResponseImportant(ghost, node.makeRef(), 'x')),
        'ERR_PROCESS_UNKNOWN',
      );
    }));

  test('bad arguments are ErrIncorrect; inside terminate it is ErrNotAllowed', () =>
    withNode(async (node) => {
      const holder = await node.spawn(Holder);
      const ref = node.makeRef();
      await rejectsWith(
        inHolder(node, holder, (self) =>
          self.sendResponseImportant({ node: node.name, id: 1, creation: 1 } as unknown as PID, ref, 1),
        ),
        'ERR_INCORRECT',
      );
      await rejectsWith(
        inHolder(node, holder, (self) => self.sendResponseImportant(node.pid, 'ref' as unknown as Ref, 1)),
        'ERR_INCORRECT',
      );
      await rejectsWith(
        inHolder(node, holder, (self) => self.sendResponseErrorImportant(node.pid, ref, 'oops' as unknown as Error)),
        'ERR_INCORRECT',
      );
      const inTerminate = deferred<unknown>();
      class Leaving extends Actor {
        override terminate() {
          this.sendResponseImportant(node.pid, ref, 1).then(() => inTerminate.resolve('ok'), inTerminate.resolve);
        }
      }
      node.kill(await node.spawn(Leaving));
      assert.equal(((await inTerminate.promise) as { code?: string }).code, 'ERR_NOT_ALLOWED');
    }));
});

/** A connection whose responses return the ack the test decides (a real protocol's RR-2PC). */
class AckingConnection extends RecordingConnection {
  responseAck: (() => Promise<void>) | undefined;
  // eslint-disable-next-line @typescript-eslint/no-misused-promises -- gen.Connection allows the ack Promise the recording base omits
  override sendResponse(from: PID, to: PID, options: MessageOptions, response: unknown): Promise<void> | void {
    super.sendResponse(from, to, options, response);
    return options.important && this.responseAck !== undefined ? this.responseAck() : undefined;
  }
  // eslint-disable-next-line @typescript-eslint/no-misused-promises -- gen.Connection allows the ack Promise the recording base omits
  override sendResponseError(from: PID, to: PID, options: MessageOptions, error: Error): Promise<void> | void {
    super.sendResponseError(from, to, options, error);
    return options.important && this.responseAck !== undefined ? this.responseAck() : undefined;
  }
}

describe('across nodes', () => {
  const X = 'x@remote' as Atom;
  const remoteCaller = new PID(X, 1001, 7);

  test('the reply carries the important flag and the ref; the promise follows the ack', () =>
    withNode(async (node) => {
      const conn = new AckingConnection(X);
      routerOf(node).setConnector(() => conn);
      const holder = await node.spawn(Holder);
      const ref = node.makeRef();
      // A connection without an ack for responses: resolved once handed over.
      await inHolder(node, holder, (self) => self.sendResponseImportant(remoteCaller, ref, 'v1'));
      conn.responseAck = () => Promise.resolve();
      await inHolder(node, holder, (self) => self.sendResponseImportant(remoteCaller, ref, 'v2'));
      conn.responseAck = () =>
        Promise.reject(Object.assign(new Error('response ignored'), { code: 'ERR_RESPONSE_IGNORED' }));
      await rejectsWith(
        inHolder(node, holder, (self) => self.sendResponseErrorImportant(remoteCaller, ref, new Error('e'))),
        'ERR_RESPONSE_IGNORED',
      );
      const sent = conn.of('sendResponse') as [PID, PID, MessageOptions, unknown][];
      assert.deepEqual(
        sent.map(([from, to, o, v]) => [from.equals(holder), to.equals(remoteCaller), o.important, o.ref === ref, v]),
        [
          [true, true, true, true, 'v1'],
          [true, true, true, true, 'v2'],
        ],
      );
      const errs = conn.of('sendResponseError') as [PID, PID, MessageOptions, Error][];
      assert.equal(errs.length, 1);
      assert.equal(errs[0]![2].important, true);
      // A plain sendResponse keeps the process's own flag (off here).
      await inHolder(node, holder, (self) => self.sendResponse(remoteCaller, ref, 'plain'));
      assert.equal((conn.of('sendResponse')[2] as [PID, PID, MessageOptions, unknown])[2].important, false);
    }));

  test('without a network: ErrNetworkStopped', () =>
    withNode(async (node) => {
      const holder = await node.spawn(Holder);
      await rejectsWith(
        inHolder(node, holder, (self) => self.sendResponseImportant(remoteCaller, node.makeRef(), 1)),
        'ERR_NETWORK_STOPPED',
      );
    }));

  test('Core: an important reply nobody waits for is ErrResponseIgnored; a plain one is dropped silently', () =>
    withNode(async (node) => {
      const core = coreOf(node);
      const opts = (important: boolean, ref: Ref): MessageOptions => ({
        ref,
        priority: 0,
        important,
        compression: null,
        keepNetworkOrder: true,
      });
      const ref = node.makeRef();
      core.routeSendResponse(remoteCaller, node.pid, opts(false, ref), 'nobody waits');
      assert.throws(() => core.routeSendResponse(remoteCaller, node.pid, opts(true, ref), 'nobody waits'), {
        code: 'ERR_RESPONSE_IGNORED',
      });
      const holder = await node.spawn(Holder);
      const asked = deferred<Held>();
      const server = await node.spawn(Holder, {}, (h: Held) => asked.resolve(h));
      const reply = inHolder(node, holder, (self) => self.call(server, 'q'));
      const h = await asked.promise;
      core.routeSendResponse(remoteCaller, h.from, opts(true, h.ref), 'from afar');
      assert.equal(await reply, 'from afar');
    }));
});
