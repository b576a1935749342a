// Process states (issue 2, item 6; ERGO-API §1 "Identity & states", §2.1, §5.2 TestState):
// init, sleep, running, wait-response, zombee, terminated, and Ergo's rule of which operations
// each state allows (I, I/R, R, I/R/T, any), with Ergo 3.2's wider Init (names, aliases, events,
// links, monitors, calls, inspect, responses). WaitResponse counts as running; a zombee can do
// nothing; inside terminate only sends and exits work. Elsewhere: ErrNotAllowed.

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';

import {
  Actor,
  ErrNotAllowed,
  isError,
  MessagePriority,
  ProcessState,
  Stop,
  TerminateReasonKill,
  TerminateReasonNormal,
  type PID,
  type Ref,
} from '../src/index.js';
import { deferred, type Deferred, withNode, noUnhandled } from './helpers.js';

noUnhandled();

type Results = Record<string, string>;

/** The operations Ergo restricts, grouped by the states that allow them. */
const IR = [
  'spawn',
  'setEnv',
  'setSendPriority',
  'setCompression',
  'setImportantDelivery',
  'setKeepNetworkOrder',
  'sendAfter',
  'sendWithPriorityAfter',
  'sendExitAfter',
  // Ergo 3.2 (ProcessInit state widened)
  'registerName',
  'unregisterName',
  'createAlias',
  'deleteAlias',
  'sendResponse',
  'sendResponseError',
  'sendResponseImportant',
  'registerEvent',
  'link',
  'monitor',
  'call',
  'inspect',
];
const R = ['sendImportant', 'info', 'sendEvent'];
const IRT = ['send', 'sendWithPriority', 'sendExit'];
const ANY = ['identity', 'env', 'lists', 'getters', 'log'];

function expect(allowed: string[]): Results {
  const out: Results = {};
  for (const op of [...IR, ...R, ...IRT, ...ANY]) out[op] = allowed.includes(op) ? 'ok' : 'ERR_NOT_ALLOWED';
  return out;
}

/**
 * Tries every restricted operation from inside a process, synchronously first (so the state is
 * the one being tested), then awaits the async ones. Records 'ok' or the error code.
 */
function tryAll(self: Actor, sink: PID, tag: string): Promise<Results> {
  const out: Results = {};
  const pending: Promise<void>[] = [];
  const sync = (op: string, fn: () => unknown): void => {
    try {
      const r = fn();
      if (r instanceof Promise) {
        pending.push(
          r.then(
            () => void (out[op] = 'ok'),
            (e: { code?: string }) => void (out[op] = e.code ?? String(e)),
          ),
        );
      } else out[op] = 'ok';
    } catch (e) {
      out[op] = (e as { code?: string }).code ?? String(e);
    }
  };
  // any state
  sync('identity', () => {
    (void self.pid, self.parent, self.leader, self.name, self.node, self.state(), self.uptime());
  });
  sync('env', () => void self.env('x'));
  sync('lists', () => void (self.envList(), self.aliases(), self.events()));
  sync(
    'getters',
    () => void (self.sendPriority(), self.compression(), self.importantDelivery(), self.keepNetworkOrder()),
  );
  sync('log', () => self.log.debug('hello from %s', tag));
  // I/R
  sync('spawn', () => self.spawn(Idle));
  sync('setEnv', () => {
    self.setEnv('set_in', tag);
    if (self.env('set_in') !== tag) throw Object.assign(new Error('ignored'), { code: 'ERR_NOT_ALLOWED' });
  });
  sync('setSendPriority', () => self.setSendPriority(MessagePriority.Normal));
  sync('setCompression', () => self.setCompression(false));
  sync('setImportantDelivery', () => self.setImportantDelivery(false));
  sync('setKeepNetworkOrder', () => self.setKeepNetworkOrder(true));
  sync('sendAfter', () => self.sendAfter(sink, 'late', 60_000)());
  sync('sendWithPriorityAfter', () => self.sendWithPriorityAfter(sink, 'late', MessagePriority.High, 60_000)());
  sync('sendExitAfter', () => self.sendExitAfter(sink, TerminateReasonNormal, 60_000)());
  // I/R/T
  sync('send', () => self.send(sink, `send from ${tag}`));
  sync('sendWithPriority', () => self.sendWithPriority(sink, `prio from ${tag}`, MessagePriority.High));
  sync('sendExit', () => self.sendExit(sink, new Error(`exit from ${tag}`)));
  // R
  sync('registerName', () => self.registerName(`n-${tag}`));
  sync('unregisterName', () => self.unregisterName());
  let alias: unknown;
  sync('createAlias', () => void (alias = self.createAlias()));
  sync('deleteAlias', () => self.deleteAlias(alias as never));
  sync('sendImportant', () => self.sendImportant(sink, `important from ${tag}`));
  const fakeRef = self.node.isAlive() ? self.node.makeRef() : (undefined as never);
  sync('sendResponse', () => self.sendResponse(sink, fakeRef, 1));
  sync('sendResponseError', () => self.sendResponseError(sink, fakeRef, new Error('x')));
  // Allowed means past the state check: nobody waits for this ref, which is the next check.
  sync('sendResponseImportant', () =>
    self.sendResponseImportant(sink, fakeRef, 1).catch((e: { code?: string }) => {
      if (e.code !== 'ERR_RESPONSE_IGNORED') throw e;
    }),
  );
  sync('info', () => self.info());
  sync('registerEvent', () => {
    self.registerEvent(`ev-${tag}`);
    self.unregisterEvent(`ev-${tag}`);
  });
  sync('sendEvent', () => {
    // The token of an event the sink produced: the state check comes first.
    self.sendEvent('sink-events', sinkToken!, 'x');
  });
  sync('link', () => {
    self.link(sink);
    self.unlink(sink);
  });
  sync('monitor', () => {
    self.monitor(sink);
    self.demonitor(sink);
  });
  // these two move a running process into WaitResponse, so they go last
  sync('call', () => self.call(sink, 'ping'));
  sync('inspect', () => self.inspect(sink));
  return Promise.all(pending).then(() => out);
}

