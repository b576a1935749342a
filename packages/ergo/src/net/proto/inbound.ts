// Inbound packets of one ENP connection (WIRE.md §3.2–3.4): each decoded packet is routed into
// the node's Core synchronously, from the link's data handler — sends, events, exits, calls,
// responses and acks, termination notices — and the peer's control requests (link/monitor,
// remote spawn and application start, application info, cache updates, heartbeats) are answered.
// The dispatcher keeps the last PIDs and names it built, so a stream from one process to one
// target allocates none per message.

import type { Atom } from '../../gen/atom.js';
import type { Core, RemoteApplicationStart, RemoteSpawnRequest } from '../../gen/core.js';
import {
  ErgoError,
  ErrIncorrect,
  ErrNoConnection,
  ErrProcessMailboxFull,
  ErrProcessTerminated,
  ErrProcessUnknown,
  toError,
} from '../../gen/errors.js';
import { Event } from '../../gen/event.js';
import type { Log } from '../../gen/log.js';
import type { MessageEvent } from '../../gen/messages.js';
import { eventStamps } from '../../gen/event_stamps.js';
import type { MessageOptions } from '../../gen/options.js';
import { PID } from '../../gen/pid.js';
import { ProcessID } from '../../gen/processid.js';
import { Alias, Ref } from '../../gen/ref.js';
import type { NetworkFlags } from '../edf/framework.js';
import { FrameworkTypeName, WireApplicationInfo } from '../edf/framework.js';
import { defaultRegistry } from '../edf/default.js';
import type { EdfType } from '../edf/type.js';
import { Go, typed } from '../edf/wrappers.js';
import type { EnpMessageOptions } from './encoder.js';
import type { EnpLink } from './link.js';
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
import { PacketType, ResponseCode, type EnpPacket, type WireID3 } from './packet.js';
import { spawnRequestOf } from './spawn_options.js';
import { dispatchControlBatch, type BatchConnection, type ControlBatchEntry } from './control_batch.js';
import { toWireApplicationInfo } from './application_info.js';
import { ackKey, responseAckKey, type RequestTable } from './waits.js';

/** A control request this side answers with a MessageResult. */
export type AnsweredRequest =
  ControlMessage<unknown> | MessageSpawn | MessageApplicationStart | MessageApplicationInfo | MessageUpdateCache;

/** What the dispatcher needs from its connection. */
export interface InboundConnection extends BatchConnection {
  readonly peer: Atom;
  readonly peerCreation: number;
  readonly log: Log;
  /** This node's announced flags (important delivery, remote spawn/start allowed). */
  readonly localFlags: NetworkFlags;
  /** The connection's waiting requests (acks and control answers settle them). */
  readonly requests: RequestTable;
  /** Sends the MessageResult of a control request (dropped, logged, once the connection is gone). */
  answer(request: AnsweredRequest, err: Error | null, result: unknown): void;
}

function num(v: number | bigint): number {
  return typeof v === 'bigint' ? Number(v) : v;
}

/** A packet's 3-part id as numbers: its own array (the decoder makes one per packet) unless it holds a bigint. */
function numIds(id: WireID3): [number, number, number] {
  if (typeof id[0] === 'number' && typeof id[1] === 'number' && typeof id[2] === 'number')
    return id as unknown as [number, number, number];
  return [num(id[0]), num(id[1]), num(id[2])];
}

/**
 * What a Core may add to route an ergo-ts event batch in one call (the engine's Core does; not
 * part of gen.Core): every event of the batch, in order, to the local subscribers of `event`,
 * looked up once. `payloads[0, count)` are taken (the slots are cleared: the decoder reuses the
 * arrays and must not keep the messages alive).
 */
export interface EventBatchCore {
  routeSendEvents(
    from: PID,
    options: MessageOptions,
    event: Event,
    count: number,
    stampHi: readonly number[],
    stampLo: readonly number[],
    payloads: unknown[],
  ): void;
}

