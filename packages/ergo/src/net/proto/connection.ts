// The ENP:R1 connection to one remote node (WIRE.md §3): the gen `Connection` the engine's router
// talks to, over a pool of links joined into one connection. Outbound operations encode straight
// into the chosen link's buffer (pool key → link, order byte in the header) and are written once
// per event-loop turn; inbound packets are dispatched synchronously into the node's Core from the
// link's data handler. Requests that wait for the peer (important delivery acks, link/monitor,
// event subscription, spawn, application start) live in one table swept by one timer.

import type { ApplicationInfo } from '../../gen/application.js';
import type { Atom } from '../../gen/atom.js';
import type { Core, RemoteApplicationStart, RemoteSpawnRequest } from '../../gen/core.js';
import {
  ErgoError,
  ErrIncorrect,
  ErrNoConnection,
  ErrNotAllowed,
  ErrProcessIncarnation,
  ErrProcessMailboxFull,
  ErrProcessTerminated,
  ErrProcessUnknown,
  ErrTimeout,
  ErrUnsupported,
  toError,
} from '../../gen/errors.js';
import { Event } from '../../gen/event.js';
import { toLogLevel, type Log } from '../../gen/log.js';
import { MessageEvent } from '../../gen/messages.js';
import type { Connection, NetworkDial, NetworkSocket, RemoteNode } from '../../gen/network.js';
import { DEFAULT_REQUEST_TIMEOUT, type MessageOptions } from '../../gen/options.js';
import { PID } from '../../gen/pid.js';
import { ProcessID } from '../../gen/processid.js';
import { Alias, Ref } from '../../gen/ref.js';
import type { NetworkFlags } from '../edf/framework.js';
import {
  ApplicationOptionsExtra,
  FrameworkTypeName,
  ProcessOptionsExtra,
  WireApplicationInfo,
  WireApplicationOptions,
} from '../edf/framework.js';
import { defaultRegistry } from '../edf/default.js';
import type { EdfType } from '../edf/type.js';
import { Go, typed } from '../edf/wrappers.js';
import type { WireError } from '../error.js';
import type { HandshakeResult } from '../handshake/handshake.js';
import { type EnpMessageOptions } from './encoder.js';
import { EnpLink, type LinkOwner } from './link.js';
import {
  ControlMessage,
  MessageApplicationInfo,
  MessageApplicationStart,
  MessageDemonitorAlias,
  MessageDemonitorEvent,
  MessageDemonitorPID,
  MessageDemonitorProcessID,
  MessageLinkAlias,
  MessageLinkEvent,
  MessageLinkPID,
  MessageLinkProcessID,
  MessageMonitorAlias,
  MessageMonitorEvent,
  MessageMonitorPID,
  MessageMonitorProcessID,
  MessageResult,
  MessageSpawn,
  MessageUnlinkAlias,
  MessageUnlinkEvent,
  MessageUnlinkPID,
  MessageUnlinkProcessID,
  MessageUpdateCache,
} from './messages.js';
import { controlResultRouteOf, controlRouteOf, exitRouteOf, poolKeyOf, routeOf } from './order.js';
import { PacketType, ResponseCode, type EnpPacket, type WireID3 } from './packet.js';
import { fromWireProcessOptions, toWireProcessOptions } from './spawn_options.js';
import { fromWireApplicationInfo, toWireApplicationInfo } from './application_info.js';

/** How often the table of requests waiting for the peer is checked for deadlines. */
export const REQUEST_SWEEP_MS = 250;

/** Counters of a connection (RemoteNodeInfo). */
export interface ConnectionStats {
  messagesIn: number;
  messagesOut: number;
}

/** What the connection needs from its network besides the Core. */
export interface ConnectionHost {
  /**
   * The connection ended (the network forgets it; the node hears it via Core.routeNodeDown).
   * `lost`: its last link closed under it (the peer went away), not this side's decision.
   */
  connectionDown(conn: EnpConnection, reason: Error, lost: boolean): void;
  /** Builds the RemoteNode view of a connection. */
  remoteNode(conn: EnpConnection): RemoteNode;
  /** One link of a live connection closed (the dialling side re-dials it, WIRE §3.8). */
  linkLost(conn: EnpConnection): void;
}

/** This side's terms of a connection. */
export interface ConnectionTerms {
  /** Flags this node announced. */
  flags: NetworkFlags;
  /** This node's incoming limit (0 = none). */
  maxMessageSize: number;
  /** Stalled-peer detection in ms (NetworkOptions.peerStallTimeout; 0 = off; default 15000). */
  stallTimeout?: number;
}

interface Waiting {
  resolve(value: unknown): void;
  reject(err: Error): void;
  deadline: number;
  /** Counted by the stalled-peer watchdog (see wait). */
  owed: boolean;
  /** A control request's ref: its answer must carry this very ref (the key holds its sequence only). */
  ref?: Ref;
}

/** Default stalled-peer timeout when the terms give none (see ConnectionTerms.stallTimeout). */
const STALL_TIMEOUT_DEFAULT = 15_000;

function num(v: number | bigint): number {
  return typeof v === 'bigint' ? Number(v) : v;
}

/** A packet's 3-part id as numbers: its own array (the decoder makes one per packet) unless it holds a bigint. */
function numIds(id: WireID3): [number, number, number] {
  if (typeof id[0] === 'number' && typeof id[1] === 'number' && typeof id[2] === 'number')
    return id as unknown as [number, number, number];
  return [num(id[0]), num(id[1]), num(id[2])];
}

function ackKey(id: number | bigint): string {
  return `a${String(id)}`;
}

