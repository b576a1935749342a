// The in-host private frame: what two ergo-ts nodes of one cluster write on an in-host link once
// both announced it in the handshake (the `inHostFrame` network flag, sent only on in-host links;
// Go/Erlang peers and TCP links never see it). The hot packets — send to a PID or a name, call a
// PID or a name, the response — become short records with interned senders and targets: the first
// use of a sender id, a target PID or a target name sends it once with a 16-bit slot, later
// records carry the slot. Every other packet (events, exits, important sends and their acks,
// errors, compressed messages, control requests) is the ordinary ENP packet, in the same byte
// stream, in order: a record starts with a tag byte ENP never starts with (its magic is 0x4e).
// Payloads stay EDF with the link's settings, so values, ordering and delivery are the same.
//
// Record: tag u8, u32 length (whole record), then its fields, big-endian:
//   DEF_FROM / DEF_TO  u16 slot, u64 id            a sender id / a target PID id
//   DEF_NAME           u16 slot, utf8 bytes        a target name (after the atom mapping)
//   SEND_PID           u8 flags, u16 from, u16 to, payload
//   SEND_NAME          u8 flags, u16 from, u16 name, payload
//   CALL_PID/CALL_NAME u8 flags, u16 from, u16 to|name, ref 3×u64, payload
//   RESPONSE           u8 flags, u16 from, u16 to, ref 3×u64, payload
// flags: bits 0–1 priority, bit 6 "ordered" (the ENP order byte would not be 0). Slots are given
// in order from 0; a full table starts again at slot 0, which empties the reader's table too.

import { ErrTooLarge } from '../../gen/errors.js';
import { EdfDecoder } from '../edf/decoder.js';
import { defaultRegistry } from '../edf/default.js';
import { EdfError } from '../edf/errors.js';
import { Tag } from '../edf/tags.js';
import { WireError } from '../error.js';
import type { EnpDecoderOptions } from '../proto/decoder.js';
import { EnpEncoder, type EnpEncoderOptions, type EnpMessageOptions } from '../proto/encoder.js';
import { FrameAssembly } from '../proto/frame_assembly.js';
import { ENP_HEADER, ENP_MAGIC, EnpPacket, PacketType, ZERO_ID3 } from '../proto/packet.js';

const DEF_NAME = 0xe0;
const DEF_FROM = 0xe1;
const DEF_TO = 0xe2;
const SEND_PID = 0xe8;
const SEND_NAME = 0xe9;
const CALL_PID = 0xea;
const CALL_NAME = 0xeb;
const RESPONSE = 0xec;
/** Tag byte and u32 length. */
const HEAD = 5;
const ORDERED = 0x40;
/** Slots per table (u16); a full table starts again at slot 0 rather than growing. */
export const FRAME_TABLE_SIZE = 0xffff;

type U64 = number | bigint;
type ID3 = readonly [U64, U64, U64];

function isId(v: U64): v is number {
  return typeof v === 'number' && v >= 0 && v <= Number.MAX_SAFE_INTEGER && Number.isInteger(v);
}

function isRef(r: ID3): boolean {
  return isId(r[0]) && isId(r[1]) && isId(r[2]);
}

/** Whether a message goes as a record (else as the ENP packet: rare options keep ENP's handling). */
function plain(opts: EnpMessageOptions): boolean {
  return !opts.important && (opts.compression == null || !opts.compression.enable);
}

/** The flags byte: priority, and whether ENP's order byte (`id % 255`) would be non-zero. */
function flagsOf(opts: EnpMessageOptions, orderID: number): number {
  return (opts.priority & 3) | (opts.keepNetworkOrder && orderID % 255 !== 0 ? ORDERED : 0);
}

/**
 * The encoder of an in-host link with the private frame: the hot packets as records, the rest
 * as ENP packets (its parent's methods). Same contract as {@link EnpEncoder}: every method
 * appends one message (with the definitions it needs) or nothing and throws; `truncate` takes
 * back the last message with its definitions.
 */
