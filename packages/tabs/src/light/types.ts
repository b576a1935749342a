// The public shapes of the light tab (light.ts): its options, the tab, its mailboxes and what they
// take. Typed as the core's calls are: a PID, ProcessID or Alias typed by a protocol
// (`Board.processID('board', gw)`) checks what is sent and what a call resolves to.

import type {
  Alias,
  ErgoError,
  Event,
  MessageFor,
  MessageOf,
  PayloadOf,
  PID,
  ProcessID,
  ReplyFor,
  RequestFor,
  RequestOf,
  AnyReplyOf,
} from 'ergo-ts';
import type { ReconnectOptions, TabWebSocketClass } from '../tab/socket.js';
import type { TabStorage } from '../tab/keep.js';

/** What a light tab sends to and calls: a server process by PID, registered name, or alias. */
export type LightTarget = PID | ProcessID | Alias;

/** What a mailbox does with what reaches its PID (each part optional). */
export interface MailboxHandlers<P = unknown> {
  /** A message sent to the mailbox's PID (or its name), with its sender. */
  message?(from: PID, message: MessageOf<P>): void;
  /**
   * A call to the mailbox: its return value (or what its promise resolves to) is the reply; a
   * throw (or rejection) answers the caller with the error's code. Without it a call fails with
   * ERR_UNSUPPORTED.
   */
  call?(from: PID, request: RequestOf<P>): AnyReplyOf<P> | Promise<AnyReplyOf<P>>;
  /** An exit signal sent to the mailbox (a light mailbox does not end by it). */
  exit?(from: PID, reason: Error): void;
}

/** Options of a send. */
export interface LightSendOptions {
  /**
   * Important delivery: the send resolves once the target's node took it, and rejects with the
   * code at once when it could not (an unknown process, a refusal for the grant or a limit).
   */
  important?: boolean;
}

/** A watch on a server target (monitor or link): stop it with `cancel`. */
export interface LightWatch {
  /** Stops watching (demonitor / unlink); the callback is not called after it. */
  cancel(): void;
}

/** A subscription to an event: stop it with `cancel`. */
export interface LightSubscription {
  /** Unsubscribes (demonitor of the event). */
  cancel(): void;
}

/** An address of the tab: a PID that server processes send to, call, link to and monitor. */
export interface LightMailbox<P = unknown> {
  /** The mailbox's PID on the tab's node (typed by the protocol the handlers speak). */
  readonly pid: PID<P>;
  /**
   * Sends `message` to `to` from this mailbox (the target sees this PID as the sender and may
   * answer it). Plain: returns at once. Important: resolves once delivered, rejects with the code.
   * @throws ERR_TAB_VALUE, ERR_TAB_FRAME (above the tab's maxFrameBytes), ERR_TAB_QUEUE_FULL,
   *   ERR_TAB_SESSION_ENDED: nothing is sent then.
   */
  send<T extends LightTarget>(to: T, message: MessageFor<T>): void;
  send<T extends LightTarget>(to: T, message: MessageFor<T>, options: { important: true }): Promise<void>;
  send<T extends LightTarget>(to: T, message: MessageFor<T>, options?: LightSendOptions): Promise<void> | void;
  /**
   * Calls `to` from this mailbox: resolves with the reply, rejects with the refusal's code
   * (ERR_TAB_NOT_GRANTED, ERR_TAB_RATE_LIMIT, ERR_TAB_FRAME...), the callee's error, or
   * ERR_TIMEOUT after `timeoutMs` (default: the tab's `timeout`, 5 s).
   */
  call<T extends LightTarget, const R extends RequestFor<T>>(
    to: T,
    request: R,
    timeoutMs?: number,
  ): Promise<ReplyFor<T, R>>;
  /**
   * Monitors `target`: `onDown(reason)` once when it ends, its node goes, or the tab's session
   * ends (`noconnection`). Resolves once the target's node holds the monitor; rejects with the
   * code (an unknown process: ERR_PROCESS_UNKNOWN; not granted...).
   */
  monitor(target: PID | ProcessID, onDown: (reason: Error) => void): Promise<LightWatch>;
  /**
   * Links to `target`: as `monitor`, and when this mailbox closes the target gets the exit signal
   * (its link fires with the close's reason).
   */
  link(target: PID | ProcessID, onExit: (reason: Error) => void): Promise<LightWatch>;
  /**
   * Subscribes to `event` (the grant must list it): `onEvent` gets each publish with its
   * publisher, first those the event buffered (their publisher `undefined`: a buffer keeps none);
   * `onEnd` once when the event ends, its node goes or the session ends.
   */
  subscribe<E extends Event>(
    event: E,
    onEvent: (message: PayloadOf<E>, from: PID | undefined) => void,
    onEnd?: (reason: Error) => void,
  ): Promise<LightSubscription>;
  /**
   * Closes the mailbox: its PID names no process any more, and every server process that links
   * to or monitors it hears `reason` (default normal). Its own watches and subscriptions end.
   */
  close(reason?: Error): void;
}

