// The tab's socket to its gateway, on the platform's WebSocket (a browser's, or Node's global one
// since Node 22): says hello with the application's token, learns its node name from the welcome,
// holds frames while the socket is down, and, when the socket drops, dials again (with backoff)
// within the reconnect window the gateway announced, resuming with the session's secret. Past the
// window, or when the gateway refuses the resume, the session has ended. A gateway too busy to
// take the tab at its join (ERR_TAB_BUSY: its hello came late, `admit` said busy, or its upgrade
// was refused with HTTP, which a browser sees as a socket closed before it opened) is dialled
// again with jittered backoff until the join's deadline: a join storm spreads itself out.

import { ErrIncorrect } from 'ergo-ts';

import {
  BATCH_MAX_BYTES,
  BATCH_MAX_FRAMES,
  CLOSE_QUEUE_FULL,
  Ctl,
  decodeFrame,
  encodeFrame,
  encodeFrameBrief,
  ErrTabBusy,
  ErrTabFrame,
  ErrTabQueueFull,
  ErrTabSessionEnded,
  errorFromWire,
  LEAVE_FRAME,
  ownBytes,
  splitFrames,
  writeFrames,
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
  /** First delay before dialling again (ms, default 100; 0 to 2^31 - 1); doubles up to `maxDelay`. */
  minDelay?: number;
  /** Longest delay between attempts (ms, default 2000; 0 to 2^31 - 1). */
  maxDelay?: number;
}

/**
 * `v` as a timer's ms, from `min` to 2^31 - 1: Node and browsers run a longer timer at once.
 * @throws ErrIncorrect naming `what` and the value.
 */
export function timerMs(what: string, v: unknown, min = 0): number {
  if (typeof v === 'number' && v >= min && v <= 2 ** 31 - 1) return v;
  throw ErrIncorrect.with(`${what}: ${String(v)} (ms, ${min} to 2^31 - 1)`);
}

/** What a tab (full or light) is given to dial its gateway: the options both joins share. */
export interface DialOptions {
  url: string;
  token: string;
  maxQueuedBytes?: number;
  reconnect?: ReconnectOptions | false;
  joinTimeout?: number;
  WebSocket?: TabWebSocketClass;
}

/** {@link DialOptions} read once and checked, with their defaults. */
export interface Dial {
  readonly url: string;
  readonly token: string;
  readonly WS: TabWebSocketClass;
  readonly maxQueuedBytes: number;
  readonly rc: Required<ReconnectOptions> | false;
  readonly joinTimeout: number;
}

/**
 * A join's dialling options read and checked before anything opens: `reconnect`'s delays are
 * timers and `joinTimeout` a wait, each a number of ms from 0 to 2^31 - 1 ({@link timerMs}).
 * Options that are no object, or whose reads throw (a getter, a Proxy), are refused with the code too.
 * @throws ErrIncorrect naming the option (`who`: joinGateway, joinLight) and its value.
 */
export function readDial(who: string, options: DialOptions): Dial {
  try {
    const { url, token, reconnect: r, joinTimeout = DEFAULT_JOIN_TIMEOUT, maxQueuedBytes = 1 << 20 } = options;
    const WS = options.WebSocket ?? (globalThis as { WebSocket?: TabWebSocketClass }).WebSocket;
    if (WS === undefined) throw ErrIncorrect.with(`${who} needs a WebSocket class (none is global here)`);
    if (typeof url !== 'string' || typeof token !== 'string') throw ErrIncorrect.with(`${who} needs a url and a token`);
    if (r !== undefined && r !== false && (typeof r !== 'object' || r === null))
      throw ErrIncorrect.with(`${who} reconnect: ${String(r)}`);
    const rc = r === false ? false : { minDelay: 100, maxDelay: 2000, ...r };
    if (rc) for (const k of ['minDelay', 'maxDelay'] as const) timerMs(`${who} reconnect.${k}`, rc[k]);
    return { url, token, WS, maxQueuedBytes, rc, joinTimeout: timerMs(`${who} joinTimeout`, joinTimeout) };
  } catch (e) {
    if (typeof (e as { code?: unknown } | null)?.code === 'string') throw e;
    throw ErrIncorrect.with(`${who} options could not be read: ${String(e)}`);
  }
}