let sinkToken: Ref | undefined;

class Idle extends Actor {
  override handleMessage() {}
}

/** Traps exits, answers calls, ignores messages. */
class Sink extends Actor {
  override init() {
    this.setTrapExit(true);
    sinkToken = this.registerEvent('sink-events');
  }
  override handleMessage() {}
  override handleCall(_f: PID, _r: Ref, req: unknown) {
    return req === 'ping' ? 'pong' : undefined;
  }
}

interface Observed {
  state: number;
  results: Results;
}

describe('operations allowed per state (§2.1)', () => {
  test('Init: I/R (Ergo 3.2: names, aliases, events, links, monitors, calls, inspect, responses), I/R/T and any-state operations work; R-only ones fail with ErrNotAllowed', () =>
    withNode(async (node) => {
      const sink = await node.spawn(Sink);
      const seen = deferred<Observed>();
      class InInit extends Actor {
        override init() {
          const state = this.state();
          void tryAll(this, sink, 'init').then((results) => seen.resolve({ state, results }));
        }
      }
      await node.spawn(InInit);
      const { state, results } = await seen.promise;
      assert.equal(state, ProcessState.Init);
      assert.deepEqual(results, expect([...IR, ...IRT, ...ANY]));
    }));

  test('Running (inside a handler): everything works', () =>
    withNode(async (node) => {
      const sink = await node.spawn(Sink);
      const seen = deferred<Observed>();
      class InRun extends Actor {
        override handleMessage() {
          const state = this.state();
          void tryAll(this, sink, 'running').then((results) => seen.resolve({ state, results }));
        }
      }
      const pid = await node.spawn(InRun);
      node.send(pid, 'go');
      const { state, results } = await seen.promise;
      assert.equal(state, ProcessState.Running);
      assert.deepEqual(results, expect([...IR, ...R, ...IRT, ...ANY]));
    }));

  test('WaitResponse (a call in flight) counts as running', () =>
    withNode(async (node) => {
      const sink = await node.spawn(Sink);
      let held: { from: PID; ref: Ref } | undefined;
      class Slow extends Actor {
        override handleCall(from: PID, ref: Ref) {
          held = { from, ref };
          return undefined; // answer later
        }
        override handleMessage() {
          this.sendResponse(held!.from, held!.ref, 'late');
        }
      }
      const slow = await node.spawn(Slow);
      const seen = deferred<Observed & { reply: unknown; after: number; running: number }>();
      class InWait extends Actor {
        override async handleMessage() {
          const reply = this.call(slow, 'slow');
          const state = this.state();
          const running = node.info().processesRunning;
          const results = await tryAll(this, sink, 'wait');
          node.send(slow, 'release');
          seen.resolve({ state, results, reply: await reply, after: this.state(), running });
        }
      }
      const pid = await node.spawn(InWait);
      node.send(pid, 'go');
      const o = await seen.promise;
      assert.equal(o.state, ProcessState.WaitResponse);
      assert.equal(o.running, 1, 'node info counts WaitResponse as running');
      assert.deepEqual(o.results, expect([...IR, ...R, ...IRT, ...ANY]));
      assert.equal(o.reply, 'late');
      assert.equal(o.after, ProcessState.Running, 'back to Running once the reply arrived');
    }));

  test('Sleep: an idle process seen from outside', () =>
    withNode(async (node) => {
      const pid = await node.spawn(Idle);
      assert.equal(node.processState(pid), ProcessState.Sleep);
      assert.equal(node.processInfo(pid).state, ProcessState.Sleep);
    }));

  test('Terminated (inside terminate): only send, sendWithPriority, sendExit and any-state operations', () =>
    withNode(async (node) => {
      const sink = await node.spawn(Sink);
      const seen = deferred<Observed>();
      class InTerminate extends Actor {
        override handleMessage() {
          return TerminateReasonNormal;
        }
        override terminate() {
          const state = this.state();
          void tryAll(this, sink, 'terminated').then((results) => seen.resolve({ state, results }));
        }
      }
      const pid = await node.spawn(InTerminate);
      node.send(pid, 'stop');
      const { state, results } = await seen.promise;
      assert.equal(state, ProcessState.Terminated);
      assert.deepEqual(results, expect([...IRT, ...ANY]));
    }));

  test('Zombee (killed while its handler is suspended): nothing is allowed, then it ends as killed', () =>
    withNode(async (node) => {
      const sink = await node.spawn(Sink);
      const inHandler = deferred<void>();
      const gate = deferred<void>();
      const seen = deferred<Observed>();
      const reason: Deferred<Error> = deferred<Error>();
      class Victim extends Actor {
        override async handleMessage() {
          inHandler.resolve();
          await gate.promise;
          const state = this.state();
          seen.resolve({ state, results: await tryAll(this, sink, 'zombee') });
        }
        override terminate(r: Error) {
          reason.resolve(r);
        }
      }
      const pid = await node.spawn(Victim);
      node.send(pid, 'go');
      await inHandler.promise;
      node.kill(pid);
      assert.equal(node.processState(pid), ProcessState.Zombee);
      gate.resolve();
      const { state, results } = await seen.promise;
      assert.equal(state, ProcessState.Zombee);
      // identity, env reads, lists and logging are "any state"; everything else fails
      assert.deepEqual(results, expect(ANY));
      assert.equal(await reason.promise, TerminateReasonKill);
    }));

  test('a zombee whose handler then returns (or resolves to) a reason still ends as killed (regression)', () =>
    withNode(async (node) => {
      for (const lateResult of ['sync Error', 'async Error', 'async Stop'] as const) {
        const inHandler = deferred<void>();
        const gate = deferred<void>();
        const reason = deferred<Error>();
        class Victim extends Actor {
          override handleMessage(): any {
            if (lateResult === 'sync Error') {
              this.node.kill(this.pid); // kills itself while running: a zombee
              return new Error('returned by a zombee');
            }
            inHandler.resolve();
            return gate.promise.then(() =>
              lateResult === 'async Error' ? new Error('resolved by a zombee') : new Stop(TerminateReasonNormal),
            );
          }
          override terminate(r: Error) {
            reason.resolve(r);
          }
        }
        const pid = await node.spawn(Victim);
        node.send(pid, 'go');
        if (lateResult !== 'sync Error') {
          await inHandler.promise;
          node.kill(pid);
          assert.equal(node.processState(pid), ProcessState.Zombee);
          gate.resolve();
        }
        assert.equal(await reason.promise, TerminateReasonKill, `${lateResult}: the kill reason wins`);
      }
    }));

  test('ErrNotAllowed errors are fresh instances carrying the sentinel code', () =>
    withNode(async (node) => {
      const got = deferred<unknown>();
      class A extends Actor {
        override init() {
          try {
            this.info();
          } catch (e) {
            got.resolve(e);
          }
        }
      }
      await node.spawn(A);
      const e = await got.promise;
      assert.ok(isError(e, ErrNotAllowed));
      assert.notEqual(e, ErrNotAllowed);
      assert.equal((e as { code: string }).code, 'ERR_NOT_ALLOWED');
    }));
});