export class PrivateFrameEncoder extends EnpEncoder {
  readonly #from = new Map<number, number>();
  readonly #to = new Map<number, number>();
  readonly #names = new Map<string, number>();
  /**
   * Definitions written by the last message: [position, table, key], undone by `truncate`;
   * `#ndefs` of them are live (a count, not `length = 0`: that is a runtime call per message).
   */
  readonly #defs: [number, Map<unknown, number>, unknown][] = [];
  #ndefs = 0;
  #records = 0;

  constructor(options: EnpEncoderOptions = {}) {
    super(options);
  }

  /** Records written so far (diagnostics and tests: the frame is in use). */
  get records(): number {
    return this.#records;
  }

  override truncate(mark: number): void {
    const defs = this.#defs;
    for (let i = this.#ndefs - 1; i >= 0; i--) {
      const [at, table, key] = defs[i]!;
      if (at < mark) break;
      table.delete(key);
      this.#ndefs = i;
    }
    super.truncate(mark);
  }

  override flush(): Buffer | undefined {
    this.#ndefs = 0;
    return super.flush();
  }

  override release(kept: boolean): void {
    // Positions start again at 0: the last message's definitions can no longer be taken back.
    this.#ndefs = 0;
    super.release(kept);
  }

  override sendPID(fromID: U64, toID: U64, opts: EnpMessageOptions, message: unknown): void {
    if (!plain(opts) || !isId(fromID) || !isId(toID)) return super.sendPID(fromID, toID, opts, message);
    const start = this.#start();
    const from = this.#slot(this.#from, fromID, DEF_FROM);
    const to = this.#slot(this.#to, toID, DEF_TO);
    this.#record(start, SEND_PID, flagsOf(opts, toID), from, to, null, message);
  }

  override sendProcessID(fromID: U64, name: string, opts: EnpMessageOptions, message: unknown): void {
    if (!plain(opts) || !isId(fromID) || typeof name !== 'string')
      return super.sendProcessID(fromID, name, opts, message);
    const start = this.#start();
    const from = this.#slot(this.#from, fromID, DEF_FROM);
    const to = this.#name(name);
    if (to < 0) return this.#fallback(start, () => super.sendProcessID(fromID, name, opts, message));
    this.#record(start, SEND_NAME, flagsOf(opts, fromID), from, to, null, message);
  }

  override callPID(fromID: U64, toID: U64, refID: ID3, opts: EnpMessageOptions, request: unknown): void {
    if (!plain(opts) || !isId(fromID) || !isId(toID) || !isRef(refID))
      return super.callPID(fromID, toID, refID, opts, request);
    const start = this.#start();
    const from = this.#slot(this.#from, fromID, DEF_FROM);
    const to = this.#slot(this.#to, toID, DEF_TO);
    this.#record(start, CALL_PID, flagsOf(opts, toID), from, to, refID, request);
  }

  override callProcessID(fromID: U64, name: string, refID: ID3, opts: EnpMessageOptions, request: unknown): void {
    if (!plain(opts) || !isId(fromID) || typeof name !== 'string' || !isRef(refID))
      return super.callProcessID(fromID, name, refID, opts, request);
    const start = this.#start();
    const from = this.#slot(this.#from, fromID, DEF_FROM);
    const to = this.#name(name);
    if (to < 0) return this.#fallback(start, () => super.callProcessID(fromID, name, refID, opts, request));
    this.#record(start, CALL_NAME, flagsOf(opts, fromID), from, to, refID, request);
  }

  override sendResponse(fromID: U64, toID: U64, refID: ID3, opts: EnpMessageOptions, response: unknown): void {
    if (!plain(opts) || !isId(fromID) || !isId(toID) || !isRef(refID))
      return super.sendResponse(fromID, toID, refID, opts, response);
    const start = this.#start();
    const from = this.#slot(this.#from, fromID, DEF_FROM);
    const to = this.#slot(this.#to, toID, DEF_TO);
    this.#record(start, RESPONSE, flagsOf(opts, toID), from, to, refID, response);
  }

  // ---- internals ----

