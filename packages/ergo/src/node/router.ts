// The router: the one place that decides whether a target is local or remote. Every outbound
// operation of a process or of the node (send, call, response, exit, link, monitor, event
// subscription and fan-out, "a watched target ended") goes through it. The decision is one
// string compare (`isLocal`); the remote branch asks `connection(node)` for the Connection to
// that node, which fails with ErrNetworkStopped until a network installs a connector. The
// "simulate remote" round trip is applied here, to local deliveries only.

import { validatePriority, validateTimeoutMs } from '../gen/validate.js';
import type { Atom } from '../gen/atom.js';
import type { Event } from '../gen/event.js';
import {
  ErrIncorrect,
  ErrNetworkStopped,
  ErrNodeTerminated,
  ErrNotAllowed,
  ErrProcessMailboxFull,
  ErrProcessUnknown,
  ErrUnsupported,
  ErrAborted,
  ErrResponseIgnored,
  toError,
} from '../gen/errors.js';
import { MessageExitPID, MessageFallback, type MessageEvent } from '../gen/messages.js';
import { eventStamps, nowMicros, stampHi, stampLo } from '../gen/event_stamps.js';
import type { Connection, ProtocolAttachment } from '../gen/network.js';
import { DEFAULT_REQUEST_TIMEOUT, type CallOptions, type MessageOptions } from '../gen/options.js';
import { PID } from '../gen/pid.js';
import { MessagePriority } from '../gen/priority.js';
import { ProcessID } from '../gen/processid.js';
import { isImportantRequest, MailboxKind, type SendTarget } from '../gen/process.js';
import { Alias, type Ref } from '../gen/ref.js';
import type { PendingCall } from './calls.js';
import { LOCAL_WATCH } from './call_monitor.js';
import { CoreImpl } from './core.js';
import { sendEventToNodes, type EventEntry } from './events.js';
import { rejected, watchDelivery } from '../gen/ignorable.js';
import { Q_URGENT, refOfExtra } from './mailbox.js';
import type { MetaImpl } from './meta.js';
import type { NodeImpl } from './node.js';
import type { ProcessImpl } from './process.js';
import { S_DETACHED, S_GONE, S_INIT, S_TERMINATED, S_ZOMBEE } from './process_state.js';
import { isThenable } from '../lib/thenable.js';
import { RemoteRelations } from './remote_relations.js';
import { KeyedHost, RemoteConsumer, type EventFanPlan, type TargetHost } from './targets.js';

/** Finds the Connection to a remote node (installed by the network stack). */
export type Connector = (node: Atom) => Connection;

/**
 * States of a process that is not in the process table: still in init, or ended (terminated or
 * detached). Any other state means the table maps its PID to it (spawn adds it as it leaves init,
 * termination removes it as it sets S_TERMINATED).
 */
const S_OUT_OF_TABLE = S_INIT | S_TERMINATED | S_DETACHED;

/** Routes messages, calls, responses, exits, relations and events of one node. */
export class Router {
  private connector: Connector | null = null;
  private coreImpl: CoreImpl | null = null;
  /** Protocols attached with attachProtocol, asked before the connector (attach order). */
  private protocols: ProtocolAttachment[] = [];
  /**
   * The PID a message was last routed to and its process: a sender usually sends many messages
   * to one target in a row, and this skips the process-table lookup for them. Valid while the
   * process is in the table (its state is outside S_OUT_OF_TABLE).
   */
  private lastTo: PID | null = null;
  private lastP: ProcessImpl | null = null;
  /** The same for calls (a caller usually calls one target many times in a row). */
  private callTo: PID | null = null;
  private callP: ProcessImpl | null = null;
  /** Links, monitors and event subscriptions of local processes on remote targets. */
  readonly remote: RemoteRelations;

  constructor(private readonly node: NodeImpl) {
    this.remote = new RemoteRelations(node, this);
  }

  // --- the decision -----------------------------------------------------------------------------

  /** True when `node` is this node (an empty node name means local too). */
  isLocal(node: Atom | string): boolean {
    return node === this.node.name || node === '';
  }

  /**
   * The connection to a remote node. Throws ErrNetworkStopped while no network is installed,
   * and whatever the connector throws (ErrNoConnection, ErrNoRoute) otherwise.
   */
  connection(node: Atom): Connection {
    const ps = this.protocols;
    for (let i = 0; i < ps.length; i++) {
      const c = ps[i]!.connection(node);
      if (c !== undefined) return c;
    }
    if (this.connector === null) throw ErrNetworkStopped.with(`no network to reach ${node}`);
    return this.connector(node);
  }

