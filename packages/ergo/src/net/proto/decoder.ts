// The ENP:R1 packet decoder of one TCP link (WIRE.md §3.2–3.6): one complete packet (as the
// frame reader delivers it) into an EnpPacket. Fixed fields are read in place; the EDF payload
// is decoded with the peer's announced caches; a compressed packet is inflated under a size
// limit and the packet inside is decoded. Failures are WireErrors with a code; none of them is
// fatal here (framing was checked by the frame reader): Ergo drops such a packet and keeps the
// link.

import { EdfDecoder, type EdfDecodeOptions } from '../edf/decoder.js';
import { defaultRegistry } from '../edf/default.js';
import { EdfError } from '../edf/errors.js';
import { ProcessOptionsExtra } from '../edf/framework.js';
import { Tag } from '../edf/tags.js';
import { WireError } from '../error.js';
import { DEFAULT_MAX_DECOMPRESSED_SIZE, decompressPacket } from './compression.js';
import { BatchEntry, ControlBatchEntry } from './control_batch.js';
import { registerProtoTypes } from './messages.js';
import {
  ENP_HEADER,
  ENP_MAGIC,
  ENP_VERSION,
  EnpPacket,
  IMPORTANT_BIT,
  PacketType,
  ResponseCode,
  type WireID3,
  ZERO_ID3,
} from './packet.js';

/**
 * Options of an {@link EnpDecoder}: the peer's announced caches and this side's limits, as for its
 * EDF payloads (registry default: the default registry; caches are the peer's Introduce), and the
 * inflate limit of compressed packets.
 */
export interface EnpDecoderOptions extends EdfDecodeOptions {
  /**
   * Largest size a compressed packet may inflate to, in bytes (zip-bomb protection). Default
   * 64 MiB ({@link DEFAULT_MAX_DECOMPRESSED_SIZE}). Code `ERR_ENP_DECOMPRESSED_TOO_LARGE`.
   */
  maxDecompressedSize?: number;
}

/** Smallest length of each packet type (header + fixed fields + at least one payload byte where one is required). */
const MIN_LENGTH: Record<number, number> = {
  [PacketType.SendPID]: 34,
  [PacketType.SendName]: 27,
  [PacketType.SendNameCached]: 28,
  [PacketType.SendAlias]: 50,
  [PacketType.Event]: 27,
  [PacketType.EventCached]: 28,
  [PacketType.Exit]: 26,
  [PacketType.CallPID]: 50,
  [PacketType.CallName]: 43,
  [PacketType.CallNameCached]: 44,
  [PacketType.CallAlias]: 66,
  [PacketType.Response]: 50,
  [PacketType.ResponseError]: 50,
  [PacketType.TerminatePID]: 18,
  [PacketType.TerminateName]: 11,
  [PacketType.TerminateNameCached]: 12,
  [PacketType.TerminateAlias]: 34,
  [PacketType.TerminateEvent]: 11,
  [PacketType.TerminateEventCached]: 12,
  [PacketType.Control]: 9,
  [PacketType.Compressed]: 14,
  // from, priority, name length; each event adds its timestamp, length and message.
  [PacketType.EventBatch]: 18,
  [PacketType.ControlBatch]: 9,
};

/**
 * Decodes ENP packets of one link. Lifecycle: one per TCP link, created after the handshake
 * with the peer's caches; call {@link EnpDecoder.decode} per packet, synchronously. Not re-entrant.
 */
export class EnpDecoder {
  readonly maxDecompressedSize: number;
  readonly #d: EdfDecoder;
  readonly #atomCache: ReadonlyMap<number, string> | undefined;
  readonly #atomMapping: ReadonlyMap<string, string> | undefined;
  // The last uncached target name and its bytes: a stream to one name decodes no string per packet.
  readonly #lastNameBytes = new Uint8Array(255);
  #lastNameLength = -1;
  #lastName = '';
  // The options of the last batched spawn and their bytes (null: not reusable).
  #lastOptionsBytes: Uint8Array | null = null;
  #lastOptions: ProcessOptionsExtra | null = null;
  // Reused by every event batch packet (EnpPacket.batchPayloads / batchStampHi / batchStampLo).
  readonly #batchPayloads: unknown[] = [];
  readonly #batchStampHi: number[] = [];
  readonly #batchStampLo: number[] = [];

