// One distribution connection after the handshake (ERLANG.md §2.7, §3.4–3.6): 4-byte framed
// packets, zero-length ticks both ways, the per-direction atom caches, reassembly of fragmented
// messages ('E'/'F') and fragmentation of large outgoing ones, and the pass-through framing
// ('p') when the peer supports neither the atom cache header nor fragments. It decodes and
// encodes control messages with their payloads; what they mean (SEND, LINK, MONITOR_P...) is
// the node's business. Packets of one connection are decoded in arrival order.

import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
// Imported, not the `process` global: that global is an accessor, a slow lookup on every flush.
import { nextTick } from 'node:process';
import { DistError } from '../errors.js';
import {
  AtomCacheIn,
  AtomCacheOut,
  decodeAtomCacheRefs,
  decodeDistMessage,
  encodeDistMessage,
  type DistMessage,
  type EncodeDistOptions,
} from '../etf/atom_cache.js';
import { TermReader } from '../etf/decoder.js';
import { EtfError } from '../etf/errors.js';
import { TermWriter } from '../etf/encoder.js';
import { resolveEtfLimits, type EtfLimits } from '../etf/limits.js';
import { DIST_FRAG_CONT, DIST_FRAG_HEADER, DIST_HEADER, PASS_THROUGH, VERSION } from '../etf/tags.js';
import type { ErlPid, Term } from '../etf/terms.js';
import { DFLAG } from '../handshake/flags.js';
import type { HandshakeResult } from '../handshake/handshake.js';

/** Options of {@link DistConnection}. */
export interface DistConnectionOptions {
  /** Send a tick when nothing was written for this long, ms. Default 15000 (OTP: net_ticktime / 4). */
  tickInterval?: number;
  /** Close when nothing was read for this long, ms. Default 60000 (OTP's net_ticktime). Code `ERR_DIST_TIMEOUT`. */
  peerTimeout?: number;
  /** Codec limits; `maxMessageSize` also bounds a packet and a reassembled message. */
  limits?: Partial<EtfLimits>;
  /** Most fragmented messages being reassembled at once. Default 256. Code `ERR_DIST_PROTOCOL`. */
  maxFragmentSequences?: number;
  /** Body bytes per outgoing fragment. Default 65536 (as OTP). */
  fragmentSize?: number;
  /** Use an outgoing atom cache when the peer accepts cache refs. Default true. */
  atomCache?: boolean;
  /** What pids in received messages become (default: ErlPid; a node maps them to ergo-ts PIDs). */
  mapPid?: (p: ErlPid) => Term;
}

/** Events of {@link DistConnection}. */
export interface DistConnectionEvents {
  /** A control message (and its payload) arrived. */
  message: [msg: DistMessage];
  /** The connection is closed; `reason` is undefined after a local {@link DistConnection.close}. */
  close: [reason: Error | undefined];
  /** The peer sent a tick (a zero-length packet). */
  tick: [];
}

interface Reassembly {
  next: bigint; // the fragment id expected next
  parts: Buffer[];
  size: number;
  atomRefs: string[];
}

/** A live distribution connection. Create it from a completed handshake. */
export class DistConnection extends EventEmitter<DistConnectionEvents> {
  readonly peerName: string;
  readonly peerCreation: number;
  /** The effective flags (ours AND the peer's). */
  readonly flags: bigint;
  readonly #socket: Socket;
  readonly #limits: Readonly<EtfLimits>;
  readonly #cacheIn = new AtomCacheIn();
  readonly #cacheOut: AtomCacheOut | undefined;
  readonly #fragments = new Map<bigint, Reassembly>();
  readonly #maxSequences: number;
  readonly #fragmentSize: number;
  readonly #passThrough: boolean;
  readonly #fragmenting: boolean;
  readonly #mapPid: ((p: ErlPid) => Term) | undefined;
  readonly #encodeOptions: EncodeDistOptions;
  /** Built once: the decoder's options (an object per packet was garbage on the hot path). */
  readonly #decodeOptions: { limits: Readonly<EtfLimits>; mapPid?: (p: ErlPid) => Term };
  #out = Buffer.allocUnsafe(OUT_BUFFER);
  #outLen = 0;
  #flushQueued = false;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #wrote = false;
  #wroteSinceTickIn = false;
  #read = false;
  #silentFor = 0;
  #timer: NodeJS.Timeout;
  #closed = false;
  #sequence = 1n;
  /** Ticks received, for observability and tests. */
  ticksIn = 0;
  /** Ticks sent. */
  ticksOut = 0;
  /** Fragments received ('E' and 'F' packets). */
  fragmentsIn = 0;
  /** Fragments sent. */
  fragmentsOut = 0;
  /** Messages received and sent (a fragmented message counts once). */
  messagesIn = 0;
  messagesOut = 0;

