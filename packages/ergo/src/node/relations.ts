// Links and monitors as processes use them: resolve and validate the target, record the relation,
// and when a target ends turn every relation on it into exactly one exit signal (links, urgent
// queue) or down message (monitors, system queue).

import type { Atom } from '../gen/atom.js';
import {
  ErrAliasUnknown,
  ErrEventUnknown,
  ErrIncorrect,
  ErrNotAllowed,
  ErrProcessTerminated,
  ErrProcessUnknown,
  ErrNetworkStopped,
} from '../gen/errors.js';
import { Event } from '../gen/event.js';
import {
  MessageDownAlias,
  MessageDownEvent,
  MessageDownNode,
  MessageDownPID,
  MessageDownProcessID,
  MessageExitAlias,
  MessageExitEvent,
  MessageExitNode,
  MessageExitPID,
  MessageExitProcessID,
  type MessageEvent,
} from '../gen/messages.js';
import { PID } from '../gen/pid.js';
import { MailboxKind, type LinkTarget } from '../gen/process.js';
import { ProcessID } from '../gen/processid.js';
import { Alias } from '../gen/ref.js';
import { Q_SYSTEM, Q_URGENT } from './mailbox.js';
import type { NodeImpl } from './node.js';
import { ProcessImpl, S_TERMINATED } from './process.js';
import { NodeTarget, type Target, type TargetHost } from './targets.js';

/** Link/monitor operations of a node. */
export class Relations {
  constructor(private readonly node: NodeImpl) {}

  /** Normalises a target: an Atom/string is a local name, a ProcessID without node is local. */
  private normalize(target: LinkTarget): Target {
    if (typeof target === 'string') return new ProcessID(target as Atom, this.node.name);
    if (target instanceof ProcessID && target.node === '') return new ProcessID(target.name, this.node.name);
    // An Event with an empty node is local too (subscribe normalises it; unsubscribe must match).
    if (target instanceof Event && target.node === '') return new Event(target.name, this.node.name);
    if (target instanceof PID || target instanceof ProcessID || target instanceof Alias || target instanceof Event) return target;
    throw ErrIncorrect.with(`unsupported link/monitor target ${String(target)}`);
  }

  /**
   * Checks that a target exists (and is not the caller itself) and returns the host holding its
   * relations: the process itself for a local PID, a keyed host otherwise (created here).
   */
  private resolve(p: ProcessImpl, t: Target, forMonitor: boolean): TargetHost {
    const node = this.node;
    if (t instanceof PID) {
      if (t.equals(p.pid)) throw ErrNotAllowed.with('link/monitor to itself');
      if (t.node !== node.name) throw ErrNetworkStopped.with(`remote target ${t}`);
      const q = t.creation === node.creation ? node.processes.get(t.id) : undefined;
      if (q === undefined) throw ErrProcessUnknown.with(t.toString());
      if (forMonitor && q.st === S_TERMINATED) throw ErrProcessTerminated.with(t.toString());
      return q;
    }
    if (t instanceof ProcessID) {
      if (t.node !== node.name) throw ErrNetworkStopped.with(`remote target ${t}`);
      const q = node.names.get(t.name);
      if (q === undefined) throw ErrProcessUnknown.with(t.toString());
      // Ergo refuses a link to the caller's own name or alias, as to its own PID.
      if (q === p) throw ErrNotAllowed.with('link/monitor to its own name');
    } else if (t instanceof Alias) {
      if (t.node !== node.name) throw ErrNetworkStopped.with(`remote target ${t}`);
      const owner = node.aliasOwner(t);
      // A meta process' alias is a target too (its parent may watch it).
      if (owner === undefined && node.metas.get(t) === undefined) throw ErrAliasUnknown.with(t.toString());
      if (owner === p) throw ErrNotAllowed.with('link/monitor to its own alias');
    } else if (t instanceof Event) {
      if (t.node !== node.name) throw ErrNetworkStopped.with(`remote target ${t}`);
      if (node.events.get(t.name) === undefined) throw ErrEventUnknown.with(t.toString());
    }
    return node.targets.keyedHost(t, true)!;
  }

  /** The host of an existing target, for removals (undefined when it has no relations). */
  private existingHost(t: Target): TargetHost | undefined {
    if (t instanceof PID) {
      if (t.node !== this.node.name || t.creation !== this.node.creation) return undefined;
      return this.node.processes.get(t.id);
    }
    return this.node.targets.keyedHost(t, false);
  }

