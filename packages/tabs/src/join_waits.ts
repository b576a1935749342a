// The waits of a tab's join, counted in the time the gateway's event loop was free. A join is two
// waits: the socket's WebSocket upgrade request (on the gateway's own HTTP server), then the tab's
// hello. Judged by wall time, a wait fails a tab whose bytes came in time when the gateway's loop
// was held past it (a join storm, a mass close, a major GC on a loaded host): the wait's timer
// falls due in the loop's timers phase, before the poll phase that reads the bytes already there.
// Node's own check of a request's headers does exactly that (`headersTimeout`, judged from a timer
// every `connectionsCheckingInterval`, answers 408): the 100,000-tab run of issue 93 had 21
// upgrades refused so. So the gateway judges both waits itself: a wait the loop overran is waited
// again for as long as it was overrun, up to JOIN_WAIT_LIMIT times it in all, and it is judged
// only after the loop has read its sockets (a setImmediate queued from the timer runs after the
// poll phase).

import { createServer, type Server } from 'node:http';
import type { Duplex } from 'node:stream';

import type { Log } from 'ergo-ts';

/**
 * A join's wait (the upgrade request's, the hello's), overrun by a busy event loop, is waited
 * again up to this many times its timeout in all (a gateway that stays overloaded still refuses,
 * as busy).
 */
export const JOIN_WAIT_LIMIT = 4;

/** Default of the gateway option `upgradeTimeout` (ms): Node's own `headersTimeout`. */
export const DEFAULT_UPGRADE_TIMEOUT = 60_000;

/**
 * A wait of `ms` counted in the time the event loop was free. `expired(busy)` runs once when it
 * passed unless {@link cancel} came first: `busy` is true when the loop was still overrunning it at
 * its limit (the gateway too busy to judge), false when the loop was on time (the peer is late).
 */
export class FreeTimeWait {
  #timer: ReturnType<typeof setTimeout> | null = null;
  #judge: ReturnType<typeof setImmediate> | null = null;
  readonly #opened = performance.now();

  constructor(
    private readonly ms: number,
    private readonly expired: (busy: boolean) => void,
  ) {
    this.#wait(ms);
  }

  #wait(ms: number): void {
    const due = performance.now() + ms;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      const late = performance.now() - due;
      // After the poll phase: bytes that came while the loop was busy are read first.
      this.#judge = setImmediate(() => {
        this.#judge = null;
        // The loop overran the wait: that time was not the peer's to use.
        const overrun = late > ms / 10;
        if (overrun && performance.now() - this.#opened + late < this.ms * JOIN_WAIT_LIMIT) return this.#wait(late);
        this.expired(overrun);
      });
      this.#judge.unref();
    }, ms);
    this.#timer.unref();
  }

  /** The wait is over (its peer spoke, or went): `expired` will not run. */
  cancel(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    if (this.#judge !== null) clearImmediate(this.#judge);
    this.#timer = this.#judge = null;
  }
}

/** To a connection whose request did not come while the loop was free: the client is late. */
const TIMED_OUT = 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n';
/** To one the gateway was too busy to wait for: retryable (a tab dials again). */
const BUSY = 'HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n';
/** To an upgrade on another path (nobody else serves the gateway's own server). */
const NOT_FOUND = 'HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n';

/**
 * The gateway's own HTTP server (when no `server` is given): WebSocket upgrades only, and the wait
 * for a connection's request judged by the gateway ({@link FreeTimeWait}), not by Node's
 * wall-clock `headersTimeout` (switched off here). A connection without its request when the wait
 * passed is answered 408 (the loop was on time: the client is late) or 503 with Retry-After (the
 * loop was overrunning it still at JOIN_WAIT_LIMIT times the timeout), and closed. Lifecycle:
 * made by the gateway's start, closed by its stop.
 */
export class GatewayServer {
  readonly server: Server;
  /** Connections whose request has not come yet, and their waits. */
  readonly #waits = new Map<Duplex, FreeTimeWait>();

  /** `timeout`: the wait for a connection's request (ms; 0: no limit). */
  constructor(timeout: number, log: Log) {
    // requestTimeout 0 too (its check is the same timer's): a plain request is answered at its headers.
    this.server = createServer({ headersTimeout: 0, requestTimeout: 0 }, (req, res) => {
      this.heard(req.socket);
      res.writeHead(426, { connection: 'close' }).end('a tab gateway: WebSocket only');
    });
    if (timeout === 0) return;
    // After the http server's own listener: the connection's parser is set up, its bytes not read yet.
    this.server.on('connection', (socket: Duplex) => {
      const wait = new FreeTimeWait(timeout, (busy) => {
        this.#waits.delete(socket);
        if (socket.destroyed) return;
        const from = (socket as { remoteAddress?: string }).remoteAddress ?? '';
        log.warning('tab socket (%s): no request within %d ms%s', from, timeout, busy ? ' (busy)' : '');
        socket.end(busy ? BUSY : TIMED_OUT, () => socket.destroy());
      });
      this.#waits.set(socket, wait);
    });
  }

  /** The request of `socket` came (an upgrade, a plain request): its wait is over. */
  heard(socket: Duplex): void {
    const w = this.#waits.get(socket);
    if (w === undefined) return;
    w.cancel();
    this.#waits.delete(socket);
  }

  /** An upgrade on a path other than the gateway's: 404, closed. */
  notFound(socket: Duplex): void {
    this.heard(socket);
    socket.end(NOT_FOUND, () => socket.destroy());
  }

  listen(port: number, host: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  /** Stops listening; resolves once every connection closed (the gateway terminated its tabs' first). */
  close(): Promise<void> {
    for (const [socket, w] of this.#waits) {
      w.cancel();
      socket.destroy();
    }
    this.#waits.clear();
    return new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