  /** Adds a protocol asked before the connector; returns the function that removes it. */
  addProtocol(p: ProtocolAttachment): () => void {
    this.protocols = [...this.protocols, p];
    return () => {
      this.protocols = this.protocols.filter((x) => x !== p);
    };
  }

  /** True when a network or an attached protocol can reach other nodes. */
  hasNetwork(): boolean {
    return this.connector !== null || this.protocols.length > 0;
  }

  /** Installs (or with null removes) the network's connector. */
  setConnector(connector: Connector | null): void {
    this.connector = connector;
  }

  /** The node as its connections see it (created on first use). */
  get core(): CoreImpl {
    return (this.coreImpl ??= new CoreImpl(this.node));
  }

  /** The "simulate remote" round trip of a local delivery (identity when off). */
  private copy(value: unknown): unknown {
    const sim = this.node.simulate;
    return sim === null ? value : sim(value);
  }

  private messageOptions(
    owner: ProcessImpl | null,
    priority: MessagePriority,
    important: boolean,
    ref: Ref | undefined,
  ): MessageOptions {
    return {
      ref,
      priority,
      important,
      compression: owner === null ? null : owner.compressionCfg,
      keepNetworkOrder: owner === null ? true : owner.keepOrder,
    };
  }

  // --- messages ---------------------------------------------------------------------------------

  /**
   * Sends `message` from `from` (process `owner`, null for the node) to `to`. Throws
   * ErrProcessUnknown, ErrProcessTerminated, ErrProcessMailboxFull, ErrUnsupported (bad target),
   * ErrNetworkStopped (remote, no network). Returns the remote delivery ack of an important send
   * to another node (a Promise), undefined otherwise.
   */
  routeSend(
    from: PID,
    to: SendTarget,
    message: unknown,
    priority: MessagePriority,
    important: boolean,
    owner: ProcessImpl | null = null,
  ): Promise<void> | void {
    // Kept small so the JIT inlines it into the sender's loop: the repeated target, in the table,
    // with no "simulate remote" copy, goes straight to its mailbox; everything else is routeLookup.
    if (to === this.lastTo) {
      const c = this.lastP!;
      const n = this.node;
      if ((c.st & S_OUT_OF_TABLE) === 0 && n.simulate === null && n.isAlive()) {
        c.deliverPlain(2 - priority, from, message);
        return;
      }
    }
    return this.routeLookup(from, to, message, priority, important, owner);
  }

  /** routeSend for a target other than the last one (or with a copy to make): the full lookup. */
  private routeLookup(
    from: PID,
    to: SendTarget,
    message: unknown,
    priority: MessagePriority,
    important: boolean,
    owner: ProcessImpl | null,
  ): Promise<void> | void {
    const n = this.node;
    if (!n.isAlive()) throw ErrNodeTerminated.with(n.name);
    if (to === this.lastTo) {
      const c = this.lastP!;
      if ((c.st & S_OUT_OF_TABLE) === 0) {
        // Copied as the wire would, then checked: the schemas see what another node would send.
        if (n.simulate !== null) message = this.copy(message);
        if (n.checkLocal) message = n.guard.check(c, message, false, n.name);
        c.deliverPlain(2 - priority, from, message);
        return;
      }
    }
    let p: ProcessImpl | MetaImpl | undefined;
    // How the sender addressed the target (the mailbox record's `extra`).
    let via: Atom | Alias | undefined;
    if (to instanceof PID) {
      if (to.node !== n.name) return this.sendRemote(owner, from, to, message, priority, important);
      const pp = to.creation === n.creation ? n.processes.get(to.id) : undefined;
      if (pp !== undefined) {
        this.lastTo = to;
        this.lastP = pp;
      }
      p = pp;
    } else if (typeof to === 'string') {
      p = n.names.get(to as Atom);
      via = to as Atom;
    } else if (to instanceof ProcessID) {
      if (to.node !== '' && to.node !== n.name) return this.sendRemote(owner, from, to, message, priority, important);
      p = n.names.get(to.name);
      via = to.name;
    } else if (to instanceof Alias) {
      if (to.node !== n.name) return this.sendRemote(owner, from, to, message, priority, important);
      // A process alias, else a meta process (meta_table.ts): priority does not apply to metas.
      p = n.aliasTable.get(to.key) ?? n.metas.get(to);
      via = to;
    } else {
      throw ErrUnsupported.with(`send target ${String(to)}`);
    }
    if (p === undefined) throw ErrProcessUnknown.with(typeof to === 'string' ? `'${to}'` : to.toString());
    if (n.simulate !== null) message = this.copy(message);
    if (n.checkLocal) message = n.guard.check(p, message, false, n.name);
    p.deliver(2 - priority, MailboxKind.Regular, from, message, via);
  }

