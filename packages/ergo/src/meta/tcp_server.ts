// A TCP (or TLS) server as a meta process (Ergo's meta/tcp_server.go). createTCPServer listens
// at once (a busy port fails there), then spawnMeta makes it accept: each accepted socket becomes
// a TCPConnection meta, owned by the same parent, whose messages go to the next process of
// `processPool` (round-robin) or to the parent. Ending the server closes the listener only;
// open connections are metas of their own and live on. Accepted connections get a bounded
// mailbox (`writeQueueLimit`), so a peer that never reads cannot make the node buffer without end.

import * as net from 'node:net';
import * as tls from 'node:tls';

import { ErrIncorrect, isNormalReason, toError } from '../gen/errors.js';
import type { PID } from '../gen/pid.js';
import { NetAddr } from './addr.js';
import { MetaBase } from './base.js';
import { secureContextOptions } from './cert.js';
import { nonNegative } from './reader.js';
import { TCPConnection, validateTCPCommon } from './tcp_connection.js';
import { DEFAULT_TCP_WRITE_QUEUE_LIMIT, type TCPServerOptions } from './tcp_types.js';
import { ignorable } from '../gen/ignorable.js';

/** The meta behaviour of a listening TCP server. */
export class TCPServer extends MetaBase {
  private started = false;
  private closed = false;
  private accepted = 0;
  private pending: net.Socket[] = [];
  private unsubscribe: (() => void) | null = null;
  private readonly pool: string[];
  private readonly writeQueueLimit: number;
  private readonly onConnection = (socket: net.Socket): void => {
    if (this.closed) {
      socket.destroy();
      return;
    }
    if (!this.started) {
      // Waits for spawnMeta without a reader: a client reset meanwhile must not be an
      // unhandled 'error' (the TCPConnection made at spawn listens for its own).
      socket.on('error', this.onPendingError);
      this.pending.push(socket);
    } else this.spawnConnection(socket);
  };
  private readonly onPendingError = (): void => undefined;

  /** Use createTCPServer (it listens first). */
  constructor(
    readonly server: net.Server,
    private readonly options: TCPServerOptions,
  ) {
    super();
    this.pool = (options.processPool ?? []).map(String);
    this.writeQueueLimit = options.writeQueueLimit ?? DEFAULT_TCP_WRITE_QUEUE_LIMIT;
    server.on(server instanceof tls.Server ? 'secureConnection' : 'connection', this.onConnection);
    if (server instanceof tls.Server && options.certManager !== undefined) {
      this.unsubscribe = options.certManager.subscribe((cert) =>
        (server as tls.Server).setSecureContext(secureContextOptions(cert)),
      );
    }
  }

  /**
   * Where the server listens: the bound port, the real one when created with port 0. Valid from
   * createTCPServer on (it listens before it returns) until the server closes.
   */
  address(): NetAddr {
    const a = this.server.address() as net.AddressInfo | null;
    return new NetAddr('tcp', a?.address ?? '', a?.port ?? 0);
  }

  /** The bound port (the real one when created with port 0); 0 once closed. */
  get port(): number {
    return this.address().port;
  }

  /** Closes the listener of a server that was never spawned (a spawned one closes as it ends). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe?.();
    this.server.close();
    for (const s of this.pending) s.destroy();
    this.pending = [];
  }

  private spawnConnection(socket: net.Socket): void {
    socket.off('error', this.onPendingError);
    const i = this.accepted++;
    const process = this.pool.length > 0 ? this.pool[i % this.pool.length] : undefined;
    try {
      this.meta.spawn(new TCPConnection(socket, this.options, process), { mailboxSize: this.writeQueueLimit });
    } catch (e) {
      socket.destroy();
      this.log.error('unable to spawn meta process for %s: %s', String(socket.remoteAddress), toError(e).message);
    }
  }

  /** Accepts connections until the server closes (then the meta ends normally). */
  override start(): Promise<undefined> {
    this.started = true;
    const waiting = this.pending;
    this.pending = [];
    for (const s of waiting) this.spawnConnection(s);
    return new Promise<undefined>((resolve) => {
      if (this.closed || !this.server.listening) resolve(undefined);
      else this.server.once('close', () => resolve(undefined));
    });
  }

  override handleMessage(from: PID): unknown {
    this.log.error('ignored message from %s', from.toString());
    return undefined;
  }

  override handleCall(from: PID): unknown {
    this.log.error('ignored request from %s', from.toString());
    return undefined;
  }

  override handleInspect(): Record<string, string> {
    return {
      listener: this.address().toString(),
      port: String(this.port),
      accepted: String(this.accepted),
      tls: String(this.server instanceof tls.Server),
    };
  }

  override terminate(reason: Error): void {
    this.close();
    if (!isNormalReason(reason)) this.log.error('terminated abnormally: %s', reason.message);
  }
}

/**
 * Listens on `host:port` (TLS with `certManager`) and returns the server's meta behaviour; spawn
 * it with `spawnMeta` to start accepting (connections arriving before wait). Rejects with
 * ErrIncorrect for bad options or the listen error (EADDRINUSE...).
 */
export function createTCPServer(options: TCPServerOptions = {}): Promise<TCPServer> {
  // Safe to leave un-awaited (docs/actors.md, Returned Promises are safe to ignore).
  return ignorable(listenTCP(options), undefined, 'createTCPServer');
}

function listenTCP(options: TCPServerOptions = {}): Promise<TCPServer> {
  let server: net.Server;
  try {
    if (options === null || typeof options !== 'object') throw ErrIncorrect.with('createTCPServer needs options');
    const port = options.port ?? 0;
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw ErrIncorrect.with(`port ${String(port)}`);
    nonNegative(options.maxConnections, 'maxConnections', 0);
    nonNegative(options.writeQueueLimit, 'writeQueueLimit', DEFAULT_TCP_WRITE_QUEUE_LIMIT);
    if (
      options.processPool !== undefined &&
      (!Array.isArray(options.processPool) || options.processPool.some((n) => typeof n !== 'string' || n === ''))
    ) {
      throw ErrIncorrect.with('processPool must be a list of process names');
    }
    validateTCPCommon(options);
    const common = {
      noDelay: true,
      keepAlive: (options.keepAlivePeriod ?? 0) > 0,
      keepAliveInitialDelay: options.keepAlivePeriod ?? 0,
    };
    server =
      options.certManager !== undefined
        ? tls.createServer({ ...common, ...secureContextOptions(options.certManager.certificate()) })
        : net.createServer(common);
    if ((options.maxConnections ?? 0) > 0) server.maxConnections = options.maxConnections!;
  } catch (e) {
    return Promise.reject(e);
  }
  return new Promise<TCPServer>((resolve, reject) => {
    const failed = (e: Error): void => reject(e);
    server.once('error', failed);
    server.listen({ host: options.host === '' ? undefined : options.host, port: options.port ?? 0 }, () => {
      server.off('error', failed);
      const behavior = new TCPServer(server, options);
      server.on('error', (e: Error) => {
        try {
          behavior.log.error('server error: %s', e.message);
        } catch {
          // not spawned yet: nobody to tell
        }
      });
      resolve(behavior);
    });
  });
}
