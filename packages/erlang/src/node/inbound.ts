// What arrives from the Erlang node (ERLANG.md §4): every control message on a connection turned
// into a Core call: messages and gen_server calls to local processes (and the replies to ours),
// links and unlinks, exit signals, monitors and their exits, with Erlang's rules (a `normal`
// exit, a missing target answered with noproc). connection.ts holds the relations it updates.

import {
  ErrProcessUnknown,
  PID,
  ProcessID,
  toError,
  type Alias,
  type Atom,
  type Core,
  type Log,
  type MessageOptions,
  type Ref,
} from 'ergo-ts';

import { ErlAtom, ErlRef, ErlTuple, atom, isAtom, termKey, tuple, type Term } from '../etf/terms.js';
import {
  CALL_TAGS,
  GEN_CALL,
  NORMAL_OPTIONS,
  OP,
  linkKey,
  refOfTag,
  type CallIn,
  type CallOut,
  type LinkRecord,
  type MonitorIn,
  type MonitorOut,
} from './control.js';
import { reasonFromTerm } from './reasons.js';

/** What the inbound side of an {@link ErlangConnection} works with: its relations and writers. */
export interface InboundContext {
  /** The Erlang node's name. */
  readonly peer: Atom;
  readonly core: Core;
  readonly log: Log;
  /** Links between local and Erlang processes, by {@link linkKey}. */
  readonly links: Map<string, LinkRecord>;
  /** Erlang processes monitoring local targets, by the monitor's ref. */
  readonly monitorsIn: Map<string, MonitorIn>;
  /** Local processes monitoring Erlang targets, by `watcher|target`. */
  readonly monitorsOut: Map<string, MonitorOut>;
  /** The same monitors, by their ref. */
  readonly monitorsOutByRef: Map<string, MonitorOut>;
  /** Calls to Erlang gen_servers waiting for their replies, by the monitor ref. */
  readonly callsOut: Map<string, CallOut>;
  /** Calls from Erlang waiting for a local reply, by the Ref handleCall receives. */
  readonly callsIn: Map<string, CallIn>;
  /** The key in {@link callsIn} of each call from Erlang, by the caller's monitor ref. */
  readonly callsInByMref: Map<string, string>;
  /** The ergo-ts Ref or Alias standing for an Erlang ref (remembered when it is not 3 words). */
  toRef(r: ErlRef, alias: boolean): Ref | Alias;
  /** Settles a call to Erlang with a reply (or a failure); false when no such call waits. */
  settleCall(key: string, from: PID, ok: boolean, value: unknown): boolean;
  /** The sender of a message without one: the peer's `<0.0.0>`. */
  anyPid(): PID;
  /** Runs a Core watcher update; false when the Core refused it (logged). */
  watchLocal(fn: () => void): boolean;
  /** Writes a control message, logging instead of throwing. */
  tell(control: Term, payload?: Term): void;
  /** Answers a call from Erlang with an error (the connection's own sendResponseError). */
  sendResponseError(from: PID, to: PID, options: MessageOptions, error: Error): void;
}

/** The inbound side of one {@link ErlangConnection}: handles each control message that arrives. */
export class ErlangInbound {
  readonly #c: InboundContext;

  constructor(context: InboundContext) {
    this.#c = context;
  }

  /** Handles one control message (and its payload) from the Erlang node; never throws. */
  dispatch(control: Term, payload: Term | undefined): void {
    const c = control instanceof ErlTuple ? control.elements : undefined;
    const op = c?.[0];
    if (c === undefined || typeof op !== 'number') {
      this.#c.log.warning('erlang: %s sent a control message that is not a tuple; ignored', this.#c.peer);
      return;
    }
    try {
      switch (op) {
        case OP.SEND:
        case OP.SEND_TT:
          return this.#deliver(undefined, c[2], payload);
        case OP.SEND_SENDER:
        case OP.SEND_SENDER_TT:
          return this.#deliver(c[1] as PID, c[2], payload);
        case OP.REG_SEND:
        case OP.REG_SEND_TT:
          return this.#deliver(c[1] as PID, c[3], payload);
        case OP.ALIAS_SEND:
        case OP.ALIAS_SEND_TT:
          return this.#deliver(c[1] as PID, c[2], payload);
        case OP.LINK:
          return this.#inLink(c[1] as PID, c[2] as PID);
        case OP.UNLINK:
          return this.#inUnlink(c[1] as PID, c[2] as PID, 0);
        case OP.UNLINK_ID:
          return this.#inUnlink(c[2] as PID, c[3] as PID, c[1] as number);
        case OP.UNLINK_ID_ACK: {
          const l = this.#c.links.get(linkKey(c[3] as PID, c[2] as PID));
          if (l !== undefined && l.unlinking === c[1]) this.#c.links.delete(linkKey(l.local, l.remote));
          return;
        }
        case OP.EXIT:
          return this.#inExit(c[1] as PID, c[2] as PID, c[3]!);
        case OP.EXIT_TT:
          return this.#inExit(c[1] as PID, c[2] as PID, c[4]!);
        case OP.PAYLOAD_EXIT:
        case OP.PAYLOAD_EXIT_TT:
          return this.#inExit(c[1] as PID, c[2] as PID, payload!);
        case OP.EXIT2:
          return this.#inExit2(c[1] as PID, c[2] as PID, c[3]!);
        case OP.EXIT2_TT:
          return this.#inExit2(c[1] as PID, c[2] as PID, c[4]!);
        case OP.PAYLOAD_EXIT2:
        case OP.PAYLOAD_EXIT2_TT:
          return this.#inExit2(c[1] as PID, c[2] as PID, payload!);
        case OP.MONITOR_P:
          return this.#inMonitor(c[1] as PID, c[2]!, c[3] as ErlRef);
        case OP.DEMONITOR_P:
          return this.#inDemonitor(c[3] as ErlRef);
        case OP.MONITOR_P_EXIT:
          return this.#inMonitorExit(c[1]!, c[3] as ErlRef, c[4]!);
        case OP.PAYLOAD_MONITOR_P_EXIT:
          return this.#inMonitorExit(c[1]!, c[3] as ErlRef, payload!);
        case OP.NODE_LINK:
        case OP.GROUP_LEADER:
          return;
        default:
          this.#c.log.debug('erlang: control message %d from %s ignored', op, this.#c.peer);
      }
    } catch (e) {
      this.#c.log.debug('erlang: control message %d from %s: %s', op, this.#c.peer, toError(e).message);
    }
  }

