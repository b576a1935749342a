// Integration helpers for tests that run a real node: a throwaway node per test (dispose it with
// `await using`), waits for a process state or its termination, and a probe process that
// collects what it receives so a test can wait for a message with a timeout.

import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { Actor } from '../act/actor.js';
import type { Atom } from '../gen/atom.js';
import { ErrIncorrect, ErrProcessUnknown, ErrTimeout, isError } from '../gen/errors.js';
import type { MessageEvent } from '../gen/messages.js';
import type { Node, NodeOptions } from '../gen/node.js';
import type { PID } from '../gen/pid.js';
import { ProcessState, processStateString } from '../gen/priority.js';
import type { Ref } from '../gen/ref.js';
import { DIAGNOSTICS } from '../node/diagnostics.js';
import { startNode } from '../node/start.js';
import { show } from './events.js';
import { matches } from './matchers.js';

/** Default timeout of the waiting helpers, in milliseconds. */
export const DEFAULT_WAIT_TIMEOUT = 5000;

let nodeSeq = 0;

/** Options of {@link startTestNode}: node options plus an optional name. */
export interface TestNodeOptions extends NodeOptions {
  /** Node name (default: a fresh `testN_<os pid>@localhost`). */
  name?: string;
}

/**
 * Starts a real node for one test. Its default logger is off unless `options.log` says
 * otherwise. Stop it with `await using node = await startTestNode()` (the node is
 * AsyncDisposable) or `await node.stop()`.
 */
export function startTestNode(options: TestNodeOptions = {}): Promise<Node> {
  const { name, ...rest } = options;
  const nodeName = name ?? `test${++nodeSeq}_${process.pid}@localhost`;
  if (rest.log === undefined) rest.log = { defaultLogger: { disable: true } };
  return startNode(nodeName, rest);
}

/** Options of the waiting helpers. */
export interface WaitOptions {
  /** Milliseconds before rejecting with ErrTimeout (default {@link DEFAULT_WAIT_TIMEOUT}). */
  timeout?: number;
}

function timeoutOf(options: WaitOptions | undefined): number {
  const t = options?.timeout ?? DEFAULT_WAIT_TIMEOUT;
  if (typeof t !== 'number' || !(t > 0)) throw ErrIncorrect.with(`timeout ${String(t)}`);
  return t;
}

/**
 * Polls `probe` (every millisecond, and at once) until it returns something other than
 * undefined, and resolves with that. An async probe is awaited: the next poll starts a
 * millisecond after its Promise settled, and a Promise resolving to undefined means "not yet".
 * Rejects with ErrTimeout naming `what` (a string, or a function asked at the timeout), or with
 * what `probe` throws or rejects with. For conditions that have no event to await; prefer an
 * event where there is one.
 */
export function waitFor<T>(
  probe: () => PromiseLike<T | undefined>,
  what?: string | (() => string),
  options?: WaitOptions,
): Promise<T>;
export function waitFor<T>(
  probe: () => T | undefined,
  what?: string | (() => string),
  options?: WaitOptions,
): Promise<T>;
export function waitFor<T>(
  probe: () => T | undefined | PromiseLike<T | undefined>,
  what: string | (() => string) = 'condition',
  options?: WaitOptions,
): Promise<T> {
  const timeout = timeoutOf(options);
  return new Promise<T>((resolve, reject) => {
    const deadline = Date.now() + timeout;
    const settle = (v: T | undefined): void => {
      if (v !== undefined) resolve(v);
      else if (Date.now() >= deadline)
        reject(ErrTimeout.with(`waiting for ${typeof what === 'function' ? what() : what} (${timeout} ms)`));
      else setTimeout(check, 1);
    };
    const check = (): void => {
      let v: T | undefined | PromiseLike<T | undefined>;
      try {
        v = probe();
      } catch (e) {
        reject(e);
        return;
      }
      if (isPromiseLike(v)) v.then(settle, reject);
      else settle(v);
    };
    check();
  });
}

function isPromiseLike<T>(v: unknown): v is PromiseLike<T> {
  return (
    v !== null &&
    (typeof v === 'object' || typeof v === 'function') &&
    typeof (v as { then?: unknown }).then === 'function'
  );
}

/**
 * Waits until the process `pid` of `node` is in `state` (polled). Rejects with ErrTimeout, or
 * with ErrProcessUnknown when the process is gone (unless waiting for Terminated, which then
 * resolves).
 */
export function waitForState(node: Node, pid: PID, state: ProcessState, options?: WaitOptions): Promise<void> {
  let last: ProcessState | undefined;
  return waitFor(
    () => {
      try {
        last = node.processState(pid);
      } catch (e) {
        if (state === ProcessState.Terminated && isError(e, ErrProcessUnknown)) return true;
        throw e;
      }
      return last === state ? true : undefined;
    },
    () =>
      `${pid} to be ${processStateString(state)}${last === undefined ? '' : ` (it is ${processStateString(last)})`}`,
    options,
  ).then(() => undefined);
}

/**
 * Resolves with the termination reason of `pid` (from the node's diagnostics channel), or with
 * undefined when it had already left the node. Rejects with ErrTimeout.
 */