/** The delays of a join's redials at a busy gateway when `reconnect` is false. */
const BUSY_BACKOFF: Required<ReconnectOptions> = { minDelay: 100, maxDelay: 2000 };

/** Default of a join's deadline at a busy gateway (ms): `joinTimeout` of the tab's options. */
export const DEFAULT_JOIN_TIMEOUT = 30_000;

/**
 * A delay of about `d` ms, between half and all of it: tabs refused together (a join storm, a
 * gateway's restart) do not dial again together.
 */
const jitter = (d: number): number => d * (0.5 + Math.random() / 2);

interface Handlers {
  frame(f: Frame): void;
  connected(up: boolean): void;
  ended(reason: Error): void;
}

const OPEN = 1;

/** One tab's link to the gateway, across sockets. */
export class GatewaySocket {
  #ws: TabWebSocket | null = null;
  /** Frames the task sent, written together once its microtasks ran (null: none yet). */
  #out: Uint8Array[] | null = null;
  readonly #flush = (): void => this.flush();
  /** Largest batch the gateway takes (0: one frame per message), from its welcome. */
  #batchMax = 0;
  /** The tab's largest frame, from the welcome (0: not said, an older gateway). */
  #frameMax = 0;
  #welcomed = false;
  /** The gateway takes the Leave frame (its welcome said so). */
  #takesLeave = false;
  /** The tab's name, once the gateway's welcome said it writes shared Event frames (decodeFrame's `self`). */
  #self: string | undefined = undefined;
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

  private readonly url: string;
  private readonly token: string;
  private readonly WS: TabWebSocketClass;
  private readonly maxQueuedBytes: number;
  private readonly reconnect: Required<ReconnectOptions> | false;
  /** How long `open` dials again a gateway that refuses the tab as busy (ms). */
  private readonly joinTimeout: number;

