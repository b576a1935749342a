// The server half of the embedded registrar (ESRD:R1, WIRE.md §4.1): TCP on localhost takes
// registrations over connections the clients keep open (a registration lives as long as its
// connection), UDP on all interfaces answers resolve requests. One per host: binding fails with
// EADDRINUSE when another node, Go or TS, already serves the port, and the caller then becomes a
// client instead.

import dgram from 'node:dgram';
import net from 'node:net';
import { ErrIncorrect, ErrTaken, ErrUnknown } from '../../gen/errors.js';
import type { Route } from '../edf/framework.js';
import {
  MessageRegisterReply,
  type MessageRegisterRoutes,
  MessageResolveReply,
  type MessageResolveRoutes,
} from './messages.js';
import { RegistrarCodec, RegistrarPacketType } from './packet.js';

/** What the server tells its owner (for logs and tests). */
export interface RegistrarServerHooks {
  /** A client registered `node` (not called for the server's own node). */
  registered?(node: string): void;
  /** A client's connection closed (or ended, while another registration waited for its name) and `node` was removed. */
  unregistered?(node: string): void;
  /** A registration of `node` waits for the connection that holds the name to end (see `takenWait`). */
  waiting?(node: string): void;
  /** A packet could not be handled (bad bytes, a socket error); the server keeps running. */
  problem?(text: string): void;
}

/** Limits of the server side (Ergo's values by default). */
export interface RegistrarServerLimits {
  /** How long a fresh TCP connection may take to send its register packet, in ms. Default 1000. */
  registerReadTimeout: number;
  /**
   * How long a registration of a name held by a client's open connection waits for that
   * connection to end before it is refused with ErrTaken, in ms (kept under Go's 1 s reply deadline).
   */
  takenWait: number;
}

interface Entry {
  routes: Route[];
  /** The connection that holds the registration; null for the server's own node. */
  socket: net.Socket | null;
}

/**
 * A bound registrar server. Create it with {@link RegistrarServer.bind}, which resolves to null
 * when the port is already served on this host. `close()` releases both sockets and drops every
 * client connection (they notice and re-register with whoever takes over).
 */
export class RegistrarServer {
  readonly #tcp: net.Server;
  readonly #udp: dgram.Socket;
  readonly #table = new Map<string, Entry>();
  readonly #codec = new RegistrarCodec();
  readonly #hooks: RegistrarServerHooks;
  readonly #limits: RegistrarServerLimits;
  readonly #clients = new Set<net.Socket>();
  #closed = false;