  /** @throws WireError `ERR_ENP_DECOMPRESSED_TOO_LARGE` for a bad `maxDecompressedSize`; EdfError for bad caches. */
  constructor(options: EnpDecoderOptions = {}) {
    const registry = options.registry ?? defaultRegistry;
    registerProtoTypes(registry);
    this.#d = new EdfDecoder({
      registry,
      atomCache: options.atomCache,
      typeCache: options.typeCache,
      errorCache: options.errorCache,
      atomMapping: options.atomMapping,
      exact: options.exact,
      limits: options.limits,
    });
    this.#atomCache = options.atomCache;
    this.#atomMapping = options.atomMapping?.size ? options.atomMapping : undefined;
    const max = options.maxDecompressedSize ?? DEFAULT_MAX_DECOMPRESSED_SIZE;
    if (!Number.isSafeInteger(max) || max < 0 || max > 0xffffffff) {
      throw new WireError(
        'ERR_ENP_DECOMPRESSED_TOO_LARGE',
        `maxDecompressedSize must be an integer in 0..4294967295, got ${String(max)}`,
      );
    }
    this.maxDecompressedSize = max;
  }

  /**
   * Decodes the packet `bytes[start, end)` (exactly one packet, header included) into `out`
   * (cleared first; a fresh EnpPacket by default).
   * @throws WireError `ERR_ENP_FRAME` (header inconsistent with the bounds), `ERR_ENP_MALFORMED`,
   *   `ERR_ENP_UNKNOWN_TYPE`, `ERR_ENP_COMPRESSION`, `ERR_ENP_DECOMPRESSED_TOO_LARGE`,
   *   `ERR_ENP_PAYLOAD` (the EdfError is the cause). The link can continue with the next packet.
   */
  decode(bytes: Uint8Array, start = 0, end: number = bytes.length, out: EnpPacket = new EnpPacket()): EnpPacket {
    out.clear();
    this.#decode(bytes, start, end, out, false);
    return out;
  }

  /**
   * When `bytes[start, end)` is a well-formed compressed packet: its algorithm, announced inner
   * length and compressed stream (a view into `bytes`); otherwise null (decode it with
   * {@link EnpDecoder.decode}, which reports what is wrong). Lets the link inflate a large packet
   * off the event loop's critical path, then finish with {@link EnpDecoder.decodeInflated}.
   */
  compressedPart(
    bytes: Uint8Array,
    start: number,
    end: number,
  ): { algorithm: number; expected: number; stream: Uint8Array } | null {
    const length = end - start;
    if (length < ENP_HEADER || bytes[start + 7] !== PacketType.Compressed) return null;
    if (bytes[start] !== ENP_MAGIC || bytes[start + 1] !== ENP_VERSION || be32(bytes, start + 2) !== length)
      return null;
    if (length < MIN_LENGTH[PacketType.Compressed]!) return null;
    const o = start + ENP_HEADER;
    return { algorithm: bytes[o]!, expected: be32(bytes, o + 1), stream: bytes.subarray(o + 5, end) };
  }

  /**
   * Decodes the inner packet of a compressed packet inflated elsewhere (see
   * {@link EnpDecoder.compressedPart}) into `out`, as `decode` would have.
   * @throws WireError as {@link EnpDecoder.decode} (never fatal: the bytes are not the stream's).
   */
  decodeInflated(plain: Uint8Array, algorithm: number, out: EnpPacket = new EnpPacket()): EnpPacket {
    out.clear();
    // `plain` is a fresh buffer only this packet uses: large binaries may stay views into it.
    this.#d.ownsInput = true;
    try {
      this.#decode(plain, 0, plain.length, out, true);
    } finally {
      this.#d.ownsInput = false;
    }
    out.compressed = algorithm;
    return out;
  }

  #decode(bytes: Uint8Array, start: number, end: number, p: EnpPacket, inner: boolean): void {
    const length = end - start;
    // Framing of the outer packet is the stream's (fatal); inside a compressed packet only that packet is bad.
    const framing = inner ? 'ERR_ENP_MALFORMED' : 'ERR_ENP_FRAME';
    const what = inner ? 'decompressed packet' : 'packet';
    if (length < ENP_HEADER) throw new WireError(framing, `${what} of ${length} bytes is shorter than its header`);
    if (bytes[start] !== ENP_MAGIC || bytes[start + 1] !== ENP_VERSION) {
      throw new WireError(framing, `bad ENP header 0x${hex2(bytes[start]!)}${hex2(bytes[start + 1]!)} in a ${what}`);
    }
    // Fixed fields are read from the bytes directly: a DataView per read chunk (a fresh
    // ArrayBuffer each time) cost more than the whole header.
    const dv = bytes;
    const declared = be32(dv, start + 2);
    if (declared !== length)
      throw new WireError(framing, `${what} length field ${declared} does not match its ${length} bytes`);
    const type = bytes[start + 7]!;
    p.order = bytes[start + 6]!;
    p.type = type;
    p.length = length;
    const min = MIN_LENGTH[type];
    if (min === undefined) throw new WireError('ERR_ENP_UNKNOWN_TYPE', `packet type ${type} is not defined by ENP:R1`);
    if (length < min)
      throw new WireError(
        'ERR_ENP_MALFORMED',
        `packet type ${type} of ${length} bytes is shorter than its fixed fields`,
      );

    const o = start + ENP_HEADER;
    switch (type) {
      case PacketType.SendPID:
      case PacketType.SendName:
      case PacketType.SendNameCached:
      case PacketType.SendAlias: {
        p.fromID = u64(dv, o);
        this.#prio(p, bytes[o + 8]!);
        p.messageID = p.important ? u64(dv, o + 9) : 0;
        let q = o + 17;
        if (type === PacketType.SendPID) {
          p.toID = u64(dv, q);
          q += 8;
        } else if (type === PacketType.SendAlias) {
          p.alias = id3(dv, q);
          q += 24;
        } else q = this.#name(bytes, dv, q, end, type === PacketType.SendNameCached, p);
        p.payload = this.#payload(bytes, q, end);
        return;
      }
      case PacketType.Event:
      case PacketType.EventCached: {
        p.fromID = u64(dv, o);
        p.priority = bytes[o + 8]!;
        p.stampHi = be32(dv, o + 9) | 0;
        p.stampLo = be32(dv, o + 13);
        const q = this.#name(bytes, dv, o + 17, end, type === PacketType.EventCached, p);
        p.payload = this.#payload(bytes, q, end);
        return;
      }
      case PacketType.EventBatch:
        this.#eventBatch(bytes, o, end, p);
        return;
      case PacketType.Exit:
        p.fromID = u64(dv, o);
        p.priority = bytes[o + 8]! & 3;
        p.toID = u64(dv, o + 9);
        p.reason = this.#error(bytes, o + 17, end);
        return;
      case PacketType.CallPID:
      case PacketType.CallName:
      case PacketType.CallNameCached:
      case PacketType.CallAlias: {
        p.fromID = u64(dv, o);
        this.#prio(p, bytes[o + 8]!);
        p.id = id3(dv, o + 9);
        let q = o + 33;
        if (type === PacketType.CallPID) {
          p.toID = u64(dv, q);
          q += 8;
        } else if (type === PacketType.CallAlias) {
          p.alias = id3(dv, q);
          q += 24;
        } else q = this.#name(bytes, dv, q, end, type === PacketType.CallNameCached, p);
        p.payload = this.#payload(bytes, q, end);
        return;
      }
      case PacketType.Response:
      case PacketType.ResponseError: {
        p.fromID = u64(dv, o);
        this.#prio(p, bytes[o + 8]!);
        p.toID = u64(dv, o + 9);
        p.id = id3(dv, o + 17);
        if (type === PacketType.Response) {
          p.payload = this.#payload(bytes, o + 41, end);
          return;
        }
        const code = bytes[o + 41]!;
        p.code = code;
        if (code === ResponseCode.Error) p.reason = this.#error(bytes, o + 42, end);
        else if (code > ResponseCode.Terminated)
          throw new WireError('ERR_ENP_MALFORMED', `response code ${code} is not defined`);
        return;
      }
      case PacketType.TerminatePID:
        p.priority = bytes[o]! & 3;
        p.toID = u64(dv, o + 1);
        p.reason = this.#error(bytes, o + 9, end);
        return;
      case PacketType.TerminateAlias:
        p.priority = bytes[o]! & 3;
        p.alias = id3(dv, o + 1);
        p.reason = this.#error(bytes, o + 25, end);
        return;
      case PacketType.TerminateName:
      case PacketType.TerminateNameCached:
      case PacketType.TerminateEvent:
      case PacketType.TerminateEventCached: {
        p.priority = bytes[o]! & 3;
        const cached = type === PacketType.TerminateNameCached || type === PacketType.TerminateEventCached;
        const q = this.#name(bytes, dv, o + 1, end, cached, p);
        p.reason = this.#error(bytes, q, end);
        return;
      }
      case PacketType.Control:
        p.payload = this.#payload(bytes, o, end);
        if (p.payload === null || typeof p.payload !== 'object')
          throw new WireError('ERR_ENP_MALFORMED', 'control packet does not hold a control message');
        return;
      case PacketType.ControlBatch:
        p.payload = this.#controlBatch(bytes, o, end);
        return;
      case PacketType.Compressed: {
        if (inner) throw new WireError('ERR_ENP_COMPRESSION', 'a compressed packet wraps another compressed packet');
        const algo = bytes[o]!;
        const innerLength = be32(dv, o + 1);
        const plain = decompressPacket(algo, bytes.subarray(o + 5, end), innerLength, this.maxDecompressedSize);
        this.#decode(plain, 0, plain.length, p, true);
        p.compressed = algo;
        return;
      }
      default:
        throw new WireError('ERR_ENP_UNKNOWN_TYPE', `packet type ${type} is reserved and not implemented in ENP:R1`);
    }
  }

  /** 230 (ergo-ts event batch, see EnpEncoder.sendEventBatch): every event into the batch arrays. */
  #eventBatch(bytes: Uint8Array, o: number, end: number, p: EnpPacket): void {
    p.fromID = u64(bytes, o);
    p.priority = bytes[o + 8]!;
    let q = this.#name(bytes, bytes, o + 9, end, false, p);
    const payloads = this.#batchPayloads;
    const his = this.#batchStampHi;
    const los = this.#batchStampLo;
    let n = 0;
    while (q < end) {
      if (end - q < 13) throw new WireError('ERR_ENP_MALFORMED', `event batch entry of ${end - q} bytes is truncated`);
      const len = be32(bytes, q + 8);
      const at = q + 12;
      if (len === 0 || at + len > end)
        throw new WireError('ERR_ENP_MALFORMED', `event batch entry of ${len} bytes runs past the packet`);
      his[n] = be32(bytes, q) | 0;
      los[n] = be32(bytes, q + 4);
      payloads[n++] = this.#payload(bytes, at, at + len);
      q = at + len;
    }
    if (n === 0) throw new WireError('ERR_ENP_MALFORMED', 'event batch carries no event');
    p.batchCount = n;
    p.batchPayloads = payloads;
    p.batchStampHi = his;
    p.batchStampLo = los;
  }

  /** The entries of a control batch packet (control_batch.ts), in order. */
  #controlBatch(bytes: Uint8Array, q: number, end: number): ControlBatchEntry[] {
    const out: ControlBatchEntry[] = [];
    const short = (): WireError => new WireError('ERR_ENP_MALFORMED', 'control batch entry runs past the packet');
    while (q < end) {
      const kind = bytes[q]!;
      q++;
      switch (kind) {
        case BatchEntry.MonitorPID:
          if (q + 40 > end) throw short();
          out.push(new ControlBatchEntry(kind, u64(bytes, q), u64(bytes, q + 8), id3(bytes, q + 16), '', null));
          q += 40;
          break;
        case BatchEntry.DemonitorPID:
          if (q + 16 > end) throw short();
          out.push(new ControlBatchEntry(kind, u64(bytes, q), u64(bytes, q + 8), ZERO_ID3, '', null));
          q += 16;
          break;
        case BatchEntry.ResultOK:
          if (q + 24 > end) throw short();
          out.push(new ControlBatchEntry(kind, 0, 0, id3(bytes, q), '', null));
          q += 24;
          break;
        case BatchEntry.ResultPID:
          if (q + 32 > end) throw short();
          out.push(new ControlBatchEntry(kind, u64(bytes, q + 24), 0, id3(bytes, q), '', null));
          q += 32;
          break;
        case BatchEntry.Spawn: {
          if (q + 25 > end) throw short();
          const ref = id3(bytes, q);
          const n = bytes[q + 24]!;
          q += 25;
          if (q + n + 4 > end) throw short();
          const name = this.#nameAt(bytes, q, n);
          q += n;
          const len = be32(bytes, q);
          q += 4;
          if (q + len > end) throw short();
          out.push(new ControlBatchEntry(kind, 0, 0, ref, name, this.#spawnOptions(bytes, q, q + len)));
          q += len;
          break;
        }
        default:
          throw new WireError('ERR_ENP_MALFORMED', `control batch entry kind ${kind} is not defined`);
      }
    }
    return out;
  }

  /**
   * The options of a batched spawn: decoded once for a run of spawns whose options bytes repeat
   * (one parent spawning many), as long as they hold no environment a process could change.
   */
  #spawnOptions(bytes: Uint8Array, q: number, end: number): ProcessOptionsExtra {
    const n = end - q;
    const last = this.#lastOptionsBytes;
    if (last !== null && last.length === n && this.#lastOptions !== null) {
      let i = 0;
      while (i < n && bytes[q + i] === last[i]) i++;
      if (i === n) return this.#lastOptions;
    }
    const v = this.#payload(bytes, q, end);
    if (!(v instanceof ProcessOptionsExtra))
      throw new WireError('ERR_ENP_MALFORMED', 'control batch spawn options are not gen.ProcessOptionsExtra');
    const reusable = (v.parentEnv === null || v.parentEnv.size === 0) && (v.args === null || v.args.length === 0);
    this.#lastOptionsBytes = reusable ? bytes.slice(q, end) : null;
    this.#lastOptions = reusable ? v : null;
    return v;
  }

  #prio(p: EnpPacket, b: number): void {
    p.priority = b & 3;
    p.important = (b & IMPORTANT_BIT) !== 0;
  }

  /** A target name at `q`: u16 cache id (cached types) or u8 length + bytes. Returns the offset after it. */
  #name(bytes: Uint8Array, dv: Uint8Array, q: number, end: number, cached: boolean, p: EnpPacket): number {
    if (cached) {
      const id = be16(dv, q);
      const name = this.#atomCache?.get(id);
      if (name === undefined)
        throw new WireError('ERR_ENP_MALFORMED', `atom cache id ${id} is not in the peer's atom cache`);
      p.name = this.#atomMapping?.get(name) ?? name;
      return q + 2;
    }
    const n = bytes[q]!;
    if (q + 1 + n > end) throw new WireError('ERR_ENP_MALFORMED', `target name of ${n} bytes runs past the packet`);
    const name = this.#nameAt(bytes, q + 1, n);
    p.name = this.#atomMapping?.get(name) ?? name;
    return q + 1 + n;
  }

  /** The name in `bytes[at, at + n)`; the previous string again when its bytes repeat. */
  #nameAt(bytes: Uint8Array, at: number, n: number): string {
    const last = this.#lastNameBytes;
    if (n === this.#lastNameLength) {
      let i = 0;
      while (i < n && bytes[at + i] === last[i]) i++;
      if (i === n) return this.#lastName;
    }
    const name = internalized(Buffer.from(bytes.buffer, bytes.byteOffset + at, n).toString('utf8'));
    last.set(bytes.subarray(at, at + n));
    this.#lastNameLength = n;
    this.#lastName = name;
    return name;
  }

  #payload(bytes: Uint8Array, q: number, end: number): unknown {
    if (q >= end) throw new WireError('ERR_ENP_MALFORMED', 'packet has no payload');
    try {
      // A plain string (the usual event or message body) skips the general decoder's set-up.
      if (bytes[q] === Tag.String) {
        const s = this.#d.stringAt(bytes, q, end);
        if (s !== undefined) return s;
      }
      return this.#d.decode(bytes, q, end);
    } catch (err) {
      throw new WireError(
        'ERR_ENP_PAYLOAD',
        `payload does not decode: ${err instanceof EdfError ? err.message : String(err)}`,
        { cause: err },
      );
    }
  }

  #error(bytes: Uint8Array, q: number, end: number): Error | null {
    const v = this.#payload(bytes, q, end);
    if (v === null || v instanceof Error) return v;
    throw new WireError('ERR_ENP_MALFORMED', 'reason is not an error');
  }
}

