// One tab at the gateway: its node name, grant and limits, the socket it is on now (none while it
// is away), the bytes waiting for it, and its reconnect window. The session outlives a socket: a
// tab that comes back with its resume secret within the window gets the same name, and what was
// queued for it is written first; past the window the session ends and every node that spoke
// with the tab hears that the tab's node is down (their links and monitors fire `noconnection`).

import type { Atom, Log } from 'ergo-ts';
import { encodeFrame, ErrTabBytesLimit, ErrTabQueueFull, ErrTabRateLimit, type Frame } from './frame.js';
import { FrameConnection } from './frame_connection.js';
import { TokenBucket, type TabLimits, type TabPolicy } from './grant.js';
import { TabWatchers } from './watchers.js';

/** The socket a session writes to (a `ws` WebSocket satisfies it). */
export interface TabSocket {
  readonly bufferedAmount: number;
  /** 1 while open (the WebSocket constant OPEN). */
  readonly readyState: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
}

/** Facts about a tab, as `gateway.tabs()` lists them. */
export interface TabInfo {
  /** The tab's node name. */
  readonly node: string;
  /** The grant's label ('' without one). */
  readonly label: string;
  /** True while a socket is attached; false while the tab is away (within its window). */
  readonly connected: boolean;
  /** Frames received from the tab and written (or queued) for it. */
  readonly messagesIn: number;
  readonly messagesOut: number;
  /** Bytes received from the tab, and bytes waiting for it now. */
  readonly bytesIn: number;
  readonly queuedBytes: number;
  /** Bytes of the frames written (or queued) for the tab. */
  readonly bytesOut: number;
  /** While the tab is away: when its socket went (ms since the epoch); 0 while connected. */
  readonly awaySince: number;
  /** Frames the gateway refused (limits, grant, malformed). */
  readonly refused: number;
  /** Nodes other than the gateway that exchanged frames with the tab. */
  readonly peers: readonly string[];
}

/** The gateway-side state of one tab. */
export class TabSession {
  socket: TabSocket | null = null;
  /** Frames kept while the tab is away, and their size. */
  #held: Uint8Array[] = [];
  #heldBytes = 0;
  #window: ReturnType<typeof setTimeout> | null = null;
  readonly #messages: TokenBucket;
  readonly #bytes: TokenBucket;
  /** Nodes (other than the gateway) that exchanged frames with the tab. */
  readonly peers = new Set<string>();
  /** The gateway's link to the tab (the engine's Connection for its node). */
  readonly conn: FrameConnection;
  /** Relations, calls and kept processes of the tab, for a page reload (reload.ts). */
  readonly watchers: TabWatchers;
  ended = false;
  messagesIn = 0;
  messagesOut = 0;
  bytesIn = 0;
  bytesOut = 0;
  refused = 0;
  /** When the socket went (ms since the epoch), 0 while attached. */
  awaySince = 0;

  constructor(
    readonly name: Atom,
    readonly secret: string,
    readonly policy: TabPolicy,
    readonly limits: TabLimits,
    gateway: Atom,
    private readonly log: Log,
    onTerminate: (reason: Error) => void,
  ) {
    this.#messages = new TokenBucket(limits.messagesPerSecond);
    this.#bytes = new TokenBucket(limits.bytesPerSecond);
    this.conn = new FrameConnection(gateway, name, (f) => this.deliverFrame(f), onTerminate);
    this.watchers = new TabWatchers(name);
  }

  /**
   * Counts an inbound frame of `size` bytes against the tab's rates.
   * @throws ErrTabRateLimit, ErrTabBytesLimit (nothing is counted then).
   */
  admitInbound(size: number): void {
    if (!this.#messages.take(1)) throw ErrTabRateLimit.with(`${this.limits.messagesPerSecond}/s for ${this.name}`);
    if (!this.#bytes.take(size)) throw ErrTabBytesLimit.with(`${this.limits.bytesPerSecond} B/s for ${this.name}`);
    this.messagesIn++;
    this.bytesIn += size;
  }

  /** Bytes waiting for the tab now (the socket's buffer and what is held while it is away). */
  get queuedBytes(): number {
    return (this.socket?.bufferedAmount ?? 0) + this.#heldBytes;
  }

  /** A frame for the tab from the gateway's own node: what it hands out is learnt, then queued. */
  deliverFrame(frame: unknown[]): void {
    this.policy.learn(frame as never);
    this.deliver(encodeFrame(frame));
    this.watchers.toTab(frame as Frame);
  }

  /**
   * Writes (or holds, while the tab is away) encoded frame `bytes`.
   * @throws ErrTabQueueFull when it would pass the tab's queued-bytes limit (nothing is kept).
   */
  deliver(bytes: Uint8Array): void {
    if (this.queuedBytes + bytes.length > this.limits.queuedBytes)
      throw ErrTabQueueFull.with(`${this.limits.queuedBytes} bytes for ${this.name}`);
    this.messagesOut++;
    this.bytesOut += bytes.length;
    // A socket that is closing gets nothing more: held, the frame waits for the tab's return.
    if (this.socket !== null && this.socket.readyState === 1) this.socket.send(bytes);
    else {
      this.#held.push(bytes);
      this.#heldBytes += bytes.length;
    }
  }

  /** A socket (new, or the tab back within its window): held frames go first. */
  attach(socket: TabSocket): void {
    if (this.#window !== null) clearTimeout(this.#window);
    this.#window = null;
    this.socket = socket;
    this.awaySince = 0;
    const held = this.#held;
    this.#held = [];
    this.#heldBytes = 0;
    for (const b of held) socket.send(b);
  }

  /** The socket closed: the tab has `windowMs` to come back, then `expire` runs. */
  detach(socket: TabSocket, windowMs: number, expire: () => void): void {
    if (this.socket !== socket || this.ended) return;
    this.socket = null;
    this.watchers.socketGone();
    this.awaySince = Date.now();
    this.#window = setTimeout(expire, windowMs);
    this.#window.unref?.();
    this.log.info('tab %s away: %d ms to come back', this.name, windowMs);
  }

  /** Ends the session (idempotent): no more window, socket closed, held frames dropped. */
  end(code: number, reason: string): void {
    if (this.ended) return;
    this.ended = true;
    if (this.#window !== null) clearTimeout(this.#window);
    this.#window = null;
    this.#held = [];
    this.#heldBytes = 0;
    const s = this.socket;
    this.socket = null;
    s?.close(code, reason);
  }

  info(label: string): TabInfo {
    return {
      node: this.name,
      label,
      connected: this.socket !== null,
      messagesIn: this.messagesIn,
      messagesOut: this.messagesOut,
      bytesIn: this.bytesIn,
      queuedBytes: this.queuedBytes,
      bytesOut: this.bytesOut,
      awaySince: this.awaySince,
      refused: this.refused,
      peers: [...this.peers],
    };
  }
}
