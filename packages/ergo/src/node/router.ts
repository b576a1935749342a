// The router: the one place that decides whether a target is local or remote. Every outbound
// operation of a process or of the node (send, call, response, exit, event delivery) goes through
// it. Until the network exists a remote target fails with ErrNetworkStopped.

import type { Atom } from '../gen/atom.js';
import {
  ErrIncorrect,
  ErrNetworkStopped,
  ErrNodeTerminated,
  ErrProcessMailboxFull,
  ErrProcessUnknown,
  ErrUnsupported,
  ErrAborted,
  toError,
} from '../gen/errors.js';
import { MessageExitPID, MessageFallback } from '../gen/messages.js';
import { DEFAULT_REQUEST_TIMEOUT, type CallOptions } from '../gen/options.js';
import { PID } from '../gen/pid.js';
import { isMessagePriority, MessagePriority } from '../gen/priority.js';
import { ProcessID } from '../gen/processid.js';
import { MailboxKind, type SendTarget } from '../gen/process.js';
import { Alias, type Ref } from '../gen/ref.js';
import type { PendingCall } from './calls.js';
import { Q_URGENT, refOfExtra } from './mailbox.js';
import type { MetaImpl } from './meta.js';
import type { NodeImpl } from './node.js';
import { S_TERMINATED, type ProcessImpl } from './process.js';

/** Routes messages, calls, responses, exits and events of one node. */
export class Router {
  constructor(private readonly node: NodeImpl) {}

  /**
   * Sends `message` from `from` to `to`. Throws ErrProcessUnknown, ErrProcessTerminated,
   * ErrProcessMailboxFull, ErrUnsupported (bad target), ErrNetworkStopped (remote, no network).
   */
  routeSend(from: PID, to: SendTarget, message: unknown, priority: MessagePriority, important: boolean): void {
    const n = this.node;
    if (!n.isAlive()) throw ErrNodeTerminated.with(n.name);
    const q = 2 - priority;
    if (to instanceof PID) {
      if (to.node === n.name) {
        const p = to.creation === n.creation ? n.processes.get(to.id) : undefined;
        if (p === undefined) throw ErrProcessUnknown.with(to.toString());
        p.deliver(q, MailboxKind.Regular, from, n.simulate === null ? message : n.simulate(message), undefined);
        return;
      }
      return this.remote(to, important);
    }
    if (typeof to === 'string') {
      const p = n.names.get(to as Atom);
      if (p === undefined) throw ErrProcessUnknown.with(`'${to}'`);
      p.deliver(q, MailboxKind.Regular, from, n.simulate === null ? message : n.simulate(message), to);
      return;
    }
    if (to instanceof ProcessID) {
      if (to.node !== '' && to.node !== n.name) return this.remote(to, important);
      const p = n.names.get(to.name);
      if (p === undefined) throw ErrProcessUnknown.with(to.toString());
      p.deliver(q, MailboxKind.Regular, from, n.simulate === null ? message : n.simulate(message), to.name);
      return;
    }
    if (to instanceof Alias) {
      if (to.node !== n.name) return this.remote(to, important);
      // A process alias, else a meta process (meta_table.ts): priority does not apply to metas.
      const p = n.aliasTable.get(to.key) ?? n.metas.get(to);
      if (p === undefined) throw ErrProcessUnknown.with(to.toString());
      p.deliver(q, MailboxKind.Regular, from, n.simulate === null ? message : n.simulate(message), to);
      return;
    }
    throw ErrUnsupported.with(`send target ${String(to)}`);
  }

  private remote(to: { toString(): string }, _important: boolean): never {
    throw ErrNetworkStopped.with(`no network to reach ${to}`);
  }

  /** Sends an exit signal (urgent queue) from `from` to a process. */
  routeExit(from: PID, to: PID, reason: Error): void {
    const n = this.node;
    n.checkAlive();
    if (to.node !== n.name) this.remote(to, false);
    const p = n.localProcess(to);
    const r = n.simulate === null ? reason : (n.simulate(reason) as Error);
    p.deliver(Q_URGENT, MailboxKind.Exit, from, new MessageExitPID(from, r), undefined);
  }

  /** Delivers a reply to the pending call `ref` of `to`; unknown or late replies are dropped. */
  routeResponse(to: PID, ref: Ref, ok: boolean, value: unknown): void {
    const n = this.node;
    if (to.node !== n.name) this.remote(to, false);
    const c = n.calls.get(ref);
    if (c === undefined || c.caller.id !== to.id || c.caller.creation !== to.creation) return;
    n.calls.settle(c, ok, n.simulate !== null ? n.simulate(value) : value);
  }

