// One TCP (or TLS) link of an ENP connection: the socket, its packet encoder (an output buffer
// written once per task, see `touch`), its frame reader and packet decoder. Inbound packets are
// decoded in the socket's data handler and handed to the connection synchronously, one reused
// EnpPacket at a time — no Promise, no timer, no copy per message. The exception is a compressed
// packet that inflates to more than SYNC_INFLATE_LIMIT bytes, or beyond this turn's inflation
// budget: the link pauses its socket, inflates it off the critical path (thread pool, or LZW in
// slices) and then goes on with the packets behind it, in order, so a peer sending large
// compressed packets slows its own link only.

import type { Socket } from 'node:net';
// Imported, not the `process` global: that global is an accessor, a slow lookup on every flush.
import { nextTick } from 'node:process';
import { inflatePacket, SYNC_INFLATE_LIMIT } from './compression.js';
import { EnpDecoder, type EnpDecoderOptions } from './decoder.js';
import { EnpEncoder, type EnpEncoderOptions } from './encoder.js';
import { ENP_HEADER, EnpPacket, PacketType } from './packet.js';
import { EnpFrameReader } from './stream.js';
import { WireError } from '../error.js';

/** The frame splitter a link reads with: ENP's, or the in-host private frame's. */
interface FrameSource {
  push(chunk: Uint8Array): void;
  next(): boolean;
  readonly bytes: Uint8Array;
  readonly start: number;
  readonly end: number;
}

/**
 * Another codec for a link: the in-host private frame (net/inhost/private_frame.ts). Its reader
 * hands out ENP packets as the ENP reader does and delivers its own records to `attach`'s sink.
 */
export interface LinkCodec {
  encoder(o: EnpEncoderOptions): EnpEncoder;
  reader(
    o: EnpDecoderOptions,
    maxMessageSize: number,
  ): FrameSource & { attach(sink: { packet(p: EnpPacket): boolean; bad(err: WireError): void }): void };
}

/** What a link reports to its connection. */
export interface LinkOwner {
  /** One decoded packet (valid only during the call). */
  onPacket(packet: EnpPacket, link: EnpLink): void;
  /** A packet that could not be decoded (dropped; the link continues unless `fatal`). */
  onBadPacket(err: WireError, link: EnpLink): void;
  /** The socket closed (or was destroyed after a fatal error). */
  onLinkDown(link: EnpLink, reason: Error | null): void;
  /** Packets encoded for a link whose socket broke before they were written: send them on another. */
  onOrphanBytes(link: EnpLink, bytes: Buffer): void;
  /** An ergo-ts link frame (PacketType.LinkFrame) of kind `kind` ({@link LinkFrame}). */
  onLinkFrame(link: EnpLink, kind: number): void;
}

/**
 * The ergo-ts link frames (PacketType.LinkFrame: the 8-byte header alone, its order byte the
 * kind), sent only to a peer that announced `ergoFrames`.
 */
export const LinkFrame = Object.freeze({
  /** The heartbeat's probe: answer it with {@link LinkFrame.Answer} (heartbeat.ts). */
  Probe: 0,
  /** The answer to a probe; also the first packet on a joined link (link_pool.ts). */
  Answer: 1,
  /**
   * The last packet on this link before the sender also sends on a link joined since: the peer
   * reads the new link once every older link brought its switch (link_pool.ts).
   */
  Switch: 2,
});

const LINK_FRAMES = [0, 1, 2].map((kind) => Buffer.from([0x4e, 1, 0, 0, 0, ENP_HEADER, kind, PacketType.LinkFrame]));

/**
 * Links with packets waiting to be written, flushed together at the end of the current task:
 * `dirty[0, dirtyCount)`. The array is reused, never truncated (setting `length` is a runtime
 * call); flushed slots are cleared so a closed link is not kept alive.
 */
const dirty: (EnpLink | null)[] = [];
let dirtyCount = 0;
let flushScheduled = false;

/** An already resolved promise: `then` on it queues a plain microtask. */
const RESOLVED: Promise<void> = Promise.resolve();

/** Runs in a microtask: a tick queued from a microtask runs once every microtask has run. */
function flushAfterMicrotasks(): void {
  nextTick(flushAll);
}

function flushAll(): void {
  flushScheduled = false;
  flushDirty();
}