  constructor(
    dial: Dial,
    resumeSecret = '',
    /** The PIDs a reloaded page puts back (its first hello only; undefined: none kept). */
    private claims: unknown[] | undefined = undefined,
  ) {
    this.url = dial.url;
    this.token = dial.token;
    this.WS = dial.WS;
    this.maxQueuedBytes = dial.maxQueuedBytes;
    this.reconnect = dial.rc;
    this.joinTimeout = dial.joinTimeout;
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

  /**
   * Dials and says hello; resolves with the welcome, rejects with the gateway's coded refusal. A
   * refusal as busy (ERR_TAB_BUSY) is dialled again after a jittered backoff until `joinTimeout`
   * has passed; then it rejects with that refusal.
   */
  open(): Promise<Welcome> {
    const deadline = Date.now() + this.joinTimeout;
    const { minDelay, maxDelay } = this.reconnect === false ? BUSY_BACKOFF : this.reconnect;
    return new Promise<Welcome>((resolve, reject) => {
      const attempt = (delay: number): void =>
        this.#dial(
          (w) => resolve(w),
          (e) => {
            // Refused or never welcomed: this socket is done (its close dials nothing again).
            this.#ws?.close();
            const wait = jitter(delay);
            if ((e as { code?: unknown }).code !== ErrTabBusy.code || Date.now() + wait > deadline) {
              this.#closing = true;
              return reject(e);
            }
            this.#timer = setTimeout(() => attempt(Math.min(maxDelay, delay * 2)), wait);
          },
        );
      attempt(minDelay);
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
    // Node's `ws` hands a Buffer (a Uint8Array) by default: an ArrayBuffer would be a copy.
    if (ws.binaryType !== 'nodebuffer') ws.binaryType = 'arraybuffer';
    this.#ws = ws;
    this.#welcomed = false;
    let settled = false;
    // This socket's welcome: the close of one refused (or never welcomed) dials nothing again.
    let welcomed = false;
    // Field 4: this tab reads messages of several frames; field 5: the PIDs a reloaded page puts
    // back; field 6: it reads shared Event frames (not said by a reloaded page that keeps none: a
    // gateway of an older build would take any field 5 there for the PIDs).
    ws.onopen = () => {
      const hello: unknown[] = [Ctl.Hello, this.token, this.#secret, this.#fresh, true];
      if (this.#fresh && this.claims !== undefined) hello.push(this.claims, true);
      else if (!this.#fresh) hello.push(null, true);
      ws.send(encodeFrame(hello));
    };
    const onData = (data: unknown): void => {
      let frames: Uint8Array[];
      try {
        frames = splitFrames(toBytes(data));
      } catch {
        return; // an unreadable message from the gateway: nothing to do with it
      }
      for (const bytes of frames) {
        let f: Frame;
        try {
          f = decodeFrame(bytes, this.#self);
        } catch {
          continue; // an undecodable frame from the gateway: nothing to do with it
        }
        if (!settled) {
          settled = true;
          if (f[0] === Ctl.Welcome) {
            this.#secret = String(f[3]);
            this.#fresh = false;
            this.#windowMs = Number(f[4]);
            // The tab's maxFrameBytes. A gateway of an older build says nothing: one frame per message then.
            this.#frameMax = typeof f[5] === 'number' && f[5] > 0 ? f[5] : 0;
            this.#batchMax = Math.min(this.#frameMax, BATCH_MAX_BYTES);
            this.#takesLeave = f[8] === true;
            this.#self = f[9] === true ? String(f[1]) : undefined;
            this.#welcomed = welcomed = true;
            this.#sendHeld();
            onWelcome({
              name: String(f[1]),
              gateway: String(f[2]),
              windowMs: this.#windowMs,
              incarnation: typeof f[6] === 'number' ? f[6] : 0,
              kept: Array.isArray(f[7]) ? f[7] : [],
            });
          } else onFail(f[0] === Ctl.Refused ? errorFromWire(f[1]) : ErrTabFrame.with('no welcome'));
          continue;
        }
        this.handlers?.frame(f);
      }
    };
    // Node's `ws` emits the message itself: its `onmessage` wraps each in a MessageEvent first.
    const emitter = ws as { on?: (event: 'message', f: (data: unknown, isBinary: boolean) => void) => void };
    if (typeof emitter.on === 'function') emitter.on('message', (data, isBinary) => onData(isBinary ? data : ''));
    else ws.onmessage = (ev) => onData(ev.data);
    ws.onerror = () => undefined; // the close that follows says it
    ws.onclose = (ev) => {
      if (this.#ws === ws) this.#ws = null;
      if (!settled) {
        settled = true;
        // Closed before its welcome with no refusal (the gateway refuses with a Refused frame):
        // not taken now. A busy gateway's 1013 (4008 from an older build: a hello it found late),
        // or an upgrade refused with HTTP 503 or 408, which a browser sees only as a socket
        // closed before it opened (1006); or a gateway restarting. Retryable as busy.
        onFail(ErrTabBusy.with(`close ${String((ev as { code?: unknown } | null)?.code)} before the welcome`));
        return;
      }
      if (!welcomed || this.#closing || this.#ended) return;
      // The gateway ended the session for its full queue: the tab sent faster than it read, or
      // stopped reading (frame.ts: CLOSE_QUEUE_FULL).
      if ((ev as { code?: unknown } | null)?.code === CLOSE_QUEUE_FULL)
        return this.#end(
          ErrTabQueueFull.with('the gateway ended the session: the tab reads slower than it is sent to'),
        );
      this.handlers?.connected(false);
      this.#again(Date.now() + this.#windowMs, this.reconnect === false ? 0 : this.reconnect.minDelay);
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
    // Jittered: the tabs of a gateway that restarted do not all dial again in the same instant.
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#dial(
        () => this.handlers?.connected(true),
        (e) => {
          if ((e as { code?: string }).code === ErrTabSessionEnded.code) this.#end(e);
          else this.#again(deadline, Math.min(max, delay * 2));
        },
      );
    }, jitter(delay));
  }

  #end(reason: Error): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#out = null;
    this.#held = [];
    this.#heldBytes = 0;
    this.handlers?.ended(reason);
  }

  /**
   * Writes `frame` (`bytes`: encoded already), or holds it while the socket is down.
   * @throws ErrTabSessionEnded after the session ended; ErrTabQueueFull past `maxQueuedBytes`;
   *   ErrTabFrame above the tab's `maxFrameBytes` (the gateway would refuse it: nothing is sent).
   */
  send(frame: unknown[], bytes?: Uint8Array): void {
    if (this.#ended || this.#closing) throw ErrTabSessionEnded.with('the tab left its gateway');
    // Brief bytes (a slab's view) while the socket is up: they leave at the microtask's flush.
    bytes ??= encodeFrameBrief(frame);
    if (this.#frameMax > 0 && bytes.length > this.#frameMax)
      throw ErrTabFrame.with(`a frame of ${bytes.length} bytes, above the tab's maxFrameBytes ${this.#frameMax}`);
    if (this.connected) {
      // What the task's processes send leaves together once they have run (frame.ts: batches).
      if (this.#out === null) {
        this.#out = [];
        queueMicrotask(this.#flush);
      }
      // A full batch leaves now: the gateway starts on it while the task goes on.
      if (this.#out.push(bytes) >= BATCH_MAX_FRAMES) this.flush();
      return;
    }
    this.flush();
    if (this.#heldBytes + bytes.length > this.maxQueuedBytes)
      throw ErrTabQueueFull.with(`${this.maxQueuedBytes} bytes held while away`);
    this.#hold(bytes);
  }

  /** Writes what the task sent; held, in order, when the socket went down meanwhile. */
  flush(): void {
    const out = this.#out;
    if (out === null) return;
    this.#out = null;
    if (this.connected) return this.#write(out);
    for (const b of out) this.#hold(b);
  }

  /** Holds `bytes` while away: its own copy, so a held frame never keeps a whole slab alive. */
  #hold(bytes: Uint8Array): void {
    this.#held.push(ownBytes(bytes));
    this.#heldBytes += bytes.length;
  }

  /** The welcome: what was held while away goes first. */
  #sendHeld(): void {
    const held = this.#held;
    this.#held = [];
    this.#heldBytes = 0;
    if (held.length > 0) this.#write(held);
  }

  #write(frames: Uint8Array[]): void {
    const ws = this.#ws!;
    writeFrames(frames, (m) => ws.send(m), this.#batchMax);
  }

  /** Drops the socket as a network cut would (the tab dials again within its window). */
  drop(): void {
    this.flush();
    this.#ws?.close(4001, 'dropped');
  }

  /**
   * The page ends without leaving (a reload): the socket closes as an unloading page's does
   * (4002 `unload`), nothing dials again, and the gateway keeps the session for its window.
   */
  unload(): void {
    this.#shut(false, 4002, 'unload');
  }

  /**
   * Leaves for good: no reconnect. To a gateway that takes it, a Leave frame after what the task
   * sent (frame.ts: Ctl.Leave): the gateway ends the session and closes the connection without a
   * close handshake, and that close (1006 in a browser) is the leave's end, not a lost socket. To
   * any other gateway, or while the socket is not up, a close with 1000 `left`.
   */
  close(): void {
    const leave = this.#takesLeave && this.connected;
    // What the task sent before leaving still goes (the socket writes it before its close).
    this.flush();
    this.#shut(leave, 1000, 'left');
  }

  /** Nothing dials again; the socket gets the Leave frame (`leave`), or closes with `code`. */
  #shut(leave: boolean, code: number, reason: string): void {
    this.#closing = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    if (leave) this.#ws!.send(LEAVE_FRAME);
    else this.#ws?.close(code, reason);
    this.#ws = null;
  }
}

function toBytes(data: unknown): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  throw ErrTabFrame.with('a text frame');
}
