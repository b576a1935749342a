// Calls (issue 2, item 6; ERGO-API §5.5 TestT4ActorCall, §7.7, §7.8): call to PID, name,
// ProcessID and alias, from a process and from the node; the default 5 s timeout (carried in
// the call ref's deadline), per-call timeouts, AbortSignal; call to self; a target that dies
// fails the call at once with ErrProcessTerminated (cause = its reason) unless the request was
// deferred and the target stopped normally; deferred responses (sendResponse /
// sendResponseError from any process); replies to timed-out calls are dropped; the caller's
// mailbox waits while it is in WaitResponse, everyone else keeps running.

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';

import {
  Actor,
  ErrProcessTerminated,
  ErrTimeout,
  isError,
  MessagePriority,
  ProcessID,
  ProcessState,
  Stop,
  TerminateReasonKill,
  TerminateReasonNormal,
  TerminateReasonPanic,
  type Alias,
  type HandlerResult,
  type PID,
  type Ref,
} from '../src/index.js';
import { eventually } from '@ergo-ts/test-support';
import { deferred, Inbox, probe, rejectsWith, runScript, noUnhandled, turn, within, withNode } from './helpers.js';

noUnhandled();

/** Calls what it is told: ['call', to, request, options?] → the reply or the error code. */
class Caller extends Actor {
  override async handleCall(_from: PID, _ref: Ref, req: unknown): Promise<unknown> {
    const [op, to, request, options] = req as [string, unknown, unknown, object | undefined];
    if (op !== 'call') return undefined;
    try {
      return { ok: await this.call(to as PID, request, options as never) };
    } catch (e) {
      return {
        err: (e as { code?: string }).code ?? (e as Error).name,
        cause: (e as { cause?: unknown }).cause,
        error: e,
      };
    }
  }
}

interface CallResult {
  ok?: unknown;
  err?: string;
  cause?: unknown;
  error?: unknown;
}