function flushDirty(): void {
  // Index loop: a flush never adds links (writes are synchronous), but be safe with the count.
  for (let i = 0; i < dirtyCount; i++) {
    const l = dirty[i]!;
    dirty[i] = null;
    l.flushNow();
  }
  dirtyCount = 0;
}

/**
 * Writes now what every link of this thread holds, instead of at the end of the task. Called by
 * a node's scheduler at its flush points during a long drain (node/scheduler.ts): the end of the
 * task is the end of the drain's chain of microtasks, up to a whole budget later, and a peer
 * node waiting for that work would sit idle meanwhile. Order is kept: each link writes its bytes
 * in the order they were encoded, whenever it writes them. The end-of-task flush still comes (it
 * finds nothing, or what was sent after this one).
 */
export function flushLinksNow(): void {
  if (dirtyCount > 0) flushDirty();
}

/**
 * One link. Lifecycle: created after the handshake with the socket paused; {@link EnpLink.start}
 * pushes the handshake's tail and resumes; {@link EnpLink.close} ends it. The encoder methods of
 * {@link EnpLink.enc} append packets; {@link EnpLink.touch} schedules the write.
 */
export class EnpLink {
  readonly enc: EnpEncoder;
  readonly #dec: EnpDecoder;
  readonly #reader: FrameSource;
  readonly #packet = new EnpPacket();
  #scheduled = false;
  #closed = false;
  /** A packet is being inflated: frames wait in the reader, chunks in `#waiting`, the socket is paused. */
  #inflating = false;
  #waiting: Uint8Array[] = [];
  bytesIn = 0;
  bytesOut = 0;
  /** Bytes of user packets (sends, calls, responses, events) encoded and not written yet. */
  userPending = 0;
  /** Bytes of user packets written since the socket was last seen empty (see userQueued). */
  #userWritten = 0;
  /**
   * A link the peer joined to a connection this node accepted, not used for sending until the
   * peer's first packet on it shows the peer kept it (EnpConnection.addLink).
   */
  held = false;
  /** The link carries the in-host private frame (a {@link LinkCodec}), not ENP alone. */
  readonly privateFrame: boolean = false;
  readonly dsn: string;