  /** SEND / REG_SEND / ALIAS_SEND to a local target: a call, a reply to our call, or a message. */
  #deliver(from: PID | undefined, to: Term | undefined, payload: Term | undefined): void {
    const core = this.#c.core;
    if (payload instanceof ErlTuple) {
      const p = payload.elements;
      if (
        p.length === 3 &&
        isAtom(p[0], GEN_CALL) &&
        p[1] instanceof ErlTuple &&
        p[1].elements.length === 2 &&
        p[1].elements[0] instanceof PID
      ) {
        return this.#inCall(p[1].elements[0], p[1].elements[1]!, to, p[2]!);
      }
      if (p.length === 2 && this.#c.callsOut.size > 0) {
        const r = refOfTag(p[0]!);
        if (r !== undefined && this.#c.settleCall(termKey(r), from ?? this.#c.anyPid(), true, p[1])) return;
      }
    }
    const sender = from ?? this.#c.anyPid();
    try {
      if (to instanceof PID) core.routeSendPID(sender, to, NORMAL_OPTIONS, payload);
      else if (to instanceof ErlAtom)
        core.routeSendProcessID(sender, new ProcessID(to.name as Atom, core.name()), NORMAL_OPTIONS, payload);
      else if (to instanceof ErlRef)
        core.routeSendAlias(sender, this.#c.toRef(to, true) as Alias, NORMAL_OPTIONS, payload);
    } catch (e) {
      // unknown names (rex, global_name_server...) are normal right after connecting
      this.#c.log.debug('erlang: message from %s to %s dropped: %s', this.#c.peer, String(to), toError(e).message);
    }
  }

  #inCall(caller: PID, tag: Term, to: Term | undefined, request: Term): void {
    const core = this.#c.core;
    const ref = core.makeRef();
    const mr = refOfTag(tag);
    const mref = mr === undefined ? '' : termKey(mr);
    this.#c.callsIn.set(ref.key, { caller, tag, mref });
    if (mref !== '') this.#c.callsInByMref.set(mref, ref.key);
    CALL_TAGS.set(ref, tag);
    const options = { ...NORMAL_OPTIONS, ref };
    try {
      if (to instanceof PID) core.routeCallPID(caller, to, options, request);
      else if (to instanceof ErlAtom)
        core.routeCallProcessID(caller, new ProcessID(to.name as Atom, core.name()), options, request);
      else if (to instanceof ErlRef) core.routeCallAlias(caller, this.#c.toRef(to, true) as Alias, options, request);
    } catch (e) {
      const err = toError(e);
      if (!ErrProcessUnknown.is(err)) {
        // refused by the target's protocol ({error, {protocol_violation, Why}}), or a request the
        // Core cannot pass on (a value a tab cannot carry): the caller gets {error, Reason} now
        this.#c.sendResponseError(to instanceof PID ? to : this.#c.anyPid(), caller, options, err);
        return;
      }
      // the caller's monitor has told it already (noproc), or its timeout will
      this.#c.callsIn.delete(ref.key);
      if (mref !== '') this.#c.callsInByMref.delete(mref);
      this.#c.log.debug('erlang: call from %s to %s dropped: %s', caller.toString(), String(to), err.message);
    }
  }

  #inLink(from: PID, to: PID): void {
    const k = linkKey(to, from);
    let l = this.#c.links.get(k);
    if (l === undefined) {
      if (!this.#c.watchLocal(() => this.#c.core.routeLinkPID(from, to))) {
        // linking a process that does not exist: the link breaks at once
        this.#c.tell(tuple(OP.EXIT, to, from, atom('noproc')));
        return;
      }
      l = { local: to, remote: from, engine: false, erlang: true, unlinking: 0 };
      this.#c.links.set(k, l);
      return;
    }
    l.erlang = true;
    l.unlinking = 0;
    this.#c.watchLocal(() => this.#c.core.routeLinkPID(from, to));
  }

