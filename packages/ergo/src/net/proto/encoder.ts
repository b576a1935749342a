// The ENP:R1 packet encoder of one TCP link (WIRE.md §3.2–3.6). Packets are written straight
// into the link's growable output buffer — header, fixed fields and the EDF payload in one pass,
// the length patched afterwards — so a batch of packets costs no per-message concatenation; the
// link takes the whole batch with `flush()` once per event-loop turn and writes it at once.
// Compression replaces the packet just written by its wrapped form; the peer's announced
// MaxMessageSize is checked on the final (compressed) packet.

import { ErrTooLarge, ErgoError } from '../../gen/errors.js';
import type { EventFanOut } from '../../gen/network.js';
import { EdfEncoder } from '../edf/encoder.js';
import { EdfError } from '../edf/errors.js';
import { WireError } from '../error.js';
import { DEFAULT_COMPRESSION_THRESHOLD, PacketCompressor, algorithmOf } from './compression.js';
import { EVENT_BATCH_MAX, SharedEventBatch } from './event_batch.js';
import { BATCH_PACKET_LIMIT, BatchEntry } from './control_batch.js';
import { registerProtoTypes } from './messages.js';
import { defaultRegistry } from '../edf/default.js';
import { ENP_HEADER, ENP_MAGIC, ENP_VERSION, PacketType, ResponseCode } from './packet.js';
import {
  orderByte,
  responseCodeOf,
  writeID3,
  writeName,
  writePrio,
  writeStamp,
  writeU64,
  type EnpEncoderOptions,
  type EventTime,
  type EnpMessageOptions,
  type ID3,
  type U64,
} from './packet_fields.js';

export type { EnpEncoderOptions, EnpMessageOptions } from './packet_fields.js';
export { responseCodeOf } from './packet_fields.js';
export { EVENT_BATCH_MAX };

/**
 * Encodes ENP packets into one link's output buffer. Lifecycle: one per TCP link, created after
 * the handshake with this side's caches and the peer's limit; call the packet methods, then
 * {@link EnpEncoder.flush} to take the bytes. Not re-entrant. Every method either appends one
 * complete packet or appends nothing and throws: EdfError (payload not encodable, with its
 * path), WireError `ERR_ENP_ENCODE` (bad id, name too long), ErgoError `ERR_TOO_LARGE` (over the
 * peer's MaxMessageSize).
 */
export class EnpEncoder {
  /** The peer's MaxMessageSize (0 = none). */
  peerMaxMessageSize: number;
  readonly #e: EdfEncoder;
  readonly #atomCache: ReadonlyMap<string, number> | undefined;
  readonly #atomMapping: ReadonlyMap<string, string> | undefined;
  readonly #compressor = new PacketCompressor();
  #packets = 0;
  /** Start of the control batch packet written last (entries may be appended to it), or -1. */
  #batchAt = -1;
  /**
   * Index of this encoder's wire format in an {@link EventFanOut} (1: JS values, 0: plain EDF),
   * or -1 when its packets depend on per-link caches and are never shared.
   */
  readonly #format: number;
  /**
   * The open event batch at the buffer's tail (sendEventBatch): its start and where it ended
   * when last appended to (-1: none; the batch is open while nothing followed it), and what an
   * event must share with it to join it: sender, event name, priority and order byte.
   */
  #batchStart = -1;
  #batchEnd = -1;
  #batchFrom: U64 = 0;
  #batchName = '';
  #batchKey = -1;
  /** Bytes of the open batch before its first event. */
  #batchHead = 0;
  /**
   * Events of a shared batch this link takes, `[#mirrorFirst, #mirrorLast]` of `#mirror`, not
   * copied yet: logically after every byte in the buffer; copied in as one batch packet
   * (#materialize) before anything else is written, and on flush.
   */
  #mirror: SharedEventBatch | null = null;
  #mirrorFirst = 0;
  #mirrorLast = 0;
  /** The packet those events will make (counted in `pending`; 0 without `#mirror`). */
  #mirrorBytes = 0;
  /** The shared batch this encoder last added a publish's event to (the next may extend it). */
  #shared: SharedEventBatch | null = null;