describe('call (§5.5)', () => {
  test('by PID, name, ProcessID and alias; handleCall returning Stop(normal, reply) replies and stops', () =>
    withNode(async (node) => {
      const caller = await node.spawn(Caller);
      const ends: Error[] = [];
      const echoStop = probe(
        (m, _f, self) => {
          if (m === 'alias') return void node.send(caller, self.createAlias()); // unused path
        },
        (req) => new Stop(TerminateReasonNormal, req),
        (r) => ends.push(r),
      );
      const a = await node.spawn(echoStop);
      assert.deepEqual(await node.call(caller, ['call', a, 'by-pid']), { ok: 'by-pid' });
      await rejectsWith(node.call(a, 'x'), 'ERR_PROCESS_UNKNOWN');

      await node.spawnRegister('echo', echoStop);
      assert.deepEqual(await node.call(caller, ['call', 'echo', 'by-name']), { ok: 'by-name' });
      assert.throws(() => node.processPID('echo'), { code: 'ERR_PROCESS_UNKNOWN' });

      await node.spawnRegister('echo2', echoStop);
      assert.deepEqual(await node.call(caller, ['call', new ProcessID('echo2', node.name), 'by-processid']), {
        ok: 'by-processid',
      });

      const aliasD = deferred<Alias>();
      const c = await node.spawn(
        probe(
          (_m, _f, self) => aliasD.resolve(self.createAlias()),
          (req) => new Stop(TerminateReasonNormal, req),
          (r) => ends.push(r),
        ),
      );
      node.send(c, 'make alias');
      const alias = await aliasD.promise;
      assert.deepEqual(await node.call(caller, ['call', alias, 'by-alias']), { ok: 'by-alias' });
      assert.deepEqual(ends, [
        TerminateReasonNormal,
        TerminateReasonNormal,
        TerminateReasonNormal,
        TerminateReasonNormal,
      ]);
      assert.equal(node.info().processesTotal, 1, 'only the caller is left');
    }));

  test('forwarded call: the callee defers, another process answers with sendResponse, callee stops normally (§5.5 TestCallForward)', () =>
    withNode(async (node) => {
      const responder = await node.spawn(
        probe((m, _f, self) => {
          const [from, ref, req] = m as [PID, Ref, unknown];
          self.sendResponse(from, ref, `answered ${String(req)}`);
        }),
      );
      const ended = deferred<Error>();
      class Forwarder extends Actor {
        override handleCall(from: PID, ref: Ref, req: unknown) {
          this.send(responder, [from, ref, req]);
          return new Stop(TerminateReasonNormal); // no reply now, stop normally
        }
        override terminate(r: Error) {
          ended.resolve(r);
        }
      }
      const fwd = await node.spawn(Forwarder);
      const caller = await node.spawn(Caller);
      assert.deepEqual(await node.call(caller, ['call', fwd, 'q']), { ok: 'answered q' });
      assert.equal(await ended.promise, TerminateReasonNormal);
      // from the node as well
      const fwd2 = await node.spawn(Forwarder);
      assert.equal(await node.call(fwd2, 'n'), 'answered n');
      // returning the bare reason (Go's `return nil, TerminateReasonNormal`) is the same
      const fwd3 = await node.spawn(
        probe(undefined, (req, from, ref, self) => {
          self.send(responder, [from, ref, req]);
          return TerminateReasonNormal;
        }),
      );
      assert.equal(await node.call(fwd3, 'bare'), 'answered bare');
      assert.throws(() => node.processInfo(fwd3), { code: 'ERR_PROCESS_UNKNOWN' });
    }));

  test('unknown target: ErrProcessUnknown (§5.5 TestCallUnknown)', () =>
    withNode(async (node) => {
      const caller = await node.spawn(Caller);
      const r = (await node.call(caller, ['call', 'nobody', 1])) as CallResult;
      assert.equal(r.err, 'ERR_PROCESS_UNKNOWN');
      const r2 = (await node.call(caller, ['call', 42, 1])) as CallResult;
      assert.equal(r2.err, 'ERR_UNSUPPORTED');
    }));

  test('a thenable function (Promises/A+) from a handler suspends the actor until it settles, as a promise does', () =>
    withNode(async (node) => {
      let settle: (() => void) | undefined;
      const pending = Object.assign(() => undefined, {
        then: (ok: () => void) => {
          settle = ok;
        },
      });
      class Waits extends Actor {
        override handleMessage(): HandlerResult {
          // Not a Promise, as the type says, but JavaScript (and await) takes it for one.
          return pending as unknown as Promise<void>;
        }
      }
      const pid = await node.spawn(Waits);
      node.send(pid, 'go');
      await eventually(() => settle !== undefined, 'the actor awaiting the thenable');
      assert.equal(node.processState(pid), ProcessState.Running);
      settle!();
      await eventually(() => node.processState(pid) === ProcessState.Sleep, 'the actor asleep again');
    }));
});

describe('timeouts', () => {
  test('default timeout is 5 s: the call ref carries now + 5 s as its deadline', () =>
    withNode(async (node) => {
      const refs: Ref[] = [];
      const target = await node.spawn(probe(undefined, (req, _f, ref) => (refs.push(ref), req)));
      const caller = await node.spawn(Caller);
      const t0 = Math.floor(Date.now() / 1000);
      await node.call(target, 'from node');
      await node.call(caller, ['call', target, 'from process']);
      await node.call(caller, ['call', target, 'custom', { timeout: 60_000 }]);
      const t1 = Math.floor(Date.now() / 1000);
      assert.equal(refs.length, 3);
      for (const r of refs.slice(0, 2)) {
        assert.ok(r.deadline() >= t0 + 5 && r.deadline() <= t1 + 6, `deadline ${r.deadline()} ~ now+5`);
        assert.ok(r.isAlive());
      }
      assert.ok(refs[2]!.deadline() >= t0 + 60 && refs[2]!.deadline() <= t1 + 61);
      assert.ok(!refs[0]!.equals(refs[1]), 'every call has its own ref');
    }));

  test('a per-call timeout rejects with ErrTimeout; the late reply is dropped; next call gets its own reply', () =>
    withNode(async (node) => {
      let held: [PID, Ref] | undefined;
      const target = await node.spawn(
        probe(
          (m, _f, self) => {
            if (m === 'answer-late' && held) self.sendResponse(held[0], held[1], 'late');
          },
          (req, from, ref) => {
            if (req === 'slow') {
              held = [from, ref];
              return undefined;
            }
            return req;
          },
        ),
      );
      const caller = await node.spawn(Caller);
      const r = (await node.call(caller, ['call', target, 'slow', { timeout: 20 }])) as CallResult;
      assert.equal(r.err, 'ERR_TIMEOUT');
      assert.ok(isError(r.error, ErrTimeout));
      node.send(target, 'answer-late');
      assert.deepEqual(await node.call(caller, ['call', target, 'fresh']), { ok: 'fresh' });
      await turn();
      assert.equal(node.processState(caller), ProcessState.Sleep);
      // node calls time out too
      await rejectsWith(node.call(target, 'slow', { timeout: 10 }), 'ERR_TIMEOUT');
    }));

  test('invalid timeouts are rejected with ErrIncorrect', () =>
    withNode(async (node) => {
      const target = await node.spawn(probe());
      for (const t of [0, -5, Number.NaN, 2 ** 40])
        await rejectsWith(node.call(target, 1, { timeout: t }), 'ERR_INCORRECT');
    }));
});