function hex2(b: number): string {
  return b.toString(16).padStart(2, '0');
}

const TWO32 = 4294967296;

/**
 * `s` as V8's internalized copy (property keys are internalized). A target name is looked up in
 * the node's name table per packet: with both strings internalized the map's key compare is a
 * pointer compare instead of reading the characters. Made once per new name (the decoder keeps
 * the last one).
 */
function internalized(s: string): string {
  const o: Record<string, 0> = { [s]: 0 };
  for (const k in o) return k;
  return s;
}

function be16(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}

function be32(b: Uint8Array, at: number): number {
  return b[at]! * 0x1000000 + ((b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!);
}

// A view of the last buffer a bigint was read from: the packets of one socket read share their
// ArrayBuffer (an id past 2^53 is a bigint).
let viewOf: ArrayBufferLike | null = null;
let view: DataView | null = null;

function viewAt(b: Uint8Array): DataView {
  if (viewOf !== b.buffer || view === null) {
    viewOf = b.buffer;
    view = new DataView(b.buffer);
  }
  return view;
}

function u64(b: Uint8Array, at: number): number | bigint {
  const v = be32(b, at) * TWO32 + be32(b, at + 4);
  return v <= Number.MAX_SAFE_INTEGER ? v : viewAt(b).getBigUint64(b.byteOffset + at);
}

function id3(b: Uint8Array, at: number): WireID3 {
  return [u64(b, at), u64(b, at + 8), u64(b, at + 16)];
}
