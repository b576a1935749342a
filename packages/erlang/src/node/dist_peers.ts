// The part of the Erlang distribution that attachErlang's ErlangNode and a tab gateway's
// startErlangEndpoint share: one listener, one EPMD registration, and the table of connections to
// Erlang peers with the dial and accept paths that fill it (simultaneous connects resolved, a
// restarted peer's stale connection replaced). What each owner adds on top stays with it:
// ErlangNode plugs into a node and runs OTP's kernel processes, `global` and `pg`; an endpoint only
// hands every peer's traffic to a Core of its own.

import { createServer, type Server, type Socket } from 'node:net';
import { ErrIncorrect, ErrNoConnection, ErrTaken, toError, type Atom, type Core, type Log } from 'ergo-ts';
import { DistConnection, type DistConnectionOptions } from '../distribution/connection.js';
import type { EpmdClient, EpmdRegistration } from '../epmd/client.js';
import { EpmdError } from '../errors.js';
import { erlToPid, type ErlPid, type Term } from '../etf/terms.js';
import {
  MAX_NODE_NAME_CHARS,
  acceptHandshake,
  connectNode,
  isNodeName,
  resolveSimultaneous,
  type HandshakeResult,
} from '../handshake/handshake.js';
import { ErlangConnection, type ErlangConnectionOptions } from './connection.js';

/** What {@link DistPeers} needs from its owner. */
export interface DistPeersOptions {
  /** The node name (`alive@host`) announced in handshakes. */
  name: string;
  /** The distribution cookie. */
  cookie: string;
  /** Flags announced in handshakes. */
  flags: bigint;
  /** The creation announced in handshakes (read at each handshake). */
  creation: () => number;
  /** The Core every peer's traffic is applied to (read when a connection is made). */
  core: () => Core;
  /** Where connections and the listener log. */
  log: Log;
  /** Start of every log line, e.g. `erlang` or `erlang endpoint a@h`. */
  logPrefix: string;
  /** Log each connection made (info). ErlangNode does; a tab's endpoint, one per tab, does not. */
  logConnections: boolean;
  /** Address to listen on. Default `0.0.0.0`. */
  host?: string | undefined;
  /** Port to listen on. Default 0. */
  port?: number | undefined;
  /** Handshake step timeout, ms. Default 7000 (OTP's net_setuptime). */
  setupTimeout?: number | undefined;
  /** Connection options (ticks, peer timeout, limits, fragments). */
  connection?: Omit<DistConnectionOptions, 'mapPid'> | undefined;
  /** Tag style of calls to Erlang gen_servers. */
  callTag?: ErlangConnectionOptions['callTag'] | undefined;
  /** A connection came up (handshake done, attached). */
  onUp?: (c: ErlangConnection) => void;
  /** A connection ended and left the table. */
  onDown?: (c: ErlangConnection) => void;
}

/** Pids decode as ergo-ts PIDs (exactly convertible back); the rare unconvertible stays an ErlPid. */
function mapPid(p: ErlPid): Term {
  return erlToPid(p) ?? p;
}

/**
 * Checks what both owners require before anything listens: a name `alive@host` that is an atom,
 * and a cookie. `who` names the caller in the cookie's error.
 * @returns the alive part of the name.
 * @throws ErrIncorrect
 */
export function checkDistName(name: string, cookie: unknown, who: string): string {
  const at = name.indexOf('@');
  if (at <= 0 || at !== name.lastIndexOf('@') || at === name.length - 1)
    throw ErrIncorrect.with(`an Erlang node name is alive@host, not ${name}`);
  if (!isNodeName(name))
    throw ErrIncorrect.with(`an Erlang node name is an atom: at most ${MAX_NODE_NAME_CHARS} characters`);
  if (typeof cookie !== 'string' || cookie === '') throw ErrIncorrect.with(`${who} needs a cookie`);
  return name.slice(0, at);
}

/**
 * A listener, an EPMD registration and the connections to Erlang peers under one name.
 * Lifecycle: `listen()` once, then `register(…)` once; `connection()`/`get()` any time until
 * `close()`, which is idempotent and ends every connection (links and monitors through them fire
 * with `noconnection`), the listener and the registration.
 */
export class DistPeers {
  readonly #o: DistPeersOptions;
  readonly #connections = new Map<string, ErlangConnection>();
  #server: Server | null = null;
  #registration: EpmdRegistration | null = null;
  #epmd: EpmdClient | null = null;
  #port = 0;
  #closed = false;

  constructor(options: DistPeersOptions) {
    this.#o = options;
  }

