// The output of one TCP link's ENP:R1 encoder (WIRE.md §3.2): a growable buffer the packets are
// written straight into — header, fixed fields and the EDF payload in one pass, the length patched
// afterwards — so a batch of packets costs no per-message concatenation; the link takes the whole
// batch with `flush()` (or `peek()`/`release()`) once per event-loop turn and writes it at once.
// Here is the frame every packet shares: its header, its end (compression replaces the packet
// just written by its wrapped form; the peer's announced MaxMessageSize is checked on the final,
// compressed packet), the undoing of a packet that failed, and what a packet left open at the
// tail (a batch packet entries may still join, shared events not copied in yet) means for the
// bytes taken. The packets themselves are written by the subclasses (message_packets.ts,
// encoder.ts).

import { ErrTooLarge, ErgoError } from '../../gen/errors.js';
import { EdfEncoder } from '../edf/encoder.js';
import { EdfError } from '../edf/errors.js';
import { defaultRegistry } from '../edf/default.js';
import { WireError } from '../error.js';
import { DEFAULT_COMPRESSION_THRESHOLD, PacketCompressor, algorithmOf } from './compression.js';
import type { SharedEventBatch } from './event_batch.js';
import { registerProtoTypes } from './messages.js';
import { ENP_HEADER, ENP_MAGIC, ENP_VERSION, PacketType } from './packet.js';
import type { EnpEncoderOptions, EnpMessageOptions, U64 } from './packet_fields.js';

/**
 * The output buffer of one link's encoder and the frame of every packet written into it.
 * Lifecycle: one per TCP link, created after the handshake with this side's caches and the
 * peer's limit; packets are appended by the subclass methods, then {@link EnpPacketOutput.flush}
 * (or peek/release) takes the bytes. Not re-entrant. A packet is either complete or not there:
 * a failed one is taken back and its error thrown (EdfError, WireError `ERR_ENP_ENCODE`, ErgoError
 * `ERR_TOO_LARGE`).
 */
export class EnpPacketOutput {
  /** The peer's MaxMessageSize (0 = none). */
  peerMaxMessageSize: number;
  /** The link's output: every packet is written into its buffer. */
  protected readonly out: EdfEncoder;
  protected readonly atomCache: ReadonlyMap<string, number> | undefined;
  protected readonly atomMapping: ReadonlyMap<string, string> | undefined;
  protected readonly compressor = new PacketCompressor();
  protected packets = 0;
  /** Start of the control batch packet written last (entries may be appended to it), or -1. */
  protected batchAt = -1;
  /**
   * Index of this encoder's wire format in an EventFanOut (1: JS values, 0: plain EDF),
   * or -1 when its packets depend on per-link caches and are never shared.
   */
  protected readonly format: number;
  /**
   * The open event batch at the buffer's tail (sendEventBatch): its start and where it ended
   * when last appended to (-1: none; the batch is open while nothing followed it), and what an
   * event must share with it to join it: sender, event name, priority and order byte.
   */
  protected batchStart = -1;
  protected batchEnd = -1;
  protected batchFrom: U64 = 0;
  protected batchName = '';
  protected batchKey = -1;
  /** Bytes of the open batch before its first event. */
  protected batchHead = 0;
  /**
   * Events of a shared batch this link takes, `[mirrorFirst, mirrorLast]` of `mirror`, not
   * copied yet: logically after every byte in the buffer; copied in as one batch packet
   * (materialize) before anything else is written, and on flush.
   */
  protected mirror: SharedEventBatch | null = null;
  protected mirrorFirst = 0;
  protected mirrorLast = 0;
  /** The packet those events will make (counted in `pending`; 0 without `mirror`). */
  protected mirrorBytes = 0;

  constructor(options: EnpEncoderOptions = {}) {
    const registry = options.registry ?? defaultRegistry;
    registerProtoTypes(registry);
    this.out = new EdfEncoder({
      registry,
      atomCache: options.atomCache,
      typeCache: options.typeCache,
      errorCache: options.errorCache,
      atomMapping: options.atomMapping,
      limits: { ...options.limits, maxMessageSize: 0xffffffff },
      jsValues: options.jsValues === true,
    });
    this.atomCache = options.atomCache?.size ? options.atomCache : undefined;
    this.atomMapping = options.atomMapping?.size ? options.atomMapping : undefined;
    const perLink =
      options.atomCache?.size || options.typeCache?.size || options.errorCache?.size || options.atomMapping?.size;
    this.format = perLink || registry !== defaultRegistry ? -1 : options.jsValues === true ? 1 : 0;
    const max = options.peerMaxMessageSize ?? 0;
    if (!Number.isSafeInteger(max) || max < 0)
      throw new WireError('ERR_ENP_ENCODE', `peerMaxMessageSize must be a non-negative integer, got ${String(max)}`);
    this.peerMaxMessageSize = max;
  }

  /** @internal The EDF encoder holding this link's output (the in-host private frame writes into it). */
  get edf(): EdfEncoder {
    return this.out;
  }

