// The gen `Connection` of an ergo-ts node to one Erlang node (ERLANG.md §4): it turns what the
// engine asks (send, call, link, monitor, exit, "a watched target ended") into control messages on
// a DistConnection, and every control message that arrives into a Core call.
//
// Identities: Erlang pids are ergo-ts PIDs (`id + serial * 2^32`, same node and creation, exact
// both ways); Erlang refs are ergo-ts Refs/Aliases when they have 3 words (OTP's), others are
// remembered per connection so they go back exactly.
//
// Links. Erlang links are one bidirectional relation; ergo-ts links are one-way. A link between a
// TS process T and an Erlang process E is kept here as one record and wired both ways:
// - E's side (T ends → E hears it): E is a remote watcher of T in the Core (routeLinkPID), so the
//   engine calls sendTerminatePID(T) and we send EXIT {3, T, E, Reason}.
// - T's side (E ends → T hears it): when T linked (linkPID), the engine holds the one-way relation
//   and an EXIT from E ends it through routeTerminatePID; when E linked (LINK from Erlang), an
//   EXIT is an exit signal to T (routeSendExit). Either way with Erlang's rule for `normal`: it
//   does not end T unless T traps exits, when it arrives as a MessageExitPID. Node down gives T
//   `noconnection` either way.
// Unlink uses UNLINK_ID (op 35, answered with 36); EXITs crossing our unlink are ignored.
//
// Calls. A `'$gen_call'` from Erlang becomes an ergo-ts request (any Actor's handleCall answers
// it); the reply goes back to the caller's alias (`[alias|Ref]` tag, ALIAS_SEND) or pid. A call
// from TS to an Erlang pid or name is a gen_server call: MONITOR_P first (a missing name fails at
// once with noproc, a crash with its reason), then `'$gen_call'`, DEMONITOR_P after the reply.

import {
  type Alias,
  ErrNoConnection,
  ErrProcessIncarnation,
  ErrUnsupported,
  PID,
  type ProcessID,
  type Ref,
  toError,
  type ApplicationInfo,
  type Atom,
  type Connection,
  type Core,
  type Event,
  type Log,
  type MessageEvent,
  type MessageOptions,
  type NetworkSocket,
  type RemoteApplicationStart,
  type RemoteNode,
  type RemoteNodeInfo,
  type RemoteSpawnRequest,
  type Version,
} from 'ergo-ts';
import type { DistConnection } from '../distribution/connection.js';
import { DistError } from '../errors.js';
import { DFLAG } from '../handshake/flags.js';
import { ErlAtom, ErlImproperList, type ErlRef, atom, refToErl, termKey, tuple, type Term } from '../etf/terms.js';
import {
  EMPTY,
  GEN_CALL,
  NORMAL_OPTIONS,
  OP,
  RefTable,
  aliasOfTag,
  linkKey,
  type CallIn,
  type CallOut,
  type LinkRecord,
  type MonitorIn,
  type MonitorOut,
} from './control.js';
import { ErlangInbound } from './inbound.js';
import { reasonToTerm } from './reasons.js';

/** Options of an {@link ErlangConnection}. */
export interface ErlangConnectionOptions {
  /**
   * Tag style of calls to Erlang gen_servers: `'alias'` sends `{Pid, [alias|Ref]}` (OTP 24+; the
   * reply comes as ALIAS_SEND), `'ref'` sends `{Pid, Ref}`. Default `'alias'` when the peer
   * supports aliases.
   */
  callTag?: 'alias' | 'ref';
}

/**
 * The Connection to one Erlang node. Created by the node's Erlang integration while dialling
 * (operations are queued) or from an accepted handshake; `attach` gives it the DistConnection.
 * Every method follows the gen `Connection` contract: ErrNoConnection once closed; sends to an
 * Erlang pid of an older incarnation of the peer fail with ErrProcessIncarnation.
 */
