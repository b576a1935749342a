// What a browser session speaks and how long it waits: the commands a POST worker forwards to
// its session and the answers it gets back, the session's timeouts, the bookkeeping records of
// its subscriptions, the message that brings a command's slow part back to its handlers, and the
// checks and error texts its commands share (session.ts holds the session process itself).

import { ErrProcessUnknown, ErrTimeout, type Alias, type Atom, type PID, type Ref } from 'ergo-ts';

import { ToolError, type ToolSwitches } from './tools.js';
import { toJSONValue } from './json.js';
import { CommandError } from './requests.js';

/** Prefix of a session's registered name; 32 hex digits follow. */
export const SESSION_PREFIX = 'observer_session_';

/** Milliseconds a session waits for one `system_inspect` request (and for the hub) to answer. */
export const SESSION_CALL_TIMEOUT = 5000;

/** Milliseconds a switch may spend connecting to a node it is not connected to yet. */
export const SESSION_CONNECT_TIMEOUT = 8000;

/**
 * Milliseconds a POST worker waits for its session's answer: longer than the slowest command (a
 * switch: connect, then one request), so the session always answers first and names what failed.
 */
export const SESSION_ANSWER_TIMEOUT = SESSION_CONNECT_TIMEOUT + SESSION_CALL_TIMEOUT + 2000;

/** Milliseconds between two checks of the node list (a `cluster_update` frame when it changed). */
export const CLUSTER_REFRESH = 5000;

/** A browser's command, forwarded by a POST worker to its session (call). */
export class SessionCommand {
  constructor(
    /** `subscribe`, `unsubscribe`, `switch` or `do`. */
    readonly op: string,
    /** For `do`: the action (`send`, `send_exit`, `kill`, `set_log_level`, `application_start`...). */
    readonly action: string,
    readonly body: Record<string, unknown>,
  ) {}
}

/** A session's answer to a {@link SessionCommand}: the HTTP status and `{ok, error?, data?}`. */
export class SessionReply {
  constructor(
    readonly status: number,
    readonly error: string | null = null,
    readonly data: unknown = null,
    /** A stable code of a refusal (e.g. `mailbox_peek_disabled`), for the page to tell. */
    readonly code: string | null = null,
  ) {}
}

/** Arguments of a session's init. */
export interface SessionArgs {
  id: string;
  stream: Alias;
  version: string;
  /** The node to observe first (`ObserverOptions.node`). */
  node?: Record<string, unknown>;
  /**
   * The tab this session serves on a shared stream (see mux.ts): its frames are `frame` events
   * whose data is `<tab> <type> <JSON>`, which the browser's shared worker routes to that tab.
   */
  tab?: string;
  /** The History process to ask for the node's recent figures and log (null: none kept). */
  history?: string | null;
  /** Which process tools (mailbox peek, message trace) the session may use (default: both). */
  tools?: ToolSwitches;
}

/** One subscription of a session: what the browser asked for and the hub event it joined. */
export interface Subscription {
  type: string;
  eventKey: string;
  args: Record<string, unknown>;
  /** The browser's id of this subscription (`id` of its subscribe), if it gave one. */
  id: unknown;
}

/**
 * The newest subscribe / unsubscribe of a lookup key. Kept only while the key has a subscription
 * or a subscribe in flight (`pending`): without either there is nothing a late command could
 * cancel or supersede, and a session browsing hundreds of processes must not keep a key for each.
 */
export interface Latest {
  /** Sequence number of the newest subscribe or unsubscribe of the key. */
  seq: number;
  /** The browser's id of the newest subscribe (undefined after an unsubscribe). */
  id: unknown;
  /** Subscribes of the key still in flight (asked for, not yet settled). */
  pending: number;
  /**
   * Events that dropped or replaced subscribes of the key joined at the hub, left once no
   * subscribe of the key is in flight: the hub holds a session in an event once, and a subscribe
   * still in flight may have joined the same event (a re-subscribe after an unsubscribe).
   */
  orphans: Set<string>;
}

/**
 * The end of a command's slow part (calls to another node, the hub, the registrar), which runs
 * outside the session's handlers and comes back through its mailbox: the session's state is
 * only ever changed by its handlers, one at a time, and no slow node holds up the others.
 */
export class Settled<T = unknown> {
  constructor(
    /** The caller to answer, or null for the session's own work (the first switch, the node list). */
    readonly from: PID | null,
    readonly ref: Ref | null,
    readonly ok: boolean,
    readonly value: T | unknown,
    /** Applies the outcome to the session's state (runs in handleMessage); returns the answer. */
    readonly apply: (value: T) => SessionReply,
    /** Runs in handleMessage after either outcome (after `apply` when the work succeeded). */
    readonly done: (() => void) | null,
  ) {}
}

/** The message of a session's node-list timer. */
export const tick = Symbol('observer session cluster tick');
/** The message of a session's runtime-figures timer (every second). */
export const runtimeTick = Symbol('observer session runtime tick');
/** The message of a session's trace-flush timer (while any trace runs). */
export const traceTick = Symbol('observer session trace tick');

/** Whether `err` is the core's time-out error. */
export function isTimeout(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === ErrTimeout.code;
}

/** Rejects with `CommandError(504, what)` when `p` has not settled within `ms`. */
export function deadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CommandError(504, what)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** The answer for a command that failed: its CommandError's status, else 500. */
export function errorReply(err: unknown): SessionReply {
  if (err instanceof ToolError) return new SessionReply(err.status, err.message, null, err.code);
  if (err instanceof CommandError) return new SessionReply(err.status, err.message);
  return new SessionReply(500, err instanceof Error ? err.message : String(err));
}

/** What to tell the browser when a request to `node`'s `system_inspect` failed. */
export function askError(node: Atom, what: string, err: unknown): CommandError {
  const code = (err as { code?: unknown } | null)?.code;
  if (isTimeout(err))
    return new CommandError(
      504,
      `${node} did not answer the ${what} request within ${SESSION_CALL_TIMEOUT / 1000} s: ` +
        'the node is busy, stopped or unreachable, or does not know this request',
    );
  if (code === ErrProcessUnknown.code)
    return new CommandError(502, `${node} has no system_inspect process (it runs without its system application)`);
  const text = err instanceof Error ? err.message : String(err);
  return new CommandError(502, `the ${what} request to ${node} failed: ${text}`);
}

/** `v` when it is a non-empty string, else a 400 CommandError naming the argument. */
export function stringArg(v: unknown, name: string): string {
  if (typeof v !== 'string' || v === '') throw new CommandError(400, `${name}: a non-empty string is required`);
  return v;
}

/** `v` as an object (none: empty), else a 400 CommandError. */
export function objectArg(v: unknown): Record<string, unknown> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new CommandError(400, 'args: an object is required');
  return v as Record<string, unknown>;
}

/** The `node_meta` frame: the facts of a node that do not change (from its node response). */
export function nodeMeta(response: unknown): Record<string, unknown> {
  const r = toJSONValue(response) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(r)) if (k !== 'event' && k !== 'error') out[k] = r[k];
  return out;
}
