// Links and monitors as processes use them: resolve and validate the target, record the relation,
// and when a target ends turn every relation on it into exactly one exit signal (links, urgent
// queue) or down message (monitors, system queue). Targets on other nodes and watchers from
// other nodes go through the router (the only place that talks to connections).

import type { Atom } from '../gen/atom.js';
import {
  ErrAliasUnknown,
  ErrEventUnknown,
  ErrIncorrect,
  ErrNotAllowed,
  ErrProcessTerminated,
  ErrProcessUnknown,
  ErrTargetUnknown,
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
import { ExitIgnoredUnlessTrapped, MailboxKind, type LinkTarget } from '../gen/process.js';
import { ProcessID } from '../gen/processid.js';
import { Alias } from '../gen/ref.js';
import { CallWatch } from './call_monitor.js';
import { Q_SYSTEM, Q_URGENT } from './mailbox.js';
import type { NodeImpl } from './node.js';
import { ProcessImpl } from './process.js';
import { S_TERMINATED } from './process_state.js';
import { NodeTarget, RemoteConsumer, type ConsumerHost, type Target, type TargetHost } from './targets.js';

/** Link/monitor operations of a node. */
export class Relations {
  constructor(private readonly node: NodeImpl) {}

  /** Normalises a target: an Atom/string is a local name, a ProcessID without node is local. */
  private normalize(target: LinkTarget): Target {
    if (typeof target === 'string') return new ProcessID(target as Atom, this.node.name);
    if (target instanceof ProcessID && target.node === '') return new ProcessID(target.name, this.node.name);
    // An Event with an empty node is local too (subscribe normalises it; unsubscribe must match).
    if (target instanceof Event && target.node === '') return new Event(target.name, this.node.name);
    if (target instanceof PID || target instanceof ProcessID || target instanceof Alias || target instanceof Event)
      return target;
    throw ErrIncorrect.with(`unsupported link/monitor target ${String(target)}`);
  }

  /**
   * Checks that a local target exists (and is not `p` itself, when a local process asks) and
   * returns the host holding its relations: the process itself for a PID, a keyed host otherwise
   * (created here). `p` is null for a watcher on another node.
   */
  private resolve(p: ProcessImpl | null, t: Target, forMonitor: boolean): TargetHost {
    const node = this.node;
    if (t instanceof PID) {
      if (p !== null && t.equals(p.pid)) throw ErrNotAllowed.with('link/monitor to itself');
      // A process still in init counts (Ergo 3.2 lets it call out, so others may watch it).
      const q = node.processOrInit(t);
      if (q === undefined) throw ErrProcessUnknown.with(t.toString());
      if (forMonitor && q.st === S_TERMINATED) throw ErrProcessTerminated.with(t.toString());
      return q;
    }
    if (t instanceof ProcessID) {
      const q = node.names.get(t.name);
      if (q === undefined) throw ErrProcessUnknown.with(t.toString());
      // Ergo refuses a link to the caller's own name or alias, as to its own PID.
      if (q === p) throw ErrNotAllowed.with('link/monitor to its own name');
    } else if (t instanceof Alias) {
      const owner = node.aliasOwner(t);
      // A meta process' alias is a target too (its parent may watch it).
      if (owner === undefined && node.metas.get(t) === undefined) throw ErrAliasUnknown.with(t.toString());
      if (owner === p) throw ErrNotAllowed.with('link/monitor to its own alias');
    } else if (t instanceof Event) {
      if (node.events.get(t.name) === undefined) throw ErrEventUnknown.with(t.toString());
    }
    return node.targets.keyedHost(t, true)!;
  }

  /** The host of an existing target, for removals (undefined when it has no relations). */
  private existingHost(t: Target): TargetHost | undefined {
    if (t instanceof PID && t.node === this.node.name) return this.node.processOrInit(t);
    return this.node.targets.keyedHost(t, false);
  }

  /** Records a link (`link`) or monitor of `p` on a process, name or alias, local or remote. */
  private watch(p: ProcessImpl, t: PID | ProcessID | Alias, link: boolean): void {
    const router = this.node.router;
    if (!router.isLocal(t.node)) {
      if (t instanceof PID && t.equals(p.pid)) throw ErrNotAllowed.with('link/monitor to itself');
      router.remote.watchRemote(p, t, link);
      return;
    }
    const host = this.resolve(p, t, !link);
    this.node.targets.add(link, p, host instanceof ProcessImpl ? host.pid : t, host);
  }

  link(p: ProcessImpl, target: LinkTarget): void {
    const t = this.normalize(target);
    if (t instanceof Event) {
      this.subscribeSync(p, t, true);
      return;
    }
    this.watch(p, t as PID | ProcessID | Alias, true);
  }

  monitor(p: ProcessImpl, target: LinkTarget): void {
    const t = this.normalize(target);
    if (t instanceof Event) {
      this.subscribeSync(p, t, false);
      return;
    }
    this.watch(p, t as PID | ProcessID | Alias, false);
  }

  unlink(p: ProcessImpl, target: LinkTarget): void {
    this.unwatch(p, this.normalize(target), true);
  }

  demonitor(p: ProcessImpl, target: LinkTarget): void {
    this.unwatch(p, this.normalize(target), false);
  }

  private unwatch(p: ProcessImpl, t: Target, link: boolean): void {
    if (!this.node.router.isLocal(t.node)) {
      this.node.router.remote.unwatchRemote(p, t, link, this.existingHost(t));
      return;
    }
    this.node.targets.remove(link, p, t, this.existingHost(t));
    if (t instanceof Event) this.eventUnsubscribed(t);
  }

  /** Links to or monitors a remote node: MessageExitNode / MessageDownNode when it goes down. */
  linkNode(p: ProcessImpl, node: Atom, link: boolean): void {
    this.node.router.remote.watchNode(p, node, link);
  }

  /** Drops a link or monitor on a node. ErrTargetUnknown when there is none. */
  unlinkNode(p: ProcessImpl, node: Atom, link: boolean): void {
    const t = new NodeTarget(node);
    this.node.targets.remove(link, p, t, this.node.targets.keyedHost(t, false));
  }

  linkEvent(p: ProcessImpl, target: Event): Promise<MessageEvent[]> {
    return this.subscribe(p, target, true);
  }

  monitorEvent(p: ProcessImpl, target: Event): Promise<MessageEvent[]> {
    return this.subscribe(p, target, false);
  }

  /**
   * Subscribes `p` to an event. Local: recorded and resolved at once with the buffer. Remote:
   * recorded at once, resolved when the remote buffer arrives. Bad input throws synchronously.
   */
  private subscribe(p: ProcessImpl, target: Event, link: boolean): Promise<MessageEvent[]> {
    if (!(target instanceof Event)) throw ErrIncorrect.with('not an Event');
    const t = target.node === '' ? new Event(target.name, this.node.name) : target;
    if (!this.node.router.isLocal(t.node)) return this.node.router.remote.subscribeRemote(p, t, link);
    return Promise.resolve(this.subscribeSync(p, t, link));
  }

  /** `link(event)`/`monitor(event)`: a local subscription returning the buffer; remote ones drop it. */
  private subscribeSync(p: ProcessImpl, t: Event, link: boolean): MessageEvent[] {
    if (!this.node.router.isLocal(t.node)) {
      void this.node.router.remote.subscribeRemote(p, t, link, true);
      return [];
    }
    const host = this.resolve(p, t, false);
    const e = this.node.events.get(t.name)!;
    this.node.targets.add(link, p, e.event, host);
    this.node.events.subscribed(e);
    return e.history();
  }

  /**
   * A watcher on another node (`pid`) links to (`link`) or monitors a local target. Throws as a
   * local request would (ErrProcessUnknown...); returns the buffer for events.
   */
  addRemoteWatcher(pid: PID, target: Target, link: boolean): MessageEvent[] {
    const host = this.resolve(null, target, !link);
    const c = this.node.targets.remoteConsumer(pid, true)!;
    try {
      this.node.targets.add(link, c, host instanceof ProcessImpl ? host.pid : target, host);
    } catch (e) {
      if (c.cCount === 0) this.node.targets.cleanupConsumer(c);
      throw e;
    }
    if (!(target instanceof Event)) return [];
    const e = this.node.events.get(target.name)!;
    this.node.events.subscribed(e);
    return e.history();
  }

  /** A watcher on another node drops its link/monitor on a local target. ErrTargetUnknown. */
  removeRemoteWatcher(pid: PID, target: Target, link: boolean): void {
    const c = this.node.targets.remoteConsumer(pid, false);
    if (c === undefined) throw ErrTargetUnknown.with(`${link ? 'link' : 'monitor'} ${pid} → ${target}`);
    this.node.targets.remove(link, c, target, this.existingHost(target));
    if (target instanceof Event) this.eventUnsubscribed(target);
  }

  private eventUnsubscribed(t: Event): void {
    if (t.node !== this.node.name) return;
    const e = this.node.events.get(t.name);
    if (e !== undefined) this.node.events.unsubscribed(e);
  }

  /**
   * The watcher ended (a local process, or a remote one whose node went down): drop its
   * relations silently; event subscriber counts follow, remote targets hear it.
   */
  consumerEnded(p: ConsumerHost): void {
    if (p.cHead === null) return;
    const router = this.node.router;
    for (const r of this.node.targets.cleanupConsumer(p)) {
      const t = r.target;
      if (t instanceof Event && t.node === this.node.name) this.eventUnsubscribed(t);
      else if (!router.isLocal(t.node) && !(p instanceof RemoteConsumer)) router.remote.forgetRemote(p.pid, t, r.link);
    }
  }

  /**
   * A target ended (process, name, alias, event, node): every link gets an exit signal and every
   * monitor a down message, once; the relations are removed. `from` is the sender Ergo uses:
   * the terminated process for PID targets, the core PID otherwise. `host` is the process itself
   * for a local PID target. Watchers on other nodes are told once per node. `ignoreUnlessTrapped`
   * marks the local links' exit signals with Erlang's rule (see Core.routeTerminatePID).
   */
  targetEnded(target: Target, reason: Error, from: PID, host?: TargetHost, ignoreUnlessTrapped = false): void {
    const h = host ?? this.node.targets.keyedHost(target, false);
    if (h === undefined || h.tHead === null) return;
    let exit: unknown;
    let down: unknown;
    let told: Atom[] | null = null;
    for (let r = this.node.targets.take(h); r !== null; r = r.tNext) {
      const c = r.consumer;
      if (c instanceof CallWatch) {
        c.ended(reason);
        continue;
      }
      if (c instanceof RemoteConsumer) {
        const node = c.pid.node;
        if (told === null) told = [node];
        else if (told.includes(node)) continue;
        else told.push(node);
        this.node.router.remote.terminateRemote(node, target, reason);
        continue;
      }
      // Local consumers are processes (still in init, possibly): their mailbox takes it directly.
      const p = c as ProcessImpl;
      if (r.link)
        p.notify(
          Q_URGENT,
          MailboxKind.Exit,
          from,
          (exit ??= exitMessage(target, reason)),
          ignoreUnlessTrapped ? ExitIgnoredUnlessTrapped : undefined,
        );
      else p.notify(Q_SYSTEM, MailboxKind.Regular, from, (down ??= downMessage(target, reason)));
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