  /** A send to itself from a process still in init (not in the table yet). */
  routeSelf(p: ProcessImpl, q: number, message: unknown): void {
    p.deliver(q, MailboxKind.Regular, p.pid, this.copy(message), undefined);
  }

  private sendRemote(
    owner: ProcessImpl | null,
    from: PID,
    to: PID | ProcessID | Alias,
    message: unknown,
    priority: MessagePriority,
    important: boolean,
  ): Promise<void> | void {
    const conn = this.connection(to.node);
    const options = this.messageOptions(owner, priority, important, undefined);
    if (to instanceof PID) return conn.sendPID(from, to, options, message);
    if (to instanceof ProcessID) return conn.sendProcessID(from, to, options, message);
    return conn.sendAlias(from, to, options, message);
  }

  /**
   * Forwards a message or a request to a process of another node with its original sender (and,
   * for a request, the caller's ref): the target answers the caller directly, as a local forward
   * does (a pool whose workers live on other nodes). The sender must be of this node (ENP carries
   * a sender's id only, its node is the connection's peer); other senders and other kinds of mail:
   * ErrUnsupported.
   */
  forwardRemote(
    owner: ProcessImpl,
    to: PID,
    kind: MailboxKind,
    from: PID,
    message: unknown,
    extra: unknown,
    priority: MessagePriority,
  ): void {
    // ENP names a sender by its id on the sending node: only a sender of this node can be kept.
    if (from.node !== this.node.name)
      throw ErrUnsupported.with(`forwarding mail from ${from.toString()} (another node) to another node`);
    const conn = this.connection(to.node);
    // A message goes without the important flag (its delivery was acked where it arrived); a
    // call keeps its caller's: that node then answers a failed delivery instead of dropping it.
    // Neither returns a Promise (a call's failure comes back as its response).
    if (kind === MailboxKind.Regular)
      void conn.sendPID(from, to, this.messageOptions(owner, priority, false, undefined), message);
    else if (kind === MailboxKind.Request)
      void conn.callPID(
        from,
        to,
        this.messageOptions(owner, priority, isImportantRequest(extra), refOfExtra(extra)),
        message,
      );
    else throw ErrUnsupported.with('forwarding this kind of mail to another node');
  }

  /** Sends an exit signal (urgent queue) from `from` to a process. */
  routeExit(from: PID, to: PID, reason: Error): void {
    const n = this.node;
    n.checkAlive();
    if (to.node !== n.name) {
      this.connection(to.node).sendExit(from, to, reason);
      return;
    }
    const p = n.localProcess(to);
    // A zombee ends as killed whatever arrives: an exit to it changes nothing (as before it was
    // refused mail), and its supervisor or pool must not see a failure for stopping it.
    if (p.st === S_ZOMBEE) return;
    p.deliver(Q_URGENT, MailboxKind.Exit, from, new MessageExitPID(from, this.copy(reason) as Error), undefined);
  }

  /**
   * Delivers a reply from `from` to the pending call `ref` of `to`; unknown or late local replies
   * are dropped. A remote caller gets it through its node's connection.
   */
  routeResponse(from: PID, to: PID, ref: Ref, ok: boolean, value: unknown, owner: ProcessImpl | null = null): void {
    const n = this.node;
    if (to.node !== n.name) {
      n.remoteRequests.answered(ref);
      // Like a local reply to a caller that is gone, a reply that cannot cross is dropped (and
      // logged): the caller's node fails the call itself when the connection is lost.
      try {
        const conn = this.connection(to.node);
        const options = this.messageOptions(
          owner,
          owner === null ? MessagePriority.Normal : owner.priority,
          owner !== null && owner.important,
          ref,
        );
        // A reply has no Promise anyone could await: an important one that is not acked
        // (caller gone, peer reset, no ack in time) is logged on the replier's logger.
        const ack = ok
          ? conn.sendResponse(from, to, options, value)
          : conn.sendResponseError(from, to, options, toError(value));
        if (ack !== undefined) watchDelivery(ack, owner === null ? n.log : owner.log, 'response', to);
      } catch (e) {
        n.log.warning('response from %s to %s dropped: %s', from.toString(), to.toString(), toError(e).message);
      }
      return;
    }
    this.settleLocal(to, ref, ok, n.simulate === null ? value : this.copy(value));
  }

