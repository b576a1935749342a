// The ENP:R1 packets of one message each (WIRE.md §3.3–3.6): sends to a PID, a name or an alias,
// events, exit signals, calls and their responses, termination notifications and Control
// requests. Each writes its fixed fields and EDF payload into the link's output
// (packet_output.ts) between the frame's begin and end; the order byte chosen from the target
// keeps one sender's packets to one process in order across the pool's links.

import { PacketType, ResponseCode } from './packet.js';
import { orderByte, responseCodeOf, writeID3, writeName, writePrio, writeStamp, writeU64 } from './packet_fields.js';
import type { EventTime, EnpMessageOptions, ID3, U64 } from './packet_fields.js';
import { EnpPacketOutput } from './packet_output.js';

/**
 * The packets of one message each, written into the link's output. Every method appends one
 * complete packet or appends nothing and throws (see {@link EnpPacketOutput}).
 */
export class EnpMessagePackets extends EnpPacketOutput {
  // ---- messages ----

  /** 101: send to a PID. Order byte to.ID (keepNetworkOrder). */
  sendPID(fromID: U64, toID: U64, opts: EnpMessageOptions, message: unknown): void {
    const s = this.begin(opts.keepNetworkOrder ? orderByte(toID) : 0, PacketType.SendPID);
    try {
      writeU64(this.out, fromID);
      writePrio(this.out, opts);
      writeU64(this.out, opts.important ? opts.messageID : 0);
      writeU64(this.out, toID);
      this.payload(message);
    } catch (err) {
      throw this.abort(s, err);
    }
    this.end(s, opts);
  }

  /** 102/103: send to a registered name on the peer. Order byte from.ID. */
  sendProcessID(fromID: U64, name: string, opts: EnpMessageOptions, message: unknown): void {
    const id = this.cachedName(name);
    const s = this.begin(
      opts.keepNetworkOrder ? orderByte(fromID) : 0,
      id === 0 ? PacketType.SendName : PacketType.SendNameCached,
    );
    try {
      writeU64(this.out, fromID);
      writePrio(this.out, opts);
      writeU64(this.out, opts.important ? opts.messageID : 0);
      writeName(this.out, name, id, this.atomMapping);
      this.payload(message);
    } catch (err) {
      throw this.abort(s, err);
    }
    this.end(s, opts);
  }

  /** 104: send to an alias of the peer. Order byte alias.ID[1]. */
  sendAlias(fromID: U64, aliasID: ID3, opts: EnpMessageOptions, message: unknown): void {
    const s = this.begin(opts.keepNetworkOrder ? orderByte(aliasID[1]) : 0, PacketType.SendAlias);
    try {
      writeU64(this.out, fromID);
      writePrio(this.out, opts);
      writeU64(this.out, opts.important ? opts.messageID : 0);
      writeID3(this.out, aliasID);
      this.payload(message);
    } catch (err) {
      throw this.abort(s, err);
    }
    this.end(s, opts);
  }

  /** 105/106: an event of this node, `message` being `MessageEvent.Message`. Order byte from.ID. */
  sendEvent(fromID: U64, eventName: string, timestamp: EventTime, opts: EnpMessageOptions, message: unknown): void {
    const id = this.cachedName(eventName);
    const s = this.begin(
      opts.keepNetworkOrder ? orderByte(fromID) : 0,
      id === 0 ? PacketType.Event : PacketType.EventCached,
    );
    try {
      writeU64(this.out, fromID);
      this.out.u8(opts.priority & 0xff);
      writeStamp(this.out, timestamp);
      writeName(this.out, eventName, id, this.atomMapping);
      this.payload(message);
    } catch (err) {
      throw this.abort(s, err);
    }
    this.end(s, opts);
  }

  /** 107: exit signal from a local process to a peer PID (never compressed; always ordered). */
  sendExit(fromID: U64, toID: U64, reason: Error): void {
    const s = this.begin(orderByte(toID), PacketType.Exit);
    try {
      writeU64(this.out, fromID);
      this.out.u8(2);
      writeU64(this.out, toID);
      this.payload(reason);
    } catch (err) {
      throw this.abort(s, err);
    }
    this.end(s, null);
  }

  // ---- requests and responses ----

  /** 121: call a PID. `refID` is the caller's ref (Go puts the deadline in refID[2]). Order to.ID. */
  callPID(fromID: U64, toID: U64, refID: ID3, opts: EnpMessageOptions, request: unknown): void {
    const s = this.begin(opts.keepNetworkOrder ? orderByte(toID) : 0, PacketType.CallPID);
    try {
      writeU64(this.out, fromID);
      writePrio(this.out, opts);
      writeID3(this.out, refID);
      writeU64(this.out, toID);
      this.payload(request);
    } catch (err) {
      throw this.abort(s, err);
    }
    this.end(s, opts);
  }

