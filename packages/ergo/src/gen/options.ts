// Options of processes and messages.

import type { Atom } from './atom.js';
import type { LogLevelInput } from './log.js';
import type { PID } from './pid.js';
import type { MessagePriority } from './priority.js';
import type { Ref } from './ref.js';

/** Where messages go when a bounded mailbox is full (wrapped in MessageFallback). */
export interface ProcessFallback {
  enable: boolean;
  /** Registered name of the fallback process (ignored when it is the process' own name). */
  name: Atom;
  /** Tag copied into every MessageFallback. */
  tag?: string;
}

/** Compression of remote sends. */
export interface Compression {
  enable: boolean;
  type?: 'gzip' | 'zlib' | 'lzw';
  /** 0 default, 1 best speed, 2 best size. */
  level?: 0 | 1 | 2;
  /** Minimum payload size in bytes (≥ 1024). */
  threshold?: number;
}

/** Options of spawn. Every field is optional; the defaults are Ergo's. */
export interface ProcessOptions {
  /**
   * Limit of each of the four queues (0 = unbounded). A full queue rejects with
   * ErrProcessMailboxFull. Default: the node's `mailboxSize` (0 unless set).
   */
  mailboxSize?: number;
  /**
   * Messages queued (over all four queues) at which the node logs one warning for this process
   * (once in its life; 0 = never). Default: the node's `mailboxHighWater`. Port extension.
   */
  mailboxHighWater?: number;
  /** Overrides the inherited group leader. */
  leader?: PID;
  /** Env entries layered over the parent's (case-insensitive names). */
  env?: Record<string, unknown> | Map<string, unknown>;
  /** Priority of everything this process sends (default Normal). */
  sendPriority?: MessagePriority;
  /** Every remote send/call carries the important flag. */
  importantDelivery?: boolean;
  /** Re-route overflowing messages (needs mailboxSize). */
  fallback?: ProcessFallback;
  /** The child receives an exit signal when its parent terminates (ignored for node spawns). */
  linkParent?: boolean;
  /** The parent receives an exit signal when the child terminates (ignored for node spawns). */
  linkChild?: boolean;
  /** Log level (Default inherits the parent's). */
  logLevel?: LogLevelInput;
  /** Compression of remote sends. */
  compression?: Compression;
  /**
   * Port extension: milliseconds an async `init` may take; when it does not settle in time the
   * spawn fails with ErrTimeout and the process is discarded. 0/undefined = no limit (Ergo has none).
   */
  initTimeout?: number;
}

/** Options of a single send. */
export interface SendOptions {
  priority?: MessagePriority;
  /** Local: fail at once if the target is missing (same as plain send). Remote: wait for the delivery ack. */
  important?: boolean;
}

/** Options of a call. */
export interface CallOptions {
  /** Milliseconds to wait for the reply (default 5000). */
  timeout?: number;
  /**
   * Cancels the wait; the call rejects with the signal's reason (ErrAborted by default). Anything
   * but an AbortSignal is refused with ErrIncorrect before the request is sent.
   */
  signal?: AbortSignal;
  priority?: MessagePriority;
  important?: boolean;
  /**
   * Monitor the callee while the call waits, as Erlang's `gen_server:call` does (default: the
   * node's `monitorCalls`, false). When the callee ends, for whatever reason and whoever holds
   * the request, the call fails at once with ErrProcessTerminated (its `cause` is the callee's
   * reason; ErrProcessUnknown when there is no such process, ErrNoConnection when its node goes
   * down). Without it a call fails at once when its callee panics, is killed or ends with the
   * request still queued — on this node or on another ergo-ts node, whose node answers — but a
   * request the callee deferred (handleCall returned undefined / ReplyLater) and then ended
   * normally keeps waiting for a delegated reply (Ergo's rule), and **a Go Ergo callee's node
   * sends nothing when its process ends**: only this option (or the timeout) ends such a call.
   * Toward a remote callee it costs a monitor and a demonitor message, shared by the calls that
   * wait on the same callee at once. Anything but a boolean is refused with ErrIncorrect. Port
   * extension.
   */
  monitor?: boolean;
}

/** Cancels a delayed send; true if the timer was stopped before it fired. */
export type CancelFunc = () => boolean;

/** Default call / inspect timeout in milliseconds (Ergo: 5 s). */
export const DEFAULT_REQUEST_TIMEOUT = 5000;

/**
 * How one message travels (Ergo's `gen.MessageOptions`): what the router hands a connection with
 * every remote send, call and response. Local deliveries never build one.
 */
export interface MessageOptions {
  /** The call's ref (requests and responses). */
  ref?: Ref;
  priority: MessagePriority;
  /** Wait for the remote node to confirm delivery (important delivery). */
  important: boolean;
  /** Compress the payload (the sender's settings), or null for none. */
  compression: Compression | null;
  /** Messages from one sender to one target arrive in order (Ergo's default). */
  keepNetworkOrder: boolean;
}