  constructor(
    readonly socket: Socket,
    private readonly owner: LinkOwner,
    encoder: EnpEncoderOptions,
    decoder: EnpDecoderOptions,
    maxMessageSize: number,
    codec: LinkCodec | null = null,
  ) {
    this.enc = codec === null ? new EnpEncoder(encoder) : codec.encoder(encoder);
    this.#dec = new EnpDecoder(decoder);
    if (codec === null) this.#reader = new EnpFrameReader(maxMessageSize);
    else {
      const r = codec.reader(decoder, maxMessageSize);
      r.attach({
        packet: (p) => {
          this.owner.onPacket(p, this);
          return !this.#closed;
        },
        bad: (err) => this.owner.onBadPacket(err, this),
      });
      this.#reader = r;
      this.privateFrame = true;
    }
    this.dsn = `${socket.remoteAddress ?? ''}:${socket.remotePort ?? 0}`;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, KEEPALIVE_MS);
  }

  /**
   * Starts reading: the handshake's leftover bytes first, then the socket. `hold`: watch the
   * socket's end but read nothing until {@link EnpLink.read} (a joined link waits for the
   * older links' switch frames, link_pool.ts).
   */
  start(tail: Uint8Array | null, hold = false): void {
    const s = this.socket;
    s.on('error', (err: Error) => this.#down(err));
    s.on('close', () => this.#down(null));
    if (hold) {
      this.#heldTail = tail;
      return;
    }
    this.#read(tail);
  }

  /** The handshake's tail of a link started with `hold`, until {@link EnpLink.read}. */
  #heldTail: Uint8Array | null | undefined = undefined;

  /** Reads a link started with `hold` from now on (nothing if it was not held, or is closed). */
  read(): void {
    if (this.#heldTail === undefined || this.#closed) return;
    const tail = this.#heldTail;
    this.#heldTail = undefined;
    this.#read(tail);
  }

  /** True while a link started with `hold` reads nothing. */
  get holding(): boolean {
    return this.#heldTail !== undefined;
  }

  #read(tail: Uint8Array | null): void {
    const s = this.socket;
    s.on('data', (chunk: Buffer) => this.#onData(chunk));
    if (tail !== null && tail.length > 0) this.#onData(tail);
    if (!this.#inflating && !this.#closed) s.resume(); // else resumed when the inflation is done
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Schedules the write of what the encoder holds, at the end of the current task: the first
   * packet of a batch queues a microtask that queues a `process.nextTick`, and Node runs a tick
   * queued from a microtask only once every microtask has run. So everything the task's
   * processes send (they run in microtasks) leaves in one write, an important-delivery ack
   * queued by the data handler leaves after the process it delivered to has run (as with the
   * former setImmediate), and a lone request or reply goes out at once instead of waiting for
   * the event loop's check phase (a setImmediate cost a macrotask per round trip).
   */
  touch(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    dirty[dirtyCount++] = this;
    if (!flushScheduled) {
      flushScheduled = true;
      void RESOLVED.then(flushAfterMicrotasks);
    }
  }

  /**
   * Writes what the encoder holds now, straight from the encoder's buffer: a write that completes
   * synchronously (the usual case: the kernel takes it whole) leaves the buffer free for the next
   * batch; one that the socket had to queue keeps it, and the encoder moves to a fresh buffer.
   */
  flushNow(): void {
    this.#scheduled = false;
    const enc = this.enc;
    const out = enc.peek();
    if (out === undefined) return;
    const s = this.socket;
    if (this.#closed || s.destroyed || !s.writable) {
      // Another link writes them, maybe later: hand over a copy.
      const copy = Buffer.from(out);
      enc.release(false);
      this.userPending = 0;
      this.owner.onOrphanBytes(this, copy);
      return;
    }
    this.bytesOut += out.length;
    const backlog = s.writableLength;
    if (backlog === 0) this.#userWritten = 0;
    this.#userWritten += this.userPending;
    this.userPending = 0;
    if (backlog > 0 && out.length < out.buffer.byteLength) {
      // The socket holds bytes already, so this write waits too: a view would pin the encoder's
      // whole buffer (its capacity, up to twice these bytes) for as long as the peer does not
      // read, so a paused peer's backlog held up to twice the buffer limit (16.5 MB of
      // ArrayBuffers at the 8 MiB default, measured). A copy holds what the limit counts; the
      // encoder keeps its buffer.
      s.write(Buffer.from(out));
      enc.release(false);
      return;
    }
    s.write(out);
    enc.release(s.writableLength > 0);
  }

  /**
   * Bytes this link holds in this process for the peer: packets encoded and not written yet,
   * plus bytes written that the socket could not hand to the kernel (or the in-host ring)
   * because the peer does not read. What the connection's buffer limit bounds.
   */
  get queued(): number {
    return this.enc.pending + this.socket.writableLength;
  }

  /**
   * The part of {@link queued} that user packets make: what is encoded of them, plus what the
   * socket still holds of those written (at most all it holds; nothing once it is empty).
   * Protocol packets (heartbeats, acks, exits) are not in it: whether a packet larger than the
   * buffer limit may go turns on this, never on a heartbeat that happens to wait.
   */
  get userQueued(): number {
    const w = this.socket.writableLength;
    if (w === 0) this.#userWritten = 0;
    return this.userPending + Math.min(this.#userWritten, w);
  }

  /**
   * Ends the link at once, without flushing (a stalled peer would never read it): with a TCP
   * reset where the socket can send one, since a FIN queued behind unacknowledged bytes never
   * reaches a peer whose acknowledgements are lost (a one-way partition), and a reset does.
   */
  destroy(): void {
    const s = this.socket as Socket & { resetAndDestroy?: () => void };
    if (typeof s.resetAndDestroy === 'function' && !s.destroyed) {
      try {
        s.resetAndDestroy();
        return;
      } catch {
        // not a plain TCP handle (TLS): a normal close
      }
    }
    s.destroy();
  }

  /** Sends an ergo-ts link frame of kind `kind` ({@link LinkFrame}) now, behind what this link holds. */
  frame(kind: number): void {
    this.flushNow();
    this.write(LINK_FRAMES[kind]!);
  }

  /** Writes whole packets now (after what this link already holds). */
  write(bytes: Buffer): void {
    this.bytesOut += bytes.length;
    this.socket.write(bytes);
  }

  /** True while its socket takes writes. */
  get writable(): boolean {
    return !this.#closed && !this.socket.destroyed && this.socket.writable;
  }

  /** Writes what is pending, then closes the socket. */
  close(): void {
    if (this.#closed) return;
    this.flushNow();
    this.socket.end();
    // A peer that never closes its side must not hold the socket open forever.
    setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS).unref();
  }

  #onData(chunk: Uint8Array): void {
    if (this.#closed) return;
    this.bytesIn += chunk.length;
    if (this.#inflating) {
      this.#waiting.push(chunk); // at most what was in flight when the socket paused
      return;
    }
    this.#process(chunk);
  }

  /** Frames of `chunk` (null: what the reader still holds), then the chunks that waited. */
  #process(chunk: Uint8Array | null): void {
    const r = this.#reader;
    const p = this.#packet;
    const dec = this.#dec;
    // Synchronous inflation allowed in this turn, in announced bytes.
    let budget = SYNC_INFLATE_LIMIT;
    try {
      for (;;) {
        if (chunk !== null) r.push(chunk);
        chunk = null;
        while (r.next()) {
          const b = r.bytes;
          if (b[r.start + 7] === PacketType.LinkFrame && r.end - r.start === ENP_HEADER) {
            // Not a packet for the node: the connection's own.
            this.owner.onLinkFrame(this, b[r.start + 6]!);
            if (this.#closed) return;
            continue;
          }
          const c = dec.compressedPart(b, r.start, r.end);
          if (c !== null && c.expected <= dec.maxDecompressedSize) {
            if (c.expected > budget) {
              this.#inflate(c.algorithm, c.stream.slice(), c.expected);
              return;
            }
            budget -= c.expected;
          }
          try {
            dec.decode(r.bytes, r.start, r.end, p);
          } catch (err) {
            if (err instanceof WireError) {
              this.owner.onBadPacket(err, this);
              if (err.fatal) throw err;
              continue;
            }
            throw err;
          }
          this.owner.onPacket(p, this);
          if (this.#closed) return;
        }
        const next = this.#waiting.shift();
        if (next === undefined) return;
        chunk = next;
      }
    } catch (err) {
      this.#fail(err);
    }
  }

  /** Inflates one packet off the critical path, then delivers it and resumes with what follows. */
  #inflate(algorithm: number, stream: Uint8Array, expected: number): void {
    this.#inflating = true;
    this.socket.pause();
    inflatePacket(algorithm, stream, expected, this.#dec.maxDecompressedSize, (err, plain) => {
      this.#inflating = false;
      if (this.#closed) return;
      try {
        if (err !== null) throw err;
        this.#dec.decodeInflated(plain!, algorithm, this.#packet);
        this.owner.onPacket(this.#packet, this);
      } catch (e) {
        if (!(e instanceof WireError)) {
          this.#fail(e);
          return;
        }
        this.owner.onBadPacket(e, this); // only this packet is bad: the link goes on
      }
      if (this.#closed) return;
      this.#process(null);
      if (!this.#inflating && !this.#closed) this.socket.resume();
    });
  }

  #fail(err: unknown): void {
    const e = err instanceof Error ? err : new Error(String(err));
    if (err instanceof WireError) this.owner.onBadPacket(err, this);
    this.socket.destroy();
    this.#down(e);
  }

  #down(reason: Error | null): void {
    if (this.#closed) return;
    this.#closed = true;
    this.owner.onLinkDown(this, reason);
  }
}

/**
 * Idle time before TCP keepalive probes a link (Ergo: 15 s). Not the peer's liveness check (the
 * heartbeat is, heartbeat.ts: a stopped peer's kernel answers keepalive); what it does is end a
 * pool link that stalls alone while idle (libuv then probes every 1 s, 10 times) and keep an idle
 * link's NAT or load-balancer entry, whose idle timeouts are minutes (4 min the shortest common
 * one). At 15 s the keepalive of idle pool links was most of an idle cluster's packets (issue 49).
 */
export const KEEPALIVE_MS = 60_000;
/** How long a closing link waits for the peer to close its side before destroying the socket. */
export const CLOSE_GRACE_MS = 2_000;