/** What a link or monitor request names as its target. */
export type RelationTarget = PID | ProcessID | Alias | Event;

/**
 * What a Core may add to answer a peer's link or monitor request (an ENP control message) when
 * its target answers, not at once: a network endpoint whose processes live elsewhere (the tab
 * gateway's, `ergo-ts/net`'s startNetworkEndpoint). The peer gets its MessageResult when the
 * promise settles: a rejection is its error (the link or monitor is not made), an event's
 * buffered messages its result. Unlink and demonitor stay with the `route*` methods.
 */
export interface DeferredRelationsCore {
  routeRelationLater(kind: 'link' | 'monitor', pid: PID, target: RelationTarget): Promise<MessageEvent[] | undefined>;
}

/**
 * Routes one connection's inbound packets. Lifecycle: made with the connection; {@link
 * InboundDispatcher.onPacket} for each decoded packet (valid only during the call).
 */
export class InboundDispatcher {
  private readonly local: Atom;
  private readonly localCreation: number;
  private readonly peer: Atom;
  private readonly peerCreation: number;
  private readonly log: Log;
  // One options object reused for every ack (filled per packet).
  private readonly mo: EnpMessageOptions = {
    priority: 0,
    important: false,
    messageID: 0,
    keepNetworkOrder: true,
    compression: null,
  };

  constructor(
    private readonly core: Core,
    private readonly conn: InboundConnection,
  ) {
    this.local = core.name();
    this.localCreation = core.creation();
    this.peer = conn.peer;
    this.peerCreation = conn.peerCreation;
    this.log = conn.log;
    this.batchCore = typeof (core as Partial<EventBatchCore>).routeSendEvents === 'function';
  }

  // The last sender and name target seen: a stream from one process to one name allocates
  // neither a PID nor a ProcessID per message.
  private lastFrom: PID = new PID('' as Atom, -1, 0);
  private lastName: ProcessID = new ProcessID('' as Atom);
  // The last event seen: a stream of one event builds its Event (and its map key) once.
  private lastEvent: Event = new Event('' as Atom, '' as Atom);

  /** An ergo-ts event batch: each event to the local subscribers, in order. */
  private eventBatch(p: EnpPacket): void {
    const from = this.remotePID(p.fromID);
    let ev = this.lastEvent;
    if (ev.name !== p.name) this.lastEvent = ev = new Event(p.name as Atom, this.peer);
    const options = this.inOptions(p, undefined);
    const payloads = p.batchPayloads;
    const his = p.batchStampHi;
    const los = p.batchStampLo;
    const core = this.core;
    if (this.batchCore) {
      // The engine's Core looks the subscribers up once for the whole batch.
      (core as Core & EventBatchCore).routeSendEvents(from, options, ev, p.batchCount, his, los, payloads);
      return;
    }
    const stamps = eventStamps;
    for (let i = 0; i < p.batchCount; i++) {
      const m = stamps.make(ev, his[i]!, los[i]!, payloads[i]);
      payloads[i] = undefined; // the decoder's array must not keep the message alive
      core.routeSendEvent(from, ZERO_TOKEN, options, m);
    }
  }

  /** The Core routes a whole event batch at once (the engine's does; another Core gets each event). */
  private readonly batchCore: boolean;

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

