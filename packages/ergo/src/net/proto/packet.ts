// ENP:R1 packet constants and the decoded packet (WIRE.md §3.1–3.2). A packet is an 8-byte
// header (`4e 01 u32 length-including-header order type`) and a type-specific layout; ids are
// numeric only — the receiver rebuilds full PIDs/Refs from the peer's name and creation.

import { nsOfHalves } from '../../gen/event_stamps.js';

/** First byte of every ENP packet. */
export const ENP_MAGIC = 0x4e;
/** Second byte: the ENP:R1 packet version. */
export const ENP_VERSION = 1;
/** Size of the packet header (the length field counts it). */
export const ENP_HEADER = 8;

/** ENP:R1 packet types. */
export const PacketType = Object.freeze({
  SendPID: 101,
  SendName: 102,
  SendNameCached: 103,
  SendAlias: 104,
  Event: 105,
  EventCached: 106,
  Exit: 107,
  CallPID: 121,
  CallName: 122,
  CallNameCached: 123,
  CallAlias: 124,
  Response: 129,
  ResponseError: 130,
  TerminatePID: 181,
  TerminateName: 182,
  TerminateNameCached: 183,
  TerminateAlias: 184,
  TerminateEvent: 185,
  TerminateEventCached: 186,
  Control: 199,
  Compressed: 200,
  /** Reserved in ENP:R1; Ergo drops it. */
  Encrypted: 201,
  /** Reserved in ENP:R1; Ergo drops it. */
  Fragmented: 202,
  /** Reserved in ENP:R1; Ergo drops it. */
  Proxy: 203,
  /**
   * ergo-ts only, sent solely to a peer that announced `eventBatch` in its handshake flags: one
   * publisher's events of one event name, several per packet (see EnpEncoder.sendEventBatch).
   */
  EventBatch: 230,
  /**
   * ergo-ts only, sent solely to a peer that announced `controlBatch` in its handshake flags:
   * monitor/demonitor/spawn requests and their plain answers, several per packet (control_batch.ts).
   */
  ControlBatch: 231,
  /**
   * ergo-ts only, sent solely to a peer that announced `ergoFrames`: a link frame, the 8-byte
   * header alone, its order byte the kind (link.ts `LinkFrame`: the heartbeat's probe and answer,
   * the pool's switch). Go Ergo drops an unknown type, so a stray one is harmless.
   */
  LinkFrame: 232,
});

/** Code byte of a response-error / delivery-ack packet (130). */
export const ResponseCode = Object.freeze({
  /** Success: a delivery ack, or a response with a nil error. */
  OK: 0,
  /** `ErrProcessUnknown`. */
  ProcessUnknown: 1,
  /** `ErrProcessMailboxFull`. */
  MailboxFull: 2,
  /** `ErrProcessTerminated`. */
  Terminated: 3,
  /** An EDF-encoded error follows. */
  Error: 255,
});

/** Algorithm byte of a compressed packet (200). */
export const CompressionAlgorithm = Object.freeze({ LZW: 100, ZLIB: 101, GZIP: 102 });

/** Bit 7 of the priority byte: important delivery. */
export const IMPORTANT_BIT = 0x80;

/** A reference / alias id: three u64 words (numbers when safe, else bigint). */
export type WireID3 = readonly [number | bigint, number | bigint, number | bigint];

/** The zero id (shared; packets without an id keep it, so clearing allocates nothing). */
export const ZERO_ID3: WireID3 = Object.freeze([0, 0, 0] as const);

// What a packet that is not an event batch holds in its batch fields (never written to).
const NO_ITEMS: unknown[] = [];
const NO_STAMPS: number[] = [];

/**
 * One decoded ENP packet. Every field is always present (one shape for every type); fields the
 * type does not carry keep their zero values. `payload` holds the decoded EDF message, request,
 * response, event message or control struct; `reason` the exit/termination/response error.
 * A compressed packet (200) is returned as the packet it wraps, with `compressed` set to the
 * algorithm and `length` the inner length.
 */
export class EnpPacket {
  /** Packet type (after unwrapping compression). */
  type = 0;
  /** Order byte (receiver queue selector; 0 = unordered). */
  order = 0;
  /** Packet length including the header. */
  length = 0;
  /** 0 or the compression algorithm the packet arrived with. */
  compressed = 0;
  /** Sender process id (0 for terminate packets). */
  fromID: number | bigint = 0;
  /** Priority 0..2 (normal, high, max), masked with `& 3` (event: the raw byte). */
  priority = 0;
  /** The important bit (0x80) of the priority byte. */
  important = false;
  /** Delivery-ack key of an important send (meaningless otherwise: Go leaves garbage there). */
  messageID: number | bigint = 0;
  /** Target process id (send/call to PID, exit, response, terminate PID). */
  toID: number | bigint = 0;
  /** Target name (send/call to name), event name, or terminated name/event; cached ids are resolved. */
  name = '';
  /** Ref id (call, response, response error / delivery ack: `[messageID, 0, 0]`). */
  id: WireID3 = ZERO_ID3;
  /** Alias id (send/call to alias, terminate alias). */
  alias: WireID3 = ZERO_ID3;
  /**
   * Event timestamp (Unix ns, i64) as its two big-endian halves: `stampHi` signed, `stampLo`
   * unsigned (the engine makes no bigint of it; `timestamp` does, for tests and tools).
   */
  stampHi = 0;
  stampLo = 0;
  /** Response code (130). */
  code = 0;
  /** The decoded EDF payload (undefined when the type has none or the code carries no error). */
  payload: unknown = undefined;
  /** Error of an exit, terminate or response-error packet (null = nil error). */
  reason: Error | null = null;
  /**
   * An event batch (230): how many events it carried; their messages and timestamps are
   * `batchPayloads[0, batchCount)` and `batchStampHi` / `batchStampLo[0, batchCount)` (the
   * halves of each timestamp, as `stampHi` / `stampLo`; arrays the decoder reuses
   * for every batch: read them during the call only).
   */
  batchCount = 0;
  batchPayloads: unknown[] = NO_ITEMS;
  batchStampHi: number[] = NO_STAMPS;
  batchStampLo: number[] = NO_STAMPS;

  /** The event timestamp as a bigint (Unix ns). */
  get timestamp(): bigint {
    return nsOfHalves(this.stampHi, this.stampLo);
  }

  /** Event `i`'s timestamp of an event batch as a bigint (Unix ns). */
  batchStamp(i: number): bigint {
    return nsOfHalves(this.batchStampHi[i]!, this.batchStampLo[i]!);
  }

  /** Resets every field to its zero value (to reuse the object). */
  clear(): void {
    this.type = 0;
    this.order = 0;
    this.length = 0;
    this.compressed = 0;
    this.fromID = 0;
    this.priority = 0;
    this.important = false;
    this.messageID = 0;
    this.toID = 0;
    this.name = '';
    this.id = ZERO_ID3;
    this.alias = ZERO_ID3;
    this.stampHi = 0;
    this.stampLo = 0;
    this.code = 0;
    this.payload = undefined;
    this.reason = null;
    this.batchCount = 0;
  }
}
