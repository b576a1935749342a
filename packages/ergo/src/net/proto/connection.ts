// The ENP:R1 connection to one remote node (WIRE.md §3): the gen `Connection` the engine's router
// talks to. Its outbound operations — sends, events, calls and responses, exit signals,
// termination notifications, link/monitor Control requests and remote spawns — encode straight
// into the link the pool key picks (link_pool.ts: pool key → link, order byte in the header),
// written once per event-loop turn; each user packet is admitted against the peer's buffer limit
// (flow.ts). Requests that wait for the peer live in one table swept by one timer (waits.ts);
// inbound packets are dispatched synchronously into the node's Core from the link's data handler
// (inbound.ts).

import type { ApplicationInfo } from '../../gen/application.js';
import type { Atom } from '../../gen/atom.js';
import type { Core, RemoteApplicationStart, RemoteSpawnRequest } from '../../gen/core.js';
import { ErrIncorrect, ErrProcessIncarnation, ErrUnsupported } from '../../gen/errors.js';
import type { Event } from '../../gen/event.js';
import type { Log } from '../../gen/log.js';
import type { MessageEvent } from '../../gen/messages.js';
import type { Connection, EventFanOut, RemoteNode } from '../../gen/network.js';
import { DEFAULT_REQUEST_TIMEOUT, type MessageOptions } from '../../gen/options.js';
import { type PID } from '../../gen/pid.js';
import type { ProcessID } from '../../gen/processid.js';
import { type Ref, type Alias } from '../../gen/ref.js';
import { type EnpMessageOptions } from './encoder.js';
import type { HandshakeResult } from '../handshake/handshake.js';
import type { AnsweredRequest } from './inbound.js';
import type { EnpLink } from './link.js';
import { EnpLinkPool, EVENT_ROOM_EVERY } from './link_pool.js';
import type { ConnectionHost, ConnectionTerms } from './connection_terms.js';
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
} from './messages.js';
import { controlRouteOf, exitRouteOf, poolKeyOf, routeOf } from './order.js';
import type { WireID3 } from './packet.js';
import { ackKey, controlKey, eventList, responseAckKey } from './waits.js';
import { batchKey } from './control_batch.js';
import {
  answerEntryOn,
  answerOn,
  remoteApplicationInfoOn,
  remoteApplicationStartOn,
  remoteSpawnOn,
} from './control_requests.js';

/**
 * One connection. Lifecycle: created by the network after the first link's handshake; extra
 * links arrive through {@link EnpConnection.addLink}; it ends when its last link closes or on
 * {@link EnpConnection.terminate}. After the end every outbound method throws ErrNoConnection.
 */
export class EnpConnection extends EnpLinkPool implements Connection {
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
  private nextMessageID = 1;
  private remote: RemoteNode | null = null;

  constructor(
    core: Core,
    private readonly host: ConnectionHost<EnpConnection>,
    log: Log,
    hs: HandshakeResult,
    terms: ConnectionTerms,
  ) {
    super(core, log, hs, terms);
  }

  protected ended(reason: Error, lost: boolean): void {
    this.host.connectionDown(this, reason, lost);
  }

  protected linkLost(): void {
    this.host.linkLost(this);
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

  /** InboundConnection: answers a control batch entry (see BatchConnection). */
  answerEntry(route: number, ref: WireID3, err: Error | null, result: unknown): void {
    answerEntryOn(this, route, ref, err, result);
  }

  /** InboundConnection: sends the MessageResult of the peer's control request `request`. */
  answer(request: AnsweredRequest, err: Error | null, result: unknown): void {
    answerOn(this, request, err, result);
  }
}