describe('AbortSignal', () => {
  test('aborting rejects with the signal reason; a pre-aborted signal never delivers the request', () =>
    withNode(async (node) => {
      let seen = 0;
      const taken = deferred<void>();
      const target = await node.spawn(
        probe(undefined, () => {
          seen++;
          taken.resolve();
        }),
      );
      const ac = new AbortController();
      const reason = new Error('user gave up');
      const p = node.call(target, 'x', { signal: ac.signal, timeout: 60_000 });
      // The target must have taken the request before the abort (a loaded scheduler may still
      // hold it after a turn of the event loop).
      await within(taken.promise, 'the target to take the request');
      ac.abort(reason);
      await assert.rejects(p, (e) => e === reason);
      assert.equal(seen, 1);

      const pre = new AbortController();
      pre.abort();
      const e = await node.call(target, 'y', { signal: pre.signal }).then(
        () => assert.fail('should reject'),
        (err: unknown) => err,
      );
      assert.ok(
        (e as { name?: string }).name === 'AbortError' || (e as { code?: string }).code === 'ERR_ABORTED',
        `aborted: ${String(e)}`,
      );
      await new Promise((r) => setImmediate(r));
      assert.equal(seen, 1, 'the pre-aborted request was not delivered');
    }));

  test('abort from inside a process: the caller leaves WaitResponse and keeps working', () =>
    withNode(async (node) => {
      const target = await node.spawn(probe(undefined, () => undefined));
      const out = deferred<{ err: unknown; state: number }>();
      const caller = await node.spawn(
        probe(async (_m, _f, self) => {
          const ac = new AbortController();
          const p = self.call(target, 'never', { signal: ac.signal });
          ac.abort(new Error('stop waiting'));
          const err = await p.catch((e: unknown) => e);
          out.resolve({ err, state: self.state() });
        }),
      );
      node.send(caller, 'go');
      const o = await out.promise;
      assert.equal((o.err as Error).message, 'stop waiting');
      assert.equal(o.state, ProcessState.Running);
    }));
});

describe('call to self', () => {
  test('by PID fails at once with ErrNotAllowed; by name or alias it times out (Ergo §7.7)', () =>
    withNode(async (node) => {
      const out = deferred<string[]>();
      class Selfish extends Actor {
        override async handleMessage() {
          const codes: string[] = [];
          const alias = this.createAlias();
          for (const to of [this.pid, 'selfish', alias]) {
            try {
              await this.call(to, 'me', { timeout: 20 });
              codes.push('ok');
            } catch (e) {
              codes.push((e as { code: string }).code);
            }
          }
          out.resolve(codes);
        }
        override handleCall() {
          return 'late';
        }
      }
      const pid = await node.spawnRegister('selfish', Selfish);
      node.send(pid, 'go');
      assert.deepEqual(await out.promise, ['ERR_NOT_ALLOWED', 'ERR_TIMEOUT', 'ERR_TIMEOUT']);
      // the queued self-requests are handled afterwards; their replies are dropped harmlessly
      assert.equal(await node.call(pid, 'still alive?'), 'late');
    }));
});