/** Options of {@link joinLight}. */
export interface JoinLightOptions<P = unknown> {
  /** The gateway's WebSocket URL (`gateway.url`). */
  url: string;
  /** The token the application issued; the gateway's `admit` callback judges it. */
  token: string;
  /** What the tab's own mailbox (`tab.pid`) does with what reaches it. */
  receive?: MailboxHandlers<P>;
  /** Default timeout of calls (ms, default 5000; above 0 to 2^31 - 1, else the join rejects ERR_INCORRECT). */
  timeout?: number;
  /** Bytes the tab holds while its socket is down (default 1 MiB); past them a send throws ERR_TAB_QUEUE_FULL. */
  maxQueuedBytes?: number;
  /** How the tab dials again when its socket drops (default on: 100 ms doubling to 2 s); `false`: the session ends at once. */
  reconnect?: ReconnectOptions | false;
  /**
   * How long a join keeps dialling a gateway that refuses the tab as busy (ms, default 30 000):
   * ERR_TAB_BUSY (its hello came late on a loaded gateway, or `admit` said busy) is dialled again
   * after a jittered backoff (`reconnect`'s delays; 100 ms doubling to 2 s when it is false). Past
   * it the join rejects with ERR_TAB_BUSY; 0 tries once; at most 2^31 - 1 (else ERR_INCORRECT).
   */
  joinTimeout?: number;
  /**
   * A refusal of a plain send (no one waits for it), once per refused frame; calls and important
   * sends reject instead.
   */
  onRefusal?(error: ErgoError, what: string): void;
  /** The session ended (window passed, gateway gone): watches and subscriptions have fired. */
  onEnded?(reason: Error): void;
  /**
   * `LightTab.resume` of an earlier page of this tab: within that session's window the tab keeps
   * its node name (the old session ends first: its mailboxes' watchers hear `noconnection`). With
   * `storage`, read from there when absent.
   */
  resume?: string;
  /**
   * Where the page keeps its tab across a reload (`sessionStorage`): with it a reload within the
   * window keeps the whole session (name, grant, what was handed out; no new `admit`) and the
   * `keep` mailboxes under their PIDs, as the full tab's reload does with its kept processes.
   */
  storage?: TabStorage;
  /**
   * Mailboxes kept across page reloads, by registered name (on the tab's node), made with the
   * tab before any frame reaches it. With `storage`, a reload within the window brings each back
   * under the same PID: the links and monitors server processes hold on it neither fire nor get
   * lost, and mail sent to it during the reload reaches it (the full tab's kept processes, without
   * state: a mailbox has none). Read them from `tab.kept`.
   */
  keep?: Readonly<Record<string, MailboxHandlers>>;
  /** The key under `storage` (default 'ergo-ts-light-tab'). */
  storageKey?: string;
  /** The WebSocket class (default `globalThis.WebSocket`). */
  WebSocket?: TabWebSocketClass;
}

/** A light tab joined to a gateway: its node name, its own mailbox, and its session. */
export interface LightTab<P = unknown> extends LightMailbox<P> {
  /** Its node name, given by the gateway (`tab-<id>-<gateway>`). */
  readonly name: string;
  /** The gateway node's name. */
  readonly gateway: string;
  /** What a later join of this page takes (`resume`) to keep the name. A credential: keep it per tab. */
  readonly resume: string;
  /** True while the socket is up. */
  readonly connected: boolean;
  /** Resolves with the reason when the session ends. */
  readonly ended: Promise<Error>;
  /** The kept mailboxes (`keep`) by name: the same PIDs across page reloads. */
  readonly kept: ReadonlyMap<string, LightMailbox>;
  /** Another mailbox on the tab's node, with its own PID (and a registered name on the tab's node, when given). */
  mailbox<Q = unknown>(handlers: MailboxHandlers<Q>, name?: string): LightMailbox<Q>;
  /** Drops the socket as a network cut would; the tab dials again within its window. */
  dropConnection(): void;
  /** Resolves when the socket is up again (at once when it is). */
  whenConnected(): Promise<void>;
  /** Ends this page's part as an unload does, without leaving: the gateway keeps the session for its window. */
  unload(): void;
  /** Leaves the gateway (idempotent): every watcher of the tab hears `noconnection`; `storage` forgets the tab. */
  leave(): void;
}
