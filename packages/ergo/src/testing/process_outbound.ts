// What a recording process sends out: messages, exit signals, responses, calls, inspections and
// meta-process spawns and exits, each checked by the engine's state rules and recorded as an event
// in the harness' history instead of reaching a node. TestProcess (process.ts) forwards its
// sending, calling and meta methods here.

import { rejected } from '../gen/ignorable.js';
import { ErrIncorrect, ErrNotAllowed } from '../gen/errors.js';
import { validatePriority, validateTimeoutMs } from '../gen/validate.js';
import type { CallOptions, CancelFunc, SendOptions } from '../gen/options.js';
import { PID } from '../gen/pid.js';
import { type MessagePriority, ProcessState } from '../gen/priority.js';
import type { SendTarget } from '../gen/process.js';
import { Alias, type Ref } from '../gen/ref.js';
import {
  CallEvent,
  SendAfterEvent,
  SendEvent,
  SendExitEvent,
  SendExitMetaEvent,
  SendResponseErrorEvent,
  SendResponseEvent,
  SpawnMetaEvent,
} from './events.js';
import type { TestProcess } from './process.js';

/** States in which an operation allowed while running (or waiting for a response) may run. */
export const MASK_R = ProcessState.Running | ProcessState.WaitResponse;
/** States of {@link MASK_R} plus Init. */
export const MASK_IR = ProcessState.Init | MASK_R;
/** States of {@link MASK_IR} plus Terminated (a terminate callback may still send). */
export const MASK_IRT = MASK_IR | ProcessState.Terminated;

/** The recording process' own state and rules, as its outbound recorder sees them. */
export interface ProcessGuard {
  /** Throws the engine's refusal unless the process is in one of the `mask` states. */
  allow(mask: number, op: string): void;
  /** True (after logging, as the engine) when the process sleeps: the message op is dropped. */
  droppedAsleep(op: string): boolean;
  /** Throws the failure the test injected for `method` called with `args`, if any. */
  fail(method: string, args: unknown[]): void;
  /** The process' state now. */
  state(): ProcessState;
  /** The process' default send priority now. */
  priority(): MessagePriority;
  /** Whether the process' sends are important by default now. */
  important(): boolean;
}

/**
 * Records what a {@link TestProcess} sends out (see the methods of the same names there): the
 * checks, the injected failures and the events are the process' own, taken through `guard`.
 */
export class OutboundRecorder {
  readonly #p: TestProcess;
  readonly #g: ProcessGuard;

  constructor(process: TestProcess, guard: ProcessGuard) {
    this.#p = process;
    this.#g = guard;
  }