  #inUnlink(from: PID, to: PID, id: number): void {
    const k = linkKey(to, from);
    const l = this.#c.links.get(k);
    if (l !== undefined && l.unlinking === 0) {
      this.#c.links.delete(k);
      // a one-way relation the local process made stays in the engine until it unlinks or the
      // node goes down (the Core has no way to drop another process's relation)
      this.#c.watchLocal(() => this.#c.core.routeUnlinkPID(from, to));
    }
    if (id !== 0) this.#c.tell(tuple(OP.UNLINK_ID_ACK, id, to, from));
  }

  #inExit(from: PID, to: PID, reason: Term): void {
    const k = linkKey(to, from);
    const l = this.#c.links.get(k);
    // no link (never made, or our UNLINK_ID is on its way): Erlang ignores such an exit
    if (l === undefined || l.unlinking !== 0) return;
    this.#c.links.delete(k);
    this.#c.watchLocal(() => this.#c.core.routeUnlinkPID(from, to));
    const r = reasonFromTerm(reason);
    // Erlang's rule, whoever linked: `normal` never ends a process that does not trap exits,
    // and reaches one that does as {'EXIT', From, normal} (a MessageExitPID)
    const normal = isAtom(reason, 'normal');
    if (l.engine) {
      this.#c.core.routeTerminatePID(from, r, normal);
      return;
    }
    this.#c.core.routeSendExit(from, to, r, normal);
  }

  #inExit2(from: PID, to: PID, reason: Term): void {
    // Erlang's rule: exit(Pid, normal) does not end a process that does not trap exits
    this.#c.core.routeSendExit(from, to, reasonFromTerm(reason), isAtom(reason, 'normal'));
  }

  #inMonitor(from: PID, target: Term, ref: ErlRef): void {
    const core = this.#c.core;
    let targetKey: string;
    let ok: boolean;
    if (target instanceof PID) {
      targetKey = target.key;
      ok = this.#monitorFirst(from, targetKey) ? this.#c.watchLocal(() => core.routeMonitorPID(from, target)) : true;
    } else if (target instanceof ErlAtom) {
      targetKey = `N${target.name}`;
      const pid = new ProcessID(target.name as Atom, core.name());
      ok = this.#monitorFirst(from, targetKey) ? this.#c.watchLocal(() => core.routeMonitorProcessID(from, pid)) : true;
    } else {
      this.#c.log.warning('erlang: MONITOR_P from %s with target %s ignored', this.#c.peer, String(target));
      return;
    }
    if (!ok) {
      // a missing pid or name: the monitor fires at once with noproc (not Ergo's 'DOWN')
      this.#c.tell(tuple(OP.MONITOR_P_EXIT, target as PID | ErlAtom, from, ref, atom('noproc')));
      return;
    }
    this.#c.monitorsIn.set(termKey(ref), { watcher: from, ref, target: target as PID | ErlAtom, targetKey });
  }

  /** True if `watcher` has no monitor on `targetKey` yet (the Core keeps one relation per pair). */
  #monitorFirst(watcher: PID, targetKey: string): boolean {
    for (const m of this.#c.monitorsIn.values())
      if (m.targetKey === targetKey && m.watcher.equals(watcher)) return false;
    return true;
  }

  #inDemonitor(ref: ErlRef): void {
    const k = termKey(ref);
    // a gen_server:call that gave up: a late reply must not reach the caller
    const call = this.#c.callsInByMref.get(k);
    if (call !== undefined) {
      this.#c.callsInByMref.delete(k);
      this.#c.callsIn.delete(call);
    }
    const m = this.#c.monitorsIn.get(k);
    if (m === undefined) return;
    this.#c.monitorsIn.delete(k);
    if (!this.#monitorFirst(m.watcher, m.targetKey)) return;
    const core = this.#c.core;
    const t = m.target;
    if (t instanceof PID) this.#c.watchLocal(() => core.routeDemonitorPID(m.watcher, t));
    else this.#c.watchLocal(() => core.routeDemonitorProcessID(m.watcher, new ProcessID(t.name as Atom, core.name())));
  }

  #inMonitorExit(from: Term, ref: ErlRef, reason: Term): void {
    const k = termKey(ref);
    const r = reasonFromTerm(reason);
    if (this.#c.callsOut.has(k)) {
      // the gen_server we called is gone (noproc) or crashed: the call fails with that reason
      this.#c.settleCall(k, from instanceof PID ? from : this.#c.anyPid(), false, r);
      return;
    }
    const m = this.#c.monitorsOutByRef.get(k);
    if (m === undefined) return;
    this.#c.monitorsOutByRef.delete(k);
    this.#c.monitorsOut.delete(`${m.watcher.key}|${m.target.key}`);
    // the target's local links may hear of its end here first: they keep Erlang's rule for normal
    if (m.target instanceof PID) this.#c.core.routeTerminatePID(m.target, r, isAtom(reason, 'normal'));
    else this.#c.core.routeTerminateProcessID(m.target, r);
  }
}
