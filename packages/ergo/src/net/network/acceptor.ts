// An acceptor (Ergo's `gen.Acceptor`): a TCP or TLS listener that answers the EHS:R1 handshake
// with its own cookie, flags and incoming size limit, and hands authenticated sockets to the
// network. Port: a fixed port, Ergo's scan from 11144 up to `portRange` (an absolute last port,
// as Go treats it), or 0 for a port the OS picks. `routeHost`/`routePort` are what the node
// registers for this acceptor when it sits behind NAT or a port mapping (Ergo 3.2).

import net from 'node:net';
import { TlsAcceptContext } from '../tls/socket.js';
import type { Atom } from '../../gen/atom.js';
import { ErrIncorrect, toError } from '../../gen/errors.js';
import type { Log } from '../../gen/log.js';
import type {
  Acceptor,
  AcceptorInfo,
  AcceptorOptions,
  CertManager,
  NetworkFlags as GenNetworkFlags,
  Route,
} from '../../gen/network.js';
import { NetworkFlags } from '../edf/framework.js';
import {
  acceptHandshake,
  DEFAULT_POOL_SIZE,
  type HandshakeOptions,
  type HandshakeResult,
} from '../handshake/handshake.js';
import { HANDSHAKE_VERSION, PROTO_VERSION } from './versions.js';

/** Ergo's first acceptor port. */
export const DEFAULT_ACCEPTOR_PORT = 11144;
/** Ergo's last port of the scan (an absolute port number). */
export const DEFAULT_PORT_RANGE = 50000;

/** What an acceptor needs from its network. */
export interface AcceptorHost {
  nodeName(): Atom;
  creation(): number;
  handshakeBase(): Omit<HandshakeOptions, 'cookie' | 'flags' | 'maxMessageSize' | 'poolSize'>;
  /** A socket passed the handshake: the network attaches it (or closes it). */
  accepted(socket: net.Socket, hs: HandshakeResult, acceptor: AcceptorImpl): void;
  /**
   * The peer's Introduce named it: throws (or rejects) to refuse it before this side's Accept (a
   * crossing dial, crossing.ts), else records that its connection is being set up.
   */
  admit(peer: string, socket: net.Socket, flags: { ergoPool?: boolean }): void | Promise<void>;
  /** A Join names connection `connectionID` of `peer`: throws to refuse it before this side's Accept. */
  admitJoin(peer: string, connectionID: string): void;
  /** A handshake failed (logged, rate-limited per source, and published by the network). */
  refused(remote: string, err: Error, acceptor: AcceptorImpl): void;
  /** True when `address` failed too many handshakes lately: close its connection at once. */
  throttled(address: string): boolean;
  readonly log: Log;
}

/** Copies gen flags into the wire class. */
export function wireFlags(f: GenNetworkFlags | undefined, fallback: NetworkFlags): NetworkFlags {
  return f === undefined ? fallback : f instanceof NetworkFlags ? f : new NetworkFlags(f);
}

/**
 * Connections the kernel may hold for an acceptor before it accepts them (capped by the machine's
 * `net.core.somaxconn`, 4096 on current Linux). Node's default, 511, is below what a node
 * re-dialled by a large cluster at once receives: 3 pool links per peer, so ~170 peers (issue 49).
 */
export const ACCEPT_BACKLOG = 4096;

/** One listener. Lifecycle: {@link AcceptorImpl.listen} once, {@link AcceptorImpl.close} once. */
export class AcceptorImpl implements Acceptor {
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  private cookieValue: string;
  private flags: NetworkFlags;
  private maxSize: number;
  readonly poolSize: number;
  /** Links offered to ergo-ts initiators (both announce `ergoPool`). */
  readonly ergoPoolSize: number;
  /** The port it listens on (after listen). */
  port = 0;
  readonly host: string;

  constructor(
    private readonly host_: AcceptorHost,
    readonly options: AcceptorOptions,
    defaults: { cookie: string; flags: NetworkFlags; maxMessageSize: number },
  ) {
    this.cookieValue = options.cookie ?? defaults.cookie;
    this.flags = wireFlags(options.flags, defaults.flags);
    this.maxSize = options.maxMessageSize ?? defaults.maxMessageSize;
    this.poolSize = options.poolSize ?? DEFAULT_POOL_SIZE;
    this.ergoPoolSize = options.ergoPoolSize ?? this.poolSize;
    const nodeHost = host_.nodeName().split('@')[1] ?? 'localhost';
    const h = options.host ?? nodeHost;
    this.host = h === 'localhost' && options.tcp !== 'tcp6' ? '127.0.0.1' : h;
    if (!Number.isInteger(this.poolSize) || this.poolSize < 1 || this.poolSize > 255)
      throw ErrIncorrect.with(`acceptor poolSize ${String(this.poolSize)} (1..255)`);
    if (!Number.isInteger(this.ergoPoolSize) || this.ergoPoolSize < 1 || this.ergoPoolSize > 255)
      throw ErrIncorrect.with(`acceptor ergoPoolSize ${String(this.ergoPoolSize)} (1..255)`);
    if (!Number.isInteger(this.maxSize) || this.maxSize < 0)
      throw ErrIncorrect.with(`acceptor maxMessageSize ${String(this.maxSize)} (an integer ≥ 0)`);
  }