  private constructor(tcp: net.Server, udp: dgram.Socket, hooks: RegistrarServerHooks, limits: RegistrarServerLimits) {
    this.#tcp = tcp;
    this.#udp = udp;
    this.#hooks = hooks;
    this.#limits = limits;
    tcp.on('connection', (s) => this.#accept(s));
    tcp.on('error', (err) => hooks.problem?.(`registrar TCP server: ${err.message}`));
    udp.on('message', (msg, rinfo) => this.#resolveRequest(msg, rinfo));
    udp.on('error', (err) => hooks.problem?.(`registrar UDP server: ${err.message}`));
  }

  /**
   * Tries to serve `port`: TCP on 127.0.0.1 first, then UDP on all interfaces (dual-stack when
   * the host has IPv6, as Go's `:port`). Resolves to null if either is taken (the other is
   * released again); rejects only on an unexpected bind error.
   */
  static async bind(
    port: number,
    hooks: RegistrarServerHooks,
    limits: RegistrarServerLimits,
  ): Promise<RegistrarServer | null> {
    const tcp = net.createServer({ noDelay: true });
    const tcpOk = await new Promise<boolean>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        tcp.off('listening', onListening);
        if (err.code === 'EADDRINUSE' || err.code === 'EACCES') resolve(false);
        else reject(err);
      };
      const onListening = (): void => {
        tcp.off('error', onError);
        resolve(true);
      };
      tcp.once('error', onError);
      tcp.once('listening', onListening);
      tcp.listen({ port, host: '127.0.0.1', exclusive: true });
    });
    if (!tcpOk) return null;
    const udp = await bindUdp(port);
    if (udp === null) {
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
      return null;
    }
    return new RegistrarServer(tcp, udp, hooks, limits);
  }

  /**
   * Records the server's own node.
   * @throws ErgoError ERR_TAKEN if a client already registered that name.
   */
  registerSelf(node: string, routes: Route[]): void {
    if (this.#table.has(node)) throw ErrTaken.with(`node name ${node} is already registered on this host`);
    this.#table.set(node, { routes, socket: null });
  }

  /** Routes of `node` in the table, or undefined. */
  lookup(node: string): Route[] | undefined {
    return this.#table.get(node)?.routes;
  }

  /** Names in the table (the server's own node included). */
  nodes(): string[] {
    return [...this.#table.keys()];
  }

  /** Releases both ports and closes every client connection. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#tcp.close();
    this.#udp.close();
    for (const s of this.#clients) s.destroy();
    this.#clients.clear();
    this.#table.clear();
  }

  #accept(socket: net.Socket): void {
    if (this.#closed) {
      socket.destroy();
      return;
    }
    this.#clients.add(socket);
    let registered: string | null = null;
    const timer = setTimeout(() => {
      this.#hooks.problem?.(
        `registrar: no register packet within ${this.#limits.registerReadTimeout} ms from ${socket.remoteAddress}:${socket.remotePort}`,
      );
      socket.destroy();
    }, this.#limits.registerReadTimeout);
    socket.on('error', () => {
      // 'close' follows; a reset client is an ordinary way for a registration to end.
    });
    socket.on('close', () => {
      clearTimeout(timer);
      this.#clients.delete(socket);
      if (registered !== null && this.#table.get(registered)?.socket === socket) {
        this.#table.delete(registered);
        this.#hooks.unregistered?.(registered);
      }
    });
    socket.on('data', (chunk: Buffer) => {
      if (registered !== null) {
        // Ergo exchanges nothing after the reply: anything else is logged and ignored.
        this.#hooks.problem?.(`registrar: ignored ${chunk.length} bytes from registered node ${registered}`);
        return;
      }
      clearTimeout(timer);
      let msg: MessageRegisterRoutes;
      try {
        msg = this.#codec.decode(chunk, RegistrarPacketType.Register) as MessageRegisterRoutes;
      } catch (err) {
        this.#hooks.problem?.(`registrar: bad register packet: ${(err as Error).message}`);
        socket.destroy();
        return;
      }
      if (msg.routes === null || msg.routes.length === 0) {
        // As Go: a node nobody could reach is refused ("incorrect value or argument").
        this.#hooks.problem?.(`registrar: ${msg.node} tried to register without routes`);
        socket.end(this.#codec.encode(new MessageRegisterReply({ error: ErrIncorrect })));
        return;
      }
      const admit = (): void => {
        if (this.#closed || socket.destroyed) return;
        registered = msg.node;
        this.#table.set(msg.node, { routes: msg.routes!, socket });
        socket.write(this.#codec.encode(new MessageRegisterReply({ error: null })));
        this.#hooks.registered?.(msg.node);
      };
      const holder = this.#table.get(msg.node);
      if (holder === undefined) return admit();
      this.#whenReleased(msg.node, holder, socket, admit);
    });
  }

  /**
   * A registration of a name the table holds: admitted once the holder's connection ends (a node
   * restarted at once after kill -9, before its old process was torn down and its socket closed;
   * an end already read releases the name at once, and the server reads a connection's end
   * before a newer connection's first packet),
   * refused with ErrTaken after `takenWait` while the holder stays (a node of that name still
   * runs) — and at once when the holder is the server's own node.
   */
  #whenReleased(node: string, holder: Entry, socket: net.Socket, admit: () => void): void {
    const held = holder.socket;
    // Go's text ("resource is taken") is what the client maps back to ErrTaken.
    const refuse = (): void => void socket.end(this.#codec.encode(new MessageRegisterReply({ error: ErrTaken })));
    if (held === null) return refuse();
    const release = (): void => {
      clearTimeout(timer);
      held.off('end', release);
      held.off('close', release);
      socket.off('close', abandon);
      if (this.#table.get(node) === holder) {
        this.#table.delete(node);
        this.#hooks.unregistered?.(node);
      }
      if (this.#table.has(node)) refuse();
      else admit();
    };
    const abandon = (): void => {
      clearTimeout(timer);
      held.off('end', release);
      held.off('close', release);
    };
    const timer = setTimeout(() => {
      if (held.readableEnded || held.destroyed) return release();
      abandon();
      socket.off('close', abandon);
      refuse();
    }, this.#limits.takenWait);
    if (held.readableEnded || held.destroyed) return release();
    this.#hooks.waiting?.(node);
    held.once('end', release);
    held.once('close', release);
    socket.once('close', abandon);
  }

  #resolveRequest(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    let req: MessageResolveRoutes;
    try {
      req = this.#codec.decode(msg, RegistrarPacketType.Resolve) as MessageResolveRoutes;
    } catch (err) {
      this.#hooks.problem?.(
        `registrar: bad resolve request from ${rinfo.address}:${rinfo.port}: ${(err as Error).message}`,
      );
      return;
    }
    const routes = this.#table.get(req.node)?.routes;
    const reply =
      routes === undefined
        ? new MessageResolveReply({ routes: null, error: ErrUnknown })
        : new MessageResolveReply({ routes, error: null });
    let bytes: Uint8Array;
    try {
      bytes = this.#codec.encode(reply);
    } catch (err) {
      this.#hooks.problem?.(`registrar: resolve reply for ${req.node}: ${(err as Error).message}`);
      return;
    }
    this.#udp.send(bytes, rinfo.port, rinfo.address);
  }
}

/** UDP on all interfaces: dual-stack `::` where IPv6 exists (as Go's `:port`), else 0.0.0.0. */
async function bindUdp(port: number): Promise<dgram.Socket | null> {
  for (const type of ['udp6', 'udp4'] as const) {
    const sock = dgram.createSocket({ type, ipv6Only: false, reuseAddr: false });
    const result = await new Promise<'ok' | 'busy' | 'unsupported'>((resolve) => {
      sock.once('error', (err: NodeJS.ErrnoException) =>
        resolve(err.code === 'EADDRINUSE' || err.code === 'EACCES' ? 'busy' : 'unsupported'),
      );
      sock.bind({ port, address: type === 'udp6' ? '::' : '0.0.0.0', exclusive: true }, () => resolve('ok'));
    });
    if (result === 'ok') {
      sock.removeAllListeners('error');
      return sock;
    }
    try {
      sock.close();
    } catch {
      // never bound: nothing to release
    }
    if (result === 'busy') return null;
  }
  return null;
}