/**
 * Key of the answer to a control request: the sequence number of the request's ref, unique for
 * this node's incarnation (the whole ref is checked on arrival). A number, not `Ref.key` nor a
 * string made of it: building and hashing a string for every request and every decoded answer
 * was a tenth of a remote monitor's cost on the watcher's side. Other waits use string keys.
 */
function controlKey(ref: Ref): number {
  const k = ref.id[0];
  return typeof k === 'number' ? k : Number(k);
}

/** True when an answer's ref is the request's (same node, incarnation and ids). */
function sameRef(a: Ref, b: Ref): boolean {
  return (
    a.id[0] === b.id[0] && a.id[1] === b.id[1] && a.id[2] === b.id[2] && a.node === b.node && a.creation === b.creation
  );
}

/** Key of the ack of an important response (the caller's ref id). */
function responseAckKey(id: WireID3): string {
  return `r${String(id[0])}.${String(id[1])}.${String(id[2])}`;
}

/**
 * One connection. Lifecycle: created by the network after the first link's handshake; extra
 * links arrive through {@link EnpConnection.addLink}; it ends when its last link closes or on
 * {@link EnpConnection.terminate}. After the end every outbound method throws ErrNoConnection.
 */
export class EnpConnection implements Connection, LinkOwner {
  readonly peer: Atom;
  readonly peerCreation: number;
  readonly peerFlags: NetworkFlags;
  readonly peerVersion: HandshakeResult['peerVersion'];
  readonly peerMaxMessageSize: number;
  readonly connectionID: string;
  readonly startedAt = Date.now();
  readonly links: EnpLink[] = [];
  readonly poolSize: number;
  readonly poolDSN: string[];
  messagesIn = 0;
  messagesOut = 0;
  /** Bytes of links that already closed. */
  private closedBytesIn = 0;
  private closedBytesOut = 0;
  private rr = 0;
  private alive = true;
  private readonly waiting = new Map<string | number, Waiting>();
  private sweeper: ReturnType<typeof setInterval> | null = null;
  // Stalled-peer watchdog (see owe/watch): performance.now() since when the peer owes something
  // with no sign of life (-1: owes nothing), and the counters seen at the last check.
  private readonly stallTimeout: number;
  private owedAt = -1;
  private watchdog: ReturnType<typeof setInterval> | null = null;
  private seenIn = -1;
  private seenDrained = -1;
  /** Waits whose answers the watchdog counts (important acks, link/monitor/event requests). */
  private owedWaits = 0;
  private nextMessageID = 1;
  private remote: RemoteNode | null = null;
  private readonly local: Atom;
  private readonly localCreation: number;
  // One options object reused for every message (filled per call).
  private readonly mo: EnpMessageOptions = {
    priority: 0,
    important: false,
    messageID: 0,
    keepNetworkOrder: true,
    compression: null,
  };

  constructor(
    private readonly core: Core,
    private readonly host: ConnectionHost,
    readonly log: Log,
    private readonly hs: HandshakeResult,
    readonly terms: ConnectionTerms,
  ) {
    this.peer = hs.peer as Atom;
    this.peerCreation = num(hs.peerCreation);
    this.peerFlags = hs.peerFlags;
    this.peerVersion = hs.peerVersion;
    this.peerMaxMessageSize = hs.peerMaxMessageSize;
    this.connectionID = hs.connectionID;
    this.poolSize = hs.poolSize;
    this.poolDSN = hs.poolDSN;
    this.local = core.name();
    this.localCreation = core.creation();
    this.stallTimeout = terms.stallTimeout ?? STALL_TIMEOUT_DEFAULT;
  }

  /**
   * Attaches one more authenticated socket (the first one too) and starts reading it; every link
   * decodes with the caches the first handshake announced. ErrNoConnection once closed.
   */
  addLink(socket: NetworkSocket, tail: Uint8Array | null): EnpLink {
    const hs = this.hs;
    if (!this.alive) {
      socket.destroy();
      throw ErrNoConnection.with(`connection to ${this.peer} is closed`);
    }
    const link = new EnpLink(
      socket as never,
      this,
      // JS values only to a peer that announced it decodes them (an ergo-ts node, WIRE.md §2.6).
      { peerMaxMessageSize: this.peerMaxMessageSize, jsValues: this.peerFlags.jsValues === true },
      { atomCache: hs.peerAtomCache, typeCache: hs.peerRegCache, errorCache: hs.peerErrCache },
      this.terms.maxMessageSize,
    );
    this.links.push(link);
    link.start(tail);
    return link;
  }

  get isAlive(): boolean {
    return this.alive;
  }

  get bytesIn(): number {
    let n = this.closedBytesIn;
    for (const l of this.links) n += l.bytesIn;
    return n;
  }

  get bytesOut(): number {
    let n = this.closedBytesOut;
    for (const l of this.links) n += l.bytesOut;
    return n;
  }

  // --- link selection -------------------------------------------------------------------------

  private link(key: number): EnpLink {
    const ls = this.links;
    if (!this.alive || ls.length === 0) throw ErrNoConnection.with(`connection to ${this.peer} is closed`);
    if (key === 0) {
      const l = ls[this.rr % ls.length]!;
      this.rr = (this.rr + 1) & 0x3fffffff;
      return l;
    }
    // A link that broke stays listed until its close event: its packets move to another link
    // when it is flushed (onOrphanBytes).
    return ls[key % ls.length]!;
  }