  get tls(): boolean {
    return this.options.certManager !== undefined;
  }

  /** Starts listening (scanning ports as configured). ErrIncorrect / the listen error when no port is free. */
  async listen(): Promise<void> {
    const o = this.options;
    const first = o.port ?? DEFAULT_ACCEPTOR_PORT;
    if (!Number.isInteger(first) || first < 0 || first > 65535)
      throw ErrIncorrect.with(`acceptor port ${String(first)} (0..65535)`);
    const last = first === 0 ? 0 : Math.max(first, o.portRange ?? (o.port === undefined ? DEFAULT_PORT_RANGE : first));
    let lastErr: Error | null = null;
    for (let port = first; port <= last; port++) {
      const server = this.makeServer(o.certManager);
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen({ port, host: this.host, exclusive: true, backlog: ACCEPT_BACKLOG }, () => {
            server.off('error', reject);
            resolve();
          });
        });
      } catch (e) {
        lastErr = toError(e);
        if ((e as { code?: string }).code !== 'EADDRINUSE') throw lastErr;
        continue;
      }
      server.on('error', (err) => this.host_.log.error('acceptor %s: %s', this.interface(), err.message));
      this.server = server;
      this.port = (server.address() as net.AddressInfo).port;
      return;
    }
    throw lastErr ?? ErrIncorrect.with('no port to listen on');
  }

  private makeServer(cm: CertManager | undefined): net.Server {
    if (cm === undefined)
      return net.createServer((socket) => {
        if (this.host_.throttled(socket.remoteAddress ?? '')) socket.destroy();
        else this.onSocket(socket);
      });
    // TLS per connection with the manager's current certificate (swappable) and client-auth mode.
    const tlsContext = (this.tlsContext ??= new TlsAcceptContext(cm));
    return net.createServer((raw) => {
      if (this.host_.throttled(raw.remoteAddress ?? '')) {
        raw.destroy();
        return;
      }
      this.sockets.add(raw);
      raw.once('close', () => this.sockets.delete(raw));
      tlsContext.accept(raw).then(
        (socket) => this.onSocket(socket),
        (err: unknown) => this.host_.refused(`${raw.remoteAddress ?? ''}:${raw.remotePort ?? 0}`, toError(err), this),
      );
    });
  }

  private tlsContext: TlsAcceptContext | null = null;

  private onSocket(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    const remote = `${socket.remoteAddress ?? ''}:${socket.remotePort ?? 0}`;
    socket.setNoDelay(true);
    const options: HandshakeOptions = {
      ...this.host_.handshakeBase(),
      cookie: this.cookieValue,
      flags: this.flags,
      maxMessageSize: this.maxSize,
      poolSize: this.poolSize,
      ergoPoolSize: this.ergoPoolSize,
      admit: (peer, flags) => this.host_.admit(peer, socket, flags),
      admitJoin: (peer, id) => this.host_.admitJoin(peer, id),
    };
    acceptHandshake(socket, options).then(
      (hs) => this.host_.accepted(socket, hs, this),
      (err: unknown) => this.host_.refused(remote, toError(err), this),
    );
  }

  /** The route the node registers for this acceptor (routeHost/routePort override it). */
  route(): Route {
    return {
      host: this.options.routeHost ?? '',
      port: this.options.routePort ?? this.port,
      tls: this.tls,
      handshakeVersion: HANDSHAKE_VERSION,
      protoVersion: PROTO_VERSION,
    };
  }

  /** Stops listening; established connections are the network's to close. */
  close(): Promise<void> {
    const s = this.server;
    this.server = null;
    for (const sock of this.sockets) if (sock.listenerCount('data') === 0) sock.destroy();
    if (s === null) return Promise.resolve();
    return new Promise((resolve) => s.close(() => resolve()));
  }

  interface(): string {
    return this.host.includes(':') ? `[${this.host}]:${this.port}` : `${this.host}:${this.port}`;
  }

  // --- gen.Acceptor ---------------------------------------------------------------------------

  cookie(): string {
    return this.cookieValue;
  }
  /** Changes the cookie for handshakes from now on. ErrIncorrect for a non-string. */
  setCookie(cookie: string): void {
    if (typeof cookie !== 'string') throw ErrIncorrect.with('cookie must be a string');
    this.cookieValue = cookie;
  }
  networkFlags(): NetworkFlags {
    return this.flags;
  }
  setNetworkFlags(flags: GenNetworkFlags): void {
    this.flags = wireFlags(flags, this.flags);
  }
  maxMessageSize(): number {
    return this.maxSize;
  }
  /** Changes the limit announced to (and enforced on) connections accepted from now on. */
  setMaxMessageSize(size: number): void {
    if (!Number.isInteger(size) || size < 0) throw ErrIncorrect.with(`maxMessageSize ${String(size)} (an integer ≥ 0)`);
    this.maxSize = size;
  }
  info(): AcceptorInfo {
    return {
      interface: this.interface(),
      maxMessageSize: this.maxSize,
      flags: this.flags,
      tls: this.tls,
      customRegistrar: this.options.registrar !== undefined,
      registrarServer: '',
      registrarVersion: { name: '', release: '' },
      handshakeVersion: HANDSHAKE_VERSION,
      protoVersion: PROTO_VERSION,
    };
  }
}
