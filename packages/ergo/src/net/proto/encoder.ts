// The ENP:R1 encoder of one TCP link (WIRE.md §3.2–3.6): the packets of one message each
// (message_packets.ts) written into the link's output (packet_output.ts), and here the ergo-ts
// batch packets, sent only to a peer that announced them: the event batch (230), to which the
// events of one sender and event name append while nothing else was written after it, and one
// publish to many links encodes its event once (a SharedEventBatch the links copy, or take
// without copying until they write anything else); and the control batch (231), whose entries
// (monitor and demonitor of a PID, spawn, their answers) append to the open batch packet.

import { ErrTooLarge } from '../../gen/errors.js';
import type { EventFanOut } from '../../gen/network.js';
import { BATCH_PACKET_LIMIT, BatchEntry } from './control_batch.js';
import { EVENT_BATCH_MAX, SharedEventBatch } from './event_batch.js';
import { EnpMessagePackets } from './message_packets.js';
import { ENP_HEADER, PacketType } from './packet.js';
import { orderByte, writeID3, writeName, writeStamp, writeU64 } from './packet_fields.js';
import type { EventTime, EnpMessageOptions, ID3, U64 } from './packet_fields.js';

export type { EnpEncoderOptions, EnpMessageOptions } from './packet_fields.js';
export { responseCodeOf } from './packet_fields.js';
export { EVENT_BATCH_MAX };

/**
 * Encodes ENP packets into one link's output buffer. Lifecycle: one per TCP link, created after
 * the handshake with this side's caches and the peer's limit; call the packet methods, then
 * {@link EnpEncoder.flush} to take the bytes. Not re-entrant. Every method either appends one
 * complete packet (or batch entry) or appends nothing and throws: EdfError (payload not
 * encodable, with its path), WireError `ERR_ENP_ENCODE` (bad id, name too long), ErgoError
 * `ERR_TOO_LARGE` (over the peer's MaxMessageSize).
 */
export class EnpEncoder extends EnpMessagePackets {
  /** The shared batch this encoder last added a publish's event to (the next may extend it). */
  private shared: SharedEventBatch | null = null;

