// Links, monitors and event subscriptions of local processes on targets of other nodes: the
// requests to the target's node (recorded here at once, answered later), the answers
// relationsConfirmed waits for, the subscriptions a node has not confirmed yet, and telling a
// node that a relation ended. The router owns it (`router.remote`); every request goes through
// the router's connection to that node.

import type { Atom } from '../gen/atom.js';
import { ErrIncorrect, ErrNotAllowed, toError } from '../gen/errors.js';
import { Event } from '../gen/event.js';
import type { MessageEvent } from '../gen/messages.js';
import type { Connection } from '../gen/network.js';
import { PID } from '../gen/pid.js';
import { ProcessID } from '../gen/processid.js';
import { MailboxKind } from '../gen/process.js';
import { Alias } from '../gen/ref.js';
import { Q_SYSTEM, Q_URGENT } from './mailbox.js';
import type { NodeImpl } from './node.js';
import type { ProcessImpl } from './process.js';
import { downMessage, exitMessage } from './relations.js';
import type { Router } from './router.js';
import { NodeTarget, type ConsumerHost, type Target, type TargetHost } from './targets.js';

/** An event subscription on another node that the node has not confirmed yet. */
interface Unconfirmed {
  p: ProcessImpl;
  t: Event;
  link: boolean;
}

/** The relations of one node's processes on remote targets (see the top of this file). */
export class RemoteRelations {
  /** Unconfirmed event subscriptions by node (see dropUnconfirmed). */
  private readonly unconfirmed = new Map<Atom, Set<Unconfirmed>>();
  /** Each process' remote link/monitor requests not answered yet (see {@link relationsConfirmed}). */
  private readonly unanswered = new WeakMap<ProcessImpl, AnswerGen[]>();

  constructor(
    private readonly node: NodeImpl,
    private readonly router: Router,
  ) {}

  /**
   * Records a link (`link`) or monitor of local `p` on a target of another node at once, and
   * asks that node. A refusal or failure of the request arrives later as the exit/down reason.
   * Throws at once (nothing recorded) when there is no connection to that node.
   */
  watchRemote(p: ProcessImpl, t: PID | ProcessID | Alias, link: boolean): void {
    const conn = this.router.connection(t.node);
    const host = this.node.targets.keyedHost(t, true)!;
    this.node.targets.add(link, p, t, host);
    let req: Promise<void>;
    if (t instanceof PID) req = link ? conn.linkPID(p.pid, t) : conn.monitorPID(p.pid, t);
    else if (t instanceof ProcessID) req = link ? conn.linkProcessID(p.pid, t) : conn.monitorProcessID(p.pid, t);
    else req = link ? conn.linkAlias(p.pid, t) : conn.monitorAlias(p.pid, t);
    const g = this.answerGen(p);
    req.then(g.answered, (e: unknown) => {
      // Counted in any case, and nothing escapes: the derived Promise has no other handler.
      try {
        this.remoteRefused(p, t, link, toError(e));
      } catch (err) {
        this.node.log.warning('refused %s of %s: %s', link ? 'link' : 'monitor', String(t), toError(err).message);
      } finally {
        g.answered();
      }
    });
  }

  /**
   * The open generation of `p`'s unanswered remote requests, counted one up for a new request:
   * call its `answered` once the request was answered (and a refusal delivered). One counter per
   * generation instead of a tracked Promise per request (a remote monitor's cost on the watcher).
   */
  private answerGen(p: ProcessImpl): AnswerGen {
    let list = this.unanswered.get(p);
    if (list === undefined) this.unanswered.set(p, (list = []));
    let g = list.length === 0 ? undefined : list[list.length - 1]!;
    if (g === undefined || g.sealed) {
      const gens = list;
      const gen: AnswerGen = new AnswerGen(() => {
        if (--gen.count > 0) return;
        gens.splice(gens.indexOf(gen), 1);
        if (gens.length === 0 && this.unanswered.get(p) === gens) this.unanswered.delete(p);
        gen.resolve?.();
      });
      list.push((g = gen));
    }
    g.count++;
    return g;
  }

  /**
   * Tracks a remote link/monitor/subscribe request of `p` until its node answered (and a refusal
   * was delivered as the exit/down message), for {@link relationsConfirmed}.
   */
  private awaitAnswer(p: ProcessImpl, answered: Promise<unknown>): void {
    const g = this.answerGen(p);
    // Silent on rejection: a subscription's refusal reaches its caller through its own Promise.
    answered.then(g.answered, g.answered);
  }

  /**
   * Resolves once every remote link/monitor request `p` has made so far has been answered by
   * the target's node: accepted (the remote side holds the relation) or refused / lost (the
   * exit/down message is already in `p`'s mailbox). Never rejects; at once when none is pending.
   */
  relationsConfirmed(p: ProcessImpl): Promise<void> {
    const list = this.unanswered.get(p);
    if (list === undefined || list.length === 0) return Promise.resolve();
    // Requests made from now on belong to a new generation: this waits for the ones made so far.
    const waits = list.map((g) => {
      g.sealed = true;
      return (g.done ??= new Promise<void>((resolve) => (g.resolve = resolve)));
    });
    return Promise.all(waits).then(() => undefined);
  }

  /** The remote side refused or never answered: the relation ends with that reason. */
  private remoteRefused(p: ConsumerHost, t: Target, link: boolean, reason: Error): void {
    const targets = this.node.targets;
    const host = targets.keyedHost(t, false);
    if (host === undefined || !targets.has(link, p, host)) return;
    targets.remove(link, p, t, host);
    const c = p as ProcessImpl;
    // As when the target ends: a PID target is the sender (never the parent's untrappable exit).
    const from = t instanceof PID ? t : this.node.pid;
    if (link) c.notify(Q_URGENT, MailboxKind.Exit, from, exitMessage(t, reason));
    else c.notify(Q_SYSTEM, MailboxKind.Regular, from, downMessage(t, reason));
  }