  private opts(options: MessageOptions): EnpMessageOptions {
    const mo = this.mo;
    mo.priority = options.priority;
    mo.important = options.important;
    mo.keepNetworkOrder = options.keepNetworkOrder;
    mo.compression = options.compression;
    mo.messageID = 0;
    if (options.important && !this.peerFlags.enableImportantDelivery) {
      throw ErrUnsupported.with(`${this.peer} does not support important delivery`);
    }
    return mo;
  }

  private checkPID(to: PID): void {
    if (to.creation !== this.peerCreation) throw ErrProcessIncarnation.with(to.toString());
  }

  private checkAlias(to: Alias): void {
    if (to.creation !== this.peerCreation) throw ErrProcessIncarnation.with(to.toString());
  }

  /**
   * Registers a wait for the peer's answer; the returned promise settles on it or on the
   * deadline. `owed`: the peer's network layer answers it at once (not after running user code,
   * as a remote spawn or application start does), so the stalled-peer watchdog counts it.
   */
  private wait<T>(key: string | number, timeout = DEFAULT_REQUEST_TIMEOUT, owed = true, ref?: Ref): Promise<T> {
    if (owed) {
      this.owedWaits++;
      this.owe();
    }
    return new Promise<T>((resolve, reject) => {
      const w: Waiting = { resolve: resolve as (v: unknown) => void, reject, deadline: Date.now() + timeout, owed };
      if (ref !== undefined) w.ref = ref;
      this.waiting.set(key, w);
      if (this.sweeper === null) {
        this.sweeper = setInterval(() => this.sweep(), REQUEST_SWEEP_MS);
        this.sweeper.unref();
      }
    });
  }

  // --- stalled-peer watchdog --------------------------------------------------------------------
  //
  // ENP has no heartbeat, and TCP keepalive does not notice a stopped peer (its kernel answers
  // the probes). So the connection watches what it is owed: from the moment the peer owes an
  // answer (a wait above) or has bytes to read (a write backlog), any byte from it, or any byte
  // of ours the kernel takes, is a sign of life. `stallTimeout` without one while something is
  // owed — or was, and timed out unanswered — declares the connection down. Checked every
  // quarter of the timeout, only while something is owed: an idle connection costs nothing.

  /** The peer owes something from now on (a wait, or a write backlog). */
  private owe(): void {
    if (this.owedAt < 0) this.owedAt = performance.now();
    if (this.watchdog === null && this.stallTimeout > 0 && this.alive) {
      this.watchdog = setInterval(() => this.watch(), Math.max(1, this.stallTimeout >>> 2));
      this.watchdog.unref();
    }
  }

  private watch(): void {
    const now = performance.now();
    let drained = 0;
    let backlog = false;
    for (const l of this.links) {
      drained += l.drained;
      if (l.socket.writableLength > 0) backlog = true;
    }
    const bytesIn = this.bytesIn;
    if (bytesIn !== this.seenIn || drained !== this.seenDrained) {
      // A sign of life: the clock restarts if something is still owed.
      this.seenIn = bytesIn;
      this.seenDrained = drained;
      this.owedAt = backlog || this.owedWaits > 0 ? now : -1;
    } else if (this.owedAt >= 0 && now - this.owedAt >= this.stallTimeout) {
      this.stalled(now - this.owedAt);
      return;
    }
    if (this.owedAt < 0 && this.watchdog !== null) {
      clearInterval(this.watchdog);
      this.watchdog = null;
    }
  }

  /** Declares the connection down: the peer has not shown a sign of life while owing an answer. */
  private stalled(ms: number): void {
    const reason = ErrNoConnection.with(
      `${this.peer} stalled: no answer and no byte read or taken for ${Math.round(ms)} ms (peerStallTimeout ${this.stallTimeout} ms)`,
    );
    this.log.warning('connection to %s declared down: %s', this.peer, reason.message);
    this.down(reason);
    // Its sockets would never drain: no graceful end.
    for (const l of [...this.links]) l.destroy();
  }

  private sweep(): void {
    const now = Date.now();
    for (const [k, w] of this.waiting) {
      if (w.deadline <= now) {
        this.waiting.delete(k);
        if (w.owed) this.owedWaits--;
        // The outcome is unknown: the peer may have acted on the request (see the docs).
        w.reject(ErrTimeout.with(`no answer from ${this.peer} (outcome unknown)`));
      }
    }
    if (this.waiting.size === 0 && this.sweeper !== null) {
      clearInterval(this.sweeper);
      this.sweeper = null;
    }
  }

  private settle(key: string | number, err: Error | null, value?: unknown): boolean {
    const w = this.waiting.get(key);
    if (w === undefined) return false;
    this.waiting.delete(key);
    if (w.owed) this.owedWaits--;
    if (err !== null) w.reject(err);
    else w.resolve(value);
    return true;
  }

  /** Important send: the message id and its ack promise. */
  private important(mo: EnpMessageOptions): Promise<void> | undefined {
    if (!mo.important) return undefined;
    const id = this.nextMessageID++;
    mo.messageID = id;
    return this.wait<void>(ackKey(id));
  }

  private sent(link: EnpLink, ack: Promise<void> | undefined): Promise<void> | void {
    this.counted(link);
    return ack;
  }

  /** Counts a packet handed to `link` (nothing to wait for). */
  private counted(link: EnpLink): void {
    this.messagesOut++;
    link.touch();
  }

  /** Drops a registered wait whose packet could not be encoded. */
  private unwait(mo: EnpMessageOptions): void {
    if (mo.important) this.forget(ackKey(mo.messageID));
  }

  /** Drops a registered wait without settling it. */
  private forget(key: string | number): void {
    const w = this.waiting.get(key);
    if (w === undefined) return;
    this.waiting.delete(key);
    if (w.owed) this.owedWaits--;
  }