describe('a call whose target dies', () => {
  test('request queued behind a message that stops the target: rejects at once, cause = the reason', () =>
    withNode(async (node) => {
      const boom = new Error('boom');
      const gate = deferred<void>();
      const target = await node.spawn(
        probe(async (m) => {
          if (m === 'block') await gate.promise;
          if (m === 'die') return boom;
        }),
      );
      node.send(target, 'block');
      node.send(target, 'die');
      const call = node.call(target, 'queued', { timeout: 10_000 });
      gate.resolve();
      const e = await rejectsWith(call, 'ERR_PROCESS_TERMINATED');
      assert.ok(isError(e, ErrProcessTerminated));
      assert.equal(e.cause, boom);
    }));

  test('queued request and a normal stop: rejects at once too (it will never be handled)', () =>
    withNode(async (node) => {
      const gate = deferred<void>();
      const target = await node.spawn(
        probe(async (m) => {
          if (m === 'block') await gate.promise;
          if (m === 'stop') return TerminateReasonNormal;
        }),
      );
      node.send(target, 'block');
      node.send(target, 'stop');
      const call = node.call(target, 'queued', { timeout: 10_000 });
      gate.resolve();
      const e = await rejectsWith(call, 'ERR_PROCESS_TERMINATED');
      assert.equal(e.cause, TerminateReasonNormal);
    }));

  test('handleCall throws: the caller gets ErrProcessTerminated with cause panic', () =>
    withNode(async (node) => {
      const target = await node.spawn(
        probe(undefined, () => {
          throw new Error('handler bug');
        }),
      );
      const caller = await node.spawn(Caller);
      const r = (await node.call(caller, ['call', target, 'x', { timeout: 10_000 }])) as CallResult;
      assert.equal(r.err, 'ERR_PROCESS_TERMINATED');
      assert.equal(r.cause, TerminateReasonPanic);
    }));

  test('async handleCall rejects: same', () =>
    withNode(async (node) => {
      const target = await node.spawn(
        probe(undefined, async () => {
          await Promise.resolve();
          throw new Error('async handler bug');
        }),
      );
      const e = await rejectsWith(node.call(target, 'x', { timeout: 10_000 }), 'ERR_PROCESS_TERMINATED');
      assert.equal(e.cause, TerminateReasonPanic);
    }));

  test('handleCall returns an Error: the callee stops with it, the caller gets ErrProcessTerminated(cause)', () =>
    withNode(async (node) => {
      const reason = new Error('refuse and stop');
      const target = await node.spawn(probe(undefined, () => reason));
      const e = await rejectsWith(node.call(target, 'x', { timeout: 10_000 }), 'ERR_PROCESS_TERMINATED');
      assert.equal(e.cause, reason);
      // Stop with an abnormal reason and no reply: same
      const other = new Error('other');
      const t2 = await node.spawn(probe(undefined, () => new Stop(other)));
      const e2 = await rejectsWith(node.call(t2, 'x', { timeout: 10_000 }), 'ERR_PROCESS_TERMINATED');
      assert.equal(e2.cause, other);
    }));

  test('handleCall stops normally without replying and nobody answers: the caller times out (as in Ergo)', () =>
    withNode(async (node) => {
      const ended = deferred<Error>();
      const t = await node.spawn(
        probe(
          undefined,
          () => TerminateReasonNormal,
          (r) => ended.resolve(r),
        ),
      );
      const call = node.call(t, 'x', { timeout: 30 });
      // The short timeout is the subject; it must not end the wait before the target stopped.
      assert.equal(await within(ended.promise, 'the target to stop'), TerminateReasonNormal);
      await rejectsWith(call, 'ERR_TIMEOUT');
      assert.throws(() => node.processInfo(t), { code: 'ERR_PROCESS_UNKNOWN' });
    }));

  test('deferred request, target dies abnormally: rejects at once', () =>
    withNode(async (node) => {
      const crash = new Error('crash later');
      const target = await node.spawn(
        probe(
          (m) => (m === 'crash' ? crash : undefined),
          () => undefined, // defer
        ),
      );
      const call = node.call(target, 'x', { timeout: 10_000 });
      await new Promise((r) => setImmediate(r));
      node.send(target, 'crash');
      const e = await rejectsWith(call, 'ERR_PROCESS_TERMINATED');
      assert.equal(e.cause, crash);
    }));

  test('deferred request, target killed: rejects at once with cause kill', () =>
    withNode(async (node) => {
      const taken = deferred<void>();
      const target = await node.spawn(probe(undefined, () => void taken.resolve()));
      const call = node.call(target, 'x', { timeout: 10_000 });
      await within(taken.promise, 'the target to defer the request');
      node.kill(target);
      const e = await rejectsWith(call, 'ERR_PROCESS_TERMINATED');
      assert.equal(e.cause, TerminateReasonKill);
    }));

  test('target killed while handling the request asynchronously: rejects when it ends, cause kill', () =>
    withNode(async (node) => {
      const inHandler = deferred<void>();
      const gate = deferred<void>();
      const target = await node.spawn(
        probe(undefined, async () => {
          inHandler.resolve();
          await gate.promise;
          return 'too late';
        }),
      );
      const call = node.call(target, 'x', { timeout: 10_000 });
      await inHandler.promise;
      node.kill(target);
      gate.resolve();
      const e = await rejectsWith(call, 'ERR_PROCESS_TERMINATED');
      assert.equal(e.cause, TerminateReasonKill);
    }));

  test('deferred request, target stops normally: the call keeps waiting for the delegated reply', () =>
    withNode(async (node) => {
      let held: [PID, Ref] | undefined;
      const stopped = deferred<void>();
      const target = await node.spawn(
        probe(
          (m) => (m === 'stop' ? TerminateReasonNormal : undefined),
          (_req, from, ref) => {
            held = [from, ref];
            return undefined;
          },
          () => stopped.resolve(),
        ),
      );
      const helper = await node.spawn(
        probe((_m, _f, self) => {
          self.sendResponse(held![0], held![1], 'from helper');
        }),
      );
      const call = node.call(target, 'x', { timeout: 10_000 });
      let settled = false;
      void call.then(
        () => (settled = true),
        () => (settled = true),
      );
      node.send(target, 'stop');
      // Check only once the target has stopped (a loaded scheduler may not have run it yet).
      await within(stopped.promise, 'the target to stop');
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
      assert.equal(settled, false, 'still waiting after the normal stop');
      node.send(helper, 'answer');
      assert.equal(await call, 'from helper');
    }));
});