  /**
   * Settles the local pending call `ref` of `to` (a reply from here or from a connection). False
   * when nobody waits for it (timed out, caller gone, unknown ref): the reply is dropped.
   */
  settleLocal(to: PID, ref: Ref, ok: boolean, value: unknown): boolean {
    const n = this.node;
    const c = n.calls.get(ref);
    if (c === undefined || c.caller.id !== to.id || c.caller.creation !== to.creation) return false;
    return n.calls.settle(c, ok, value);
  }

  /**
   * An important reply (Ergo 3.2's SendResponseImportant): locally it settles the call now and
   * resolves, or throws ErrResponseIgnored when the caller no longer waits (ErrProcessUnknown
   * when the caller does not exist at all). Remotely it goes with the important flag and the
   * promise is the connection's delivery ack (resolved at once by a connection without one).
   * Throws ErrNodeTerminated, ErrNetworkStopped / the connector's errors.
   */
  routeResponseImportant(
    from: PID,
    to: PID,
    ref: Ref,
    ok: boolean,
    value: unknown,
    owner: ProcessImpl | null,
  ): Promise<void> {
    const n = this.node;
    n.checkAlive();
    if (to.node !== n.name) {
      n.remoteRequests.answered(ref);
      const conn = this.connection(to.node);
      const options = this.messageOptions(owner, owner === null ? MessagePriority.Normal : owner.priority, true, ref);
      const ack: unknown = ok
        ? conn.sendResponse(from, to, options, value)
        : conn.sendResponseError(from, to, options, toError(value));
      return isThenable(ack) ? Promise.resolve(ack).then(() => undefined) : Promise.resolve();
    }
    if (this.settleLocal(to, ref, ok, n.simulate === null ? value : this.copy(value))) return Promise.resolve();
    if (!to.equals(n.pid) && n.processOrInit(to) === undefined) throw ErrProcessUnknown.with(to.toString());
    throw ErrResponseIgnored.with(`${to} no longer waits for ${ref}`);
  }

  // --- calls ------------------------------------------------------------------------------------

  /**
   * Issues a call (or an inspect) from `from` (process `owner`, or null for the node) to `to`.
   * Never throws: every failure rejects the returned promise, and a bad option sends nothing.
   */
  makeCall(
    owner: ProcessImpl | null,
    from: PID,
    to: SendTarget,
    request: unknown,
    options: CallOptions | undefined,
    kind: MailboxKind,
  ): Promise<unknown> {
    const n = this.node;
    let p: ProcessImpl | MetaImpl | undefined;
    let via: Atom | Alias | undefined;
    let remote: PID | ProcessID | Alias | undefined;
    let timeout = DEFAULT_REQUEST_TIMEOUT;
    const signal = options?.signal;
    try {
      if (!n.isAlive()) throw ErrNodeTerminated.with(n.name);
      if (options?.timeout !== undefined) {
        timeout = options.timeout;
        validateTimeoutMs(timeout, 'call timeout', false);
      }
      if (options?.priority !== undefined) validatePriority(options.priority);
      if (options?.monitor !== undefined && typeof options.monitor !== 'boolean')
        throw ErrIncorrect.with('call monitor must be a boolean');
      // Checked before anything is delivered: a bad signal must not leave a request behind.
      if (signal !== undefined && !(signal instanceof AbortSignal))
        throw ErrIncorrect.with('call signal must be an AbortSignal');
      if (to === this.callTo && (this.callP!.st & S_OUT_OF_TABLE) === 0) {
        p = this.callP!;
      } else if (to instanceof PID) {
        if (to.node !== n.name) remote = to;
        else {
          const pp = to.creation === n.creation ? n.processes.get(to.id) : undefined;
          if (pp !== undefined) {
            this.callTo = to;
            this.callP = pp;
          }
          p = pp;
        }
      } else if (typeof to === 'string') {
        p = n.names.get(to as Atom);
        via = to as Atom;
      } else if (to instanceof ProcessID) {
        if (to.node !== '' && to.node !== n.name) remote = to;
        else p = n.names.get(to.name);
        via = to.name;
      } else if (to instanceof Alias) {
        if (to.node !== n.name) remote = to;
        else p = n.aliasTable.get(to.key) ?? n.metas.get(to);
        via = to;
      } else {
        throw ErrUnsupported.with(`call target ${String(to)}`);
      }
      if (remote !== undefined) {
        if (kind === MailboxKind.Inspect) throw ErrNotAllowed.with('inspect of a remote process');
        return this.callRemote(owner, from, remote, request, options, timeout, signal);
      }
      if (p === undefined) throw ErrProcessUnknown.with(String(to));
      // A killed process (zombee) takes no new requests: the call fails at once.
      // (Metas leave the table as they end: their states never match.)
      if ((p.st & S_GONE) !== 0) throw n.errTerminated(p as ProcessImpl);
      if (n.simulate !== null && kind !== MailboxKind.Inspect) request = this.copy(request);
      if (n.checkLocal && kind === MailboxKind.Request) request = n.guard.check(p, request, true, n.name);
    } catch (e) {
      return rejected(e, owner === null ? n.log : owner.log, 'call');
    }
    if (signal?.aborted)
      return rejected(signal.reason ?? ErrAborted.with('call'), owner === null ? n.log : owner.log, 'call');
    const ref = n.callRef(n.calls.wallClock(), timeout);
    const c = n.calls.create(ref, from, owner, p, timeout, to, null);
    if (kind === MailboxKind.Request && (options?.monitor ?? n.monitorCalls) === true) c.watch = LOCAL_WATCH;
    if (owner !== null) owner.beginWait();
    const priority = options?.priority ?? (owner !== null ? owner.priority : MessagePriority.Normal);
    // Kept in the record: a pool forwarding the call to another node passes it on.
    const important = kind === MailboxKind.Request && (options?.important ?? (owner !== null && owner.important));
    try {
      p.deliver(
        kind === MailboxKind.Inspect ? Q_URGENT : 2 - priority,
        kind,
        from,
        request,
        important ? [ref, via, true] : via === undefined ? ref : [ref, via],
      );
    } catch (e) {
      n.calls.settle(c, false, e);
      return c.promise;
    }
    if (signal !== undefined) this.watchSignal(c, signal);
    return c.promise;
  }