  // --- gen.Connection: messages -----------------------------------------------------------------

  node(): RemoteNode {
    return (this.remote ??= this.host.remoteNode(this));
  }

  sendPID(from: PID, to: PID, options: MessageOptions, message: unknown): Promise<void> | void {
    this.checkPID(to);
    const mo = this.opts(options);
    const link = this.link(poolKeyOf(routeOf(from.id, to.id, mo.keepNetworkOrder)));
    const ack = this.important(mo);
    try {
      link.enc.sendPID(from.id, to.id, mo, message);
    } catch (e) {
      this.unwait(mo);
      throw e;
    }
    return this.sent(link, ack);
  }

  sendProcessID(from: PID, to: ProcessID, options: MessageOptions, message: unknown): Promise<void> | void {
    const mo = this.opts(options);
    const link = this.link(poolKeyOf(routeOf(from.id, from.id, mo.keepNetworkOrder)));
    const ack = this.important(mo);
    try {
      link.enc.sendProcessID(from.id, to.name, mo, message);
    } catch (e) {
      this.unwait(mo);
      throw e;
    }
    return this.sent(link, ack);
  }

  sendAlias(from: PID, to: Alias, options: MessageOptions, message: unknown): Promise<void> | void {
    this.checkAlias(to);
    const mo = this.opts(options);
    const link = this.link(poolKeyOf(routeOf(from.id, to.id[1], mo.keepNetworkOrder)));
    const ack = this.important(mo);
    try {
      link.enc.sendAlias(from.id, to.id, mo, message);
    } catch (e) {
      this.unwait(mo);
      throw e;
    }
    return this.sent(link, ack);
  }

  sendEvent(from: PID, options: MessageOptions, message: MessageEvent): void {
    const mo = this.opts({ ...options, important: false });
    const link = this.link(poolKeyOf(routeOf(from.id, from.id, mo.keepNetworkOrder)));
    link.enc.sendEvent(from.id, message.event.name, message.timestamp, mo, message.message);
    this.counted(link);
  }

  sendExit(from: PID, to: PID, reason: Error): void {
    this.checkPID(to);
    const link = this.link(poolKeyOf(exitRouteOf(from.id, to.id)));
    link.enc.sendExit(from.id, to.id, reason);
    this.counted(link);
  }

  /** With `options.important` the caller's node acks the response: the Promise settles on it. */
  sendResponse(from: PID, to: PID, options: MessageOptions, response: unknown): Promise<void> | void {
    return this.respond(from, to, options, true, response);
  }

  sendResponseError(from: PID, to: PID, options: MessageOptions, error: Error): Promise<void> | void {
    return this.respond(from, to, options, false, error);
  }

  private respond(from: PID, to: PID, options: MessageOptions, ok: boolean, value: unknown): Promise<void> | void {
    this.checkPID(to);
    const ref = options.ref;
    if (ref === undefined) throw ErrIncorrect.with('response without a ref');
    const mo = this.opts(options);
    const link = this.link(poolKeyOf(routeOf(from.id, to.id, mo.keepNetworkOrder)));
    const key = mo.important ? responseAckKey(ref.id) : null;
    const ack = key === null ? undefined : this.wait<void>(key);
    try {
      if (ok) link.enc.sendResponse(from.id, to.id, ref.id, mo, value);
      else link.enc.sendResponseError(from.id, to.id, ref.id, mo, value as Error);
    } catch (e) {
      if (key !== null) this.forget(key);
      throw e;
    }
    return this.sent(link, ack);
  }

  // --- termination notifications (Go sends PID/alias ones only to a peer of the same creation) ---

  sendTerminatePID(target: PID, reason: Error): void {
    const link = this.link(0);
    link.enc.sendTerminatePID(target.id, reason);
    this.counted(link);
  }

  sendTerminateProcessID(target: ProcessID, reason: Error): void {
    const link = this.link(0);
    link.enc.sendTerminateProcessID(target.name, reason);
    this.counted(link);
  }

  sendTerminateAlias(target: Alias, reason: Error): void {
    const link = this.link(0);
    link.enc.sendTerminateAlias(target.id, reason);
    this.counted(link);
  }

  sendTerminateEvent(target: Event, reason: Error): void {
    const link = this.link(0);
    link.enc.sendTerminateEvent(target.name, reason);
    this.counted(link);
  }

  // --- calls ------------------------------------------------------------------------------------

  private callRef(options: MessageOptions): WireID3 {
    const ref = options.ref;
    if (ref === undefined) throw ErrIncorrect.with('request without a ref');
    return ref.id;
  }

  callPID(from: PID, to: PID, options: MessageOptions, request: unknown): Promise<void> | void {
    this.checkPID(to);
    const ref = this.callRef(options);
    const mo = this.opts(options);
    const link = this.link(poolKeyOf(routeOf(from.id, to.id, mo.keepNetworkOrder)));
    link.enc.callPID(from.id, to.id, ref, mo, request);
    this.counted(link);
  }

  callProcessID(from: PID, to: ProcessID, options: MessageOptions, request: unknown): Promise<void> | void {
    const ref = this.callRef(options);
    const mo = this.opts(options);
    const link = this.link(poolKeyOf(routeOf(from.id, from.id, mo.keepNetworkOrder)));
    link.enc.callProcessID(from.id, to.name, ref, mo, request);
    this.counted(link);
  }

  callAlias(from: PID, to: Alias, options: MessageOptions, request: unknown): Promise<void> | void {
    this.checkAlias(to);
    const ref = this.callRef(options);
    const mo = this.opts(options);
    const link = this.link(poolKeyOf(routeOf(from.id, to.id[1], mo.keepNetworkOrder)));
    link.enc.callAlias(from.id, to.id, ref, mo, request);
    this.counted(link);
  }