  link(p: ProcessImpl, target: LinkTarget): void {
    const t = this.normalize(target);
    if (t instanceof Event) {
      this.linkEvent(p, t);
      return;
    }
    const host = this.resolve(p, t, false);
    this.node.targets.add(true, p, host instanceof ProcessImpl ? host.pid : t, host);
  }

  monitor(p: ProcessImpl, target: LinkTarget): void {
    const t = this.normalize(target);
    if (t instanceof Event) {
      this.monitorEvent(p, t);
      return;
    }
    const host = this.resolve(p, t, true);
    this.node.targets.add(false, p, host instanceof ProcessImpl ? host.pid : t, host);
  }

  unlink(p: ProcessImpl, target: LinkTarget): void {
    const t = this.normalize(target);
    this.node.targets.remove(true, p, t, this.existingHost(t));
    if (t instanceof Event) this.eventUnsubscribed(t);
  }

  demonitor(p: ProcessImpl, target: LinkTarget): void {
    const t = this.normalize(target);
    this.node.targets.remove(false, p, t, this.existingHost(t));
    if (t instanceof Event) this.eventUnsubscribed(t);
  }

  linkEvent(p: ProcessImpl, target: Event): MessageEvent[] {
    return this.subscribe(p, target, true);
  }

  monitorEvent(p: ProcessImpl, target: Event): MessageEvent[] {
    return this.subscribe(p, target, false);
  }

  private subscribe(p: ProcessImpl, target: Event, link: boolean): MessageEvent[] {
    if (!(target instanceof Event)) throw ErrIncorrect.with('not an Event');
    const t = target.node === '' ? new Event(target.name, this.node.name) : target;
    const host = this.resolve(p, t, false);
    const e = this.node.events.get(t.name)!;
    this.node.targets.add(link, p, e.event, host);
    this.node.events.subscribed(e);
    return e.history();
  }

  private eventUnsubscribed(t: Event): void {
    if (t.node !== this.node.name) return;
    const e = this.node.events.get(t.name);
    if (e !== undefined) this.node.events.unsubscribed(e);
  }

  /** The watcher ended: drop its relations silently (event subscriber counts follow). */
  consumerEnded(p: ProcessImpl): void {
    if (p.cHead === null) return;
    const targets = this.node.targets.cleanupConsumer(p);
    for (const t of targets) if (t instanceof Event) this.eventUnsubscribed(t);
  }

  /**
   * A target ended (process, name, alias, event, node): every link gets an exit signal and every
   * monitor a down message, once; the relations are removed. `from` is the sender Ergo uses:
   * the terminated process for PID targets, the core PID otherwise. `host` is the process itself
   * for a local PID target.
   */
  targetEnded(target: Target, reason: Error, from: PID, host?: TargetHost): void {
    const h = host ?? this.node.targets.keyedHost(target, false);
    if (h === undefined || h.tHead === null) return;
    let exit: unknown;
    let down: unknown;
    for (let r = this.node.targets.take(h); r !== null; r = r.tNext) {
      // Local consumers are processes (still in init, possibly): their mailbox takes it directly.
      const c = r.consumer as ProcessImpl;
      if (r.link) c.notify(Q_URGENT, MailboxKind.Exit, from, (exit ??= exitMessage(target, reason)));
      else c.notify(Q_SYSTEM, MailboxKind.Regular, from, (down ??= downMessage(target, reason)));
    }
  }
}

/** The exit signal a link on `target` produces. */
export function exitMessage(target: Target, reason: Error): unknown {
  if (target instanceof PID) return new MessageExitPID(target, reason);
  if (target instanceof ProcessID) return new MessageExitProcessID(target, reason);
  if (target instanceof Alias) return new MessageExitAlias(target, reason);
  if (target instanceof Event) return new MessageExitEvent(target, reason);
  return new MessageExitNode((target as NodeTarget).name);
}

/** The down message a monitor on `target` produces. */
export function downMessage(target: Target, reason: Error): unknown {
  if (target instanceof PID) return new MessageDownPID(target, reason);
  if (target instanceof ProcessID) return new MessageDownProcessID(target, reason);
  if (target instanceof Alias) return new MessageDownAlias(target, reason);
  if (target instanceof Event) return new MessageDownEvent(target, reason);
  return new MessageDownNode((target as NodeTarget).name);
}