  /**
   * @internal Before a subclass writes a frame of its own at the end of the output (the in-host
   * private frame's records): the events this link took from a shared batch are written first
   * (they were published before it), and no batch packet stays open to be extended past it.
   * Returns the output's encoder.
   */
  protected openRaw(): EdfEncoder {
    if (this.mirror !== null) this.materialize();
    this.batchAt = -1;
    this.batchEnd = -1;
    return this.out;
  }

  /** Bytes waiting in the buffer. */
  get pending(): number {
    return this.out.pos + this.mirrorBytes;
  }

  /** Packets waiting in the buffer. */
  get pendingPackets(): number {
    return this.packets;
  }

  /** Takes every packet written since the last flush (a fresh Buffer the caller owns), or undefined if none. */
  flush(): Buffer | undefined {
    if (this.mirror !== null) this.materialize();
    const e = this.out;
    if (e.pos === 0) return undefined;
    const out = Buffer.allocUnsafe(e.pos);
    e.buf.copy(out, 0, 0, e.pos);
    e.reset();
    this.packets = 0;
    this.batchEnd = -1;
    this.batchAt = -1;
    return out;
  }

  /**
   * Every packet written since the last flush as a view of the encoder's own buffer (no copy),
   * or undefined if none. The view stays valid until {@link EnpEncoder.release}, which must be
   * called before the next packet is written.
   */
  peek(): Buffer | undefined {
    if (this.mirror !== null) this.materialize();
    const e = this.out;
    return e.pos === 0 ? undefined : e.buf.subarray(0, e.pos);
  }

  /**
   * Ends a {@link EnpEncoder.peek}: the buffer is empty again. `kept`: the peeked bytes are still
   * referenced (a socket write queued them), so the encoder moves to a fresh buffer instead of
   * overwriting them.
   */
  release(kept: boolean): void {
    if (kept) this.out.detach();
    else this.out.reset();
    this.packets = 0;
    this.batchEnd = -1;
    this.batchAt = -1;
  }

  /**
   * Takes back every byte written after `mark` (a {@link EnpEncoder.pending} read before the
   * packet was encoded): the packet is not sent. Only between a peek/release pair's uses.
   */
  truncate(mark: number): void {
    if (this.mirror !== null) this.materialize();
    const e = this.out;
    if (mark < 0 || mark > e.pos) return;
    if (this.batchEnd === e.pos && mark > this.batchStart) {
      // An event appended to the open batch: the batch stays, one event shorter.
      e.dv.setUint32(this.batchStart + 2, mark - this.batchStart);
      this.batchEnd = e.pos = mark;
      return;
    }
    if (mark < e.pos) this.packets--;
    if (this.batchEnd > mark) this.batchEnd = -1;
    e.pos = mark;
    this.batchAt = -1;
  }

  // ---- the frame of a packet ----

  /** Copies the shared batch events this link took in as one batch packet (left open). */
  protected materialize(): void {
    const sb = this.mirror!;
    this.mirror = null;
    this.mirrorBytes = 0;
    const s = this.begin(sb.order, PacketType.EventBatch);
    const e = this.out;
    e.bytes(sb.head);
    const from = sb.startOf(this.mirrorFirst);
    const to = sb.ends[this.mirrorLast]!;
    e.ensure(to - from);
    sb.buf.copy(e.buf, e.pos, from, to);
    e.pos += to - from;
    e.dv.setUint32(s + 2, e.pos - s);
    this.packets++;
    this.batchStart = s;
    this.batchEnd = e.pos;
    this.batchKey = sb.key;
    this.batchFrom = sb.fromID;
    this.batchName = sb.name;
    this.batchHead = ENP_HEADER + sb.head.length;
  }

  protected begin(order: number, type: number): number {
    if (this.mirror !== null) this.materialize();
    const e = this.out;
    const start = e.pos;
    this.batchAt = -1;
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
  protected end(start: number, opts: EnpMessageOptions | null): void {
    const e = this.out;
    let length = e.pos - start;
    e.dv.setUint32(start + 2, length);
    const c = opts?.compression;
    if (c != null && c.enable && length > (c.threshold ?? DEFAULT_COMPRESSION_THRESHOLD)) {
      const algo = algorithmOf(c.type);
      const inner = e.buf.subarray(start, e.pos);
      const order = inner[6]!;
      let z: Uint8Array;
      try {
        z = this.compressor.compress(algo, c.level, inner);
      } catch (err) {
        throw this.abort(start, err);
      }
      e.pos = start;
      this.begin(order, PacketType.Compressed);
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
    this.packets++;
  }

  protected abort(start: number, err: unknown): Error {
    this.out.pos = start;
    if (err instanceof EdfError || err instanceof WireError || err instanceof ErgoError) return err;
    return new WireError('ERR_ENP_ENCODE', `packet cannot be encoded: ${String((err as Error)?.message ?? err)}`, {
      cause: err,
    });
  }

  protected payload(value: unknown): void {
    this.out.encodeTo(value);
  }

  /** The atom-cache id of a target name (after mapping), or 0 to send it inline. */
  protected cachedName(name: string): number {
    const c = this.atomCache;
    if (c === undefined) return 0;
    return c.get(this.atomMapping?.get(name) ?? name) ?? 0;
  }
}
