// The tab gateway's public shapes: what `createTabGateway` takes (TabGatewayOptions, with the
// request `admit` sees) and the handle it returns (TabGateway). The gateway itself is gateway.ts.

import type { IncomingHttpHeaders, Server } from 'node:http';

import type { Alias, PID } from 'ergo-ts';

import type { TabEnpOptions, TabErlangOptions } from './enp_bridge.js';
import type { TabGrant, TabLimits, TabRefusal } from './grant.js';
import type { TabInfo } from './session.js';

/** What `admit` sees of the request that opened the tab's socket. */
export interface TabRequest {
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly remoteAddress: string;
}

/** Options of `createTabGateway` (gateway.ts). */
export interface TabGatewayOptions {
  /**
   * The application's admission: a grant for `token`, or `{ refuse: reason }`. It may be async;
   * a throw or rejection refuses (logged). Runs once per new tab (not on a resume).
   */
  admit(token: string, request: TabRequest): TabGrant | TabRefusal | Promise<TabGrant | TabRefusal>;
  /** Attach to this HTTP server (upgrades on `path`); default: a server of the gateway's own. */
  server?: Server;
  /** Port of the gateway's own server (default 0: the OS picks one). */
  port?: number;
  /** Host the gateway's own server listens on (default 127.0.0.1). */
  host?: string;
  /** The WebSocket path (default '/tabs'). */
  path?: string;
  /** Limits of every tab (a grant may change them for its tab). */
  limits?: Partial<TabLimits>;
  /** How long a tab that lost its socket keeps its name and processes (ms, default 30 000; at most 2^31 - 1). */
  reconnectWindow?: number;
  /**
   * How long the gateway subscribes again to another node's event whose connection it lost (ms,
   * default 30 000; 0: not at all) before the tabs' subscriptions end with the connection's
   * reason. Within it the tabs stay subscribed: back with the event's buffered publishes they
   * missed, or ended with ERR_TAB_EVENTS_MISSED when the buffer does not reach back (event_hub.ts).
   */
  eventRetryWindow?: number;
  /**
   * How long a tab's socket may take nothing of what waits for it once its queue is full (ms,
   * default 30 000, as `reconnectWindow` and `ws`'s close timeout; 0: no limit; at most 2^31 - 1).
   * A frame for the tab refused ERR_TAB_QUEUE_FULL while its socket is up starts the count; a socket that took
   * any byte within it is a slow reader, kept (the count starts again at its next full queue);
   * one that took none is a peer that stopped reading, and its session ends as a tab past its
   * refusals' room does: close 4029, the socket destroyed at once, its bytes dropped, no window.
   */
  slowConsumerMs?: number;
  /**
   * How long a new socket may take to say hello (ms, default 10 000; at most 2^31 - 1), counted in the time the
   * gateway's event loop was free: a wait the loop overran (a join storm, a long task) is waited
   * again for as long as it was overrun, up to JOIN_WAIT_LIMIT (4) times this in all, and judged
   * only after the loop has read the sockets (join_waits.ts). Past it the socket is refused as busy
   * (ERR_TAB_BUSY, close 1013): the tab dials again by itself.
   */
  helloTimeout?: number;
  /**
   * How long a connection to the gateway's own server may take to send its WebSocket upgrade
   * request (ms, default 60 000, Node's `headersTimeout`; 0: no limit; at most 2^31 - 1), counted as `helloTimeout`
   * is, in the loop's free time: a request that came while the loop was held is read, not answered
   * 408 by Node's wall-clock check. Past it: HTTP 408 (the loop was on time), or 503 with
   * Retry-After when the loop was still overrunning it at four times it. Not applied to a `server`
   * of the application's: Node's `headersTimeout` judges its requests by wall time.
   */
  upgradeTimeout?: number;
  /**
   * Frames of one broadcast (a publish to many tabs) written per turn of the event loop (default
   * 256): the rest wait for later turns, so the loop reads its sockets and answers calls between
   * slices instead of after the last tab (slices.ts).
   */
  fanOutSlice?: number;
  /**
   * Wall time a turn of the event loop writes one broadcast's frames for (ms, default 1; > 0,
   * `Infinity` for no bound): a slice ends at `fanOutSlice` frames or after this, whichever comes
   * first, so on a host with more busy processes than cores a slice ends within the few ms the
   * OS runs the gateway at a time, and a tab's call is read in them (slices.ts).
   */
  fanOutSliceMs?: number;
  /**
   * Frames of one tab handled per turn of the event loop (default 64): the tab's messages past
   * them wait, its socket paused, for later turns, so a flooding tab cannot hold the loop while
   * other tabs' calls wait to be read (slices.ts).
   */
  inboundSlice?: number;
  /**
   * Frames of all tabs together handled per turn of the event loop (default 512): past them the
   * tabs' frames wait as past `inboundSlice`, so a storm of many tabs at once (every tab
   * subscribing after a restart) cannot hold the loop, and the node's own links (its heartbeat
   * to the server nodes) are read between turns (slices.ts).
   */
  inboundTurn?: number;
  /**
   * Refusal log lines are summarised per tab and code over this interval (ms, default 5 000; at most 2^31 - 1): the
   * first refusal of a code logs its line, the others of the interval one line with their count.
   */
  refusalLogInterval?: number;
  /**
   * Go Ergo nodes tabs reach, and that reach tabs, over ENP (enp_bridge.ts): each tab gets a
   * network endpoint under its own name at its first frame. Default: none (ergo-ts nodes only).
   */
  enp?: TabEnpOptions;
  /**
   * Erlang/OTP nodes tabs reach, and that reach tabs (enp_bridge.ts): each tab gets an Erlang
   * distribution endpoint under its own name at its first frame, started by `erlang.start`
   * (@ergo-ts/erlang's startErlangEndpoint). Default: none.
   */
  erlang?: TabErlangOptions;
}

/** A running gateway. */
export interface TabGateway {
  /** The WebSocket URL tabs join (ws://host:port/path; with `server`, its address). */
  readonly url: string;
  /** Tabs with a session (connected or within their window). */
  tabs(): TabInfo[];
  /**
   * Lets tab `tab` address `target` (a PID or alias it did not receive mail from). Throws
   * ErrIncorrect for an unknown tab.
   */
  handOut(tab: string, target: PID | Alias): void;
  /** Ends tab `tab`'s session now (as its window passing would). False when unknown. */
  disconnect(tab: string): boolean;
  /** Closes the endpoint and ends every session (idempotent). */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}