  constructor(options: EnpEncoderOptions = {}) {
    const registry = options.registry ?? defaultRegistry;
    registerProtoTypes(registry);
    this.#e = new EdfEncoder({
      registry,
      atomCache: options.atomCache,
      typeCache: options.typeCache,
      errorCache: options.errorCache,
      atomMapping: options.atomMapping,
      limits: { ...options.limits, maxMessageSize: 0xffffffff },
      jsValues: options.jsValues === true,
    });
    this.#atomCache = options.atomCache?.size ? options.atomCache : undefined;
    this.#atomMapping = options.atomMapping?.size ? options.atomMapping : undefined;
    const perLink =
      options.atomCache?.size || options.typeCache?.size || options.errorCache?.size || options.atomMapping?.size;
    this.#format = perLink || registry !== defaultRegistry ? -1 : options.jsValues === true ? 1 : 0;
    const max = options.peerMaxMessageSize ?? 0;
    if (!Number.isSafeInteger(max) || max < 0)
      throw new WireError('ERR_ENP_ENCODE', `peerMaxMessageSize must be a non-negative integer, got ${String(max)}`);
    this.peerMaxMessageSize = max;
  }

  /** @internal The EDF encoder holding this link's output (the in-host private frame writes into it). */
  get edf(): EdfEncoder {
    return this.#e;
  }

  /**
   * @internal Before a subclass writes a frame of its own at the end of the output (the in-host
   * private frame's records): the events this link took from a shared batch are written first
   * (they were published before it), and no batch packet stays open to be extended past it.
   * Returns the output's encoder.
   */
  protected openRaw(): EdfEncoder {
    if (this.#mirror !== null) this.#materialize();
    this.#batchAt = -1;
    this.#batchEnd = -1;
    return this.#e;
  }

  /** Bytes waiting in the buffer. */
  get pending(): number {
    return this.#e.pos + this.#mirrorBytes;
  }

  /** Packets waiting in the buffer. */
  get pendingPackets(): number {
    return this.#packets;
  }

  /** Takes every packet written since the last flush (a fresh Buffer the caller owns), or undefined if none. */
  flush(): Buffer | undefined {
    if (this.#mirror !== null) this.#materialize();
    const e = this.#e;
    if (e.pos === 0) return undefined;
    const out = Buffer.allocUnsafe(e.pos);
    e.buf.copy(out, 0, 0, e.pos);
    e.reset();
    this.#packets = 0;
    this.#batchEnd = -1;
    this.#batchAt = -1;
    return out;
  }

  /**
   * Every packet written since the last flush as a view of the encoder's own buffer (no copy),
   * or undefined if none. The view stays valid until {@link EnpEncoder.release}, which must be
   * called before the next packet is written.
   */
  peek(): Buffer | undefined {
    if (this.#mirror !== null) this.#materialize();
    const e = this.#e;
    return e.pos === 0 ? undefined : e.buf.subarray(0, e.pos);
  }

  /**
   * Ends a {@link EnpEncoder.peek}: the buffer is empty again. `kept`: the peeked bytes are still
   * referenced (a socket write queued them), so the encoder moves to a fresh buffer instead of
   * overwriting them.
   */
  release(kept: boolean): void {
    if (kept) this.#e.detach();
    else this.#e.reset();
    this.#packets = 0;
    this.#batchEnd = -1;
    this.#batchAt = -1;
  }

  /**
   * Takes back every byte written after `mark` (a {@link EnpEncoder.pending} read before the
   * packet was encoded): the packet is not sent. Only between a peek/release pair's uses.
   */
  truncate(mark: number): void {
    if (this.#mirror !== null) this.#materialize();
    const e = this.#e;
    if (mark < 0 || mark > e.pos) return;
    if (this.#batchEnd === e.pos && mark > this.#batchStart) {
      // An event appended to the open batch: the batch stays, one event shorter.
      e.dv.setUint32(this.#batchStart + 2, mark - this.#batchStart);
      this.#batchEnd = e.pos = mark;
      return;
    }
    if (mark < e.pos) this.#packets--;
    if (this.#batchEnd > mark) this.#batchEnd = -1;
    e.pos = mark;
    this.#batchAt = -1;
  }

  // ---- messages ----

  /** 101: send to a PID. Order byte to.ID (keepNetworkOrder). */
  sendPID(fromID: U64, toID: U64, opts: EnpMessageOptions, message: unknown): void {
    const s = this.#begin(opts.keepNetworkOrder ? orderByte(toID) : 0, PacketType.SendPID);
    try {
      writeU64(this.#e, fromID);
      writePrio(this.#e, opts);
      writeU64(this.#e, opts.important ? opts.messageID : 0);
      writeU64(this.#e, toID);
      this.#payload(message);
    } catch (err) {
      throw this.#abort(s, err);
    }
    this.#end(s, opts);
  }

  /** 102/103: send to a registered name on the peer. Order byte from.ID. */
  sendProcessID(fromID: U64, name: string, opts: EnpMessageOptions, message: unknown): void {
    const id = this.#cachedName(name);
    const s = this.#begin(
      opts.keepNetworkOrder ? orderByte(fromID) : 0,
      id === 0 ? PacketType.SendName : PacketType.SendNameCached,
    );
    try {
      writeU64(this.#e, fromID);
      writePrio(this.#e, opts);
      writeU64(this.#e, opts.important ? opts.messageID : 0);
      writeName(this.#e, name, id, this.#atomMapping);
      this.#payload(message);
    } catch (err) {
      throw this.#abort(s, err);
    }
    this.#end(s, opts);
  }

  /** 104: send to an alias of the peer. Order byte alias.ID[1]. */
  sendAlias(fromID: U64, aliasID: ID3, opts: EnpMessageOptions, message: unknown): void {
    const s = this.#begin(opts.keepNetworkOrder ? orderByte(aliasID[1]) : 0, PacketType.SendAlias);
    try {
      writeU64(this.#e, fromID);
      writePrio(this.#e, opts);
      writeU64(this.#e, opts.important ? opts.messageID : 0);
      writeID3(this.#e, aliasID);
      this.#payload(message);
    } catch (err) {
      throw this.#abort(s, err);
    }
    this.#end(s, opts);
  }

  /** 105/106: an event of this node, `message` being `MessageEvent.Message`. Order byte from.ID. */
  sendEvent(fromID: U64, eventName: string, timestamp: EventTime, opts: EnpMessageOptions, message: unknown): void {
    const id = this.#cachedName(eventName);
    const s = this.#begin(
      opts.keepNetworkOrder ? orderByte(fromID) : 0,
      id === 0 ? PacketType.Event : PacketType.EventCached,
    );
    try {
      writeU64(this.#e, fromID);
      this.#e.u8(opts.priority & 0xff);
      writeStamp(this.#e, timestamp);
      writeName(this.#e, eventName, id, this.#atomMapping);
      this.#payload(message);
    } catch (err) {
      throw this.#abort(s, err);
    }
    this.#end(s, opts);
  }

  /**
   * {@link EnpEncoder.sendEvent} for one publish sent to several links: the first encoder of each
   * wire format encodes the packet and leaves a view of it in `shared`, the others append those
   * bytes (the same: the event packet holds no per-link state). `shared` is valid only during
   * the one synchronous fan-out it was made for. The peer's MaxMessageSize is still checked per
   * link.
   */
  sendEventShared(
    fromID: U64,
    eventName: string,
    timestamp: EventTime,
    opts: EnpMessageOptions,
    message: unknown,
    shared: EventFanOut,
  ): void {
    const f = this.#format;
    if (f < 0) return this.sendEvent(fromID, eventName, timestamp, opts, message);
    const done = shared.packets[f];
    const e = this.#e;
    if (done === undefined) {
      const start = e.pos;
      this.sendEvent(fromID, eventName, timestamp, opts, message);
      // A view, not a copy (a copy's backing store cost more than encoding again): the bytes
      // stay as they are until this encoder writes its next packet, which no other link of the
      // same synchronous fan-out does (a flush leaves them in place or hands them to the socket).
      const b = e.buf;
      shared.packets[f] = new Uint8Array(b.buffer, b.byteOffset + start, e.pos - start);
      return;
    }
    if (this.#mirror !== null) this.#materialize();
    if (this.peerMaxMessageSize > 0 && done.length > this.peerMaxMessageSize)
      throw ErrTooLarge.with(
        `packet of ${done.length} bytes exceeds the peer's MaxMessageSize (${this.peerMaxMessageSize})`,
      );
    e.bytes(done);
    this.#packets++;
  }

  /**
   * 230 (ergo-ts only: for a peer that announced `eventBatch`): an event like
   * {@link EnpEncoder.sendEvent}, appended to the batch packet at the buffer's tail when that
   * batch is of the same sender, event name, priority and order byte and nothing was written
   * after it; else a new batch packet. Layout: header, u64 from, u8 priority, u8 name length +
   * name, then per event: i64 timestamp, u32 length, EDF message. A batch stays under
   * EVENT_BATCH_MAX bytes and under the peer's MaxMessageSize. With `shared` (one publish to
   * several links), the first batching encoder encodes the event once into a SharedEventBatch
   * and every link of that wire format without a MaxMessageSize only notes that it takes it: the
   * bytes are copied in once per batch, before the link writes anything else and on flush
   * (`pending` counts them meanwhile); links with a MaxMessageSize copy the event's bytes into a
   * batch of their own. Encoders with per-link caches (and compressed events) send plain event
   * packets.
   */
  sendEventBatch(
    fromID: U64,
    eventName: string,
    timestamp: EventTime,
    opts: EnpMessageOptions,
    message: unknown,
    shared: EventFanOut | undefined,
  ): void {
    const f = this.#format;
    const c = opts.compression;
    if (f < 0 || (c != null && c.enable)) {
      if (shared === undefined) return this.sendEvent(fromID, eventName, timestamp, opts, message);
      return this.sendEventShared(fromID, eventName, timestamp, opts, message, shared);
    }
    const order = opts.keepNetworkOrder ? orderByte(fromID) : 0;
    const key = (opts.priority & 0xff) | (order << 8);
    const max = this.peerMaxMessageSize;
    let sb: SharedEventBatch | null = null;
    let k = -1;
    if (shared !== undefined) {
      sb = shared.batch as SharedEventBatch | null;
      if (sb === null) sb = this.#shareEvent(fromID, eventName, timestamp, key, order, message, shared);
      k = shared.batchIndex;
      if (sb.format !== f) sb = null;
      else if (max === 0) {
        // Take the event without copying it: the next of the shared batch's events this link takes.
        if (this.#mirror === sb && this.#mirrorLast === k - 1) {
          this.#mirrorLast = k;
          this.#mirrorBytes += sb.ends[k]! - sb.ends[k - 1]!;
          return;
        }
        if (this.#mirror !== null) this.#materialize();
        this.#mirror = sb;
        this.#mirrorFirst = this.#mirrorLast = k;
        this.#mirrorBytes = sb.packetSize(k, k);
        return;
      }
    }
    if (this.#mirror !== null) this.#materialize();
    const e = this.#e;
    // The event's bytes as this publish's shared batch holds them (same wire format).
    const src = sb === null ? null : sb.buf;
    const srcAt = sb === null ? 0 : sb.startOf(k);
    const srcLength = sb === null ? 0 : sb.ends[k]! - srcAt;
    let s = this.#batchStart;
    const open =
      this.#batchEnd === e.pos &&
      this.#batchKey === key &&
      this.#batchFrom === fromID &&
      this.#batchName === eventName &&
      e.pos - s < EVENT_BATCH_MAX &&
      (src === null || max === 0 || e.pos - s + srcLength <= max);
    if (!open) {
      s = this.#begin(order, PacketType.EventBatch);
      try {
        writeU64(this.#e, fromID);
        e.u8(opts.priority & 0xff);
        writeName(this.#e, eventName, 0, this.#atomMapping);
      } catch (err) {
        throw this.#abort(s, err);
      }
    }
    const at = e.pos;
    if (src !== null) {
      e.ensure(srcLength);
      src.copy(e.buf, e.pos, srcAt, srcAt + srcLength);
      e.pos += srcLength;
    } else {
      try {
        writeStamp(this.#e, timestamp);
        e.u32(0);
        this.#payload(message);
      } catch (err) {
        throw this.#abort(open ? at : s, err);
      }
      e.dv.setUint32(at + 8, e.pos - at - 12);
    }
    const length = e.pos - s;
    if (max > 0 && length > max) {
      const alone = this.#batchHead + e.pos - at;
      e.pos = at;
      if (!open || alone > max) {
        // Too large even alone in a batch: refused, the open batch (if any) stays as it was.
        if (!open) e.pos = s;
        throw ErrTooLarge.with(
          `event batch of ${open ? alone : length} bytes exceeds the peer's MaxMessageSize (${max})`,
        );
      }
      // It starts the next batch.
      this.#batchEnd = -1;
      return this.sendEventBatch(fromID, eventName, timestamp, opts, message, shared);
    }
    e.dv.setUint32(s + 2, length);
    if (!open) {
      this.#packets++;
      this.#batchHead = at - s;
      this.#batchStart = s;
      this.#batchKey = key;
      this.#batchFrom = fromID;
      this.#batchName = eventName;
    }
    this.#batchEnd = e.pos;
  }

  /** 107: exit signal from a local process to a peer PID (never compressed; always ordered). */
  sendExit(fromID: U64, toID: U64, reason: Error): void {
    const s = this.#begin(orderByte(toID), PacketType.Exit);
    try {
      writeU64(this.#e, fromID);
      this.#e.u8(2);
      writeU64(this.#e, toID);
      this.#payload(reason);
    } catch (err) {
      throw this.#abort(s, err);
    }
    this.#end(s, null);
  }

  // ---- requests and responses ----

  /** 121: call a PID. `refID` is the caller's ref (Go puts the deadline in refID[2]). Order to.ID. */
  callPID(fromID: U64, toID: U64, refID: ID3, opts: EnpMessageOptions, request: unknown): void {
    const s = this.#begin(opts.keepNetworkOrder ? orderByte(toID) : 0, PacketType.CallPID);
    try {
      writeU64(this.#e, fromID);
      writePrio(this.#e, opts);
      writeID3(this.#e, refID);
      writeU64(this.#e, toID);
      this.#payload(request);
    } catch (err) {
      throw this.#abort(s, err);
    }
    this.#end(s, opts);
  }

  /** 122/123: call a registered name on the peer. Order from.ID. */
  callProcessID(fromID: U64, name: string, refID: ID3, opts: EnpMessageOptions, request: unknown): void {
    const id = this.#cachedName(name);
    const s = this.#begin(
      opts.keepNetworkOrder ? orderByte(fromID) : 0,
      id === 0 ? PacketType.CallName : PacketType.CallNameCached,
    );
    try {
      writeU64(this.#e, fromID);
      writePrio(this.#e, opts);
      writeID3(this.#e, refID);
      writeName(this.#e, name, id, this.#atomMapping);
      this.#payload(request);
    } catch (err) {
      throw this.#abort(s, err);
    }
    this.#end(s, opts);
  }

  /** 124: call an alias of the peer. Order alias.ID[1]. */
  callAlias(fromID: U64, aliasID: ID3, refID: ID3, opts: EnpMessageOptions, request: unknown): void {
    const s = this.#begin(opts.keepNetworkOrder ? orderByte(aliasID[1]) : 0, PacketType.CallAlias);
    try {
      writeU64(this.#e, fromID);
      writePrio(this.#e, opts);
      writeID3(this.#e, refID);
      writeID3(this.#e, aliasID);
      this.#payload(request);
    } catch (err) {
      throw this.#abort(s, err);
    }
    this.#end(s, opts);
  }

  /** 129: the response to a call (`toID` = the caller, `refID` = its ref). Order to.ID. */
  sendResponse(fromID: U64, toID: U64, refID: ID3, opts: EnpMessageOptions, response: unknown): void {
    const s = this.#begin(opts.keepNetworkOrder ? orderByte(toID) : 0, PacketType.Response);
    try {
      writeU64(this.#e, fromID);
      writePrio(this.#e, opts);
      writeU64(this.#e, toID);
      writeID3(this.#e, refID);
      this.#payload(response);
    } catch (err) {
      throw this.#abort(s, err);
    }
    this.#end(s, opts);
  }

  /**
   * 130: an error response or a delivery ack. `err` null → code 0; Ergo's ProcessUnknown,
   * MailboxFull and ProcessTerminated → codes 1–3; any other error → 255 with the error encoded.
   * For an ack of an important send, `refID` is `[messageID, 0, 0]`. Order to.ID.
   */
  sendResponseError(fromID: U64, toID: U64, refID: ID3, opts: EnpMessageOptions, err: Error | null): void {
    const code = responseCodeOf(err);
    const s = this.#begin(opts.keepNetworkOrder ? orderByte(toID) : 0, PacketType.ResponseError);
    try {
      writeU64(this.#e, fromID);
      writePrio(this.#e, opts);
      writeU64(this.#e, toID);
      writeID3(this.#e, refID);
      this.#e.u8(code);
      if (code === ResponseCode.Error) this.#payload(err);
    } catch (e) {
      throw this.#abort(s, e);
    }
    this.#end(s, opts);
  }

  // ---- termination notifications (never compressed, unordered) ----

  /** 181: a local process the peer links/monitors terminated. */
  sendTerminatePID(targetID: U64, reason: Error): void {
    const s = this.#begin(0, PacketType.TerminatePID);
    try {
      this.#e.u8(1);
      writeU64(this.#e, targetID);
      this.#payload(reason);
    } catch (err) {
      throw this.#abort(s, err);
    }
    this.#end(s, null);
  }

  /** 182/183: a local registered name the peer links/monitors terminated or was unregistered. */
  sendTerminateProcessID(name: string, reason: Error): void {
    this.#terminateNamed(name, reason, PacketType.TerminateName, PacketType.TerminateNameCached);
  }

  /** 184: a local alias the peer links/monitors was deleted or its owner terminated. */
  sendTerminateAlias(aliasID: ID3, reason: Error): void {
    const s = this.#begin(0, PacketType.TerminateAlias);
    try {
      this.#e.u8(1);
      writeID3(this.#e, aliasID);
      this.#payload(reason);
    } catch (err) {
      throw this.#abort(s, err);
    }
    this.#end(s, null);
  }

  /** 185/186: a local event the peer subscribed to was unregistered or its producer terminated. */
  sendTerminateEvent(eventName: string, reason: Error): void {
    this.#terminateNamed(eventName, reason, PacketType.TerminateEvent, PacketType.TerminateEventCached);
  }

  // ---- control ----

  /**
   * 199: a control request or result (a registered `proto` struct). `route` is the result of
   * `controlRouteOf` / `controlResultRouteOf` (its low byte is the order byte). Never compressed.
   */
  sendControl(route: number, message: object): void {
    const s = this.#begin(route & 0xff, PacketType.Control);
    try {
      this.#payload(message);
    } catch (err) {
      throw this.#abort(s, err);
    }
    this.#end(s, null);
  }

  // ---- control batch (231): ergo-ts peers that announced controlBatch only ----

  /** Monitor request of a local process (`sourceID`) for the peer's process `targetID`. */
  batchMonitorPID(order: number, sourceID: U64, targetID: U64, ref: ID3): void {
    const at = this.#batchOpen(order);
    try {
      this.#e.u8(BatchEntry.MonitorPID);
      writeU64(this.#e, sourceID);
      writeU64(this.#e, targetID);
      writeID3(this.#e, ref);
    } catch (err) {
      throw this.#batchAbort(at, err);
    }
    this.#batchClose(at);
  }

  /** Demonitor of the peer's process `targetID` by a local process (`sourceID`); not answered. */
  batchDemonitorPID(order: number, sourceID: U64, targetID: U64): void {
    const at = this.#batchOpen(order);
    try {
      this.#e.u8(BatchEntry.DemonitorPID);
      writeU64(this.#e, sourceID);
      writeU64(this.#e, targetID);
    } catch (err) {
      throw this.#batchAbort(at, err);
    }
    this.#batchClose(at);
  }

  /**
   * Remote spawn request: factory `name`, `options` (a ProcessOptionsExtra) as EDF, or the bytes
   * of such an encoding. `keep`: returns a copy of the options' bytes (else null).
   */
  batchSpawn(order: number, ref: ID3, name: string, options: unknown, keep = false): Uint8Array | null {
    const at = this.#batchOpen(order);
    const e = this.#e;
    let kept: Uint8Array | null = null;
    try {
      e.u8(BatchEntry.Spawn);
      writeID3(this.#e, ref);
      writeName(this.#e, name, 0, this.#atomMapping);
      const lengthAt = e.pos;
      e.u32(0);
      if (options instanceof Uint8Array) e.bytes(options);
      else this.#payload(options);
      e.dv.setUint32(lengthAt, e.pos - lengthAt - 4);
      // A copy: Buffer's slice is a view, and the encoder's buffer is written over once this
      // packet has gone out (the next spawn then sent whatever followed: a packet its peer
      // could not decode, the spawns in it never answered).
      if (keep) kept = new Uint8Array(e.buf.subarray(lengthAt + 4, e.pos));
    } catch (err) {
      throw this.#batchAbort(at, err);
    }
    this.#batchClose(at);
    return kept;
  }

  /** Success answer to the peer's request `ref`: nil error, and the spawned PID's id when `pidID` is given. */
  batchResult(order: number, ref: ID3, pidID: U64 | null): void {
    const at = this.#batchOpen(order);
    try {
      this.#e.u8(pidID === null ? BatchEntry.ResultOK : BatchEntry.ResultPID);
      writeID3(this.#e, ref);
      if (pidID !== null) writeU64(this.#e, pidID);
    } catch (err) {
      throw this.#batchAbort(at, err);
    }
    this.#batchClose(at);
  }

  /** Where the next entry goes: the open batch packet, or a new one. Returns the entry's offset. */
  #batchOpen(order: number): number {
    // Events this link took from a shared batch come first: they were sent before this entry.
    if (this.#mirror !== null) this.#materialize();
    const e = this.#e;
    const b = this.#batchAt;
    if (b >= 0 && e.pos - b < this.#batchLimit()) return e.pos;
    const start = this.#begin(order, PacketType.ControlBatch);
    this.#batchAt = start;
    return -1 - start;
  }

  /** Bytes a batch packet may hold: below the peer's MaxMessageSize when it announced one. */
  #batchLimit(): number {
    const max = this.peerMaxMessageSize;
    return max > 0 && max < BATCH_PACKET_LIMIT ? max : BATCH_PACKET_LIMIT;
  }

  /** `at` from #batchOpen: the entry's offset (appended), or -1 - the new packet's start. */
  #batchClose(at: number): void {
    const e = this.#e;
    const start = this.#batchAt;
    const length = e.pos - start;
    if (this.peerMaxMessageSize > 0 && length > this.peerMaxMessageSize) {
      if (at < 0) {
        e.pos = start;
        this.#batchAt = -1;
        throw ErrTooLarge.with(
          `packet of ${length} bytes exceeds the peer's MaxMessageSize (${this.peerMaxMessageSize})`,
        );
      }
      // The entry does not fit the open packet: it moves to a packet of its own.
      const n = e.pos - at;
      e.ensure(ENP_HEADER);
      e.buf.copyWithin(at + ENP_HEADER, at, at + n);
      e.pos = at;
      const s = this.#begin(e.buf[start + 6]!, PacketType.ControlBatch);
      e.pos = s + ENP_HEADER + n;
      this.#batchAt = s;
      this.#batchClose(-1 - s);
      return;
    }
    e.dv.setUint32(start + 2, length);
    if (at < 0) this.#packets++;
  }

  #batchAbort(at: number, err: unknown): Error {
    if (at < 0) {
      const e = this.#abort(-1 - at, err);
      this.#batchAt = -1;
      return e;
    }
    // Only this entry goes: the batch packet holds what it held.
    const x = this.#abort(at, err);
    this.#e.pos = at;
    return x;
  }

  // ---- internals ----

  /**
   * The first batching link of a publish: adds the event to its shared batch (the one it added
   * to last, when this publish may extend it; else a new one) and records it in `shared`. Encodes in the free space after the buffer's bytes, then copies out.
   */
  #shareEvent(
    fromID: U64,
    name: string,
    timestamp: EventTime,
    key: number,
    order: number,
    message: unknown,
    shared: EventFanOut,
  ): SharedEventBatch {
    const e = this.#e;
    const at = e.pos;
    let sb = this.#shared;
    if (sb === null || !sb.takes(fromID, name, key)) {
      try {
        writeU64(this.#e, fromID);
        e.u8(key & 0xff);
        writeName(this.#e, name, 0, this.#atomMapping);
      } catch (err) {
        throw this.#abort(at, err);
      }
      sb = new SharedEventBatch(fromID, name, key, this.#format, order, Buffer.from(e.buf.subarray(at, e.pos)));
      e.pos = at;
    }
    try {
      writeStamp(this.#e, timestamp);
      e.u32(0);
      this.#payload(message);
    } catch (err) {
      throw this.#abort(at, err);
    }
    e.dv.setUint32(at + 8, e.pos - at - 12);
    shared.batchIndex = sb.add(e.buf, at, e.pos - at);
    shared.batch = this.#shared = sb;
    e.pos = at;
    return sb;
  }

  /** Copies the shared batch events this link took in as one batch packet (left open). */
  #materialize(): void {
    const sb = this.#mirror!;
    this.#mirror = null;
    this.#mirrorBytes = 0;
    const s = this.#begin(sb.order, PacketType.EventBatch);
    const e = this.#e;
    e.bytes(sb.head);
    const from = sb.startOf(this.#mirrorFirst);
    const to = sb.ends[this.#mirrorLast]!;
    e.ensure(to - from);
    sb.buf.copy(e.buf, e.pos, from, to);
    e.pos += to - from;
    e.dv.setUint32(s + 2, e.pos - s);
    this.#packets++;
    this.#batchStart = s;
    this.#batchEnd = e.pos;
    this.#batchKey = sb.key;
    this.#batchFrom = sb.fromID;
    this.#batchName = sb.name;
    this.#batchHead = ENP_HEADER + sb.head.length;
  }

  #terminateNamed(name: string, reason: Error, plain: number, cached: number): void {
    const id = this.#cachedName(name);
    const s = this.#begin(0, id === 0 ? plain : cached);
    try {
      this.#e.u8(1);
      writeName(this.#e, name, id, this.#atomMapping);
      this.#payload(reason);
    } catch (err) {
      throw this.#abort(s, err);
    }
    this.#end(s, null);
  }

  #begin(order: number, type: number): number {
    if (this.#mirror !== null) this.#materialize();
    const e = this.#e;
    const start = e.pos;
    this.#batchAt = -1;
    e.ensure(ENP_HEADER);
    const b = e.buf;
    b[start] = ENP_MAGIC;
    b[start + 1] = ENP_VERSION;
    b[start + 6] = order;
    b[start + 7] = type;
    e.pos = start + ENP_HEADER;
    return start;
  }

  /** Finishes the packet at `start`: length, compression, the peer's size limit. */
  #end(start: number, opts: EnpMessageOptions | null): void {
    const e = this.#e;
    let length = e.pos - start;
    e.dv.setUint32(start + 2, length);
    const c = opts?.compression;
    if (c != null && c.enable && length > (c.threshold ?? DEFAULT_COMPRESSION_THRESHOLD)) {
      const algo = algorithmOf(c.type);
      const inner = e.buf.subarray(start, e.pos);
      const order = inner[6]!;
      let z: Uint8Array;
      try {
        z = this.#compressor.compress(algo, c.level, inner);
      } catch (err) {
        throw this.#abort(start, err);
      }
      e.pos = start;
      this.#begin(order, PacketType.Compressed);
      e.u8(algo);
      e.u32(length);
      e.bytes(z);
      length = e.pos - start;
      e.dv.setUint32(start + 2, length);
    }
    if (this.peerMaxMessageSize > 0 && length > this.peerMaxMessageSize) {
      e.pos = start;
      throw ErrTooLarge.with(
        `packet of ${length} bytes exceeds the peer's MaxMessageSize (${this.peerMaxMessageSize})`,
      );
    }
    this.#packets++;
  }

  #abort(start: number, err: unknown): Error {
    this.#e.pos = start;
    if (err instanceof EdfError || err instanceof WireError || err instanceof ErgoError) return err;
    return new WireError('ERR_ENP_ENCODE', `packet cannot be encoded: ${String((err as Error)?.message ?? err)}`, {
      cause: err,
    });
  }

  #payload(value: unknown): void {
    this.#e.encodeTo(value);
  }

  /** The atom-cache id of a target name (after mapping), or 0 to send it inline. */
  #cachedName(name: string): number {
    const c = this.#atomCache;
    if (c === undefined) return 0;
    return c.get(this.#atomMapping?.get(name) ?? name) ?? 0;
  }
}
