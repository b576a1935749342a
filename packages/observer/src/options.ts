// Options of the Observer application and their defaults (Ergo's where Ergo has one).

import type { ServerOptions } from 'node:https';
import type { LogLevelInput } from 'ergo-ts';

/** Default port (Ergo's Observer). */
export const DEFAULT_OBSERVER_PORT = 9911;
/** Default bind host (Ergo's): the Observer is reachable from this machine only. */
export const DEFAULT_OBSERVER_HOST = 'localhost';
/** Default number of POST workers (Ergo v0.2's PoolSize). */
export const DEFAULT_OBSERVER_POOL_SIZE = 10;
/** Default limit of browser sessions (open event streams) at once. */
export const DEFAULT_OBSERVER_MAX_SESSIONS = 256;
/** Default milliseconds between SSE heartbeat comments. */
export const DEFAULT_OBSERVER_HEARTBEAT = 15_000;
/** Largest POST body accepted (Ergo's 1 MiB). */
export const OBSERVER_MAX_BODY = 1 << 20;

/** Options of {@link createObserverApp}. */
export interface ObserverOptions {
  /** Host or address to bind (default 'localhost'). */
  host?: string;
  /** TCP port (default 9911; 0 picks a free one, read it from `app.url`). */
  port?: number;
  /**
   * A bearer token (Ergo's Observer has no authentication). When set, the event stream and every
   * command need it: an `Authorization: Bearer <token>` header or `?token=<token>` in the URL;
   * open the UI as `http://host:port/?token=<token>` and it sends it on by itself. Static files
   * are served without it (they hold no data).
   */
  token?: string;
  /** TLS material for HTTPS (key, cert... as node:https takes). */
  tls?: ServerOptions;
  /** POST workers (default 10). */
  poolSize?: number;
  /** Browser sessions at once; one more gets 503 (default 256). */
  maxSessions?: number;
  /** Milliseconds between heartbeat comments on every stream (default 15 000). */
  heartbeat?: number;
  /**
   * Host names the `Host` header may carry (a guard against DNS rebinding). Default: when bound to
   * a loopback name or address, `localhost`, `127.0.0.1` and `[::1]` only; otherwise any.
   */
  allowedHosts?: string[];
  /**
   * The node every browser session starts on (default: the node running the Observer), as the
   * switcher's connect form takes it; when it cannot be reached the session stays on its own node.
   */
  node?: { name: string; host?: string; port?: number; tls?: boolean; cookie?: string };
  /**
   * Seconds of the node's figures (processes, memory, CPU, event loop, connection traffic) the
   * Observer keeps from its start, sampled each second, so a page opened now shows them at once
   * (default 600; 0 keeps none). About 300 bytes a sample, plus 85 per connected node.
   */
  historySeconds?: number;
  /** Log records kept for the log page (default 1000; 0 keeps none). About 450 bytes plus the text each. */
  historyLogRecords?: number;
  /**
   * Milliseconds between two samples of the history (default 1000). Tests shorten it to fill the
   * history quickly; the event loop figures are still measured over one second.
   */
  historyInterval?: number;
  /**
   * Whether the process page may show the messages waiting in a mailbox (default true). Set false
   * on nodes whose messages hold secrets: `do/mailbox_peek` then answers 403 with the code
   * `mailbox_peek_disabled` and the page says it is turned off.
   */
  mailboxPeek?: boolean;
  /**
   * Whether the process page may trace what a process receives and sends (default true). Set
   * false with `mailboxPeek` on nodes whose messages hold secrets: `do/trace_start` then answers
   * 403 with the code `message_trace_disabled`.
   */
  messageTrace?: boolean;
  /**
   * Whether the Workflows page may act on workflow instances (cancel, resume, reset, signal) and
   * the Dead letters page on dead letters (retry, drop); default true, as the other actions. Set
   * false for pages that only show them: `do/workflows` or `do/deadletters` with one of those ops
   * then answers 403 with the code `workflow_actions_disabled`.
   */
  workflowActions?: boolean;
  /** Log level of the Observer's processes (default: the node's). */
  logLevel?: LogLevelInput;
}
