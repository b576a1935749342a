// Supervisor: a behaviour that starts children, watches them (links both ways) and restarts
// them by its strategy. Children are supervisors too when you want a tree.

import type { Atom } from '../gen/atom.js';
import { ErgoError, ErrProcessUnknown, TerminateReasonPanic, TerminateReasonShutdown, toError } from '../gen/errors.js';
import { ignorable, rejected } from '../gen/ignorable.js';
import type { MessageLog } from '../gen/log.js';
import { MessageExitPID, type MessageEvent } from '../gen/messages.js';
import type { PID } from '../gen/pid.js';
import { MessagePriority, ProcessState } from '../gen/priority.js';
import { ExitIgnoredUnlessTrapped, MailboxKind, Stop, type Process, type ProcessMailbox } from '../gen/process.js';
import type { Ref } from '../gen/ref.js';
import type { HandlerResult } from './actor.js';
import { BehaviorBase } from './base.js';
import { answerInspect, exitReason, finishCall, requestRef } from './handling.js';
import { isThenable } from '../lib/thenable.js';
import { OrderedChildren } from './supervisor_ordered.js';
import { SimpleChildren } from './supervisor_simple.js';
import { RestartHistory } from './supervisor_history.js';
import type { ChildrenStrategy, SupervisorHost } from './supervisor_strategy.js';
import {
  normalizeSpec,
  SupervisorType,
  type NormalizedSpec,
  type SupervisorChild,
  type SupervisorChildSpec,
  type SupervisorSpec,
} from './supervisor_types.js';

/** Mail a supervisor handles per scheduling turn. */
const SUPERVISOR_BATCH = 64;

class ChildStarted {
  constructor(
    readonly name: Atom,
    readonly pid: PID,
  ) {}
}

class ChildTerminated {
  constructor(
    readonly name: Atom,
    readonly pid: PID,
    readonly reason: Error,
  ) {}
}

const TYPE_NAMES = ['One For One', 'All For One', 'Rest For One', 'Simple One For One'];
const STRATEGY_NAMES = ['Transient', 'Temporary', 'Permanent'];

/**
 * Ergo's act.Supervisor. Implement `init(...args)` returning a {@link SupervisorSpec} (or a
 * promise of one); the children start in spec order before the spawn resolves, and a child that
 * fails to start fails the spawn.
 *
 * Children are spawned with LinkParent and LinkChild. A child's exit is handled by the strategy;
 * an exit from anyone else (e.g. the parent) stops all children with that reason and then the
 * supervisor with the same reason. A handler returning an Error (or Stop) does the same. More
 * than `intensity` restarts within `period` seconds stop every child and the supervisor with
 * ErrSupervisorRestartsExceeded. While a restart or shutdown sequence runs, only urgent mail is
 * read. A supervisor cannot be a logger.
 */
export abstract class Supervisor extends BehaviorBase {
  #mb!: ProcessMailbox;
  #strategy!: ChildrenStrategy;
  #cfg!: NormalizedSpec;
  /** Child spawns not settled yet, and exits from unknown processes held meanwhile. */
  #inflight = 0;
  #held: [PID, MessageExitPID][] = [];
  /** Its children's exits and what it did about each (supervisor_history.ts). */
  readonly #history = new RestartHistory();

  /** Returns the supervisor spec (required). Receives the spawn arguments. */
  abstract init(...args: unknown[]): SupervisorSpec | Promise<SupervisorSpec>;