  /** Routes one packet; a failure is logged (the link goes on). */
  onPacket(p: EnpPacket, link: EnpLink): void {
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
        if (p.important && this.conn.localFlags.enableImportantDelivery) {
          const ackFrom = p.type === PacketType.SendPID ? p.toID : 0;
          link.enc.sendResponseError(ackFrom, p.fromID, [p.messageID, 0, 0], this.ackOptions(p), err);
          link.touch();
        }
        return;
      }
      case PacketType.Event:
      case PacketType.EventCached: {
        const from = this.remotePID(p.fromID);
        let ev = this.lastEvent;
        if (ev.name !== p.name) this.lastEvent = ev = new Event(p.name as Atom, this.peer);
        const m = eventStamps.make(ev, p.stampHi, p.stampLo, p.payload);
        core.routeSendEvent(from, ZERO_TOKEN, this.inOptions(p, undefined), m);
        return;
      }
      case PacketType.EventBatch:
        this.eventBatch(p);
        return;
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
        if (num(p.id[1]) === 0 && num(p.id[2]) === 0 && this.conn.requests.settle(ackKey(p.id[0]), err)) return;
        // The ack of an important response this node sent.
        if (this.conn.requests.size > 0 && this.conn.requests.settle(responseAckKey(p.id), err)) return;
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
        this.onControl(p.payload);
        return;
      case PacketType.ControlBatch:
        dispatchControlBatch(p.payload as ControlBatchEntry[], this.core, this.conn);
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

  private onControl(m: unknown): void {
    if (m instanceof MessageResult) {
      this.conn.requests.settleControl(m.ref, m.error, m.result);
      return;
    }
    if (m instanceof MessageSpawn) {
      if (!this.conn.localFlags.enableRemoteSpawn)
        return this.log.warning('remote spawn of %s by %s refused: not enabled', m.name, this.peer);
      const o = m.options;
      const request: RemoteSpawnRequest = spawnRequestOf(o);
      let r: PID | Promise<PID>;
      try {
        r = this.core.routeSpawnNow(this.local, m.name as Atom, request, this.peer);
      } catch (e) {
        return this.conn.answer(m, toError(e), ZERO_PID);
      }
      // Init returned at once: answered in this turn, without a Promise per request.
      if (r instanceof PID) this.conn.answer(m, null, r);
      else
        r.then(
          (pid) => this.conn.answer(m, null, pid),
          (e: unknown) => this.conn.answer(m, toError(e), ZERO_PID),
        );
      return;
    }
    if (m instanceof MessageApplicationStart) {
      if (!this.conn.localFlags.enableRemoteApplicationStart)
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
        () => this.conn.answer(m, null, null),
        (e: unknown) => this.conn.answer(m, toError(e), null),
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
      return this.conn.answer(m, err, info);
    }
    if (m instanceof MessageUpdateCache) return this.conn.answer(m, null, null);
    if (!(m instanceof ControlMessage)) {
      this.log.warning(
        'control message %s from %s is not supported: dropped',
        String((m as object)?.constructor?.name),
        this.peer,
      );
      return;
    }
    const later = (this.core as Partial<DeferredRelationsCore>).routeRelationLater;
    if (later !== undefined && this.relateLater(later, m)) return;
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
    this.conn.answer(m, err, result);
  }

  /** A link or monitor request answered when the Core's promise settles (false: another request). */
  private relateLater(later: DeferredRelationsCore['routeRelationLater'], m: ControlMessage<unknown>): boolean {
    const link =
      m instanceof MessageLinkPID ||
      m instanceof MessageLinkProcessID ||
      m instanceof MessageLinkAlias ||
      m instanceof MessageLinkEvent;
    const monitor =
      m instanceof MessageMonitorPID ||
      m instanceof MessageMonitorProcessID ||
      m instanceof MessageMonitorAlias ||
      m instanceof MessageMonitorEvent;
    if (!link && !monitor) return false;
    const event = m instanceof MessageLinkEvent || m instanceof MessageMonitorEvent;
    const answer = (err: Error | null, events: MessageEvent[] | undefined): void => {
      try {
        this.conn.answer(m, err, event ? typedEvents(events ?? []) : null);
      } catch (e) {
        this.log.debug('answer to %s lost: %s', this.peer, toError(e).message);
      }
    };
    let p: Promise<MessageEvent[] | undefined>;
    try {
      p = later.call(this.core, link ? 'link' : 'monitor', m.source, m.target as RelationTarget);
    } catch (e) {
      answer(toError(e), undefined);
      return true;
    }
    p.then(
      (events) => answer(null, events),
      (e: unknown) => answer(toError(e), undefined),
    );
    return true;
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