export class ErlangConnection implements Connection {
  readonly peer: Atom;
  #dist: DistConnection | null = null;
  #queue: (() => void)[] | null = [];
  #closed = false;
  #failure: Error | undefined;
  #peerCreation = 0;
  #flags = 0n;
  #connectedAt = 0;
  readonly #core: Core;
  readonly #log: Log;
  readonly #options: ErlangConnectionOptions;
  readonly #onClose: (c: ErlangConnection) => void;
  readonly #links = new Map<string, LinkRecord>();
  readonly #monitorsIn = new Map<string, MonitorIn>();
  readonly #monitorsOut = new Map<string, MonitorOut>();
  readonly #monitorsOutByRef = new Map<string, MonitorOut>();
  readonly #callsOut = new Map<string, CallOut>();
  readonly #callsIn = new Map<string, CallIn>();
  readonly #callsInByMref = new Map<string, string>();
  /** The Refs/Aliases standing for the peer's refs (control.ts). */
  readonly #refs = new RefTable();
  #pendingUnlinks: LinkRecord[] | null = null;
  #unlinkId = 0;
  #nobody: PID | null = null;
  #sweep: NodeJS.Timeout;
  readonly #remoteNode: ErlangRemoteNode;
  /** Handles the control messages that arrive (inbound.ts). */
  readonly #inbound: ErlangInbound;