  private callRemote(
    owner: ProcessImpl | null,
    from: PID,
    to: PID | ProcessID | Alias,
    request: unknown,
    options: CallOptions | undefined,
    timeout: number,
    signal: AbortSignal | undefined,
  ): Promise<unknown> {
    const n = this.node;
    const conn = this.connection(to.node);
    if (signal?.aborted)
      return rejected(signal.reason ?? ErrAborted.with('call'), owner === null ? n.log : owner.log, 'call');
    const ref = n.callRef(n.calls.wallClock(), timeout);
    const c = n.calls.create(ref, from, owner, null, timeout, to, to.node);
    if (owner !== null) owner.beginWait();
    const priority = options?.priority ?? (owner !== null ? owner.priority : MessagePriority.Normal);
    const important = options?.important ?? (owner !== null && owner.important);
    const mo = this.messageOptions(owner, priority, important, ref);
    let ack: Promise<void> | void;
    try {
      // Erlang's way: the callee's end fails the call at once (a Go callee's node sends nothing).
      if ((options?.monitor ?? n.monitorCalls) === true) n.callMonitors.watch(c, to);
      if (to instanceof PID) ack = conn.callPID(from, to, mo, request);
      else if (to instanceof ProcessID) ack = conn.callProcessID(from, to, mo, request);
      else ack = conn.callAlias(from, to, mo, request);
    } catch (e) {
      n.calls.settle(c, false, e);
      return c.promise;
    }
    // Important delivery: the remote node reports a request it could not deliver.
    if (ack !== undefined) ack.then(undefined, (e: unknown) => n.calls.settle(c, false, toError(e)));
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
    const ref = refOfExtra(extra);
    const c = n.calls.get(ref);
    if (c !== undefined) n.calls.transfer(c, p);
    else if (n.remoteRequests.size > 0) n.remoteRequests.transfer(ref, p);
  }

  // --- events -----------------------------------------------------------------------------------

  /**
   * Publishes `message` on the local event `e`: buffers it, local subscribers get it in their
   * mailbox, each remote node with subscribers gets it once through its connection (and fans it
   * out there).
   */
  publishEvent(e: EventEntry, message: unknown, priority: MessagePriority): void {
    // Stamped in halves of Unix ns: no bigint per publish (the subscriber that reads it makes one).
    const us = nowMicros();
    const m = eventStamps.make(e.event, stampHi(us), stampLo(us), this.copy(message));
    e.remember(m);
    const host = this.node.targets.keyedHost(e.event, false);
    if (host !== undefined) this.fanOut(host, 2 - priority, e.producer, m, priority);
  }