  send(to: SendTarget, message: unknown, options?: SendOptions): void {
    if (this.#g.droppedAsleep('send')) return;
    this.#g.allow(MASK_IRT, 'send');
    this.#g.fail('send', [to, message]);
    this.#checkTarget('send', to);
    if (options?.priority !== undefined) validatePriority(options.priority);
    this.#p.history.push(
      new SendEvent(
        this.#p.pid,
        to,
        message,
        options?.priority ?? this.#g.priority(),
        options?.important ?? this.#g.important(),
        false,
      ),
    );
  }
  sendImportant(to: SendTarget, message: unknown): Promise<void> {
    try {
      this.#g.allow(MASK_R, 'sendImportant');
      this.#g.fail('sendImportant', [to, message]);
      this.#checkTarget('sendImportant', to);
      this.#p.history.push(new SendEvent(this.#p.pid, to, message, this.#g.priority(), true, false));
      return Promise.resolve();
    } catch (e) {
      return rejected(e, undefined, 'a test-kit call');
    }
  }
  sendAfter(to: SendTarget, message: unknown, delayMs: number, priority?: MessagePriority): CancelFunc {
    this.#g.allow(MASK_IR, 'sendAfter');
    this.#g.fail('sendAfter', [to, message, delayMs]);
    this.#checkTarget('sendAfter', to);
    if (typeof delayMs !== 'number' || !(delayMs >= 0))
      throw ErrIncorrect.with(`sendAfter: invalid delay ${String(delayMs)}`);
    this.#p.history.push(new SendAfterEvent(this.#p.pid, to, message, delayMs));
    const prio = priority ?? this.#g.priority();
    let fired = false;
    const handle = this.#p.clock.setTimeout(() => {
      fired = true;
      if (this.#g.state() === ProcessState.Terminated) return; // timers die with their process
      this.#p.history.push(new SendEvent(this.#p.pid, to, message, prio, this.#g.important(), true));
    }, delayMs);
    return () => !fired && this.#p.clock.clearTimeout(handle);
  }
  sendExit(to: PID, reason: Error): void {
    if (this.#g.droppedAsleep('sendExit')) return;
    this.#g.allow(MASK_IRT, 'sendExit');
    this.#checkExit(to, reason);
    this.#g.fail('sendExit', [to, reason]);
    this.#p.history.push(new SendExitEvent(this.#p.pid, to, reason, 0));
  }
  sendExitAfter(to: PID, reason: Error, delayMs: number): CancelFunc {
    this.#g.allow(MASK_IR, 'sendExitAfter');
    this.#checkExit(to, reason);
    this.#g.fail('sendExitAfter', [to, reason, delayMs]);
    this.#p.history.push(new SendExitEvent(this.#p.pid, to, reason, delayMs));
    let fired = false;
    const handle = this.#p.clock.setTimeout(() => {
      fired = true;
      if (this.#g.state() !== ProcessState.Terminated)
        this.#p.history.push(new SendExitEvent(this.#p.pid, to, reason, 0));
    }, delayMs);
    return () => !fired && this.#p.clock.clearTimeout(handle);
  }
  sendResponse(to: PID, ref: Ref, value: unknown): void {
    if (this.#g.droppedAsleep('sendResponse')) return;
    this.#g.allow(MASK_IR, 'sendResponse');
    this.#g.fail('sendResponse', [to, ref, value]);
    this.#p.history.push(new SendResponseEvent(this.#p.pid, to, ref, value));
  }
  sendResponseError(to: PID, ref: Ref, error: Error): void {
    if (this.#g.droppedAsleep('sendResponseError')) return;
    this.#g.allow(MASK_IR, 'sendResponseError');
    this.#g.fail('sendResponseError', [to, ref, error]);
    this.#p.history.push(new SendResponseErrorEvent(this.#p.pid, to, ref, error));
  }
  /**
   * Records the reply as sendResponse does and resolves: under the kit the caller is taken to be
   * waiting (make it fail with `failures` on 'sendResponseImportant', e.g. ErrResponseIgnored).
   */
  sendResponseImportant(to: PID, ref: Ref, value: unknown): Promise<void> {
    try {
      this.#g.allow(MASK_IR, 'sendResponseImportant');
      this.#g.fail('sendResponseImportant', [to, ref, value]);
      this.#p.history.push(new SendResponseEvent(this.#p.pid, to, ref, value));
      return Promise.resolve();
    } catch (e) {
      return rejected(e, undefined, 'a test-kit call');
    }
  }
  /** Records the error reply as sendResponseError does and resolves (see sendResponseImportant). */
  sendResponseErrorImportant(to: PID, ref: Ref, error: Error): Promise<void> {
    try {
      this.#g.allow(MASK_IR, 'sendResponseErrorImportant');
      if (!(error instanceof Error)) throw ErrIncorrect.with('sendResponseErrorImportant: the error must be an Error');
      this.#g.fail('sendResponseErrorImportant', [to, ref, error]);
      this.#p.history.push(new SendResponseErrorEvent(this.#p.pid, to, ref, error));
      return Promise.resolve();
    } catch (e) {
      return rejected(e, undefined, 'a test-kit call');
    }
  }
  #checkTarget(op: string, to: unknown): void {
    if (to === undefined || to === null || to === '') throw ErrIncorrect.with(`${op}: empty target`);
  }
  #checkExit(to: PID, reason: Error): void {
    if (!(to instanceof PID)) throw ErrIncorrect.with('sendExit: target must be a PID');
    if (!(reason instanceof Error)) throw ErrIncorrect.with('sendExit: reason must be an Error');
    if (to.equals(this.#p.pid) || to.equals(this.#p.parent) || to.equals(this.#p.leader))
      throw ErrNotAllowed.with(`exit to ${to}`);
  }
  call(to: SendTarget, request: unknown, options?: CallOptions): Promise<unknown> {
    try {
      this.#g.allow(MASK_IR, 'call');
      if (to instanceof PID && to.equals(this.#p.pid)) throw ErrNotAllowed.with('call to itself');
      this.#checkTarget('call', to);
      if (options?.timeout !== undefined) validateTimeoutMs(options.timeout, 'call timeout', false);
      if (options?.priority !== undefined) validatePriority(options.priority);
      this.#g.fail('call', [to, request]);
      const event = new CallEvent(this.#p.pid, to, request, options);
      this.#p.history.push(event);
      const answer = this.#p.callResponder(event);
      if (answer instanceof Error) return rejected(answer, undefined, 'a test-kit call');
      return Promise.resolve(answer);
    } catch (e) {
      return rejected(e, undefined, 'a test-kit call');
    }
  }
  /** Records the request as a call `{ inspect: items }` to `pid` and resolves with an empty map. */
  inspect(pid: PID, ...items: string[]): Promise<Record<string, string>> {
    try {
      this.#g.allow(MASK_IR, 'inspect');
      if (pid.equals(this.#p.pid)) throw ErrNotAllowed.with('inspect of itself');
      this.#g.fail('inspect', [pid, ...items]);
      this.#p.history.push(new CallEvent(this.#p.pid, pid, { inspect: items }, undefined));
      return Promise.resolve({});
    } catch (e) {
      return rejected(e, undefined, 'a test-kit call');
    }
  }
  /**
   * Records a meta process spawn (I/R) and returns a fresh alias as its id; the meta's `init`
   * does not run. ErrIncorrect when `behavior` is not an object.
   */
  spawnMeta(behavior: object, options?: object): Alias {
    this.#g.allow(MASK_IR, 'spawnMeta');
    if (behavior === null || typeof behavior !== 'object')
      throw ErrIncorrect.with('spawnMeta: behavior must be an object');
    this.#g.fail('spawnMeta', [behavior, options]);
    const id = this.#p.node.nextAlias();
    this.#p.history.push(new SpawnMetaEvent(this.#p.pid, id, behavior, options));
    return id;
  }
  /** Records an exit signal to a meta process (I/R/T). ErrIncorrect without an Alias and an Error. */
  sendExitMeta(meta: Alias, reason: Error): void {
    this.#g.allow(MASK_IRT, 'sendExitMeta');
    this.#checkExitMeta(meta, reason);
    this.#g.fail('sendExitMeta', [meta, reason]);
    this.#p.history.push(new SendExitMetaEvent(this.#p.pid, meta, reason, 0));
  }
  /** Records a delayed exit to a meta (I/R); the exit itself is recorded when the test clock passes the delay. */
  sendExitMetaAfter(meta: Alias, reason: Error, delayMs: number): CancelFunc {
    this.#g.allow(MASK_IR, 'sendExitMetaAfter');
    this.#checkExitMeta(meta, reason);
    this.#g.fail('sendExitMetaAfter', [meta, reason, delayMs]);
    this.#p.history.push(new SendExitMetaEvent(this.#p.pid, meta, reason, delayMs));
    let fired = false;
    const handle = this.#p.clock.setTimeout(() => {
      fired = true;
      if (this.#g.state() !== ProcessState.Terminated)
        this.#p.history.push(new SendExitMetaEvent(this.#p.pid, meta, reason, 0));
    }, delayMs);
    return () => !fired && this.#p.clock.clearTimeout(handle);
  }
  #checkExitMeta(meta: Alias, reason: Error): void {
    if (!(meta instanceof Alias)) throw ErrIncorrect.with('sendExitMeta: target must be an Alias');
    if (!(reason instanceof Error)) throw ErrIncorrect.with('sendExitMeta: reason must be an Error');
  }
  /** Records the request and resolves with an empty map (the meta does not run). */
  inspectMeta(meta: Alias, ...items: string[]): Promise<Record<string, string>> {
    try {
      this.#g.allow(MASK_IR, 'inspectMeta');
      this.#g.fail('inspectMeta', [meta, ...items]);
      this.#p.history.push(new CallEvent(this.#p.pid, meta, { inspect: items }, undefined));
      return Promise.resolve({});
    } catch (e) {
      return rejected(e, undefined, 'a test-kit call');
    }
  }
}