  #start(): number {
    this.#ndefs = 0;
    // Shared events taken before this record go first, and no batch packet is extended past it.
    return this.openRaw().pos;
  }

  /** A name too long for a record goes as ENP (which reports it), without its definitions. */
  #fallback(start: number, enp: () => void): void {
    this.truncate(start);
    enp();
  }

  /** The slot of `key` in `table`, defined now (a DEF record) on first use. */
  #slot(table: Map<number, number>, key: number, tag: number): number {
    const s = table.get(key);
    if (s !== undefined) return s;
    if (table.size >= FRAME_TABLE_SIZE) table.clear();
    const slot = table.size;
    const e = this.edf;
    const at = e.pos;
    e.ensure(HEAD + 10);
    e.u8(tag);
    e.u32(HEAD + 10);
    e.u16(slot);
    e.u64n(key);
    table.set(key, slot);
    this.#defs[this.#ndefs++] = [at, table as Map<unknown, number>, key];
    return slot;
  }

  /** The slot of a target name (-1: longer than ENP allows, sent as ENP to fail there). */
  #name(name: string): number {
    const s = this.#names.get(name);
    if (s !== undefined) return s;
    if (Buffer.byteLength(name) > 255) return -1;
    if (this.#names.size >= FRAME_TABLE_SIZE) this.#names.clear();
    const slot = this.#names.size;
    const e = this.edf;
    const at = e.pos;
    e.u8(DEF_NAME);
    e.u32(0);
    e.u16(slot);
    e.utf8(name);
    e.dv.setUint32(at + 1, e.pos - at);
    this.#names.set(name, slot);
    this.#defs[this.#ndefs++] = [at, this.#names as Map<unknown, number>, name];
    return slot;
  }

  #record(start: number, tag: number, flags: number, from: number, to: number, ref: ID3 | null, v: unknown): void {
    const e = this.edf;
    const at = e.pos;
    try {
      e.ensure(HEAD + 5 + 24);
      e.u8(tag);
      e.u32(0);
      e.u8(flags);
      e.u16(from);
      e.u16(to);
      if (ref !== null) {
        e.u64n(ref[0] as number);
        e.u64n(ref[1] as number);
        e.u64n(ref[2] as number);
      }
      e.encodeTo(v);
    } catch (err) {
      this.truncate(start);
      throw err instanceof EdfError || err instanceof WireError
        ? err
        : new WireError('ERR_ENP_ENCODE', `packet cannot be encoded: ${String((err as Error)?.message ?? err)}`);
    }
    const length = e.pos - at;
    e.dv.setUint32(at + 1, length);
    const max = this.peerMaxMessageSize;
    if (max > 0 && length > max) {
      this.truncate(start);
      throw ErrTooLarge.with(`packet of ${length} bytes exceeds the peer's MaxMessageSize (${max})`);
    }
    this.#records++;
  }
}

/** Where a {@link PrivateFrameReader} hands what it decoded (the link). */
export interface FrameSink {
  /** One decoded message as the ENP packet it stands for; false once the link closed. */
  packet(p: EnpPacket): boolean;
  /** A record whose payload does not decode (dropped; the link goes on). */
  bad(err: WireError): void;
}

/**
 * Splits an in-host link's byte stream into ENP packets and private records. Same interface as
 * the ENP frame reader (`push`, then `next` until false; after `true`, `bytes[start, end)` is one
 * ENP packet): private records never come out of `next` — they are decoded here and handed to
 * the sink, in stream order, as the ENP packet they stand for. A malformed stream throws a fatal
 * WireError (the link closes).
 */
export class PrivateFrameReader {
  readonly maxMessageSize: number;
  bytes: Uint8Array = new Uint8Array(0);
  start = 0;
  end = 0;
  readonly #d: EdfDecoder;
  readonly #mapping: ReadonlyMap<string, string> | undefined;
  readonly #p = new EnpPacket();
  readonly #from: number[] = [];
  readonly #to: number[] = [];
  readonly #names: string[] = [];
  #chunk: Uint8Array = new Uint8Array(0);
  #pos = 0;
  /** A frame spanning chunks (the ENP frame reader's assembly). */
  readonly #asm = new FrameAssembly();
  readonly #lengthOf = (header: Uint8Array): number => this.#length(header, 0);
  #sink: FrameSink | null = null;
  #closed = false;