describe('state transitions', () => {
  test('init → sleep → running → sleep → terminated, uptime 0 right after spawn (§5.2)', () =>
    withNode(async (node) => {
      const states: number[] = [];
      const done = deferred<void>();
      class T extends Actor {
        override init() {
          states.push(this.state());
          assert.equal(this.uptime(), 0);
        }
        override handleMessage(_f: PID, m: unknown) {
          states.push(this.state());
          if (m === 'stop') return TerminateReasonNormal;
        }
        override terminate() {
          states.push(this.state());
          done.resolve();
        }
      }
      const pid = await node.spawn(T);
      states.push(node.processState(pid));
      node.send(pid, 'x');
      node.send(pid, 'stop');
      await done.promise;
      assert.deepEqual(states, [
        ProcessState.Init,
        ProcessState.Sleep,
        ProcessState.Running,
        ProcessState.Running,
        ProcessState.Terminated,
      ]);
    }));

  test('a process registered by spawn-time name cannot be resolved while in init', () =>
    withNode(async (node) => {
      const gate = deferred<void>();
      const inInit = deferred<void>();
      class SlowInit extends Actor {
        override async init() {
          inInit.resolve();
          await gate.promise;
        }
      }
      const spawning = node.spawnRegister('slow', SlowInit);
      await inInit.promise;
      assert.throws(() => node.processPID('slow'), { code: 'ERR_PROCESS_UNKNOWN' });
      assert.equal(node.info().processesTotal, 0, 'not in the process table during init');
      gate.resolve();
      const pid = await spawning;
      assert.ok(node.processPID('slow').equals(pid));
    }));
});