  // --- control requests -------------------------------------------------------------------------

  /** Sends a control request and waits for its MessageResult (matched by the whole Ref). */
  private control<T>(
    request: ControlMessage<unknown> | MessageSpawn | MessageApplicationStart | MessageApplicationInfo,
    timeout = DEFAULT_REQUEST_TIMEOUT,
  ): Promise<T> {
    const ref = this.core.makeRef();
    request.ref = ref;
    let link: EnpLink;
    try {
      link = this.link(poolKeyOf(controlRouteOf(request)));
      link.enc.sendControl(controlRouteOf(request), request);
    } catch (e) {
      return Promise.reject(e);
    }
    // A spawn or an application start is answered after user code ran (init): not a liveness probe.
    const owed = !(request instanceof MessageSpawn || request instanceof MessageApplicationStart);
    const p = this.wait<T>(controlKey(ref), timeout, owed, ref);
    this.counted(link);
    return p;
  }

  /** Sends a control message that has no awaited answer (unlink, demonitor: Go answers, we ignore it). */
  private controlNoWait(request: ControlMessage<unknown>): void {
    request.ref = this.core.makeRef();
    const route = controlRouteOf(request);
    const link = this.link(poolKeyOf(route));
    link.enc.sendControl(route, request);
    this.counted(link);
  }

  linkPID(pid: PID, target: PID): Promise<void> {
    this.checkPID(target);
    return this.control(new MessageLinkPID({ source: pid, target }));
  }
  unlinkPID(pid: PID, target: PID): void {
    this.controlNoWait(new MessageUnlinkPID({ source: pid, target }));
  }
  linkProcessID(pid: PID, target: ProcessID): Promise<void> {
    return this.control(new MessageLinkProcessID({ source: pid, target }));
  }
  unlinkProcessID(pid: PID, target: ProcessID): void {
    this.controlNoWait(new MessageUnlinkProcessID({ source: pid, target }));
  }
  linkAlias(pid: PID, target: Alias): Promise<void> {
    this.checkAlias(target);
    return this.control(new MessageLinkAlias({ source: pid, target }));
  }
  unlinkAlias(pid: PID, target: Alias): void {
    this.controlNoWait(new MessageUnlinkAlias({ source: pid, target }));
  }
  linkEvent(pid: PID, target: Event): Promise<MessageEvent[]> {
    return this.control<unknown>(new MessageLinkEvent({ source: pid, target })).then(eventList);
  }
  unlinkEvent(pid: PID, target: Event): void {
    this.controlNoWait(new MessageUnlinkEvent({ source: pid, target }));
  }
  monitorPID(pid: PID, target: PID): Promise<void> {
    this.checkPID(target);
    return this.control(new MessageMonitorPID({ source: pid, target }));
  }
  demonitorPID(pid: PID, target: PID): void {
    this.controlNoWait(new MessageDemonitorPID({ source: pid, target }));
  }
  monitorProcessID(pid: PID, target: ProcessID): Promise<void> {
    return this.control(new MessageMonitorProcessID({ source: pid, target }));
  }
  demonitorProcessID(pid: PID, target: ProcessID): void {
    this.controlNoWait(new MessageDemonitorProcessID({ source: pid, target }));
  }
  monitorAlias(pid: PID, target: Alias): Promise<void> {
    this.checkAlias(target);
    return this.control(new MessageMonitorAlias({ source: pid, target }));
  }
  demonitorAlias(pid: PID, target: Alias): void {
    this.controlNoWait(new MessageDemonitorAlias({ source: pid, target }));
  }
  monitorEvent(pid: PID, target: Event): Promise<MessageEvent[]> {
    return this.control<unknown>(new MessageMonitorEvent({ source: pid, target })).then(eventList);
  }
  demonitorEvent(pid: PID, target: Event): void {
    this.controlNoWait(new MessageDemonitorEvent({ source: pid, target }));
  }

  remoteSpawn(name: Atom, request: RemoteSpawnRequest): Promise<PID> {
    if (this.peerFlags.enable && !this.peerFlags.enableRemoteSpawn)
      return Promise.reject(ErrNotAllowed.with(`${this.peer} does not allow remote spawn`));
    const options = new ProcessOptionsExtra({
      processOptions: toWireProcessOptions(request.processOptions),
      parentPID: request.parentPID,
      parentLeader: request.parentLeader,
      parentEnv: request.parentEnv,
      parentLogLevel: request.parentLogLevel,
      register: request.register,
      application: request.application,
      args: request.args.length > 0 ? request.args : null,
    });
    return this.control<unknown>(new MessageSpawn({ name, options })).then((v) => {
      if (!(v instanceof PID)) throw ErrIncorrect.with(`remote spawn on ${this.peer} answered ${String(v)}`);
      return v;
    });
  }

  remoteApplicationStart(name: Atom, request: RemoteApplicationStart): Promise<void> {
    if (this.peerFlags.enable && !this.peerFlags.enableRemoteApplicationStart) {
      return Promise.reject(ErrNotAllowed.with(`${this.peer} does not allow remote application start`));
    }
    const env = request.applicationOptions.env;
    const options = new ApplicationOptionsExtra({
      applicationOptions: new WireApplicationOptions({
        env: env === undefined ? null : env instanceof Map ? env : new Map(Object.entries(env)),
        logLevel: toLogLevel(request.applicationOptions.logLevel) ?? 0,
      }),
      corePID: request.corePID,
      coreEnv: request.coreEnv,
      coreLogLevel: request.coreLogLevel,
    });
    return this.control<void>(new MessageApplicationStart({ name, mode: request.mode, options }));
  }