  /**
   * Issues a call (or an inspect) from `from` (process `owner`, or null for the node) to `to`.
   * Never throws: every failure rejects the returned promise.
   */
  makeCall(owner: ProcessImpl | null, from: PID, to: SendTarget, request: unknown, options: CallOptions | undefined, kind: MailboxKind): Promise<unknown> {
    const n = this.node;
    let p: ProcessImpl | MetaImpl | undefined;
    let via: Atom | Alias | undefined;
    let timeout = DEFAULT_REQUEST_TIMEOUT;
    try {
      n.checkAlive();
      if (options?.timeout !== undefined) {
        timeout = options.timeout;
        if (typeof timeout !== 'number' || !(timeout > 0) || timeout > 2 ** 31 - 1) throw ErrIncorrect.with(`call timeout ${timeout}`);
      }
      if (options?.priority !== undefined && !isMessagePriority(options.priority)) throw ErrIncorrect.with(`priority ${String(options.priority)}`);
      if (to instanceof PID) {
        if (to.node !== n.name) this.remote(to, false);
        p = to.creation === n.creation ? n.processes.get(to.id) : undefined;
      } else if (typeof to === 'string') {
        p = n.names.get(to as Atom);
        via = to as Atom;
      } else if (to instanceof ProcessID) {
        if (to.node !== '' && to.node !== n.name) this.remote(to, false);
        p = n.names.get(to.name);
        via = to.name;
      } else if (to instanceof Alias) {
        if (to.node !== n.name) this.remote(to, false);
        p = n.aliasTable.get(to.key) ?? n.metas.get(to);
        via = to;
      } else {
        throw ErrUnsupported.with(`call target ${String(to)}`);
      }
      if (p === undefined) throw ErrProcessUnknown.with(String(to));
      if (p.st === S_TERMINATED) throw n.errTerminated(p as ProcessImpl); // metas leave the table as they end
    } catch (e) {
      return Promise.reject(e);
    }
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason ?? ErrAborted.with('call'));
    const now = Date.now();
    const ref = n.callRef(now, timeout);
    const c = n.calls.create(ref, from, owner, p, timeout, now);
    if (owner !== null) owner.beginWait();
    const priority = options?.priority ?? (owner !== null ? owner.priority : MessagePriority.Normal);
    try {
      p.deliver(
        kind === MailboxKind.Inspect ? Q_URGENT : 2 - priority,
        kind,
        from,
        n.simulate === null || kind === MailboxKind.Inspect ? request : n.simulate(request),
        via === undefined ? ref : [ref, via],
      );
    } catch (e) {
      n.calls.settle(c, false, e);
      return c.promise;
    }
    if (signal !== undefined) this.watchSignal(c, signal);
    return c.promise;
  }

  private watchSignal(c: PendingCall, signal: AbortSignal): void {
    const n = this.node;
    c.signal = signal;
    c.onAbort = () => n.calls.settle(c, false, signal.reason ?? ErrAborted.with('call'));
    signal.addEventListener('abort', c.onAbort, { once: true });
  }

  /** A forwarded request now belongs to `p` (for the fail-on-target-death rule). */
  transferCall(extra: unknown, p: ProcessImpl): void {
    const n = this.node;
    const c = n.calls.get(refOfExtra(extra));
    if (c === undefined || c.holder === null) return;
    c.holder.held--;
    c.holder = p;
    p.held++;
  }

  /** Delivers an event message to a local subscriber; overflow is logged, never silent. */
  deliverEvent(p: ProcessImpl, q: number, from: PID, m: unknown): void {
    const n = this.node;
    try {
      p.deliver(q, MailboxKind.Event, from, m, undefined);
    } catch (e) {
      n.log.warning('event delivery to %s failed: %s', p.pid.toString(), toError(e).message);
    }
  }


  /**
   * A bounded mailbox refused a record: try the fallback for plain messages, else throw. A
   * MessageFallback is never redirected again, so fallbacks pointing at each other end after one
   * hop with ErrProcessMailboxFull instead of recursing.
   */
  mailboxFull(p: ProcessImpl, q: number, kind: MailboxKind, _from: PID, message: unknown): void {
    const n = this.node;
    const fb = p.fallback;
    if (kind === MailboxKind.Regular && fb !== null && fb.enable && fb.name !== p.name && !(message instanceof MessageFallback)) {
      const target = n.names.get(fb.name);
      if (target !== undefined && target !== p) {
        target.deliver(q, MailboxKind.Regular, p.pid, new MessageFallback(p.pid, fb.tag ?? '', message), undefined);
        return;
      }
    }
    throw ErrProcessMailboxFull.with(p.pid.toString());
  }
}