  constructor(handshake: HandshakeResult, options: DistConnectionOptions = {}) {
    super();
    this.peerName = handshake.peerName;
    this.peerCreation = handshake.peerCreation;
    this.flags = handshake.flags;
    this.#socket = handshake.socket;
    this.#limits = resolveEtfLimits(options.limits);
    this.#maxSequences = options.maxFragmentSequences ?? 256;
    this.#fragmentSize = options.fragmentSize ?? 65536;
    this.#mapPid = options.mapPid;
    this.#passThrough = (this.flags & (DFLAG.DIST_HDR_ATOM_CACHE | DFLAG.FRAGMENTS)) === 0n;
    this.#fragmenting = (this.flags & DFLAG.FRAGMENTS) !== 0n;
    this.#cacheOut =
      options.atomCache !== false && (this.flags & DFLAG.DIST_HDR_ATOM_CACHE) !== 0n ? new AtomCacheOut() : undefined;
    this.#decodeOptions = this.#mapPid ? { limits: this.#limits, mapPid: this.#mapPid } : { limits: this.#limits };
    this.#encodeOptions = this.#cacheOut ? { limits: this.#limits, cache: this.#cacheOut } : { limits: this.#limits };
    const tick = options.tickInterval ?? 15000;
    const peerTimeout = options.peerTimeout ?? 60000;
    this.#timer = setInterval(() => this.#onTimer(tick, peerTimeout), tick);
    this.#timer.unref();
    const s = this.#socket;
    s.setNoDelay(true);
    s.on('data', (b: Buffer) => this.#onData(b));
    s.on('error', (e) => this.#shutdown(new DistError('ERR_DIST_CLOSED', `socket error: ${e.message}`, { cause: e })));
    s.on('close', () => this.#shutdown(new DistError('ERR_DIST_CLOSED', `${this.peerName} closed the connection`)));
    if (handshake.buffered.length > 0) queueMicrotask(() => this.#onData(handshake.buffered));
  }

  /** False once closed. */
  get open(): boolean {
    return !this.#closed;
  }

  /**
   * Sends a control message with an optional payload (`payload` undefined = none).
   * @throws EtfError when a term cannot be encoded (nothing is sent; the connection stays up);
   *   DistError `ERR_DIST_CLOSED` after close.
   */
  send(control: Term, payload?: Term): void {
    if (this.#closed) throw new DistError('ERR_DIST_CLOSED', `connection to ${this.peerName} is closed`);
    if (this.#passThrough) {
      const w = new TermWriter(this.#limits);
      w.u8(PASS_THROUGH);
      w.u8(VERSION);
      w.term(control, 0);
      if (payload !== undefined) {
        w.u8(VERSION);
        w.term(payload, 0);
      }
      this.#writePacket(w.result());
      this.messagesOut++;
      return;
    }
    const msg = encodeDistMessage(control, payload, this.#encodeOptions);
    const headerEnd = atomCacheSectionEnd(msg);
    this.messagesOut++;
    if (!this.#fragmenting || msg.length - headerEnd <= this.#fragmentSize) {
      this.#writePacket(msg);
      return;
    }
    // 'E' carries the atom cache section and the first bytes of the terms, 'F's the rest;
    // fragment ids count down to 1
    const terms = msg.subarray(headerEnd);
    const count = Math.ceil(terms.length / this.#fragmentSize);
    const seq = this.#sequence++;
    for (let i = 0; i < count; i++) {
      const head = Buffer.allocUnsafe(18);
      head[0] = VERSION;
      head[1] = i === 0 ? DIST_FRAG_HEADER : DIST_FRAG_CONT;
      head.writeBigUInt64BE(seq, 2);
      head.writeBigUInt64BE(BigInt(count - i), 10);
      const part = terms.subarray(i * this.#fragmentSize, (i + 1) * this.#fragmentSize);
      this.#writePacket(
        i === 0 ? Buffer.concat([head, msg.subarray(2, headerEnd), part]) : Buffer.concat([head, part]),
      );
      this.fragmentsOut++;
    }
  }

  /** Closes the connection (the peer sees the socket close). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#flush();
    this.#shutdown(undefined);
    this.#socket.end();
    setTimeout(() => this.#socket.destroy(), 1000).unref();
  }

  /**
   * Queues one framed packet. Packets are framed into a per-connection buffer and written with
   * one socket write at the end of the current task (see {@link DistConnection.#schedule}); a
   * packet larger than the buffer goes out at once after what is queued, so order is kept.
   */
  #writePacket(p: Buffer): void {
    const need = 4 + p.length;
    if (need > OUT_DIRECT) {
      this.#flush();
      const len = Buffer.allocUnsafe(4);
      len.writeUInt32BE(p.length, 0);
      this.#socket.write(len);
      this.#socket.write(p);
    } else {
      if (this.#outLen + need > this.#out.length) this.#flush();
      const out = this.#out;
      out.writeUInt32BE(p.length, this.#outLen);
      p.copy(out, this.#outLen + 4);
      this.#outLen += need;
      this.#schedule();
    }
    this.#wrote = true;
    this.#wroteSinceTickIn = true;
  }

  /**
   * Schedules the flush for the end of the current task: a microtask that queues a
   * `process.nextTick`, which Node runs only once every microtask has run. The processes of this
   * task (they run in microtasks) have all written by then, so a gen_server call (MONITOR_P and
   * the request) and the previous reply's DEMONITOR_P leave in one write — and at once, not on
   * the event loop's check phase (a setImmediate cost a macrotask per round trip).
   */
  #schedule(): void {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    queueMicrotask(this.#flushAfterMicrotasks);
  }

  readonly #flushAfterMicrotasks = (): void => {
    nextTick(this.#flushNow);
  };

  /**
   * Writes what is queued straight from the output buffer. A write the kernel takes whole (the
   * usual case) leaves the buffer free for the next batch; one the socket had to keep (the peer
   * does not read fast enough) holds on to it, so the next batch gets a fresh buffer.
   */
  #flush(): void {
    const n = this.#outLen;
    if (n === 0 || this.#closed) {
      this.#outLen = 0;
      return;
    }
    this.#outLen = 0;
    const s = this.#socket;
    s.write(this.#out.subarray(0, n));
    if (s.writableLength > 0) this.#out = Buffer.allocUnsafe(OUT_BUFFER);
  }

  readonly #flushNow = (): void => {
    this.#flushQueued = false;
    this.#flush();
  };

  #tick(): void {
    this.#flush();
    this.#socket.write(TICK);
    this.ticksOut++;
    this.#wrote = true;
    this.#wroteSinceTickIn = true;
  }

  #onTimer(tick: number, peerTimeout: number): void {
    if (this.#closed) return;
    if (!this.#wrote) this.#tick();
    this.#wrote = false;
    if (this.#read) this.#silentFor = 0;
    else this.#silentFor += tick;
    this.#read = false;
    if (this.#silentFor >= peerTimeout)
      this.#fail(new DistError('ERR_DIST_TIMEOUT', `nothing from ${this.peerName} for ${this.#silentFor} ms`));
  }

  #onData(chunk: Buffer): void {
    if (this.#closed) return;
    this.#read = true;
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    const buf = this.#pending.length === 1 ? this.#pending[0]! : Buffer.concat(this.#pending, this.#pendingBytes);
    let o = 0;
    while (buf.length - o >= 4) {
      const len = buf.readUInt32BE(o);
      if (len === 0) {
        // answer a tick when we wrote nothing since the previous one, so a peer with a short
        // net_ticktime keeps hearing from us whatever our own tickInterval is
        this.ticksIn++;
        o += 4;
        if (!this.#wroteSinceTickIn) this.#tick();
        this.#wroteSinceTickIn = false;
        this.emit('tick');
        if (this.#closed) return;
        continue;
      }
      if (len > this.#limits.maxMessageSize + 64) {
        this.#fail(
          new DistError(
            'ERR_DIST_PROTOCOL',
            `packet of ${len} bytes exceeds maxMessageSize ${this.#limits.maxMessageSize}`,
          ),
        );
        return;
      }
      if (buf.length - o - 4 < len) break;
      const packet = buf.subarray(o + 4, o + 4 + len);
      o += 4 + len;
      let msg: DistMessage | undefined;
      try {
        msg = this.#packet(packet);
      } catch (e) {
        this.#fail(
          e instanceof DistError
            ? e
            : new DistError('ERR_DIST_PROTOCOL', `undecodable message from ${this.peerName}: ${(e as Error).message}`, {
                cause: e,
              }),
        );
        return;
      }
      // listeners run outside the decoder's error handling: their exceptions are theirs
      if (msg !== undefined) {
        this.messagesIn++;
        this.emit('message', msg);
      }
      if (this.#closed) return;
    }
    const rest = buf.subarray(o);
    this.#pending = rest.length > 0 ? [rest] : [];
    this.#pendingBytes = rest.length;
  }

  #fail(err: DistError): void {
    this.#shutdown(err);
    this.#socket.destroy();
  }

  /** Decodes one packet; undefined while a fragmented message is incomplete. */
  #packet(p: Buffer): DistMessage | undefined {
    if (p[0] === VERSION && p[1] === DIST_FRAG_HEADER) return this.#firstFragment(p);
    if (p[0] === VERSION && p[1] === DIST_FRAG_CONT) return this.#nextFragment(p);
    if ((p[0] === VERSION && p[1] === DIST_HEADER) || p[0] === PASS_THROUGH)
      return decodeDistMessage(p, this.#cacheIn, this.#decodeOptions);
    throw new DistError(
      'ERR_DIST_PROTOCOL',
      `packet starting ${p.subarray(0, 2).toString('hex')} is not a distribution message`,
    );
  }

  #firstFragment(p: Buffer): DistMessage | undefined {
    this.fragmentsIn++;
    if (p.length < 19) throw new DistError('ERR_DIST_PROTOCOL', 'truncated fragment header');
    const seq = p.readBigUInt64BE(2);
    const count = p.readBigUInt64BE(10);
    if (count === 0n) throw new DistError('ERR_DIST_PROTOCOL', 'fragment count 0');
    if (this.#fragments.has(seq)) throw new DistError('ERR_DIST_PROTOCOL', `fragment sequence ${seq} started twice`);
    if (this.#fragments.size >= this.#maxSequences)
      throw new DistError('ERR_DIST_PROTOCOL', `more than ${this.#maxSequences} fragmented messages in flight`);
    // the atom cache section is read now, in arrival order, like any header
    const { atomRefs, end } = decodeAtomCacheRefs(p, 18, this.#cacheIn, this.#limits);
    const first = p.subarray(end);
    const r: Reassembly = { next: count - 1n, parts: [Buffer.from(first)], size: first.length, atomRefs };
    if (r.next === 0n) return this.#complete(r);
    this.#fragments.set(seq, r);
    return undefined;
  }

  #nextFragment(p: Buffer): DistMessage | undefined {
    this.fragmentsIn++;
    if (p.length < 18) throw new DistError('ERR_DIST_PROTOCOL', 'truncated fragment header');
    const seq = p.readBigUInt64BE(2);
    const id = p.readBigUInt64BE(10);
    const r = this.#fragments.get(seq);
    if (r === undefined || id !== r.next)
      throw new DistError('ERR_DIST_PROTOCOL', `fragment ${id} of sequence ${seq} out of order`);
    const part = p.subarray(18);
    r.size += part.length;
    if (r.size > this.#limits.maxMessageSize)
      throw new DistError(
        'ERR_DIST_PROTOCOL',
        `fragmented message exceeds maxMessageSize ${this.#limits.maxMessageSize}`,
      );
    r.parts.push(Buffer.from(part));
    r.next--;
    if (r.next !== 0n) return undefined;
    this.#fragments.delete(seq);
    return this.#complete(r);
  }

  #complete(r: Reassembly): DistMessage {
    const body = Buffer.concat(r.parts, r.size);
    const reader = new TermReader(body, 0, body.length, this.#limits, r.atomRefs);
    reader.mapPid = this.#mapPid;
    const control = reader.term(0);
    const payload = reader.pos < body.length ? reader.term(0) : undefined;
    if (reader.pos !== body.length)
      throw new EtfError('ERR_ETF_DECODE', `${body.length - reader.pos} bytes after the payload`, reader.pos);
    return { control, payload };
  }

  #shutdown(reason: Error | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#fragments.clear();
    this.emit('close', reason);
  }
}

const TICK = Buffer.alloc(4);
/** Size of the per-connection output buffer that packets of one turn are framed into. */
const OUT_BUFFER = 65536;
/** Packets (with their length) above this are written directly rather than copied. */
const OUT_DIRECT = 16384;

/** Offset just after the atom cache section of a message we encoded (`131 68 N ...`). */
function atomCacheSectionEnd(msg: Buffer): number {
  const n = msg[2]!;
  if (n === 0) return 3;
  const flagsAt = 3;
  const long = ((msg[flagsAt + (n >> 1)]! >> ((n & 1) * 4)) & 1) === 1;
  let o = flagsAt + (n >> 1) + 1;
  for (let i = 0; i < n; i++) {
    const isNew = ((msg[flagsAt + (i >> 1)]! >> ((i & 1) * 4)) & 8) !== 0;
    o += 1;
    if (isNew) {
      const len = long ? msg.readUInt16BE(o) : msg[o]!;
      o += (long ? 2 : 1) + len;
    }
  }
  return o;
}