  /**
   * Asks the peer for a snapshot of its application `name` (Ergo 3.2.0). Rejects with the peer's
   * error (ErrApplicationUnknown...), ErrMalformed for an answer that is not an application info,
   * ErrTimeout, ErrNoConnection. A peer older than 3.2.0 drops the request: ErrTimeout.
   */
  remoteApplicationInfo(name: Atom): Promise<ApplicationInfo> {
    return this.control<unknown>(new MessageApplicationInfo({ name })).then((v) =>
      fromWireApplicationInfo(v, this.peer),
    );
  }

  join(socket: NetworkSocket, _connectionID: string, _dial: NetworkDial, tail: Uint8Array | null): void {
    this.addLink(socket, tail);
  }

  /** Flushes what is pending and closes every link; the node hears it via Core.routeNodeDown. */
  terminate(reason: Error): void {
    if (!this.alive) return;
    for (const l of [...this.links]) l.close();
    this.down(reason);
  }

  private down(reason: Error, peerGone = false): void {
    if (!this.alive) return;
    this.alive = false;
    if (this.sweeper !== null) clearInterval(this.sweeper);
    this.sweeper = null;
    if (this.watchdog !== null) clearInterval(this.watchdog);
    this.watchdog = null;
    const lost = ErrNoConnection.with(`connection to ${this.peer} is closed`);
    for (const w of this.waiting.values()) w.reject(lost);
    this.waiting.clear();
    this.owedWaits = 0;
    this.host.connectionDown(this, reason, peerGone);
  }

  // --- LinkOwner: inbound -------------------------------------------------------------------------

  onLinkDown(link: EnpLink, reason: Error | null): void {
    const i = this.links.indexOf(link);
    if (i >= 0) this.links.splice(i, 1);
    this.closedBytesIn += link.bytesIn;
    this.closedBytesOut += link.bytesOut;
    // At debug: a lost peer is told once, by the network's line for the connection; a link lost
    // while the others live is re-dialled, and only a failed re-dial is worth a warning.
    if (reason !== null) this.log.debug('link %s to %s closed: %s', link.dsn, this.peer, reason.message);
    if (this.links.length === 0) this.down(reason ?? ErrNoConnection.with(`${this.peer} closed the connection`), true);
    else if (this.alive) this.host.linkLost(this);
  }

  onBacklog(_link: EnpLink): void {
    this.owe();
  }

  onOrphanBytes(link: EnpLink, bytes: Buffer): void {
    for (const l of this.links) {
      if (l === link || !l.writable) continue;
      l.flushNow();
      l.write(bytes);
      return;
    }
    this.log.warning('%d bytes for %s lost with the last link', bytes.length, this.peer);
  }

  onBadPacket(err: WireError, link: EnpLink): void {
    if (err.fatal) this.log.error('link %s to %s: %s (closing the link)', link.dsn, this.peer, err.message);
    else this.log.warning('packet from %s dropped: %s', this.peer, err.message);
  }

  // The last sender and name target seen: a stream from one process to one name allocates
  // neither a PID nor a ProcessID per message.
  private lastFrom: PID = new PID('' as Atom, -1, 0);
  private lastName: ProcessID = new ProcessID('' as Atom);

  private remotePID(id: number | bigint): PID {
    const n = num(id);
    if (this.lastFrom.id === n) return this.lastFrom;
    return (this.lastFrom = new PID(this.peer, n, this.peerCreation));
  }

  private localName(name: string): ProcessID {
    if (this.lastName.name === name) return this.lastName;
    return (this.lastName = new ProcessID(name as Atom, this.local));
  }

  // The last local target PID: replies to one caller (and sends to one PID) allocate none.
  private lastLocal: PID = new PID('' as Atom, -1, 0);

  private localPID(id: number | bigint): PID {
    const n = num(id);
    if (this.lastLocal.id === n) return this.lastLocal;
    return (this.lastLocal = new PID(this.local, n, this.localCreation));
  }

  // Inbound options, refilled per packet: the Core reads them synchronously and keeps none.
  private readonly inbound: MessageOptions = {
    ref: undefined,
    priority: 0,
    important: false,
    compression: null,
    keepNetworkOrder: true,
  };

  private inOptions(p: EnpPacket, ref: Ref | undefined): MessageOptions {
    const o = this.inbound;
    o.ref = ref;
    o.priority = p.priority as 0 | 1 | 2;
    o.important = p.important;
    o.keepNetworkOrder = p.order !== 0;
    return o;
  }

  onPacket(p: EnpPacket, link: EnpLink): void {
    this.messagesIn++;
    try {
      this.dispatch(p, link);
    } catch (e) {
      this.log.warning('packet %d from %s failed: %s', p.type, this.peer, toError(e).message);
    }
  }