  constructor(decoder: EnpDecoderOptions, maxMessageSize: number) {
    this.maxMessageSize = maxMessageSize;
    this.#d = new EdfDecoder({
      registry: decoder.registry ?? defaultRegistry,
      atomCache: decoder.atomCache,
      typeCache: decoder.typeCache,
      errorCache: decoder.errorCache,
      atomMapping: decoder.atomMapping,
      exact: decoder.exact,
      limits: decoder.limits,
    });
    this.#mapping = decoder.atomMapping?.size ? decoder.atomMapping : undefined;
  }

  /** Sets where decoded records go (the link, once it starts). */
  attach(sink: FrameSink): void {
    this.#sink = sink;
  }

  get buffered(): number {
    return this.#asm.have + (this.#chunk.length - this.#pos);
  }

  push(chunk: Uint8Array): void {
    if (this.#pos < this.#chunk.length)
      throw new WireError('ERR_ENP_FRAME', 'push before the previous chunk was drained');
    this.#chunk = chunk;
    this.#pos = 0;
  }

  /** The next ENP packet (true), after handing every record before it to the sink; false: more bytes needed. */
  next(): boolean {
    for (;;) {
      if (this.#closed) return false;
      if (!this.#frame()) return false;
      const b = this.bytes;
      if (b[this.start] === ENP_MAGIC) return true;
      this.#record(b, this.start, this.end);
    }
  }

  /** Sets `bytes/start/end` to the next whole frame, assembling one that spans chunks. */
  #frame(): boolean {
    const c = this.#chunk;
    const pos = this.#pos;
    const asm = this.#asm;
    if (asm.have > 0) {
      this.#pos = asm.feed(c, pos, this.#lengthOf);
      if (!asm.complete) return false;
      const b = asm.take();
      this.bytes = b;
      this.start = 0;
      this.end = b.length;
      return true;
    }
    const left = c.length - pos;
    if (left === 0) return false;
    const head = c[pos] === ENP_MAGIC ? ENP_HEADER : HEAD;
    const n = left >= head ? this.#length(c, pos) : 0;
    if (n > 0 && left >= n) {
      this.bytes = c;
      this.start = pos;
      this.end = pos + n;
      this.#pos = pos + n;
      return true;
    }
    // A frame that continues in the next chunk (its length may still be unknown).
    asm.start(c, pos, head, n);
    this.#pos = c.length;
    return false;
  }

  /** The length of the frame at `b[at]` (at least ENP_HEADER bytes are there). */
  #length(b: Uint8Array, at: number): number {
    const t = b[at]!;
    let n: number;
    if (t === ENP_MAGIC) n = be32(b, at + 2);
    else if (t >= DEF_NAME && t <= RESPONSE) n = be32(b, at + 1);
    else return this.#fail(`unknown frame tag 0x${t.toString(16)}`);
    if (n < headOf(t)) return this.#fail(`frame length ${n} is shorter than its header`);
    if (this.maxMessageSize > 0 && n > this.maxMessageSize)
      return this.#fail(`frame of ${n} bytes exceeds maxMessageSize (${this.maxMessageSize})`, 'ERR_ENP_TOO_LARGE');
    return n;
  }

  #fail(message: string, code: 'ERR_ENP_FRAME' | 'ERR_ENP_TOO_LARGE' = 'ERR_ENP_FRAME'): never {
    this.#closed = true;
    throw new WireError(code, `in-host frame: ${message}`);
  }

  #record(b: Uint8Array, s: number, end: number): void {
    const tag = b[s]!;
    switch (tag) {
      case DEF_FROM:
      case DEF_TO: {
        if (end - s !== HEAD + 10) this.#fail('bad definition');
        const slot = be16(b, s + 5);
        const table = tag === DEF_FROM ? this.#from : this.#to;
        if (slot === 0) table.length = 0;
        if (slot !== table.length) this.#fail(`definition of slot ${slot} out of order`);
        table.push(be32(b, s + 7) * 4294967296 + be32(b, s + 11));
        return;
      }
      case DEF_NAME: {
        if (end - s < HEAD + 2) this.#fail('bad definition');
        const slot = be16(b, s + 5);
        if (slot === 0) this.#names.length = 0;
        if (slot !== this.#names.length) this.#fail(`definition of name slot ${slot} out of order`);
        const name = internalized(Buffer.from(b.buffer, b.byteOffset + s + 7, end - s - 7).toString('utf8'));
        this.#names.push(this.#mapping?.get(name) ?? name);
        return;
      }
      default:
        this.#message(tag, b, s, end);
    }
  }

  #message(tag: number, b: Uint8Array, s: number, end: number): void {
    if (end - s < HEAD + 6) this.#fail('record too short');
    // No clear(): this packet is the reader's own, and every field the dispatcher reads for
    // these types is set below (the others keep their zero values: nothing here sets them).
    const p = this.#p;
    const flags = b[s + 5]!;
    p.priority = flags & 3;
    p.order = (flags & ORDERED) !== 0 ? 1 : 0;
    p.length = end - s;
    const from = this.#from[be16(b, s + 6)];
    const slot = be16(b, s + 8);
    if (from === undefined) this.#fail('unknown sender slot');
    p.fromID = from;
    const named = tag === SEND_NAME || tag === CALL_NAME;
    if (named) {
      const name = this.#names[slot];
      if (name === undefined) this.#fail('unknown name slot');
      p.name = name;
      p.toID = 0;
    } else {
      const to = this.#to[slot];
      if (to === undefined) this.#fail('unknown target slot');
      p.toID = to;
      p.name = '';
    }
    let q = s + 10;
    if (tag !== SEND_PID && tag !== SEND_NAME) {
      if (end - q < 24) this.#fail('record too short');
      p.id = [u64(b, q), u64(b, q + 8), u64(b, q + 16)];
      q += 24;
    } else p.id = ZERO_ID3;
    p.type =
      tag === SEND_PID
        ? PacketType.SendPID
        : tag === SEND_NAME
          ? PacketType.SendName
          : tag === CALL_PID
            ? PacketType.CallPID
            : tag === CALL_NAME
              ? PacketType.CallName
              : PacketType.Response;
    try {
      p.payload = this.#payload(b, q, end);
    } catch (err) {
      this.#sink?.bad(
        new WireError('ERR_ENP_PAYLOAD', `payload does not decode: ${(err as Error).message}`, { cause: err }),
      );
      return;
    }
    if (this.#sink !== null && !this.#sink.packet(p)) this.#closed = true;
  }

  #payload(b: Uint8Array, q: number, end: number): unknown {
    if (q >= end) throw new EdfError('ERR_EDF_DECODE', 'record has no payload');
    const t = b[q];
    // A safe integer or a plain string skips the general decoder's set-up (as the ENP decoder
    // does for strings); the same value `decode` returns (a bigint beyond 2^53 goes through it).
    if (t === Tag.Int64 && end - q >= 9) {
      const v = (be32(b, q + 1) | 0) * 4294967296 + be32(b, q + 5);
      if (v <= Number.MAX_SAFE_INTEGER && v >= -Number.MAX_SAFE_INTEGER) return v;
    }
    if (t === Tag.String) {
      const v = this.#d.stringAt(b, q, end);
      if (v !== undefined) return v;
    }
    return this.#d.decode(b, q, end);
  }
}

/** Header bytes that hold a frame's length: ENP's 8, a record's 5. */
function headOf(tag: number): number {
  return tag === ENP_MAGIC ? ENP_HEADER : HEAD;
}

function be16(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}

function be32(b: Uint8Array, at: number): number {
  return b[at]! * 0x1000000 + ((b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!);
}

function u64(b: Uint8Array, at: number): number {
  return be32(b, at) * 4294967296 + be32(b, at + 4);
}

/** `s` as V8's internalized copy: the node's name lookup then compares pointers (see decoder.ts). */
function internalized(s: string): string {
  const o: Record<string, 0> = { [s]: 0 };
  for (const k in o) return k;
  return s;
}

/** The encoder and frame reader of an in-host link that uses the private frame (EnpLink's codec). */
export const privateFrameCodec = {
  encoder: (o: EnpEncoderOptions): EnpEncoder => new PrivateFrameEncoder(o),
  reader: (o: EnpDecoderOptions, maxMessageSize: number): PrivateFrameReader =>
    new PrivateFrameReader(o, maxMessageSize),
};
