// The ENP:R1 connection to one remote node (WIRE.md §3): the gen `Connection` the engine's router
// talks to, over a pool of links joined into one connection. Outbound operations encode straight
// into the chosen link's buffer (pool key → link, order byte in the header) and are written once
// per event-loop turn; inbound packets are dispatched synchronously into the node's Core from the
// link's data handler (inbound.ts). Requests that wait for the peer live in one table swept by
// one timer (waits.ts). What the links hold for the peer is bounded in bytes (flow.ts), and the
// peer's liveness is checked by a heartbeat only the peer can answer (heartbeat.ts).

import type { ApplicationInfo } from '../../gen/application.js';
import type { Atom } from '../../gen/atom.js';
import type { Core, RemoteApplicationStart, RemoteSpawnRequest } from '../../gen/core.js';
import { ErrIncorrect, ErrNoConnection, ErrProcessIncarnation, ErrUnsupported, toError } from '../../gen/errors.js';
import type { Event } from '../../gen/event.js';
import type { Log } from '../../gen/log.js';
import type { MessageEvent } from '../../gen/messages.js';
import type { Connection, EventFanOut, NetworkDial, NetworkSocket, RemoteNode } from '../../gen/network.js';
import { DEFAULT_REQUEST_TIMEOUT, type MessageOptions } from '../../gen/options.js';
import { type PID } from '../../gen/pid.js';
import type { ProcessID } from '../../gen/processid.js';
import { type Ref, type Alias } from '../../gen/ref.js';
import type { NetworkFlags } from '../edf/framework.js';
import type { WireError } from '../error.js';
import type { HandshakeResult } from '../handshake/handshake.js';
import { type EnpMessageOptions } from './encoder.js';
import { DEFAULT_PEER_BUFFER_LIMIT, flushThreshold, peerBusy, userBytesOn, UserPacketLedger } from './flow.js';
import { Heartbeat } from './heartbeat.js';
import { InboundDispatcher, type AnsweredRequest } from './inbound.js';
import { EnpLink, type LinkCodec, type LinkOwner } from './link.js';
import {
  type ControlMessage,
  type MessageApplicationInfo,
  type MessageApplicationStart,
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
  type MessageSpawn,
  MessageUnlinkAlias,
  MessageUnlinkEvent,
  MessageUnlinkPID,
  MessageUnlinkProcessID,
  MessageUpdateCache,
} from './messages.js';
import { controlRouteOf, exitRouteOf, poolKeyOf, routeOf } from './order.js';
import type { EnpPacket, WireID3 } from './packet.js';
import { ackKey, controlKey, eventList, RequestTable, responseAckKey } from './waits.js';
import { batchKey } from './control_batch.js';
import {
  answerEntryOn,
  answerOn,
  remoteApplicationInfoOn,
  remoteApplicationStartOn,
  remoteSpawnOn,
} from './control_requests.js';
import type { ConnectionHost, ConnectionTerms } from './connection_terms.js';

/**
 * The codec of in-host links when both nodes announced the private frame (set by the in-host
 * transport's module, so ENP connections do not load it).
 */
let inHostCodec: LinkCodec | null = null;

/** @internal Installs the in-host private frame's codec (net/inhost/transport.ts). */
export function setInHostCodec(codec: LinkCodec): void {
  inHostCodec = codec;
}

/** Default stalled-peer timeout when the terms give none (see ConnectionTerms.stallTimeout). */
const STALL_TIMEOUT_DEFAULT = 15_000;
/** Events between two sums of the links' queued bytes (eventRoom). */
const EVENT_ROOM_EVERY = 32;