  /** 122/123: call a registered name on the peer. Order from.ID. */
  callProcessID(fromID: U64, name: string, refID: ID3, opts: EnpMessageOptions, request: unknown): void {
    const id = this.cachedName(name);
    const s = this.begin(
      opts.keepNetworkOrder ? orderByte(fromID) : 0,
      id === 0 ? PacketType.CallName : PacketType.CallNameCached,
    );
    try {
      writeU64(this.out, fromID);
      writePrio(this.out, opts);
      writeID3(this.out, refID);
      writeName(this.out, name, id, this.atomMapping);
      this.payload(request);
    } catch (err) {
      throw this.abort(s, err);
    }
    this.end(s, opts);
  }

  /** 124: call an alias of the peer. Order alias.ID[1]. */
  callAlias(fromID: U64, aliasID: ID3, refID: ID3, opts: EnpMessageOptions, request: unknown): void {
    const s = this.begin(opts.keepNetworkOrder ? orderByte(aliasID[1]) : 0, PacketType.CallAlias);
    try {
      writeU64(this.out, fromID);
      writePrio(this.out, opts);
      writeID3(this.out, refID);
      writeID3(this.out, aliasID);
      this.payload(request);
    } catch (err) {
      throw this.abort(s, err);
    }
    this.end(s, opts);
  }

  /** 129: the response to a call (`toID` = the caller, `refID` = its ref). Order to.ID. */
  sendResponse(fromID: U64, toID: U64, refID: ID3, opts: EnpMessageOptions, response: unknown): void {
    const s = this.begin(opts.keepNetworkOrder ? orderByte(toID) : 0, PacketType.Response);
    try {
      writeU64(this.out, fromID);
      writePrio(this.out, opts);
      writeU64(this.out, toID);
      writeID3(this.out, refID);
      this.payload(response);
    } catch (err) {
      throw this.abort(s, err);
    }
    this.end(s, opts);
  }

  /**
   * 130: an error response or a delivery ack. `err` null → code 0; Ergo's ProcessUnknown,
   * MailboxFull and ProcessTerminated → codes 1–3; any other error → 255 with the error encoded.
   * For an ack of an important send, `refID` is `[messageID, 0, 0]`. Order to.ID.
   */
  sendResponseError(fromID: U64, toID: U64, refID: ID3, opts: EnpMessageOptions, err: Error | null): void {
    const code = responseCodeOf(err);
    const s = this.begin(opts.keepNetworkOrder ? orderByte(toID) : 0, PacketType.ResponseError);
    try {
      writeU64(this.out, fromID);
      writePrio(this.out, opts);
      writeU64(this.out, toID);
      writeID3(this.out, refID);
      this.out.u8(code);
      if (code === ResponseCode.Error) this.payload(err);
    } catch (e) {
      throw this.abort(s, e);
    }
    this.end(s, opts);
  }

  // ---- termination notifications (never compressed, unordered) ----

  /** 181: a local process the peer links/monitors terminated. */
  sendTerminatePID(targetID: U64, reason: Error): void {
    const s = this.begin(0, PacketType.TerminatePID);
    try {
      this.out.u8(1);
      writeU64(this.out, targetID);
      this.payload(reason);
    } catch (err) {
      throw this.abort(s, err);
    }
    this.end(s, null);
  }

  /** 182/183: a local registered name the peer links/monitors terminated or was unregistered. */
  sendTerminateProcessID(name: string, reason: Error): void {
    this.terminateNamed(name, reason, PacketType.TerminateName, PacketType.TerminateNameCached);
  }

  /** 184: a local alias the peer links/monitors was deleted or its owner terminated. */
  sendTerminateAlias(aliasID: ID3, reason: Error): void {
    const s = this.begin(0, PacketType.TerminateAlias);
    try {
      this.out.u8(1);
      writeID3(this.out, aliasID);
      this.payload(reason);
    } catch (err) {
      throw this.abort(s, err);
    }
    this.end(s, null);
  }

  /** 185/186: a local event the peer subscribed to was unregistered or its producer terminated. */
  sendTerminateEvent(eventName: string, reason: Error): void {
    this.terminateNamed(eventName, reason, PacketType.TerminateEvent, PacketType.TerminateEventCached);
  }

  // ---- control ----

  /**
   * 199: a control request or result (a registered `proto` struct). `route` is the result of
   * `controlRouteOf` / `controlResultRouteOf` (its low byte is the order byte). Never compressed.
   */
  sendControl(route: number, message: object): void {
    const s = this.begin(route & 0xff, PacketType.Control);
    try {
      this.payload(message);
    } catch (err) {
      throw this.abort(s, err);
    }
    this.end(s, null);
  }

  private terminateNamed(name: string, reason: Error, plain: number, cached: number): void {
    const id = this.cachedName(name);
    const s = this.begin(0, id === 0 ? plain : cached);
    try {
      this.out.u8(1);
      writeName(this.out, name, id, this.atomMapping);
      this.payload(reason);
    } catch (err) {
      throw this.abort(s, err);
    }
    this.end(s, null);
  }
}