  constructor(
    peer: Atom,
    core: Core,
    log: Log,
    options: ErlangConnectionOptions,
    onClose: (c: ErlangConnection) => void,
  ) {
    this.peer = peer;
    this.#core = core;
    this.#log = log;
    this.#options = options;
    this.#onClose = onClose;
    this.#remoteNode = new ErlangRemoteNode(this);
    this.#inbound = new ErlangInbound({
      peer,
      core,
      log,
      links: this.#links,
      monitorsIn: this.#monitorsIn,
      monitorsOut: this.#monitorsOut,
      monitorsOutByRef: this.#monitorsOutByRef,
      callsOut: this.#callsOut,
      callsIn: this.#callsIn,
      callsInByMref: this.#callsInByMref,
      toRef: (r, alias) => this.#refs.toRef(r, alias),
      settleCall: (key, from, ok, value) => this.#settleCall(key, from, ok, value),
      anyPid: () => this.#anyPid(),
      watchLocal: (fn) => this.#watchLocal(fn),
      tell: (control, payload) => this.#tell(control, payload),
      sendResponseError: (from, to, options, error) => this.sendResponseError(from, to, options, error),
    });
    this.#sweep = setInterval(() => this.#sweepCalls(), 5000);
    this.#sweep.unref();
  }

  /** True once the handshake completed and until the connection closes. */
  get connected(): boolean {
    return this.#dist !== null && !this.#closed;
  }
  /** False once closed. */
  get open(): boolean {
    return !this.#closed;
  }
  /** Why the connection closed (undefined while open). */
  get failure(): Error | undefined {
    return this.#failure;
  }
  /** The peer's creation (0 while dialling). */
  get peerCreation(): number {
    return this.#peerCreation;
  }
  /** The distribution connection (null while dialling). */
  get dist(): DistConnection | null {
    return this.#dist;
  }

  /** Gives the connection its DistConnection (after the handshake) and flushes queued operations. */
  attach(dist: DistConnection): void {
    if (this.#closed) {
      dist.close();
      return;
    }
    this.#dist = dist;
    this.#peerCreation = dist.peerCreation;
    this.#flags = dist.flags;
    this.#connectedAt = Date.now();
    dist.on('message', ({ control, payload }) => this.#inbound.dispatch(control, payload));
    // Processes that asked for node notices hear of it (MessageNodeUp).
    try {
      this.#core.routeNodeUp(this.peer);
    } catch (e) {
      this.#log.warning('erlang: node up of %s: %s', this.peer, toError(e).message);
    }
    dist.on('close', (reason) => {
      // a term over a codec limit (or otherwise undecodable): said once, with the peer and the
      // limit, since every link and monitor of the peer is about to fire noconnection
      if (reason instanceof DistError && reason.code === 'ERR_DIST_PROTOCOL')
        this.#log.warning('erlang: refused a message from %s, connection closed: %s', this.peer, reason.message);
      this.#down(reason ?? ErrNoConnection.with(`connection to ${this.peer} closed`));
    });
    const q = this.#queue!;
    this.#queue = null;
    for (const op of q) {
      try {
        op();
      } catch (e) {
        this.#log.warning('erlang: queued operation for %s dropped: %s', this.peer, toError(e).message);
      }
    }
  }

  /** The dial failed: everything queued is lost, watchers hear the node is down. */
  fail(reason: Error): void {
    this.#down(reason);
  }

  // --- writing ----------------------------------------------------------------------------------

  #write(control: Term, payload?: Term): void {
    if (this.#closed) throw ErrNoConnection.with(this.peer);
    const d = this.#dist;
    if (d === null) {
      this.#queue!.push(() => this.#write(control, payload));
      return;
    }
    d.send(control, payload);
  }

  /** Writes, logging instead of throwing (for notifications nobody waits for). */
  #tell(control: Term, payload?: Term): void {
    try {
      this.#write(control, payload);
    } catch (e) {
      this.#log.debug('erlang: to %s not sent: %s', this.peer, toError(e).message);
    }
  }

  #checkPid(to: PID): void {
    if (this.#closed) throw ErrNoConnection.with(this.peer);
    // a pid of an older incarnation of the peer is dead: OTP drops such messages, we refuse them
    if (this.#peerCreation !== 0 && to.creation !== this.#peerCreation) throw ErrProcessIncarnation.with(to.toString());
  }

  #hasFlag(f: bigint): boolean {
    return this.#dist === null || (this.#flags & f) !== 0n;
  }

  // --- Connection: messages ---------------------------------------------------------------------

  node(): RemoteNode {
    return this.#remoteNode;
  }

  /** While dialling, an operation on a pid waits for the peer's creation (queued whole). */
  #later(op: () => void): boolean {
    if (this.#dist !== null || this.#closed) return false;
    this.#queue!.push(op);
    return true;
  }

  sendPID(from: PID, to: PID, options: MessageOptions, message: unknown): void {
    if (this.#later(() => this.sendPID(from, to, options, message))) return;
    this.#checkPid(to);
    this.#write(tuple(OP.SEND, EMPTY, to), message as Term);
  }

  sendProcessID(from: PID, to: ProcessID, _options: MessageOptions, message: unknown): void {
    this.#write(tuple(OP.REG_SEND, from, EMPTY, atom(to.name)), message as Term);
  }

  sendAlias(from: PID, to: Alias, _options: MessageOptions, message: unknown): void {
    if (!this.#hasFlag(DFLAG.ALIAS)) throw ErrUnsupported.with(`${this.peer} does not support aliases`);
    this.#write(tuple(OP.ALIAS_SEND, from, this.#refs.erlRef(to)), message as Term);
  }

  sendEvent(_from: PID, _options: MessageOptions, _message: MessageEvent): void {
    throw ErrUnsupported.with(`events on Erlang node ${this.peer}`);
  }

  sendExit(from: PID, to: PID, reason: Error): void {
    if (this.#later(() => this.sendExit(from, to, reason))) return;
    this.#checkPid(to);
    this.#write(tuple(OP.EXIT2, from, to, reasonToTerm(reason, true)));
  }

  sendResponse(from: PID, _to: PID, options: MessageOptions, response: unknown): void {
    this.#reply(from, options.ref, response as Term);
  }

  sendResponseError(from: PID, _to: PID, options: MessageOptions, error: Error): void {
    // gen_server has no error channel: the caller gets {error, Reason}
    this.#reply(from, options.ref, tuple(atom('error'), reasonToTerm(error)));
  }

  #reply(from: PID, ref: Ref | undefined, value: Term): void {
    if (ref === undefined) return;
    const c = this.#callsIn.get(ref.key);
    // unknown: the caller gave up (DEMONITOR_P after its timeout) or the connection is new
    if (c === undefined) return;
    this.#callsIn.delete(ref.key);
    this.#callsInByMref.delete(c.mref);
    const tag = c.tag;
    const reply = tuple(tag, value);
    const alias = aliasOfTag(tag);
    if (alias !== undefined && this.#hasFlag(DFLAG.ALIAS)) this.#tell(tuple(OP.ALIAS_SEND, from, alias), reply);
    else this.#tell(tuple(OP.SEND, EMPTY, c.caller), reply);
  }

  // --- Connection: watched local targets ended ------------------------------------------------------

  sendTerminatePID(target: PID, reason: Error): void {
    const r = reasonToTerm(reason);
    for (const [k, l] of this.#links) {
      if (!l.local.equals(target)) continue;
      this.#links.delete(k);
      if (l.unlinking === 0) this.#tell(tuple(OP.EXIT, target, l.remote, r));
    }
    this.#monitorsEnded(target.key, r);
  }

  sendTerminateProcessID(target: ProcessID, reason: Error): void {
    this.#monitorsEnded(`N${target.name}`, reasonToTerm(reason));
  }

  sendTerminateAlias(_target: Alias, _reason: Error): void {
    // Erlang cannot watch an alias
  }

  sendTerminateEvent(_target: Event, _reason: Error): void {
    // Erlang cannot watch an event
  }

  #monitorsEnded(targetKey: string, reason: Term): void {
    for (const [k, m] of this.#monitorsIn) {
      if (m.targetKey !== targetKey) continue;
      this.#monitorsIn.delete(k);
      this.#tell(tuple(OP.MONITOR_P_EXIT, m.target, m.watcher, m.ref, reason));
    }
  }

  // --- Connection: calls ------------------------------------------------------------------------

  callPID(from: PID, to: PID, options: MessageOptions, request: unknown): void {
    // while dialling the call is known here already, so a failed dial can reject it with its cause
    const ref = options.ref;
    if (ref !== undefined && this.#dist === null && !this.#closed)
      this.#callsOut.set(termKey(refToErl(ref)), { caller: from, ref, target: to, deadline: ref.deadline() });
    if (this.#later(() => this.callPID(from, to, options, request))) return;
    this.#checkPid(to);
    this.#call(from, to, to, options, request as Term);
  }

  callProcessID(from: PID, to: ProcessID, options: MessageOptions, request: unknown): void {
    const name = atom(to.name);
    this.#call(from, name, name, options, request as Term);
  }

  callAlias(from: PID, to: Alias, options: MessageOptions, request: unknown): void {
    const ref = options.ref;
    if (ref === undefined) throw ErrUnsupported.with('call without a ref');
    if (!this.#hasFlag(DFLAG.ALIAS)) throw ErrUnsupported.with(`${this.peer} does not support aliases`);
    const mref = refToErl(ref);
    this.#callsOut.set(termKey(mref), { caller: from, ref, target: EMPTY, deadline: ref.deadline() });
    this.#write(
      tuple(OP.ALIAS_SEND, from, this.#refs.erlRef(to)),
      tuple(atom(GEN_CALL), tuple(from, this.#tag(mref)), request as Term),
    );
  }

  #tag(mref: ErlRef): Term {
    const style = this.#options.callTag ?? (this.#hasFlag(DFLAG.ALIAS) ? 'alias' : 'ref');
    return style === 'alias' ? new ErlImproperList([atom('alias')], mref) : mref;
  }

  #call(from: PID, to: PID | ErlAtom, dest: PID | ErlAtom, options: MessageOptions, request: Term): void {
    const ref = options.ref;
    if (ref === undefined) throw ErrUnsupported.with('call without a ref');
    const mref = refToErl(ref);
    const key = termKey(mref);
    this.#callsOut.set(key, { caller: from, ref, target: to, deadline: ref.deadline() });
    const msg = tuple(atom(GEN_CALL), tuple(from, this.#tag(mref)), request);
    try {
      // monitor first: a missing name answers noproc at once, a crash its reason
      this.#write(tuple(OP.MONITOR_P, from, to, mref));
      if (dest instanceof PID) this.#write(tuple(OP.SEND, EMPTY, dest), msg);
      else this.#write(tuple(OP.REG_SEND, from, EMPTY, dest), msg);
    } catch (e) {
      this.#callsOut.delete(key);
      throw e;
    }
  }

  /** A reply (or a monitor exit) for a call to Erlang: settles it and drops the monitor. */
  #settleCall(key: string, from: PID, ok: boolean, value: unknown): boolean {
    const c = this.#callsOut.get(key);
    if (c === undefined) return false;
    this.#callsOut.delete(key);
    if (ok && !(c.target instanceof ErlAtom && c.target.name === ''))
      this.#tell(tuple(OP.DEMONITOR_P, c.caller, c.target, refToErl(c.ref)));
    try {
      this.#core.routeSendResponse(from, c.caller, { ...NORMAL_OPTIONS, ref: c.ref }, value, ok);
    } catch (e) {
      this.#log.debug('erlang: reply from %s dropped: %s', this.peer, toError(e).message);
    }
    return true;
  }

  #sweepCalls(): void {
    const now = Math.floor(Date.now() / 1000);
    for (const [k, c] of this.#callsOut) {
      if (c.deadline !== 0 && c.deadline < now - 1) {
        this.#callsOut.delete(k);
        if (!(c.target instanceof ErlAtom && c.target.name === ''))
          this.#tell(tuple(OP.DEMONITOR_P, c.caller, c.target, refToErl(c.ref)));
      }
    }
  }

  // --- Connection: links and monitors -------------------------------------------------------------

  linkPID(pid: PID, target: PID): Promise<void> {
    if (this.#later(() => void this.linkPID(pid, target).catch((e: unknown) => this.#refused(pid, target, true, e))))
      return Promise.resolve();
    try {
      this.#checkPid(target);
      const k = linkKey(pid, target);
      let l = this.#links.get(k);
      if (l === undefined) {
        l = { local: pid, remote: target, engine: true, erlang: false, unlinking: 0 };
        this.#links.set(k, l);
      } else {
        l.engine = true;
        l.unlinking = 0;
      }
      // the Erlang side of the link: when `pid` ends, the engine tells us (sendTerminatePID)
      this.#watchLocal(() => this.#core.routeLinkPID(target, pid));
      this.#write(tuple(OP.LINK, pid, target));
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** A link/monitor queued while dialling was refused (stale pid): the relation ends with that reason. */
  #refused(pid: PID, target: PID, link: boolean, e: unknown): void {
    const reason = toError(e);
    this.#links.delete(linkKey(pid, target));
    this.#watchLocal(() => this.#core.routeTerminatePID(target, reason));
    void link;
  }

  unlinkPID(pid: PID, target: PID): void {
    const l = this.#links.get(linkKey(pid, target));
    if (l === undefined) return;
    // The engine calls this both for unlink() and when `pid` ends (before sendTerminatePID): wait
    // for the end of the current turn; a termination in between sends EXIT instead.
    if (this.#pendingUnlinks === null) {
      this.#pendingUnlinks = [];
      queueMicrotask(() => this.#flushUnlinks());
    }
    this.#pendingUnlinks.push(l);
  }

  #flushUnlinks(): void {
    const ls = this.#pendingUnlinks ?? [];
    this.#pendingUnlinks = null;
    for (const l of ls) {
      const k = linkKey(l.local, l.remote);
      if (this.#links.get(k) !== l || this.#closed) continue;
      const id = (this.#unlinkId = (this.#unlinkId % 0x7fffffff) + 1);
      l.unlinking = id;
      l.engine = false;
      l.erlang = false;
      this.#watchLocal(() => this.#core.routeUnlinkPID(l.remote, l.local));
      if (this.#hasFlag(DFLAG.UNLINK_ID)) this.#tell(tuple(OP.UNLINK_ID, id, l.local, l.remote));
      else {
        this.#links.delete(k);
        this.#tell(tuple(OP.UNLINK, l.local, l.remote));
      }
    }
  }

  linkProcessID(_pid: PID, target: ProcessID): Promise<void> {
    return Promise.reject(ErrUnsupported.with(`Erlang links to names (${target})`));
  }
  unlinkProcessID(_pid: PID, _target: ProcessID): void {}
  linkAlias(_pid: PID, target: Alias): Promise<void> {
    return Promise.reject(ErrUnsupported.with(`Erlang links to aliases (${target})`));
  }
  unlinkAlias(_pid: PID, _target: Alias): void {}
  linkEvent(_pid: PID, target: Event): Promise<MessageEvent[]> {
    return Promise.reject(ErrUnsupported.with(`events on Erlang node (${target})`));
  }
  unlinkEvent(_pid: PID, _target: Event): void {}

  monitorPID(pid: PID, target: PID): Promise<void> {
    if (
      this.#later(() => void this.monitorPID(pid, target).catch((e: unknown) => this.#refused(pid, target, false, e)))
    )
      return Promise.resolve();
    try {
      this.#checkPid(target);
      this.#monitor(pid, target, target);
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  demonitorPID(pid: PID, target: PID): void {
    this.#demonitor(pid, target, target);
  }

  monitorProcessID(pid: PID, target: ProcessID): Promise<void> {
    try {
      this.#monitor(pid, target, atom(target.name));
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  demonitorProcessID(pid: PID, target: ProcessID): void {
    this.#demonitor(pid, target, atom(target.name));
  }

  #monitor(pid: PID, target: PID | ProcessID, proc: PID | ErlAtom): void {
    const k = `${pid.key}|${target.key}`;
    if (this.#monitorsOut.has(k)) return;
    const ref = refToErl(this.#core.makeRef());
    const m: MonitorOut = { watcher: pid, target, ref };
    this.#monitorsOut.set(k, m);
    this.#monitorsOutByRef.set(termKey(ref), m);
    this.#write(tuple(OP.MONITOR_P, pid, proc, ref));
  }

  #demonitor(pid: PID, target: PID | ProcessID, proc: PID | ErlAtom): void {
    const k = `${pid.key}|${target.key}`;
    const m = this.#monitorsOut.get(k);
    if (m === undefined) return;
    this.#monitorsOut.delete(k);
    this.#monitorsOutByRef.delete(termKey(m.ref));
    this.#tell(tuple(OP.DEMONITOR_P, pid, proc, m.ref));
  }

  monitorAlias(_pid: PID, target: Alias): Promise<void> {
    return Promise.reject(ErrUnsupported.with(`monitors of Erlang aliases (${target})`));
  }
  demonitorAlias(_pid: PID, _target: Alias): void {}
  monitorEvent(_pid: PID, target: Event): Promise<MessageEvent[]> {
    return Promise.reject(ErrUnsupported.with(`events on Erlang node (${target})`));
  }
  demonitorEvent(_pid: PID, _target: Event): void {}

  remoteSpawn(_name: Atom, _request: RemoteSpawnRequest): Promise<PID> {
    return Promise.reject(ErrUnsupported.with(`remote spawn on Erlang node ${this.peer}`));
  }
  remoteApplicationStart(_name: Atom, _request: RemoteApplicationStart): Promise<void> {
    return Promise.reject(ErrUnsupported.with(`application start on Erlang node ${this.peer}`));
  }
  join(_socket: NetworkSocket, _connectionID: string): void {
    throw ErrUnsupported.with('connection pools on Erlang distribution');
  }

  terminate(reason: Error): void {
    if (this.#dist !== null) this.#dist.close();
    this.#down(reason);
  }

  /** Runs a Core watcher update, logging a refusal (the relation is then simply absent). */
  #watchLocal(fn: () => void): boolean {
    try {
      fn();
      return true;
    } catch (e) {
      this.#log.debug('erlang: %s', toError(e).message);
      return false;
    }
  }

  /** The sender of a SEND without one: the peer's `<0.0.0>` (made once per connection). */
  #anyPid(): PID {
    const p = this.#nobody;
    if (p !== null && p.creation === this.#peerCreation) return p;
    return (this.#nobody = new PID(this.peer, 0, this.#peerCreation));
  }

  // --- down -------------------------------------------------------------------------------------

  #down(reason: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#failure = reason;
    clearInterval(this.#sweep);
    this.#queue = null;
    const core = this.#core;
    if (this.#dist === null) {
      // the dial failed: calls made meanwhile fail with why (wrong cookie, not in EPMD...)
      const err = ErrNoConnection.with(`cannot connect to ${this.peer}: ${reason.message}`, reason);
      for (const c of this.#callsOut.values()) {
        try {
          core.routeSendResponse(this.#anyPid(), c.caller, { ...NORMAL_OPTIONS, ref: c.ref }, err, false);
        } catch {
          // the caller gave up already
        }
      }
    }
    const lost = ErrNoConnection.with(`node ${this.peer} is down`);
    // links the Erlang side made: the local process hears noconnection (the Core knows only
    // the relations local processes made)
    for (const l of this.#links.values()) {
      if (!l.engine && l.unlinking === 0) {
        try {
          core.routeSendExit(l.remote, l.local, lost);
        } catch {
          // the local process is gone already
        }
      }
    }
    this.#links.clear();
    this.#monitorsIn.clear();
    this.#monitorsOut.clear();
    this.#monitorsOutByRef.clear();
    this.#callsOut.clear();
    this.#callsIn.clear();
    this.#callsInByMref.clear();
    this.#onClose(this);
    try {
      core.routeNodeDown(this.peer, reason);
    } catch (e) {
      this.#log.warning('erlang: node down of %s: %s', this.peer, toError(e).message);
    }
  }

  /** Facts for RemoteNode.info(). */
  infoOf(): RemoteNodeInfo {
    const d = this.#dist;
    const now = Date.now();
    return {
      node: this.peer,
      uptime: 0,
      connectionUptime: d === null ? 0 : Math.floor((now - this.#connectedAt) / 1000),
      version: ERLANG_VERSION,
      handshakeVersion: { name: 'Erlang distribution handshake', release: '6', license: '' },
      protoVersion: { name: 'Erlang distribution protocol', release: '6', license: '' },
      networkFlags: {
        enable: true,
        enableRemoteSpawn: false,
        enableRemoteApplicationStart: false,
        enableFragmentation: (this.#flags & DFLAG.FRAGMENTS) !== 0n,
        enableProxyTransit: false,
        enableProxyAccept: false,
        enableImportantDelivery: false,
      },
      poolSize: 1,
      poolDSN: [],
      maxMessageSize: 0,
      messagesIn: d?.messagesIn ?? 0,
      messagesOut: d?.messagesOut ?? 0,
      bytesIn: 0,
      bytesOut: 0,
      transitBytesIn: 0,
      transitBytesOut: 0,
    };
  }

  get connectedAt(): number {
    return this.#connectedAt;
  }
}

const ERLANG_VERSION: Version = { name: 'Erlang/OTP', release: '', license: '' };

/** The Erlang node as users see it through `RemoteNode`. */
class ErlangRemoteNode implements RemoteNode {
  constructor(readonly conn: ErlangConnection) {}
  name(): Atom {
    return this.conn.peer;
  }
  uptime(): number {
    return 0;
  }
  connectionUptime(): number {
    return this.conn.connectedAt === 0 ? 0 : Math.floor((Date.now() - this.conn.connectedAt) / 1000);
  }
  version(): Version {
    return ERLANG_VERSION;
  }
  info(): RemoteNodeInfo {
    return this.conn.infoOf();
  }
  creation(): number {
    return this.conn.peerCreation;
  }
  spawn(): Promise<PID> {
    return Promise.reject(ErrUnsupported.with('remote spawn on an Erlang node'));
  }
  spawnRegister(): Promise<PID> {
    return Promise.reject(ErrUnsupported.with('remote spawn on an Erlang node'));
  }
  applicationStart(): Promise<void> {
    return Promise.reject(ErrUnsupported.with('application start on an Erlang node'));
  }
  applicationStartTemporary(): Promise<void> {
    return this.applicationStart();
  }
  applicationStartTransient(): Promise<void> {
    return this.applicationStart();
  }
  applicationStartPermanent(): Promise<void> {
    return this.applicationStart();
  }
  applicationInfo(): Promise<ApplicationInfo> {
    return Promise.reject(ErrUnsupported.with('application info of an Erlang node'));
  }
  disconnect(): void {
    this.conn.terminate(ErrNoConnection.with(`disconnected from ${this.conn.peer}`));
  }
}