describe('responses', () => {
  test('sendResponseError rejects the caller with that error; any process may answer', () =>
    withNode(async (node) => {
      const custom = new Error('custom failure');
      let held: [PID, Ref] | undefined;
      // Resolved when the target has taken a request (the answerer needs its from/ref).
      let taken = deferred<void>();
      const target = await node.spawn(
        probe(undefined, (req, from, ref) => {
          held = [from, ref];
          taken.resolve();
          if (req === 'fail-now') {
            return undefined;
          }
          return undefined;
        }),
      );
      const answerer = await node.spawn(
        probe((m, _f, self) => {
          if (m === 'error') self.sendResponseError(held![0], held![1], custom);
          else self.sendResponse(held![0], held![1], m);
        }),
      );
      const caller = await node.spawn(Caller);
      const pending = node.call(caller, ['call', target, 'fail-now', { timeout: 10_000 }]);
      await within(taken.promise, 'the target to take the first request');
      node.send(answerer, 'error');
      const r = (await pending) as CallResult;
      assert.equal(r.error, custom);

      taken = deferred<void>();
      const pending2 = node.call(target, 'answer-me', { timeout: 10_000 });
      await within(taken.promise, 'the target to take the second request');
      node.send(answerer, 'value');
      assert.equal(await pending2, 'value');
    }));

  test('a response to an unknown ref or the wrong PID is dropped', () =>
    withNode(async (node) => {
      let held: [PID, Ref] | undefined;
      const target = await node.spawn(
        probe(
          (m, _f, self) => {
            if (m === 'wrong-pid') self.sendResponse(self.pid, held![1], 'wrong');
            if (m === 'wrong-ref') self.sendResponse(held![0], node.makeRef(), 'wrong');
            if (m === 'right') self.sendResponse(held![0], held![1], 'right');
          },
          (_req, from, ref) => {
            held = [from, ref];
            return undefined;
          },
        ),
      );
      const call = node.call(target, 'q', { timeout: 10_000 });
      await new Promise((r) => setImmediate(r));
      node.send(target, 'wrong-pid');
      node.send(target, 'wrong-ref');
      node.send(target, 'right');
      assert.equal(await call, 'right');
    }));
});

