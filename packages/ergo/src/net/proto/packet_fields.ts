// The fixed fields of ENP packets (WIRE.md §3.2–3.6) and the options they come from: ids as
// u64/i64, a Ref's three ids, the priority byte, target names (atom-cache id or inline), the
// order byte, and the response code of an error. Free functions over the link's EDF output, so
// the encoder's packet methods (encoder.ts) and the batch writers share one definition.

import { ErrProcessMailboxFull, ErrProcessTerminated, ErrProcessUnknown } from '../../gen/errors.js';
import { eventStamps } from '../../gen/event_stamps.js';
import type { MessageEvent } from '../../gen/messages.js';
import type { Compression } from '../../gen/options.js';
import type { EdfEncoder } from '../edf/encoder.js';
import type { EdfLimits } from '../edf/limits.js';
import type { EdfRegistry } from '../edf/registry.js';
import { WireError } from '../error.js';
import { IMPORTANT_BIT, ResponseCode } from './packet.js';

/** A u64 id as the wire carries it: a safe integer, or a bigint beyond 2^53. */
export type U64 = number | bigint;
/** A Ref's or Alias's three ids. */
export type ID3 = readonly [U64, U64, U64];

/** Options of an {@link EnpEncoder}: this side's announced caches and the peer's size limit. */
export interface EnpEncoderOptions {
  /** Registry of user and framework types (default: the default registry). */
  registry?: EdfRegistry;
  /** Atom → id announced by this side in its Introduce (also used for target names: types 103/106/123/183/186). */
  atomCache?: ReadonlyMap<string, number>;
  /** Type name → id announced by this side. */
  typeCache?: ReadonlyMap<string, number>;
  /** Error text → id announced by this side. */
  errorCache?: ReadonlyMap<string, number>;
  /** Local atom → wire atom (not negotiated). */
  atomMapping?: ReadonlyMap<string, string>;
  /** The peer's MaxMessageSize from its Introduce (0 = none): larger packets fail with `ERR_TOO_LARGE`. */
  peerMaxMessageSize?: number;
  /** EDF limits (maxMessageSize is replaced by `peerMaxMessageSize`). */
  limits?: Partial<EdfLimits>;
  /** Payloads use the ergo-ts JS-value extension (the peer announced it; never for Go peers). */
  jsValues?: boolean;
}

/**
 * Per-message options: what `MessageOptions` carries to the wire. Reuse one object per sender to
 * avoid an allocation per message.
 */
export interface EnpMessageOptions {
  /** 0 normal, 1 high, 2 max. */
  priority: number;
  /** Sets the important bit (the receiver acks delivery). */
  important: boolean;
  /** Delivery-ack key of an important send (ignored otherwise). */
  messageID: U64;
  /** Ordered delivery per sender→receiver pair (order byte from the ids); false: order byte 0. */
  keepNetworkOrder: boolean;
  /** The sender process's compression settings (null/undefined or `enable: false`: none). */
  compression?: Compression | null | undefined;
}

/** The code byte that stands for `err` in a response-error packet (130). */
export function responseCodeOf(err: Error | null | undefined): number {
  if (err === null || err === undefined) return ResponseCode.OK;
  if (ErrProcessUnknown.is(err)) return ResponseCode.ProcessUnknown;
  if (ErrProcessMailboxFull.is(err)) return ResponseCode.MailboxFull;
  if (ErrProcessTerminated.is(err)) return ResponseCode.Terminated;
  return ResponseCode.Error;
}

export const U64_MAX = 0xffffffffffffffffn;
export const I64_MIN = -0x8000000000000000n;
export const I64_MAX = 0x7fffffffffffffffn;

/** The order byte of a packet keyed by `id` (1..254 spread over the receiver's queues; WIRE.md §3.5). */
export function orderByte(id: U64): number {
  return typeof id === 'bigint' ? Number(id % 255n) : id % 255;
}

/** Writes a u64 id; WireError `ERR_ENP_ENCODE` for a negative, fractional or too large one. */
export function writeU64(e: EdfEncoder, v: U64): void {
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v) || v < 0) throw new WireError('ERR_ENP_ENCODE', `id ${v} is not a u64`);
    e.u64n(v);
  } else {
    if (typeof v !== 'bigint' || v < 0n || v > U64_MAX)
      throw new WireError('ERR_ENP_ENCODE', `id ${String(v)} is not a u64`);
    e.b64(v, false);
  }
}

/** An event's timestamp to write: Unix ns, or the event itself (its halves: no bigint made). */
export type EventTime = U64 | MessageEvent;

/** Writes an event timestamp as the i64 Unix ns the wire holds. */
export function writeStamp(e: EdfEncoder, t: EventTime): void {
  if (typeof t === 'object') {
    e.i32(eventStamps.hi(t));
    e.u32(eventStamps.lo(t));
  } else writeI64(e, t);
}

/** Writes an int64; WireError `ERR_ENP_ENCODE` outside its range. */
export function writeI64(e: EdfEncoder, v: U64): void {
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new WireError('ERR_ENP_ENCODE', `${v} is not an int64`);
    e.i64n(v);
  } else {
    if (typeof v !== 'bigint' || v < I64_MIN || v > I64_MAX)
      throw new WireError('ERR_ENP_ENCODE', `${String(v)} is not an int64`);
    e.b64(v, true);
  }
}

/** Writes a Ref's or Alias's three ids. */
export function writeID3(e: EdfEncoder, id: ID3): void {
  writeU64(e, id[0]);
  writeU64(e, id[1]);
  writeU64(e, id[2]);
}

/** Writes the priority byte: priority in the low bits, the important bit. */
export function writePrio(e: EdfEncoder, opts: EnpMessageOptions): void {
  e.u8((opts.priority & 3) | (opts.important ? IMPORTANT_BIT : 0));
}

/**
 * Writes a target name: the u16 atom-cache id when `cacheID` is not 0, else u8 length + bytes of
 * the (mapped) name; WireError `ERR_ENP_ENCODE` for a non-string or a name over 255 bytes.
 */
export function writeName(
  e: EdfEncoder,
  name: string,
  cacheID: number,
  mapping: ReadonlyMap<string, string> | undefined,
): void {
  if (cacheID !== 0) {
    e.u16(cacheID);
    return;
  }
  if (typeof name !== 'string') throw new WireError('ERR_ENP_ENCODE', 'target name must be a string');
  const wire = mapping?.get(name) ?? name;
  const at = e.pos;
  e.u8(0);
  const n = e.utf8(wire);
  if (n > 255) throw new WireError('ERR_ENP_ENCODE', `target name of ${n} bytes exceeds 255`);
  e.buf[at] = n;
}