  private dispatch(p: EnpPacket, link: EnpLink): void {
    const core = this.core;
    switch (p.type) {
      case PacketType.SendPID:
      case PacketType.SendName:
      case PacketType.SendNameCached:
      case PacketType.SendAlias: {
        const from = this.remotePID(p.fromID);
        const options = this.inOptions(p, undefined);
        let err: Error | null = null;
        try {
          if (p.type === PacketType.SendPID) core.routeSendPID(from, this.localPID(p.toID), options, p.payload);
          else if (p.type === PacketType.SendAlias)
            core.routeSendAlias(from, this.localAlias(p.alias), options, p.payload);
          else core.routeSendProcessID(from, this.localName(p.name), options, p.payload);
        } catch (e) {
          err = toError(e);
          if (!p.important) this.log.debug('message from %s dropped: %s', from.toString(), err.message);
        }
        if (p.important && this.terms.flags.enableImportantDelivery) {
          const ackFrom = p.type === PacketType.SendPID ? p.toID : 0;
          link.enc.sendResponseError(ackFrom, p.fromID, [p.messageID, 0, 0], this.ackOptions(p), err);
          link.touch();
        }
        return;
      }
      case PacketType.Event:
      case PacketType.EventCached: {
        const from = this.remotePID(p.fromID);
        const m = new MessageEvent(new Event(p.name as Atom, this.peer), BigInt(p.timestamp), p.payload);
        core.routeSendEvent(from, ZERO_TOKEN, this.inOptions(p, undefined), m);
        return;
      }
      case PacketType.Exit:
        core.routeSendExit(
          this.remotePID(p.fromID),
          this.localPID(p.toID),
          p.reason ?? ErrIncorrect.with('exit without a reason'),
        );
        return;
      case PacketType.CallPID:
      case PacketType.CallName:
      case PacketType.CallNameCached:
      case PacketType.CallAlias: {
        const from = this.remotePID(p.fromID);
        const ref = new Ref(this.peer, this.peerCreation, numIds(p.id));
        const options = this.inOptions(p, ref);
        try {
          if (p.type === PacketType.CallPID) core.routeCallPID(from, this.localPID(p.toID), options, p.payload);
          else if (p.type === PacketType.CallAlias)
            core.routeCallAlias(from, this.localAlias(p.alias), options, p.payload);
          else core.routeCallProcessID(from, this.localName(p.name), options, p.payload);
        } catch (e) {
          // The caller would wait for its timeout: tell it now (Ergo answers important calls
          // only; answering every failed call is what the caller wants and Go accepts it).
          const toID = p.type === PacketType.CallPID ? p.toID : 0;
          link.enc.sendResponseError(toID, p.fromID, p.id, this.ackOptions(p), toError(e));
          link.touch();
        }
        return;
      }
      case PacketType.Response:
        this.onResponse(p, link, true, p.payload);
        return;
      case PacketType.ResponseError: {
        const err = codeError(p.code, p.reason);
        if (num(p.id[1]) === 0 && num(p.id[2]) === 0 && this.settle(ackKey(p.id[0]), err)) return;
        // The ack of an important response this node sent.
        if (this.waiting.size > 0 && this.settle(responseAckKey(p.id), err)) return;
        this.onResponse(p, link, err === null, err);
        return;
      }
      case PacketType.TerminatePID:
        core.routeTerminatePID(this.remotePID(p.toID), p.reason ?? ErrNoConnection);
        return;
      case PacketType.TerminateName:
      case PacketType.TerminateNameCached:
        core.routeTerminateProcessID(new ProcessID(p.name as Atom, this.peer), p.reason ?? ErrNoConnection);
        return;
      case PacketType.TerminateAlias:
        core.routeTerminateAlias(
          new Alias(this.peer, this.peerCreation, [num(p.alias[0]), num(p.alias[1]), num(p.alias[2])]),
          p.reason ?? ErrNoConnection,
        );
        return;
      case PacketType.TerminateEvent:
      case PacketType.TerminateEventCached:
        core.routeTerminateEvent(new Event(p.name as Atom, this.peer), p.reason ?? ErrNoConnection);
        return;
      case PacketType.Control:
        this.onControl(p.payload, link);
        return;
      default:
        this.log.warning('packet type %d from %s is not supported: dropped', p.type, this.peer);
    }
  }

  /** A response to a local call; an important one is acked with what delivery gave (WIRE §3.3). */
  private onResponse(p: EnpPacket, link: EnpLink, ok: boolean, value: unknown): void {
    const ref = new Ref(this.local, this.localCreation, numIds(p.id));
    let err: Error | null = null;
    try {
      this.core.routeSendResponse(this.remotePID(p.fromID), this.localPID(p.toID), this.inOptions(p, ref), value, ok);
    } catch (e) {
      err = toError(e);
      if (!p.important) throw e;
    }
    if (p.important) {
      link.enc.sendResponseError(p.toID, p.fromID, p.id, this.ackOptions(p), err);
      link.touch();
    }
  }

  private localAlias(id: WireID3): Alias {
    return new Alias(this.local, this.localCreation, [num(id[0]), num(id[1]), num(id[2])]);
  }

  private ackOptions(p: EnpPacket): EnpMessageOptions {
    const mo = this.mo;
    mo.priority = p.priority;
    mo.important = false;
    mo.messageID = 0;
    mo.keepNetworkOrder = true;
    mo.compression = null;
    return mo;
  }