  // ---- event batch (230): ergo-ts peers that announced eventBatch only ----

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
    const f = this.format;
    if (f < 0) return this.sendEvent(fromID, eventName, timestamp, opts, message);
    const done = shared.packets[f];
    const e = this.out;
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
    if (this.mirror !== null) this.materialize();
    if (this.peerMaxMessageSize > 0 && done.length > this.peerMaxMessageSize)
      throw ErrTooLarge.with(
        `packet of ${done.length} bytes exceeds the peer's MaxMessageSize (${this.peerMaxMessageSize})`,
      );
    e.bytes(done);
    this.packets++;
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
    const f = this.format;
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
      if (sb === null) sb = this.shareEvent(fromID, eventName, timestamp, key, order, message, shared);
      k = shared.batchIndex;
      if (sb.format !== f) sb = null;
      else if (max === 0) {
        // Take the event without copying it: the next of the shared batch's events this link takes.
        if (this.mirror === sb && this.mirrorLast === k - 1) {
          this.mirrorLast = k;
          this.mirrorBytes += sb.ends[k]! - sb.ends[k - 1]!;
          return;
        }
        if (this.mirror !== null) this.materialize();
        this.mirror = sb;
        this.mirrorFirst = this.mirrorLast = k;
        this.mirrorBytes = sb.packetSize(k, k);
        return;
      }
    }
    if (this.mirror !== null) this.materialize();
    const e = this.out;
    // The event's bytes as this publish's shared batch holds them (same wire format).
    const src = sb === null ? null : sb.buf;
    const srcAt = sb === null ? 0 : sb.startOf(k);
    const srcLength = sb === null ? 0 : sb.ends[k]! - srcAt;
    let s = this.batchStart;
    const open =
      this.batchEnd === e.pos &&
      this.batchKey === key &&
      this.batchFrom === fromID &&
      this.batchName === eventName &&
      e.pos - s < EVENT_BATCH_MAX &&
      (src === null || max === 0 || e.pos - s + srcLength <= max);
    if (!open) {
      s = this.begin(order, PacketType.EventBatch);
      try {
        writeU64(this.out, fromID);
        e.u8(opts.priority & 0xff);
        writeName(this.out, eventName, 0, this.atomMapping);
      } catch (err) {
        throw this.abort(s, err);
      }
    }
    const at = e.pos;
    if (src !== null) {
      e.ensure(srcLength);
      src.copy(e.buf, e.pos, srcAt, srcAt + srcLength);
      e.pos += srcLength;
    } else {
      try {
        writeStamp(this.out, timestamp);
        e.u32(0);
        this.payload(message);
      } catch (err) {
        throw this.abort(open ? at : s, err);
      }
      e.dv.setUint32(at + 8, e.pos - at - 12);
    }
    const length = e.pos - s;
    if (max > 0 && length > max) {
      const alone = this.batchHead + e.pos - at;
      e.pos = at;
      if (!open || alone > max) {
        // Too large even alone in a batch: refused, the open batch (if any) stays as it was.
        if (!open) e.pos = s;
        throw ErrTooLarge.with(
          `event batch of ${open ? alone : length} bytes exceeds the peer's MaxMessageSize (${max})`,
        );
      }
      // It starts the next batch.
      this.batchEnd = -1;
      return this.sendEventBatch(fromID, eventName, timestamp, opts, message, shared);
    }
    e.dv.setUint32(s + 2, length);
    if (!open) {
      this.packets++;
      this.batchHead = at - s;
      this.batchStart = s;
      this.batchKey = key;
      this.batchFrom = fromID;
      this.batchName = eventName;
    }
    this.batchEnd = e.pos;
  }

  /**
   * The first batching link of a publish: adds the event to its shared batch (the one it added
   * to last, when this publish may extend it; else a new one) and records it in `shared`. Encodes in the free space after the buffer's bytes, then copies out.
   */
  private shareEvent(
    fromID: U64,
    name: string,
    timestamp: EventTime,
    key: number,
    order: number,
    message: unknown,
    shared: EventFanOut,
  ): SharedEventBatch {
    const e = this.out;
    const at = e.pos;
    let sb = this.shared;
    if (sb === null || !sb.takes(fromID, name, key)) {
      try {
        writeU64(this.out, fromID);
        e.u8(key & 0xff);
        writeName(this.out, name, 0, this.atomMapping);
      } catch (err) {
        throw this.abort(at, err);
      }
      sb = new SharedEventBatch(fromID, name, key, this.format, order, Buffer.from(e.buf.subarray(at, e.pos)));
      e.pos = at;
    }
    // Encoded straight into the batch's arena (no copy per publish); an event that does not fit
    // in the arena's rest is encoded here and copied (add moves the batch to a larger arena).
    const tail = sb.tail;
    e.borrow(sb.buf, sb.dv, tail);
    let err: unknown = null;
    try {
      writeStamp(e, timestamp);
      e.u32(0);
      this.payload(message);
    } catch (x) {
      err = x;
    }
    const end = e.giveBack();
    if (end >= 0) {
      if (err !== null) throw this.abort(at, err);
      sb.dv.setUint32(tail + 8, end - tail - 12);
      shared.batchIndex = sb.added(end - tail);
    } else {
      try {
        writeStamp(e, timestamp);
        e.u32(0);
        this.payload(message);
      } catch (x) {
        throw this.abort(at, x);
      }
      e.dv.setUint32(at + 8, e.pos - at - 12);
      shared.batchIndex = sb.add(e.buf, at, e.pos - at);
      e.pos = at;
    }
    shared.batch = this.shared = sb;
    return sb;
  }

  // ---- control batch (231): ergo-ts peers that announced controlBatch only ----

  /** Monitor request of a local process (`sourceID`) for the peer's process `targetID`. */
  batchMonitorPID(order: number, sourceID: U64, targetID: U64, ref: ID3): void {
    const at = this.batchOpen(order);
    try {
      this.out.u8(BatchEntry.MonitorPID);
      writeU64(this.out, sourceID);
      writeU64(this.out, targetID);
      writeID3(this.out, ref);
    } catch (err) {
      throw this.batchAbort(at, err);
    }
    this.batchClose(at);
  }

  /** Demonitor of the peer's process `targetID` by a local process (`sourceID`); not answered. */
  batchDemonitorPID(order: number, sourceID: U64, targetID: U64): void {
    const at = this.batchOpen(order);
    try {
      this.out.u8(BatchEntry.DemonitorPID);
      writeU64(this.out, sourceID);
      writeU64(this.out, targetID);
    } catch (err) {
      throw this.batchAbort(at, err);
    }
    this.batchClose(at);
  }

  /**
   * Remote spawn request: factory `name`, `options` (a ProcessOptionsExtra) as EDF, or the bytes
   * of such an encoding. `keep`: returns a copy of the options' bytes (else null).
   */
  batchSpawn(order: number, ref: ID3, name: string, options: unknown, keep = false): Uint8Array | null {
    const at = this.batchOpen(order);
    const e = this.out;
    let kept: Uint8Array | null = null;
    try {
      e.u8(BatchEntry.Spawn);
      writeID3(this.out, ref);
      writeName(this.out, name, 0, this.atomMapping);
      const lengthAt = e.pos;
      e.u32(0);
      if (options instanceof Uint8Array) e.bytes(options);
      else this.payload(options);
      e.dv.setUint32(lengthAt, e.pos - lengthAt - 4);
      // A copy: Buffer's slice is a view, and the encoder's buffer is written over once this
      // packet has gone out (the next spawn then sent whatever followed: a packet its peer
      // could not decode, the spawns in it never answered).
      if (keep) kept = new Uint8Array(e.buf.subarray(lengthAt + 4, e.pos));
    } catch (err) {
      throw this.batchAbort(at, err);
    }
    this.batchClose(at);
    return kept;
  }

  /** Success answer to the peer's request `ref`: nil error, and the spawned PID's id when `pidID` is given. */
  batchResult(order: number, ref: ID3, pidID: U64 | null): void {
    const at = this.batchOpen(order);
    try {
      this.out.u8(pidID === null ? BatchEntry.ResultOK : BatchEntry.ResultPID);
      writeID3(this.out, ref);
      if (pidID !== null) writeU64(this.out, pidID);
    } catch (err) {
      throw this.batchAbort(at, err);
    }
    this.batchClose(at);
  }

  /** Where the next entry goes: the open batch packet, or a new one. Returns the entry's offset. */
  private batchOpen(order: number): number {
    // Events this link took from a shared batch come first: they were sent before this entry.
    if (this.mirror !== null) this.materialize();
    const e = this.out;
    const b = this.batchAt;
    if (b >= 0 && e.pos - b < this.batchLimit()) return e.pos;
    const start = this.begin(order, PacketType.ControlBatch);
    this.batchAt = start;
    return -1 - start;
  }

  /** Bytes a batch packet may hold: below the peer's MaxMessageSize when it announced one. */
  private batchLimit(): number {
    const max = this.peerMaxMessageSize;
    return max > 0 && max < BATCH_PACKET_LIMIT ? max : BATCH_PACKET_LIMIT;
  }

  /** `at` from batchOpen: the entry's offset (appended), or -1 - the new packet's start. */
  private batchClose(at: number): void {
    const e = this.out;
    const start = this.batchAt;
    const length = e.pos - start;
    if (this.peerMaxMessageSize > 0 && length > this.peerMaxMessageSize) {
      if (at < 0) {
        e.pos = start;
        this.batchAt = -1;
        throw ErrTooLarge.with(
          `packet of ${length} bytes exceeds the peer's MaxMessageSize (${this.peerMaxMessageSize})`,
        );
      }
      // The entry does not fit the open packet: it moves to a packet of its own.
      const n = e.pos - at;
      e.ensure(ENP_HEADER);
      e.buf.copyWithin(at + ENP_HEADER, at, at + n);
      e.pos = at;
      const s = this.begin(e.buf[start + 6]!, PacketType.ControlBatch);
      e.pos = s + ENP_HEADER + n;
      this.batchAt = s;
      this.batchClose(-1 - s);
      return;
    }
    e.dv.setUint32(start + 2, length);
    if (at < 0) this.packets++;
  }

  private batchAbort(at: number, err: unknown): Error {
    if (at < 0) {
      const e = this.abort(-1 - at, err);
      this.batchAt = -1;
      return e;
    }
    // Only this entry goes: the batch packet holds what it held.
    const x = this.abort(at, err);
    this.out.pos = at;
    return x;
  }
}