  /**
   * Delivers `m` to every subscriber on `host`; `remote` false: local subscribers only. An
   * event's host keeps its plan (the nodes to send to, whether any subscriber is local) until
   * its relations change, so a publish with remote subscribers only walks nothing.
   */
  fanOut(host: TargetHost, q: number, from: PID, m: MessageEvent, priority: MessagePriority, remote = true): void {
    const plan = host instanceof KeyedHost ? (host.fan ?? (host.fan = planFanOut(host))) : null;
    if (plan === null || plan.local) {
      for (let r = host.tHead; r !== null; r = r.tNext) {
        const c = r.consumer;
        if (!(c instanceof RemoteConsumer)) this.deliverEvent(c as ProcessImpl, q, from, m);
      }
    }
    if (!remote) return;
    const nodes = plan === null ? remoteNodes(host) : plan.nodes;
    if (nodes.length > 0) sendEventToNodes(this, nodes, from, m, priority, this.eventWarn);
  }

  /**
   * fanOut (local subscribers only) of the `count` events of an inbound batch of `event`: each
   * stamped from `his[i]`/`los[i]` with `payloads[i]` (whose slot is cleared), in order.
   */
  fanOutBatch(
    host: TargetHost,
    q: number,
    from: PID,
    event: Event,
    count: number,
    his: readonly number[],
    los: readonly number[],
    payloads: unknown[],
  ): void {
    const stamps = eventStamps;
    const only = host.tHead !== null && host.tHead.tNext === null ? host.tHead.consumer : null;
    if (only !== null && !(only instanceof RemoteConsumer)) {
      // One local subscriber (one per node, the usual case): no walk per event.
      const p = only as ProcessImpl;
      for (let i = 0; i < count; i++) {
        const m = stamps.make(event, his[i]!, los[i]!, payloads[i]);
        payloads[i] = undefined;
        this.deliverEvent(p, q, from, m);
      }
      return;
    }
    for (let i = 0; i < count; i++) {
      const m = stamps.make(event, his[i]!, los[i]!, payloads[i]);
      payloads[i] = undefined;
      for (let r = host.tHead; r !== null; r = r.tNext) {
        const c = r.consumer;
        if (!(c instanceof RemoteConsumer)) this.deliverEvent(c as ProcessImpl, q, from, m);
      }
    }
  }

  private readonly eventWarn = (node: Atom, e: unknown): void =>
    this.node.log.warning('event delivery to %s failed: %s', node, toError(e).message);

  /** Delivers an event message to a local subscriber; overflow is logged, never silent. */
  deliverEvent(p: ProcessImpl, q: number, from: PID, m: unknown): void {
    const n = this.node;
    // A killed subscriber still in its handler takes no more events (it is about to leave).
    if ((p.st & S_GONE) !== 0) return;
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
    if (
      kind === MailboxKind.Regular &&
      fb !== null &&
      fb.enable &&
      fb.name !== p.name &&
      !(message instanceof MessageFallback)
    ) {
      const target = n.names.get(fb.name);
      if (target !== undefined && target !== p) {
        target.deliver(q, MailboxKind.Regular, p.pid, new MessageFallback(p.pid, fb.tag ?? '', message), undefined);
        return;
      }
    }
    throw ErrProcessMailboxFull.with(p.pid.toString());
  }
}

/**
 * Each node with a subscriber on `host` once, in the order of its first relation. A Set tells the
 * nodes met: a gateway's event has a subscriber node per browser tab, and an array's `includes`
 * made this quadratic (~0.5 s for 10,000 tab nodes, at the first publish after any subscribe).
 */
function remoteNodes(host: TargetHost): Atom[] {
  const nodes: Atom[] = [];
  const seen = new Set<Atom>();
  for (let r = host.tHead; r !== null; r = r.tNext) {
    const c = r.consumer;
    if (!(c instanceof RemoteConsumer) || seen.has(c.pid.node)) continue;
    seen.add(c.pid.node);
    nodes.push(c.pid.node);
  }
  return nodes;
}

/** The fan-out plan of an event's host (kept on it until its relations change). */
function planFanOut(host: KeyedHost): EventFanPlan {
  let local = false;
  for (let r = host.tHead; r !== null && !local; r = r.tNext) local = !(r.consumer instanceof RemoteConsumer);
  return { nodes: remoteNodes(host), local };
}