describe('the caller while waiting', () => {
  test('its mailbox waits in order; every other process keeps running', () =>
    withNode(async (node) => {
      const order: string[] = [];
      let held: [PID, Ref] | undefined;
      const asked = deferred<void>();
      const slow = await node.spawn(
        probe(
          (m, _f, self) => {
            if (m === 'answer') self.sendResponse(held![0], held![1], 'reply');
          },
          (_r, from, ref) => {
            held = [from, ref];
            asked.resolve();
            return undefined;
          },
        ),
      );
      const otherInbox = new Inbox();
      const other = await node.spawn(probe(otherInbox.push));
      const done = deferred<void>();
      const caller = await node.spawn(
        probe(async (m, _f, self) => {
          order.push(String(m));
          if (m === 'start') {
            const r = await self.call(slow, 'q', { timeout: 10_000 });
            order.push(String(r));
          }
          if (m === 'last') done.resolve();
        }),
      );
      node.send(caller, 'start');
      // Once `slow` holds the request the caller is waiting (one event-loop turn is not enough
      // on a loaded machine: the scheduler may yield before running the caller).
      await within(asked.promise, 'the call to reach slow');
      assert.equal(node.processState(caller), ProcessState.WaitResponse);
      node.send(caller, 'm1');
      node.send(caller, 'm2', { priority: MessagePriority.Max });
      node.send(caller, 'last');
      node.send(other, 'meanwhile');
      await otherInbox.count(1);
      assert.deepEqual(order, ['start'], 'the waiting caller handled nothing else');
      node.send(slow, 'answer');
      await done.promise;
      assert.deepEqual(order, ['start', 'reply', 'm2', 'm1', 'last']);
    }));

  test('two calls in flight: WaitResponse until both settled', () =>
    withNode(async (node) => {
      const echo = await node.spawn(probe());
      const slowHeld: [PID, Ref][] = [];
      const slow = await node.spawn(
        probe(
          (_m, _f, self) => self.sendResponse(slowHeld[0]![0], slowHeld[0]![1], 'slow'),
          (_r, from, ref) => void slowHeld.push([from, ref]),
        ),
      );
      const out = deferred<number[]>();
      const caller = await node.spawn(
        probe(async (_m, _f, self) => {
          const states: number[] = [];
          const a = self.call(echo, 'fast');
          const b = self.call(slow, 'slow', { timeout: 10_000 });
          await a;
          states.push(self.state());
          node.send(slow, 'answer');
          await b;
          states.push(self.state());
          out.resolve(states);
        }),
      );
      node.send(caller, 'go');
      assert.deepEqual(await out.promise, [ProcessState.WaitResponse, ProcessState.Running]);
    }));

  test('caller killed while waiting: its call rejects with ErrProcessTerminated and it ends as killed', () =>
    withNode(async (node) => {
      const target = await node.spawn(probe(undefined, () => undefined));
      const inCall = deferred<void>();
      const caught = deferred<unknown>();
      const reason = deferred<Error>();
      const caller = await node.spawn(
        probe(
          async (_m, _f, self) => {
            const p = self.call(target, 'never', { timeout: 10_000 });
            inCall.resolve();
            try {
              await p;
            } catch (e) {
              caught.resolve(e);
            }
          },
          undefined,
          (r) => reason.resolve(r),
        ),
      );
      node.send(caller, 'go');
      await inCall.promise;
      node.kill(caller);
      assert.equal(node.processState(caller), ProcessState.Zombee);
      const e = await caught.promise;
      assert.ok(isError(e, ErrProcessTerminated));
      assert.equal(await reason.promise, TerminateReasonKill);
    }));

  test('a call with priority Max overtakes queued normal mail', () =>
    withNode(async (node) => {
      const order: string[] = [];
      const gate = deferred<void>();
      const blocked = deferred<void>();
      const target = await node.spawn(
        probe(
          async (m) => {
            order.push(String(m));
            if (m === 'block') {
              blocked.resolve();
              await gate.promise;
            }
          },
          (req) => (order.push(String(req)), req),
        ),
      );
      node.send(target, 'block');
      await blocked.promise;
      node.send(target, 'normal');
      const c = node.call(target, 'urgent-call', { priority: MessagePriority.Max });
      gate.resolve();
      await c;
      await node.call(target, 'last');
      assert.deepEqual(order, ['block', 'urgent-call', 'normal', 'last']);
    }));
});