  /**
   * A child (re)started (with `enableHandleChild`). The default does nothing, silently (Ergo
   * logs a warning per call; a supervisor overriding only one of the two callbacks would log on
   * every child start or exit).
   */
  handleChildStart(_name: Atom, _pid: PID): HandlerResult {
    return undefined;
  }
  /** A child ended (with `enableHandleChild`). The default does nothing, silently. */
  handleChildTerminate(_name: Atom, _pid: PID, _reason: Error): HandlerResult {
    return undefined;
  }
  handleMessage(from: PID, _message: unknown): HandlerResult {
    this.log.warning('Supervisor.handleMessage: unhandled message from %s', from.toString());
  }
  handleCall(from: PID, _ref: Ref, _request: unknown): unknown {
    this.log.warning('Supervisor.handleCall: unhandled request from %s', from.toString());
    return undefined;
  }
  handleEvent(message: MessageEvent): HandlerResult {
    this.log.warning('Supervisor.handleEvent: unhandled event message %s', message.event.toString());
  }
  /**
   * Default: type, strategy, limits, children counts, and the restart history: `exits` (child
   * exits recorded since start) and `restart_history` (the last 32 as JSON text: supervisor_history.ts).
   * An override that wants them too spreads `super.handleInspect(from)` into its own map.
   */
  handleInspect(_from: PID, ..._items: string[]): Record<string, string> | Promise<Record<string, string>> {
    const children = this.#strategy.children();
    return {
      type: TYPE_NAMES[this.#cfg.type]!,
      strategy: STRATEGY_NAMES[this.#cfg.strategy]!,
      intensity: String(this.#cfg.intensity),
      period: String(this.#cfg.periodMs / 1000),
      keep_order: String(this.#cfg.keepOrder),
      restarts: String(this.#strategy.restarts()),
      children: String(children.length),
      children_running: String(children.filter((c) => c.pid !== null).length),
      children_disabled: String(children.filter((c) => c.disabled).length),
      exits: String(this.#history.recorded),
      restart_history: this.#history.json(),
    };
  }
  terminate(_reason: Error): unknown {
    return undefined;
  }

  // --- child management (R only: these run inside a handler) ---------------------------------

  /**
   * Starts a child by spec name. OFO/AFO/RFO: the child must not be running
   * (ErrSupervisorChildRunning); new args replace the spec's for later restarts. SOFO: starts a
   * new instance (with `args`, or the spec's when none are given). ErrSupervisorChildUnknown,
   * ErrSupervisorChildDisabled, ErrSupervisorStrategyActive during a restart sequence.
   */
  startChild(name: Atom | string, ...args: unknown[]): Promise<void> {
    return this.#managed(() => this.#strategy.startChild(name, args));
  }
  /** Adds a child spec; OFO/AFO/RFO start it at once, SOFO only records it. ErrSupervisorChildDuplicate. */
  addChild(spec: SupervisorChildSpec): Promise<void> {
    return this.#managed(() => this.#strategy.addChild(spec));
  }
  /** Re-enables a disabled spec (OFO/AFO/RFO start it again). */
  enableChild(name: Atom | string): Promise<void> {
    return this.#managed(() => this.#strategy.enableChild(name));
  }
  /** Disables a spec; its running child (or SOFO instances) stop with shutdown and are not restarted. */
  disableChild(name: Atom | string): Promise<void> {
    return this.#managed(() => this.#strategy.disableChild(name, TerminateReasonShutdown));
  }
  /** The children, in spec order. */
  children(): SupervisorChild[] {
    return this.#strategy.children();
  }

  #managed(op: () => Promise<void>): Promise<void> {
    const s = this.state();
    if (s !== ProcessState.Running && s !== ProcessState.WaitResponse) {
      const err = new ErgoError('ERR_NOT_ALLOWED', 'not allowed: child management outside a handler');
      return rejected(err, this.log, 'supervisor child management');
    }
    try {
      return ignorable(op(), this.log, 'supervisor child management');
    } catch (e) {
      return rejected(e, this.log, 'supervisor child management');
    }
  }

  // --- ProcessBehavior ------------------------------------------------------------------------

  processInit(process: Process, args: unknown[]): unknown {
    this.bind(process);
    this.#mb = process.mailbox();
    const spec = this.init(...args);
    if (isThenable(spec)) return Promise.resolve(spec).then((s) => this.#setup(s));
    return this.#setup(spec);
  }

  #setup(spec: SupervisorSpec): Promise<Error | undefined> {
    this.#cfg = normalizeSpec(spec);
    const host: SupervisorHost = {
      spawnChild: (c, args, register) => {
        const options = { ...c.options, linkParent: true, linkChild: true };
        this.#inflight++;
        const spawned = register
          ? this.spawnRegister(c.name, c.factory, options, ...args)
          : this.spawn(c.factory, options, ...args);
        const settled = (): void => {
          if (--this.#inflight === 0) this.#replayExits();
        };
        spawned.then(settled, settled);
        return spawned;
      },
      stopChild: (pid, reason) => {
        try {
          this.sendExit(pid, reason);
        } catch (e) {
          // A child that is already gone has its exit on the way to us; nothing to stop.
          if (!ErrProcessUnknown.is(e))
            this.log.warning('supervisor: unable to stop child %s: %s', pid.toString(), toError(e).message);
        }
      },
      childStarted: (name, pid) => {
        if (this.#cfg.handleChild) this.send(this.pid, new ChildStarted(name, pid));
      },
    };
    this.#strategy =
      this.#cfg.type === SupervisorType.SimpleOneForOne
        ? new SimpleChildren(host, this.#cfg)
        : new OrderedChildren(host, this.#cfg);
    return this.#strategy.start();
  }

  processTerminate(reason: Error): unknown {
    return this.terminate(reason);
  }

  processRun(): unknown {
    const mb = this.#mb;
    for (let i = 0; i < SUPERVISOR_BATCH; i++) {
      if (!(this.#strategy.busy() ? mb.takeUrgent() : mb.take())) return undefined;
      const kind = mb.kind;
      const from = mb.from as PID;
      const message = mb.message;
      const extra = mb.extra;
      const fromLog = mb.queue === 'log';
      mb.release();
      let r: unknown;
      switch (kind) {
        case MailboxKind.Regular:
          if (fromLog) return new ErgoError('ERR_NOT_ALLOWED', 'supervisor process can not be a logger');
          r = this.#regular(from, message as MessageLog);
          break;
        case MailboxKind.Request:
          r = this.#request(from, message, extra);
          break;
        case MailboxKind.Event:
          r = this.#ownResult(this.handleEvent(message as MessageEvent));
          break;
        case MailboxKind.Exit:
          // Erlang's exit(Pid, normal) from an Erlang process (never a child) is ignored
          r = extra === ExitIgnoredUnlessTrapped ? undefined : this.#exit(from, message);
          break;
        case MailboxKind.Inspect:
          r = answerInspect(this, from, extra as Ref, this.handleInspect(from, ...(message as string[])));
          break;
      }
      if (r !== undefined && r !== null && (r instanceof Error || isThenable(r))) return r;
      if (this.state() === ProcessState.Zombee) return undefined;
    }
    return undefined;
  }

  /** A handler's own result: a reason stops every child first. */
  #ownResult(r: unknown): unknown {
    if (r === undefined || r === null) return undefined;
    if (isThenable(r)) return Promise.resolve(r).then((v) => this.#ownResult(v));
    if (r instanceof Stop) return this.#strategy.shutdown(r.reason);
    if (r instanceof Error) return this.#strategy.shutdown(r);
    return undefined;
  }

  #regular(from: PID, message: unknown): unknown {
    if (this.#cfg.handleChild) {
      if (message instanceof ChildStarted && from.equals(this.pid))
        return this.#ownResult(this.handleChildStart(message.name, message.pid));
      if (message instanceof ChildTerminated && from.equals(this.pid)) {
        return this.#ownResult(this.handleChildTerminate(message.name, message.pid, message.reason));
      }
    }
    return this.#ownResult(this.handleMessage(from, message));
  }

  #request(from: PID, request: unknown, extra: unknown): unknown {
    const ref = requestRef(extra);
    const finish = (v: unknown): unknown => {
      const reason = finishCall(this, from, ref, v);
      return reason === undefined ? undefined : this.#strategy.shutdown(reason);
    };
    const r = this.handleCall(from, ref, request);
    if (isThenable(r)) return Promise.resolve(r).then(finish);
    return finish(r);
  }

  /** Puts exits held back while spawns were in flight into the urgent queue again. */
  #replayExits(): void {
    for (const [from, message] of this.#held.splice(0)) {
      try {
        this.process.forward(this.pid, MailboxKind.Exit, from, message, undefined, MessagePriority.Max);
      } catch {
        // We are gone: nobody left to tell.
      }
    }
  }

  #exit(from: PID, message: unknown): unknown {
    if (message instanceof MessageExitPID) {
      const name = this.#strategy.nameOf(message.pid);
      if (name === undefined) {
        // A child whose spawn has not resolved yet (e.g. a startChild not awaited) may already
        // have ended: hold its exit until the spawns settle and the child is known.
        if (this.#inflight > 0) {
          this.#held.push([from, message]);
          return undefined;
        }
        return this.#strategy.shutdown(message.reason);
      }
      if (this.#cfg.handleChild) this.send(this.pid, new ChildTerminated(name, message.pid, message.reason));
      const before = this.#strategy.restartsTotal();
      const r = this.#strategy.exited(message.pid, message.reason);
      const s = this.#strategy;
      const counted = s.restartsTotal() !== before;
      // The exit reason says only `panic`: the error the child threw is in the node's crashes.
      const error =
        message.reason === TerminateReasonPanic && message.pid.node === this.node.name
          ? this.node.recentCrashes({ pid: message.pid, limit: 1 })[0]?.error
          : undefined;
      this.#history.note(name, String(message.pid), message.reason, counted, s.restarts(), this.#cfg.intensity, error);
      return r;
    }
    return this.#strategy.shutdown(exitReason(message));
  }
}