  private onControl(m: unknown, link: EnpLink): void {
    if (m instanceof MessageResult) {
      const key = controlKey(m.ref);
      const w = this.waiting.get(key);
      if (w !== undefined && w.ref !== undefined && sameRef(w.ref, m.ref)) this.settle(key, m.error, m.result);
      return;
    }
    if (m instanceof MessageSpawn) {
      if (!this.terms.flags.enableRemoteSpawn)
        return this.log.warning('remote spawn of %s by %s refused: not enabled', m.name, this.peer);
      const o = m.options;
      const request: RemoteSpawnRequest = {
        processOptions: fromWireProcessOptions(o.processOptions),
        parentPID: o.parentPID,
        parentLeader: o.parentLeader,
        parentEnv: o.parentEnv,
        parentLogLevel: num(o.parentLogLevel) as RemoteSpawnRequest['parentLogLevel'],
        register: o.register as Atom,
        application: o.application as Atom,
        args: o.args ?? [],
      };
      this.core.routeSpawn(this.local, m.name as Atom, request, this.peer).then(
        (pid) => this.reply(m, null, pid, link),
        (e: unknown) => this.reply(m, toError(e), ZERO_PID, link),
      );
      return;
    }
    if (m instanceof MessageApplicationStart) {
      if (!this.terms.flags.enableRemoteApplicationStart)
        return this.log.warning('remote start of %s by %s refused: not enabled', m.name, this.peer);
      const o = m.options;
      const request: RemoteApplicationStart = {
        mode: num(m.mode) as RemoteApplicationStart['mode'],
        applicationOptions: {
          env: o.applicationOptions.env ?? undefined,
          logLevel: num(o.applicationOptions.logLevel) as RemoteSpawnRequest['parentLogLevel'],
        },
        corePID: o.corePID,
        coreEnv: o.coreEnv,
        coreLogLevel: num(o.coreLogLevel) as RemoteSpawnRequest['parentLogLevel'],
      };
      this.core.routeApplicationStart(m.name as Atom, request, this.peer).then(
        () => this.reply(m, null, null, link),
        (e: unknown) => this.reply(m, toError(e), null, link),
      );
      return;
    }
    if (m instanceof MessageApplicationInfo) {
      // As Go: the result is always an application info (zero beside an error).
      let info: WireApplicationInfo;
      let err: Error | null = null;
      try {
        info = toWireApplicationInfo(this.core.routeApplicationInfo(m.name as Atom, this.peer));
      } catch (e) {
        err = toError(e);
        info = new WireApplicationInfo();
      }
      return this.reply(m, err, info, link);
    }
    if (m instanceof MessageUpdateCache) return this.reply(m as never, null, null, link);
    if (!(m instanceof ControlMessage)) {
      this.log.warning(
        'control message %s from %s is not supported: dropped',
        String((m as object)?.constructor?.name),
        this.peer,
      );
      return;
    }
    let err: Error | null = null;
    let result: unknown = null;
    const c = this.core;
    const s = m.source;
    try {
      if (m instanceof MessageLinkPID) c.routeLinkPID(s, m.target);
      else if (m instanceof MessageUnlinkPID) c.routeUnlinkPID(s, m.target);
      else if (m instanceof MessageMonitorPID) c.routeMonitorPID(s, m.target);
      else if (m instanceof MessageDemonitorPID) c.routeDemonitorPID(s, m.target);
      else if (m instanceof MessageLinkProcessID) c.routeLinkProcessID(s, m.target);
      else if (m instanceof MessageUnlinkProcessID) c.routeUnlinkProcessID(s, m.target);
      else if (m instanceof MessageMonitorProcessID) c.routeMonitorProcessID(s, m.target);
      else if (m instanceof MessageDemonitorProcessID) c.routeDemonitorProcessID(s, m.target);
      else if (m instanceof MessageLinkAlias) c.routeLinkAlias(s, m.target);
      else if (m instanceof MessageUnlinkAlias) c.routeUnlinkAlias(s, m.target);
      else if (m instanceof MessageMonitorAlias) c.routeMonitorAlias(s, m.target);
      else if (m instanceof MessageDemonitorAlias) c.routeDemonitorAlias(s, m.target);
      else if (m instanceof MessageLinkEvent) result = typedEvents(c.routeLinkEvent(s, m.target));
      else if (m instanceof MessageUnlinkEvent) c.routeUnlinkEvent(s, m.target);
      else if (m instanceof MessageMonitorEvent) result = typedEvents(c.routeMonitorEvent(s, m.target));
      else if (m instanceof MessageDemonitorEvent) c.routeDemonitorEvent(s, m.target);
    } catch (e) {
      err = toError(e);
    }
    this.reply(m, err, result, link);
  }

  private reply(
    request: ControlMessage<unknown> | MessageSpawn | MessageApplicationStart | MessageApplicationInfo,
    err: Error | null,
    result: unknown,
    _link: EnpLink,
  ): void {
    if (!this.alive) return;
    try {
      const route = controlResultRouteOf(request);
      const l = this.link(poolKeyOf(route));
      l.enc.sendControl(route, new MessageResult({ error: err, result, ref: request.ref }));
      l.touch();
    } catch (e) {
      this.log.warning('result to %s dropped: %s', this.peer, toError(e).message);
    }
  }
}

const ZERO_PID = new PID('' as Atom, 0, 0);
const ZERO_TOKEN = new Ref('' as Atom, 0, [0, 0, 0]);

/** The error a 130 code stands for (null for code 0). */
function codeError(code: number, reason: Error | null): Error | null {
  switch (code) {
    case ResponseCode.OK:
      return null;
    case ResponseCode.ProcessUnknown:
      return ErrProcessUnknown;
    case ResponseCode.MailboxFull:
      return ErrProcessMailboxFull;
    case ResponseCode.Terminated:
      return ErrProcessTerminated;
    default:
      return reason ?? new ErgoError('ERR_UNKNOWN', 'unknown error');
  }
}

/** Event buffers travel as a typed `[]gen.MessageEvent` (Go rejects an untyped nil). */
function typedEvents(list: MessageEvent[]): unknown {
  const t = defaultRegistry.type(FrameworkTypeName.MessageEvent);
  if (t === undefined) return list;
  return typed(Go.slice(t as EdfType<MessageEvent>), list);
}

function eventList(v: unknown): MessageEvent[] {
  if (v === null || v === undefined) return [];
  if (Array.isArray(v)) return v as MessageEvent[];
  throw ErrIncorrect.with('event subscription answered with something other than a list of events');
}
