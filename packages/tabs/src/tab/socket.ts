// The tab's socket to its gateway, on the platform's WebSocket (a browser's, or Node's global one
// since Node 22): says hello with the application's token, learns its node name from the welcome,
// holds frames while the socket is down, and, when the socket drops, dials again (with backoff)
// within the reconnect window the gateway announced, resuming with the session's secret. Past the
// window, or when the gateway refuses the resume, the session has ended.

import {
  Ctl,
  decodeFrame,
  encodeFrame,
  ErrTabFrame,
  ErrTabQueueFull,
  ErrTabSessionEnded,
  errorFromWire,
  type Frame,
} from '../frame.js';

/** The part of the WebSocket API the tab uses (the browser's and Node's global one have it). */
export interface TabWebSocket {
  binaryType: string;
  readonly readyState: number;
  readonly bufferedAmount: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: unknown) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
}

/** A WebSocket constructor (`globalThis.WebSocket` by default). */
export type TabWebSocketClass = new (url: string) => TabWebSocket;

/** What the gateway's welcome says. */
export interface Welcome {
  readonly name: string;
  readonly gateway: string;
  readonly windowMs: number;
  /** > 0 after a reload that keeps processes (the page's incarnation in its session). */
  readonly incarnation: number;
  /** The claimed PIDs the gateway accepted (reload only). */
  readonly kept: readonly unknown[];
}

/** Reconnection of a tab whose socket dropped. */
export interface ReconnectOptions {
  /** First delay before dialling again (ms, default 100); doubles up to `maxDelay`. */
  minDelay?: number;
  /** Longest delay between attempts (ms, default 2000). */
  maxDelay?: number;
}

interface Handlers {
  frame(f: Frame): void;
  connected(up: boolean): void;
  ended(reason: Error): void;
}

const OPEN = 1;

/** One tab's link to the gateway, across sockets. */
export class GatewaySocket {
  #ws: TabWebSocket | null = null;
  #welcomed = false;
  #secret: string;
  // True until the first welcome: a resume secret given by the page asks for its old name afresh.
  #fresh: boolean;
  #windowMs = 0;
  #held: Uint8Array[] = [];
  #heldBytes = 0;
  #closing = false;
  #ended = false;
  #timer: ReturnType<typeof setTimeout> | null = null;
  handlers: Handlers | null = null;

  constructor(
    private readonly url: string,
    private readonly token: string,
    private readonly WS: TabWebSocketClass,
    private readonly maxQueuedBytes: number,
    private readonly reconnect: Required<ReconnectOptions> | false,
    resumeSecret = '',
    /** The PIDs a reloaded page puts back (its first hello only; undefined: none kept). */
    private claims: unknown[] | undefined = undefined,
  ) {
    this.#secret = resumeSecret;
    this.#fresh = resumeSecret !== '';
  }

  /** The session's resume secret ('' before the welcome). */
  get secret(): string {
    return this.#fresh ? '' : this.#secret;
  }

  get connected(): boolean {
    return this.#welcomed && this.#ws !== null && this.#ws.readyState === OPEN;
  }