describe('pending calls and the process lifetime', () => {
  test('a pending call keeps the process alive until it times out', { timeout: 20_000 }, async () => {
    const r = await runScript(`
      import { startNode, Actor } from 'INDEX';
      class Defer extends Actor { handleCall() { return undefined; } }
      const node = await startNode('lt@localhost', { log: { defaultLogger: { disable: true } } });
      const pid = await node.spawn(Defer);
      try { await node.call(pid, 'q', { timeout: 30 }); console.log('resolved'); }
      catch (e) { console.log('rejected', e.code); }
      await node.stopForce();
    `);
    assert.equal(r.stdout.trim(), 'rejected ERR_TIMEOUT', r.stderr);
    assert.equal(r.code, 0);
  });

  test('settled calls leave nothing that keeps the process alive', { timeout: 20_000 }, async () => {
    // Long timeouts: if a settled call left a ref'd timer behind, the child would live 60 s and
    // this test would hit its own timeout.
    const r = await runScript(`
      import { startNode, Actor } from 'INDEX';
      class Echo extends Actor { handleCall(f, r, q) { return q; } }
      const node = await startNode('lt@localhost', { log: { defaultLogger: { disable: true } } });
      const pid = await node.spawn(Echo);
      for (let i = 0; i < 3; i++) await node.call(pid, i, { timeout: 60_000 });
      console.log('done');
    `);
    assert.equal(r.stdout.trim(), 'done', r.stderr);
    assert.equal(r.code, 0);
  });
});

describe('ordering and init', () => {
  test('a send and a call from the same sender at the same priority keep their order', () =>
    withNode(async (node) => {
      const order: unknown[] = [];
      const target = await node.spawn(
        probe(
          (m) => void order.push(m),
          (req) => (order.push(req), req),
        ),
      );
      node.send(target, 'm1');
      const c = node.call(target, 'c1');
      node.send(target, 'm2');
      await c;
      await node.call(target, 'c2');
      assert.deepEqual(order, ['m1', 'c1', 'm2', 'c2']);
    }));

  test('a call to a spawn-time name during init is answered after init; if init fails it fails at once', () =>
    withNode(async (node) => {
      const gate = deferred<void>();
      const inInit = deferred<void>();
      class SlowInit extends Actor {
        override async init() {
          inInit.resolve();
          await gate.promise;
        }
        override handleCall(_f: PID, _r: Ref, req: unknown) {
          return `after init: ${String(req)}`;
        }
      }
      const spawning = node.spawnRegister('slow', SlowInit);
      await inInit.promise;
      const c = node.call('slow', 'q', { timeout: 10_000 });
      gate.resolve();
      await spawning;
      assert.equal(await c, 'after init: q');

      const gate2 = deferred<void>();
      const inInit2 = deferred<void>();
      const why = new Error('init failed');
      class FailingInit extends Actor {
        override async init() {
          inInit2.resolve();
          await gate2.promise;
          return why;
        }
      }
      const spawning2 = node.spawnRegister('failing', FailingInit);
      await inInit2.promise;
      const c2 = node.call('failing', 'q', { timeout: 10_000 });
      gate2.resolve();
      assert.equal(await spawning2.catch((e: unknown) => e), why);
      const e = await rejectsWith(c2, 'ERR_PROCESS_TERMINATED');
      assert.equal(e.cause, why);
    }));
});