function num(v: number | bigint): number {
  return typeof v === 'bigint' ? Number(v) : v;
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
  /** The links packets are sent on: {@link links} but those still held (see addLink). */
  private readonly sendable: EnpLink[] = [];
  readonly poolSize: number;
  readonly poolDSN: string[];
  messagesIn = 0;
  messagesOut = 0;
  /** Bytes of links that already closed. */
  private closedBytesIn = 0;
  private closedBytesOut = 0;
  private rr = 0;
  private alive = true;
  /** Requests waiting for the peer's answer. */
  readonly requests: RequestTable;
  private readonly inbound: InboundDispatcher;
  private readonly stallTimeout: number;
  private heartbeat: Heartbeat | null = null;
  /** Bytes held for the peer before sends are refused, and the batch written at once (flow.ts). */
  readonly bufferLimit: number;
  private readonly flushAt: number;
  /** eventRoom: the links' queued bytes as the latest event left them, and events until the next sum. */
  private evQueued = 0;
  private evChecks = 0;
  private nextMessageID = 1;
  private remote: RemoteNode | null = null;
  /** Both nodes announced `eventBatch`: events go in ergo-ts event batch packets. */
  readonly batchEvents: boolean;
  /** Both nodes announced the ergo-ts control batch (control_batch.ts). */
  readonly batching: boolean;
  /** @internal */
  readonly localName: string;
  private readonly localCreation: number;
  /** @internal The encoded options of the last plain batched spawn (plainSpawn) and whose they were. */
  spawnCache: { parent: PID; leader: PID; level: number; bytes: Uint8Array } | null = null;
  /** @internal The check of a remote spawn's answer (spawnedPID), made once. */
  checkSpawned: ((v: unknown) => PID) | null = null;
  // One options object reused for every message (filled per call).
  private readonly mo: EnpMessageOptions = {
    priority: 0,
    important: false,
    messageID: 0,
    keepNetworkOrder: true,
    compression: null,
  };

  constructor(
    /** @internal */ readonly core: Core,
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
    this.stallTimeout = terms.stallTimeout ?? STALL_TIMEOUT_DEFAULT;
    this.bufferLimit = terms.bufferLimit ?? DEFAULT_PEER_BUFFER_LIMIT;
    this.flushAt = flushThreshold(this.bufferLimit);
    this.requests = new RequestTable(this.peer);
    this.inbound = new InboundDispatcher(core, this);
    this.batchEvents = hs.peerFlags.eventBatch === true && terms.flags.eventBatch !== false;
    this.batching = hs.peerFlags.controlBatch === true && terms.flags.controlBatch !== false;
    this.localName = core.name();
    this.localCreation = core.creation();
  }

  /** This node's announced flags (InboundConnection). */
  get localFlags(): NetworkFlags {
    return this.terms.flags;
  }

  /**
   * Attaches one more authenticated socket (the first one too) and starts reading it; every link
   * decodes with the caches the first handshake announced. ErrNoConnection once closed.
   *
   * `held`: a link the peer joined to a connection this node accepted. The peer's side of a join
   * may still fail after this side's Accept went out (its handshake step timed out on a lossy
   * or loaded network), and then it closes the socket: whatever this node wrote on it meanwhile
   * would be lost. So such a link only receives until the peer's first packet on it (an ergo-ts
   * initiator sends one at once, see {@link confirmJoin}); a connection with no other link uses it.
   */
  addLink(socket: NetworkSocket, tail: Uint8Array | null, held = false): EnpLink {
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
      this.codecFor(socket),
    );
    this.links.push(link);
    if (held && this.sendable.length > 0) link.held = true;
    else this.sendable.push(link);
    link.start(tail);
    if (this.heartbeat === null && this.stallTimeout > 0) this.heartbeat = new Heartbeat(this, this.stallTimeout);
    return link;
  }

  /**
   * The in-host private frame for `socket` when both nodes announced it (the flag goes only on
   * in-host handshakes) and the socket is an in-host one; else null (ENP).
   */
  private codecFor(socket: NetworkSocket): LinkCodec | null {
    if (inHostCodec === null || this.terms.flags.inHostFrame !== true || this.peerFlags.inHostFrame !== true)
      return null;
    return (socket as { remoteAddress?: string }).remoteAddress === 'inhost' ? inHostCodec : null;
  }

  /** True when this connection's links carry the in-host private frame. */
  get privateFrame(): boolean {
    return this.links.length > 0 && this.links.every((l) => l.privateFrame);
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

  /** @internal The link of pool key `key` (0: round robin; remote_start.ts sends on it too). */
  link(key: number): EnpLink {
    const ls = this.sendable;
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

  /** Registers a wait for the peer's answer; the promise settles on it or on the deadline. */
  private wait<T>(key: string | number, timeout = DEFAULT_REQUEST_TIMEOUT, ref?: Ref): Promise<T> {
    return this.requests.wait<T>(key, timeout, ref);
  }

  // --- back-pressure (flow.ts) --------------------------------------------------------------------

  /** Bytes the links hold for the peer: encoded and not written yet, or written and not taken. */
  get queuedBytes(): number {
    return this.linkBytes();
  }

  /**
   * Room for one more user packet: what the links hold now (to pass to {@link admit}), or
   * ErrPeerBusy when that is the limit already.
   */
  private room(): number {
    // Another packet is going in: the next event takes the sum again (eventRoom).
    this.evChecks = 0;
    const q = this.linkBytes();
    if (q >= this.bufferLimit) throw peerBusy(this.peer, q, this.bufferLimit);
    return q;
  }

  /** What the links hold now (see {@link queuedBytes}). */
  private linkBytes(): number {
    let q = 0;
    for (const l of this.links) q += l.queued;
    return q;
  }

  /**
   * After a user packet was encoded into `link` from `mark` on: takes it back and throws
   * ErrPeerBusy if it brings the queue over the limit — unless no user packet waits on any link:
   * a packet larger than the limit still goes then, whatever protocol packets (a heartbeat, an
   * ack) happen to wait; writes the link at once when its batch is large.
   */
  private admit(link: EnpLink, queued: number, mark: number): void {
    const pending = link.enc.pending;
    const added = pending - mark;
    if (queued + added > this.bufferLimit && userBytesOn(this.links) > 0) {
      link.enc.truncate(mark);
      throw peerBusy(this.peer, queued, this.bufferLimit);
    }
    link.userPending += added;
    this.userLedger.admitted(added);
    if (pending >= this.flushAt) link.flushNow();
  }

  /** User packets admitted, and those a down left undelivered (flow.ts). */
  readonly userLedger = new UserPacketLedger();
  /** HeartbeatHost: the peer ran since the last check (the ledger marks its counts). */
  readonly heard = (): void => this.userLedger.heard();

  // --- heartbeat (heartbeat.ts) ---------------------------------------------------------------------

  /** Probes the heartbeat sent (diagnostics and tests). */
  get heartbeats(): number {
    return this.heartbeat?.probes ?? 0;
  }

  /**
   * HeartbeatHost: an empty MessageUpdateCache, which Go Ergo 3.2 and ergo-ts answer from their
   * network layer with a MessageResult (ignored on arrival: only the bytes matter). It goes on
   * the link that holds the least, and is never refused.
   */
  probe(): void {
    if (!this.alive) return;
    let best: EnpLink | null = null;
    for (const l of this.sendable) if (l.writable && (best === null || l.queued < best.queued)) best = l;
    if (best === null) return;
    try {
      best.enc.sendControl(0, new MessageUpdateCache({ ref: this.core.makeRef() }));
      best.touch();
    } catch (e) {
      this.log.warning('heartbeat to %s not sent: %s', this.peer, toError(e).message);
    }
  }

  /**
   * On a link this node joined to the peer's connection: one packet at once (the heartbeat's
   * empty MessageUpdateCache, which Go Ergo and ergo-ts answer and otherwise ignore), so an
   * ergo-ts acceptor starts sending on the link (addLink's `held`).
   */
  confirmJoin(link: EnpLink): void {
    if (!this.alive || !link.writable) return;
    link.enc.sendControl(0, new MessageUpdateCache({ ref: this.core.makeRef() }));
    link.touch();
  }

  /** HeartbeatHost: nothing came from the peer for `ms`, heartbeats included: declare it down. */
  stalled(ms: number): void {
    if (!this.alive) return;
    const reason = ErrNoConnection.with(
      `${this.peer} stalled: nothing read from it for ${Math.round(ms)} ms, heartbeats unanswered (peerStallTimeout ${this.stallTimeout} ms)`,
    );
    const lost = this.userLedger.down(userBytesOn(this.links));
    const what = `${lost.packets} user packets (${lost.bytes} bytes) sent since it was last heard are not delivered`;
    this.log.warning('connection to %s declared down: %s (%s)', this.peer, reason.message, what);
    this.down(reason);
    // Its sockets may never drain: no graceful end.
    for (const l of [...this.links]) l.destroy();
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

  /** @internal Counts a packet handed to `link` (nothing to wait for). */
  counted(link: EnpLink): void {
    this.messagesOut++;
    link.touch();
  }

  /** Drops a registered wait whose packet could not be encoded. */
  private unwait(mo: EnpMessageOptions): void {
    if (mo.important) this.requests.forget(ackKey(mo.messageID));
  }

  // --- gen.Connection: messages -----------------------------------------------------------------

  node(): RemoteNode {
    return (this.remote ??= this.host.remoteNode(this));
  }

  sendPID(from: PID, to: PID, options: MessageOptions, message: unknown): Promise<void> | void {
    this.checkPID(to);
    const mo = this.opts(options);
    const link = this.link(poolKeyOf(routeOf(from.id, to.id, mo.keepNetworkOrder)));
    const queued = this.room();
    const mark = link.enc.pending;
    const ack = this.important(mo);
    try {
      link.enc.sendPID(from.id, to.id, mo, message);
      this.admit(link, queued, mark);
    } catch (e) {
      this.unwait(mo);
      throw e;
    }
    return this.sent(link, ack);
  }

  sendProcessID(from: PID, to: ProcessID, options: MessageOptions, message: unknown): Promise<void> | void {
    const mo = this.opts(options);
    const link = this.link(poolKeyOf(routeOf(from.id, from.id, mo.keepNetworkOrder)));
    const queued = this.room();
    const mark = link.enc.pending;
    const ack = this.important(mo);
    try {
      link.enc.sendProcessID(from.id, to.name, mo, message);
      this.admit(link, queued, mark);
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
    const queued = this.room();
    const mark = link.enc.pending;
    const ack = this.important(mo);
    try {
      link.enc.sendAlias(from.id, to.id, mo, message);
      this.admit(link, queued, mark);
    } catch (e) {
      this.unwait(mo);
      throw e;
    }
    return this.sent(link, ack);
  }

  sendEvent(from: PID, options: MessageOptions, message: MessageEvent, shared?: EventFanOut): void {
    const mo = this.mo;
    mo.priority = options.priority;
    mo.important = false;
    mo.keepNetworkOrder = options.keepNetworkOrder;
    mo.compression = options.compression;
    mo.messageID = 0;
    const link = this.link(poolKeyOf(routeOf(from.id, from.id, mo.keepNetworkOrder)));
    let queued = this.eventRoom();
    const enc = link.enc;
    const mark = enc.pending;
    const ev = message.event.name;
    // The event stands for its timestamp: the encoder writes its halves, no bigint is made.
    if (this.batchEvents) enc.sendEventBatch(from.id, ev, message, mo, message.message, shared);
    else if (shared === undefined) enc.sendEvent(from.id, ev, message, mo, message.message);
    else enc.sendEventShared(from.id, ev, message, mo, message.message, shared);
    const added = enc.pending - mark;
    if (queued + added > this.bufferLimit && this.evChecks < EVENT_ROOM_EVERY) {
      // Only an estimate would refuse it: the true sum decides (less this event's bytes).
      queued = this.linkBytes() - added;
      this.evChecks = EVENT_ROOM_EVERY;
    }
    this.evQueued = queued + added;
    this.admit(link, queued, mark);
    this.counted(link);
  }

  /**
   * {@link room} for a stream of events in O(1): the links' sum is taken every EVENT_ROOM_EVERY
   * events, and in between its last value plus what the events since added stands for it (writes
   * and drains only lower the true sum; any other user packet makes the next event take the sum,
   * so only control packets go uncounted, as they always did). Past half the limit every event
   * takes the sum.
   */
  private eventRoom(): number {
    if (--this.evChecks > 0 && this.evQueued < this.bufferLimit / 2) return this.evQueued;
    const q = this.room();
    this.evChecks = EVENT_ROOM_EVERY;
    return q;
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
    const queued = this.room();
    const mark = link.enc.pending;
    const key = mo.important ? responseAckKey(ref.id) : null;
    const ack = key === null ? undefined : this.wait<void>(key);
    try {
      if (ok) link.enc.sendResponse(from.id, to.id, ref.id, mo, value);
      else link.enc.sendResponseError(from.id, to.id, ref.id, mo, value as Error);
      this.admit(link, queued, mark);
    } catch (e) {
      if (key !== null) this.requests.forget(key);
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
    const queued = this.room();
    const mark = link.enc.pending;
    link.enc.callPID(from.id, to.id, ref, mo, request);
    this.admit(link, queued, mark);
    this.counted(link);
  }

  callProcessID(from: PID, to: ProcessID, options: MessageOptions, request: unknown): Promise<void> | void {
    const ref = this.callRef(options);
    const mo = this.opts(options);
    const link = this.link(poolKeyOf(routeOf(from.id, from.id, mo.keepNetworkOrder)));
    const queued = this.room();
    const mark = link.enc.pending;
    link.enc.callProcessID(from.id, to.name, ref, mo, request);
    this.admit(link, queued, mark);
    this.counted(link);
  }

  callAlias(from: PID, to: Alias, options: MessageOptions, request: unknown): Promise<void> | void {
    this.checkAlias(to);
    const ref = this.callRef(options);
    const mo = this.opts(options);
    const link = this.link(poolKeyOf(routeOf(from.id, to.id[1], mo.keepNetworkOrder)));
    const queued = this.room();
    const mark = link.enc.pending;
    link.enc.callAlias(from.id, to.id, ref, mo, request);
    this.admit(link, queued, mark);
    this.counted(link);
  }

  // --- control requests -------------------------------------------------------------------------

  /** @internal Sends a control request and waits for its MessageResult (matched by the whole Ref). */
  control<T>(
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
    const p = this.wait<T>(controlKey(ref), timeout, ref);
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
    if (this.batchable(pid, target)) {
      const ref = this.core.makeRef();
      let link: EnpLink;
      try {
        // The Control request's route: pool key Source.ID (never round robin), order 0.
        link = this.link(batchKey(pid.id));
        link.enc.batchMonitorPID(0, pid.id, target.id, ref.id);
      } catch (e) {
        return Promise.reject(e);
      }
      const p = this.wait<void>(controlKey(ref), DEFAULT_REQUEST_TIMEOUT, ref);
      this.counted(link);
      return p;
    }
    return this.control(new MessageMonitorPID({ source: pid, target }));
  }
  demonitorPID(pid: PID, target: PID): void {
    if (this.batchable(pid, target)) {
      const link = this.link(batchKey(pid.id));
      link.enc.batchDemonitorPID(0, pid.id, target.id);
      this.counted(link);
      return;
    }
    this.controlNoWait(new MessageDemonitorPID({ source: pid, target }));
  }

  /** A request of local `pid` about the peer's current process `target` may be a batch entry. */
  private batchable(pid: PID, target: PID): boolean {
    return (
      this.batching &&
      pid.node === this.localName &&
      pid.creation === this.localCreation &&
      target.node === this.peer &&
      target.creation === this.peerCreation
    );
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
    return remoteSpawnOn(this, name, request);
  }

  remoteApplicationStart(name: Atom, request: RemoteApplicationStart): Promise<void> {
    return remoteApplicationStartOn(this, name, request);
  }

  /**
   * Asks the peer for a snapshot of its application `name` (Ergo 3.2.0). Rejects with the peer's
   * error (ErrApplicationUnknown...), ErrMalformed for an answer that is not an application info,
   * ErrTimeout, ErrNoConnection. A peer older than 3.2.0 drops the request: ErrTimeout.
   */
  remoteApplicationInfo(name: Atom): Promise<ApplicationInfo> {
    return remoteApplicationInfoOn(this, name);
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
    this.heartbeat?.stop();
    this.requests.rejectAll(ErrNoConnection.with(`connection to ${this.peer} is closed`));
    this.host.connectionDown(this, reason, peerGone);
  }

  // --- LinkOwner: inbound -------------------------------------------------------------------------

  onLinkDown(link: EnpLink, reason: Error | null): void {
    const i = this.links.indexOf(link);
    if (i >= 0) this.links.splice(i, 1);
    const j = this.sendable.indexOf(link);
    if (j >= 0) this.sendable.splice(j, 1);
    // Only held links are left: they are all there is to send on.
    if (this.sendable.length === 0) for (const l of this.links) this.release(l);
    this.closedBytesIn += link.bytesIn;
    this.closedBytesOut += link.bytesOut;
    // At debug: a lost peer is told once, by the network's line for the connection; a link lost
    // while the others live is re-dialled, and only a failed re-dial is worth a warning.
    if (reason !== null) this.log.debug('link %s to %s closed: %s', link.dsn, this.peer, reason.message);
    if (this.links.length === 0) {
      if (this.alive) this.userLedger.atDown.bytes = link.userQueued;
      this.down(reason ?? ErrNoConnection.with(`${this.peer} closed the connection`), true);
    } else if (this.alive) this.host.linkLost(this);
  }

  onOrphanBytes(link: EnpLink, bytes: Buffer): void {
    for (const l of this.sendable) {
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

  /** Routes one decoded packet (inbound.ts). */
  onPacket(p: EnpPacket, link: EnpLink): void {
    if (link.held) this.release(link);
    this.messagesIn += p.batchCount > 0 ? p.batchCount : 1; // an event batch: one per event
    this.inbound.onPacket(p, link);
  }

  /** A held link (addLink) is used for sending from now on. */
  private release(link: EnpLink): void {
    if (!link.held) return;
    link.held = false;
    this.sendable.push(link);
  }

  /** InboundConnection: answers a control batch entry (see BatchConnection). */
  answerEntry(route: number, ref: WireID3, err: Error | null, result: unknown): void {
    answerEntryOn(this, route, ref, err, result);
  }

  /** InboundConnection: writes what every link holds now (see BatchConnection.flushAnswers). */
  flushAnswers(): void {
    for (const l of this.sendable) l.flushNow();
  }

  /** InboundConnection: sends the MessageResult of the peer's control request `request`. */
  answer(request: AnsweredRequest, err: Error | null, result: unknown): void {
    answerOn(this, request, err, result);
  }
}