  /** Dials and says hello; resolves with the welcome, rejects with the gateway's coded refusal. */
  open(): Promise<Welcome> {
    return new Promise<Welcome>((resolve, reject) => {
      this.#dial(
        (w) => resolve(w),
        (e) => {
          // Refused or never welcomed: this socket is done, its close must not dial again.
          this.#closing = true;
          this.#ws?.close();
          reject(e);
        },
      );
    });
  }

  #dial(onWelcome: (w: Welcome) => void, onFail: (e: Error) => void): void {
    let ws: TabWebSocket;
    try {
      ws = new this.WS(this.url);
    } catch (e) {
      onFail(e as Error);
      return;
    }
    ws.binaryType = 'arraybuffer';
    this.#ws = ws;
    this.#welcomed = false;
    let settled = false;
    ws.onopen = () =>
      ws.send(
        encodeFrame(
          this.#fresh && this.claims !== undefined
            ? [Ctl.Hello, this.token, this.#secret, true, this.claims]
            : [Ctl.Hello, this.token, this.#secret, this.#fresh],
        ),
      );
    ws.onmessage = (ev) => {
      let f: Frame;
      try {
        f = decodeFrame(toBytes(ev.data));
      } catch {
        return; // an undecodable frame from the gateway: nothing to do with it
      }
      if (!settled) {
        settled = true;
        if (f[0] === Ctl.Welcome) {
          this.#secret = String(f[3]);
          this.#fresh = false;
          this.#windowMs = Number(f[4]);
          this.#welcomed = true;
          this.#flush();
          onWelcome({
            name: String(f[1]),
            gateway: String(f[2]),
            windowMs: this.#windowMs,
            incarnation: typeof f[5] === 'number' ? f[5] : 0,
            kept: Array.isArray(f[6]) ? f[6] : [],
          });
        } else onFail(f[0] === Ctl.Refused ? errorFromWire(f[1]) : ErrTabFrame.with('no welcome'));
        return;
      }
      this.handlers?.frame(f);
    };
    ws.onerror = () => undefined; // the close that follows says it
    ws.onclose = () => {
      if (this.#ws === ws) this.#ws = null;
      if (!settled) {
        settled = true;
        onFail(ErrTabFrame.with(`the socket to ${this.url} closed before the welcome`));
        return;
      }
      if (!this.#closing && !this.#ended) {
        this.handlers?.connected(false);
        this.#again(Date.now() + this.#windowMs, this.reconnect === false ? 0 : this.reconnect.minDelay);
      }
    };
  }

  /** Dials again until `deadline`, then the session has ended. */
  #again(deadline: number, delay: number): void {
    if (this.#closing || this.#ended) return;
    if (this.reconnect === false || Date.now() >= deadline) {
      this.#end(ErrTabSessionEnded.with('the reconnect window passed'));
      return;
    }
    const max = this.reconnect.maxDelay;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#dial(
        () => this.handlers?.connected(true),
        (e) => {
          if ((e as { code?: string }).code === ErrTabSessionEnded.code) this.#end(e);
          else this.#again(deadline, Math.min(max, delay * 2));
        },
      );
    }, delay);
  }

  #end(reason: Error): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#held = [];
    this.#heldBytes = 0;
    this.handlers?.ended(reason);
  }

  /**
   * Writes `frame`, or holds it while the socket is down.
   * @throws ErrTabSessionEnded after the session ended; ErrTabQueueFull past `maxQueuedBytes`.
   */
  send(frame: unknown[]): void {
    if (this.#ended || this.#closing) throw ErrTabSessionEnded.with('the tab left its gateway');
    const bytes = encodeFrame(frame);
    if (this.connected) {
      this.#ws!.send(bytes);
      return;
    }
    if (this.#heldBytes + bytes.length > this.maxQueuedBytes)
      throw ErrTabQueueFull.with(`${this.maxQueuedBytes} bytes held while away`);
    this.#held.push(bytes);
    this.#heldBytes += bytes.length;
  }

  #flush(): void {
    const held = this.#held;
    this.#held = [];
    this.#heldBytes = 0;
    for (const b of held) this.#ws!.send(b);
  }

  /** Drops the socket as a network cut would (the tab dials again within its window). */
  drop(): void {
    this.#ws?.close(4001, 'dropped');
  }

  /**
   * The page ends without leaving (a reload): the socket closes as an unloading page's does
   * (4002 `unload`), nothing dials again, and the gateway keeps the session for its window.
   */
  unload(): void {
    this.#closing = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#ws?.close(4002, 'unload');
    this.#ws = null;
  }

  /** Leaves for good: no reconnect. */
  close(): void {
    this.#closing = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#ws?.close(1000, 'left');
    this.#ws = null;
  }
}

function toBytes(data: unknown): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  throw ErrTabFrame.with('a text frame');
}