export function waitForTermination(node: Node, pid: PID, options?: WaitOptions): Promise<Error | undefined> {
  const timeout = timeoutOf(options);
  return new Promise<Error | undefined>((resolve, reject) => {
    const onTerminate = (msg: unknown): void => {
      const m = msg as { pid?: PID; reason?: Error };
      if (m.pid !== undefined && m.pid.equals(pid)) finish(() => resolve(m.reason));
    };
    const timer = setTimeout(
      () => finish(() => reject(ErrTimeout.with(`waiting for ${pid} to terminate (${timeout} ms)`))),
      timeout,
    );
    const finish = (fn: () => void): void => {
      clearTimeout(timer);
      unsubscribe(DIAGNOSTICS.terminate, onTerminate);
      fn();
    };
    subscribe(DIAGNOSTICS.terminate, onTerminate);
    try {
      node.processState(pid);
    } catch (e) {
      if (isError(e, ErrProcessUnknown)) finish(() => resolve(undefined));
      else finish(() => reject(e));
    }
  });
}

/** One thing a probe received. */
export interface ProbeRecord {
  readonly kind: 'message' | 'call' | 'event';
  readonly from: PID | undefined;
  /** The message, the call's request, or the MessageEvent. */
  readonly message: unknown;
}

interface Waiter {
  readonly match: unknown;
  readonly resolve: (r: ProbeRecord) => void;
}

/** Shared between a {@link Probe} and its actor. */
class ProbeInbox {
  readonly records: ProbeRecord[] = [];
  readonly taken = new Set<number>();
  waiters: Waiter[] = [];
  responder: ((request: unknown, from: PID) => unknown) | undefined;

  /** Records one received item and wakes the first waiter it matches. */
  add(r: ProbeRecord): void {
    const index = this.records.push(r) - 1;
    for (const w of this.waiters) {
      if (matches(w.match, r.message)) {
        this.taken.add(index);
        this.waiters = this.waiters.filter((x) => x !== w);
        w.resolve(r);
        return;
      }
    }
  }
}

/** The probe's behaviour: records everything, traps exits, answers calls with the responder. */
class ProbeActor extends Actor {
  #inbox!: ProbeInbox;
  override init(inbox: ProbeInbox): void {
    this.#inbox = inbox;
    this.setTrapExit(true);
  }
  override handleMessage(from: PID, message: unknown): void {
    this.#inbox.add({ kind: 'message', from, message });
  }
  override handleCall(from: PID, _ref: Ref, request: unknown): unknown {
    this.#inbox.add({ kind: 'call', from, message: request });
    return this.#inbox.responder ? this.#inbox.responder(request, from) : true;
  }
  override handleEvent(message: MessageEvent): void {
    this.#inbox.add({ kind: 'event', from: undefined, message });
  }
}

/**
 * A real process that collects what it receives (messages, trapped exits, down notices, calls,
 * events), for integration tests. Calls are answered by {@link Probe.respond}'s function
 * (default `true`).
 */
export class Probe {
  readonly #inbox: ProbeInbox;
  constructor(
    readonly node: Node,
    readonly pid: PID,
    inbox: ProbeInbox,
  ) {
    this.#inbox = inbox;
  }
  /** Everything received so far, oldest first. */
  received(): ProbeRecord[] {
    return this.#inbox.records.slice();
  }
  /** The messages (not calls or events) received so far. */
  messages(): unknown[] {
    return this.#inbox.records.filter((r) => r.kind === 'message').map((r) => r.message);
  }
  /** Sets how the probe answers calls. */
  respond(fn: (request: unknown, from: PID) => unknown): void {
    this.#inbox.responder = fn;
  }
  /**
   * Resolves with the first received record whose message matches `match` (a value compared
   * deeply or a Matcher) and that no earlier wait returned — whether it arrived before or
   * after this call. Rejects with ErrTimeout listing what was received.
   */
  waitForMessage(match: unknown, options?: WaitOptions): Promise<ProbeRecord> {
    const timeout = timeoutOf(options);
    const inbox = this.#inbox;
    for (let i = 0; i < inbox.records.length; i++) {
      if (!inbox.taken.has(i) && matches(match, inbox.records[i].message)) {
        inbox.taken.add(i);
        return Promise.resolve(inbox.records[i]);
      }
    }
    return new Promise<ProbeRecord>((resolve, reject) => {
      const timer = setTimeout(() => {
        inbox.waiters = inbox.waiters.filter((w) => w !== waiter);
        const got = inbox.records.map((r) => `  ${r.kind}: ${show(r.message)}`).join('\n') || '  (nothing)';
        reject(
          ErrTimeout.with(
            `probe ${this.pid} got no message matching ${show(match)} within ${timeout} ms; received:\n${got}`,
          ),
        );
      }, timeout);
      const waiter: Waiter = {
        match,
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
      };
      inbox.waiters.push(waiter);
    });
  }
}

/** Spawns a {@link Probe} on `node` (registered under `register` when given). */
export async function spawnProbe(node: Node, register?: Atom | string): Promise<Probe> {
  const inbox = new ProbeInbox();
  const pid =
    register === undefined
      ? await node.spawn(ProbeActor, {}, inbox)
      : await node.spawnRegister(register, ProbeActor, {}, inbox);
  return new Probe(node, pid, inbox);
}