  /** The port the listener is bound to (0 before `listen()`). */
  get port(): number {
    return this.#port;
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Listens for inbound distribution connections. */
  async listen(): Promise<void> {
    const server = createServer((socket) => void this.#accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#o.port ?? 0, this.#o.host ?? '0.0.0.0', () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (e) => this.#o.log.error('%s: listener: %s', this.#o.logPrefix, e.message));
    this.#server = server;
    this.#port = (server.address() as { port: number }).port;
  }

  /**
   * Registers the alive name with `epmd` under the listener's port, and dials through it from now on.
   * @throws ErrTaken when EPMD has the name; EpmdError when EPMD cannot be reached.
   */
  async register(epmd: EpmdClient, alive: string, hidden: boolean): Promise<void> {
    this.#epmd = epmd;
    try {
      this.#registration = await epmd.register({ name: alive, port: this.#port, hidden });
    } catch (e) {
      if (e instanceof EpmdError && e.code === 'ERR_EPMD_TAKEN')
        throw ErrTaken.with(`Erlang node name ${this.#o.name} (EPMD)`, e);
      throw e;
    }
    this.#registration.on('lost', () =>
      this.#o.log.warning('%s: EPMD registration lost; re-registering', this.#o.logPrefix),
    );
  }

  /** Names of the Erlang nodes connected now. */
  nodes(): string[] {
    return [...this.#connections.values()].filter((c) => c.connected).map((c) => c.peer);
  }

  /** Every connection held now (connected or dialling). */
  all(): ErlangConnection[] {
    return [...this.#connections.values()];
  }

  /** The connection to `node`, if any (connected or dialling). */
  get(node: string): ErlangConnection | undefined {
    return this.#connections.get(node);
  }

  /** The connection to `node`: the one held, or a new one dialling. Undefined after `close()`. */
  connection(node: Atom): ErlangConnection | undefined {
    if (this.#closed) return undefined;
    const had = this.#connections.get(node);
    if (had !== undefined) return had;
    const c = this.#newConnection(node);
    void this.#dial(c);
    return c;
  }

  /** Ends every connection with `reason`, then the listener and the registration. Idempotent. */
  async close(reason: string): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const c of [...this.#connections.values()]) c.terminate(ErrNoConnection.with(reason));
    this.#connections.clear();
    const s = this.#server;
    if (s !== null) await new Promise<void>((r) => s.close(() => r()));
    await this.#registration?.close().catch(() => {});
  }

  #newConnection(peer: Atom): ErlangConnection {
    const opts: ErlangConnectionOptions = this.#o.callTag ? { callTag: this.#o.callTag } : {};
    const c = new ErlangConnection(peer, this.#o.core(), this.#o.log, opts, (x) => {
      if (this.#connections.get(x.peer) === x) this.#connections.delete(x.peer);
      this.#o.onDown?.(x);
    });
    this.#connections.set(peer, c);
    return c;
  }

  #handshake() {
    return {
      name: this.#o.name,
      cookie: this.#o.cookie,
      creation: this.#o.creation(),
      flags: this.#o.flags,
      timeout: this.#o.setupTimeout ?? 7000,
    };
  }

  #attach(c: ErlangConnection, hs: HandshakeResult): void {
    c.attach(new DistConnection(hs, { ...this.#o.connection, mapPid }));
    this.#o.onUp?.(c);
  }

  async #dial(c: ErlangConnection): Promise<void> {
    let hs: HandshakeResult;
    try {
      const epmd = this.#epmd;
      if (epmd === null) throw ErrNoConnection.with(`${this.#o.logPrefix}: not registered with EPMD`);
      // we dial only without a connection of our own: the peer's old one is stale
      hs = await connectNode(c.peer, { ...this.#handshake(), epmd, onAlive: () => true });
    } catch (e) {
      // lost a simultaneous connect: the peer's own connection (accepted) takes this one's place
      if (c.connected || !c.open) return;
      this.#o.log.info('%s: cannot connect to %s: %s', this.#o.logPrefix, c.peer, toError(e).message);
      c.fail(toError(e));
      return;
    }
    if (!c.open || c.connected) {
      hs.socket.destroy();
      return;
    }
    if (this.#o.logConnections) this.#o.log.info('%s: connected to %s', this.#o.logPrefix, c.peer);
    this.#attach(c, hs);
  }

  async #accept(socket: Socket): Promise<void> {
    socket.on('error', () => {});
    let hs: HandshakeResult;
    try {
      hs = await acceptHandshake(socket, {
        ...this.#handshake(),
        accept: ({ name }) => {
          const had = this.#connections.get(name);
          if (had === undefined || !had.open) return 'ok';
          // a connection we still hold: the peer restarted, or both sides dialled at once
          if (had.connected) return 'alive';
          return resolveSimultaneous(this.#o.name, name);
        },
      });
    } catch (e) {
      this.#o.log.warning('%s: inbound handshake failed: %s', this.#o.logPrefix, toError(e).message);
      socket.destroy();
      return;
    }
    if (this.#closed) {
      hs.socket.destroy();
      return;
    }
    const peer = hs.peerName as Atom;
    if (this.#o.logConnections) this.#o.log.info('%s: inbound connection from %s', this.#o.logPrefix, peer);
    let c = this.#connections.get(peer);
    if (c !== undefined && c.connected) {
      // 'alive' answered and the peer replaced it: the old one is dead
      c.terminate(ErrNoConnection.with(`${peer} reconnected`));
      c = undefined;
    }
    if (c === undefined || !c.open) c = this.#newConnection(peer);
    this.#attach(c, hs);
  }
}