  /**
   * Subscribes local `p` to an event of another node: recorded at once; resolves to the remote
   * buffer. A refusal drops the subscription and rejects, or with `notify` (a plain
   * `link(event)`) arrives as the exit/down reason instead.
   */
  subscribeRemote(p: ProcessImpl, t: Event, link: boolean, notify = false): Promise<MessageEvent[]> {
    const conn = this.router.connection(t.node);
    const targets = this.node.targets;
    targets.add(link, p, t, targets.keyedHost(t, true)!);
    const req = link ? conn.linkEvent(p.pid, t) : conn.monitorEvent(p.pid, t);
    if (notify) {
      const refusedOrAnswered = req.then(undefined, (e: unknown) => {
        this.remoteRefused(p, t, link, toError(e));
        return [];
      });
      this.awaitAnswer(p, refusedOrAnswered);
      return refusedOrAnswered;
    }
    // Until the node answers, the node going down only rejects the Promise (no exit/down too).
    const u: Unconfirmed = { p, t, link };
    let set = this.unconfirmed.get(t.node);
    if (set === undefined) this.unconfirmed.set(t.node, (set = new Set()));
    set.add(u);
    const done = (): void => {
      set.delete(u);
      if (set.size === 0 && this.unconfirmed.get(t.node) === set) this.unconfirmed.delete(t.node);
    };
    const answered = req.then(
      (buffer) => {
        done();
        return buffer;
      },
      (e: unknown) => {
        done();
        const h = targets.keyedHost(t, false);
        if (h !== undefined && targets.has(link, p, h)) targets.remove(link, p, t, h);
        throw toError(e);
      },
    );
    this.awaitAnswer(p, answered);
    return answered;
  }

  /**
   * `node` is down: drops the event subscriptions made there that it has not confirmed yet, so
   * their callers get only the rejection (ErrNoConnection), not an exit/down message as well.
   */
  dropUnconfirmed(node: Atom): void {
    const set = this.unconfirmed.get(node);
    if (set === undefined) return;
    this.unconfirmed.delete(node);
    const targets = this.node.targets;
    for (const { p, t, link } of set) {
      const h = targets.keyedHost(t, false);
      if (h !== undefined && targets.has(link, p, h)) targets.remove(link, p, t, h);
    }
  }

  /** Links (`link`) or monitors a node: fires MessageExitNode/MessageDownNode when it goes down. */
  watchNode(p: ProcessImpl, node: Atom, link: boolean): void {
    if (typeof node !== 'string' || node === '') throw ErrIncorrect.with('node name must be a non-empty string');
    if (this.router.isLocal(node)) throw ErrNotAllowed.with(`${link ? 'link' : 'monitor'} to its own node`);
    this.router.connection(node);
    const t = new NodeTarget(node);
    this.node.targets.add(link, p, t, this.node.targets.keyedHost(t, true)!);
  }

  /** Drops a relation of local `p` on a remote target and tells that node (when connected). */
  unwatchRemote(p: ConsumerHost, t: Target, link: boolean, host: TargetHost | undefined): void {
    this.node.targets.remove(link, p, t, host);
    this.forgetRemote(p.pid, t, link);
  }

  /** Tells the target's node that `pid` no longer watches `t` (no connection: nothing to tell). */
  forgetRemote(pid: PID, t: Target, link: boolean): void {
    if (t instanceof NodeTarget || !this.router.hasNetwork()) return;
    let conn: Connection;
    try {
      conn = this.router.connection(t.node);
    } catch {
      return;
    }
    try {
      if (t instanceof PID) link ? conn.unlinkPID(pid, t) : conn.demonitorPID(pid, t);
      else if (t instanceof ProcessID) link ? conn.unlinkProcessID(pid, t) : conn.demonitorProcessID(pid, t);
      else if (t instanceof Alias) link ? conn.unlinkAlias(pid, t) : conn.demonitorAlias(pid, t);
      else link ? conn.unlinkEvent(pid, t) : conn.demonitorEvent(pid, t);
    } catch (e) {
      this.node.log.warning(
        'un%s of %s by %s failed: %s',
        link ? 'link' : 'monitor',
        String(t),
        pid.toString(),
        toError(e).message,
      );
    }
  }

  /**
   * A local target ended and processes of `node` watch it: tell that node once (it notifies its
   * own watchers). Failures are logged: the peer's node-down handling covers a lost connection.
   */
  terminateRemote(node: Atom, target: Target, reason: Error): void {
    try {
      const conn = this.router.connection(node);
      if (target instanceof PID) conn.sendTerminatePID(target, reason);
      else if (target instanceof ProcessID) conn.sendTerminateProcessID(target, reason);
      else if (target instanceof Alias) conn.sendTerminateAlias(target, reason);
      else if (target instanceof Event) conn.sendTerminateEvent(target, reason);
    } catch (e) {
      this.node.log.warning('telling %s that %s ended failed: %s', node, String(target), toError(e).message);
    }
  }
}

/** Remote link/monitor/subscribe requests of one process made between two relationsConfirmed calls. */
class AnswerGen {
  /** Requests of this generation not answered yet. */
  count = 0;
  /** relationsConfirmed waits for it: later requests open a new generation. */
  sealed = false;
  done: Promise<void> | null = null;
  resolve: (() => void) | null = null;
  constructor(readonly answered: () => void) {}
}
