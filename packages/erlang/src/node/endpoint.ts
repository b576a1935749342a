// An Erlang distribution endpoint: the listener, EPMD registration, handshakes and connections of
// attachErlang run for a name whose processes are not a local node's engine. The caller supplies
// the Core inbound traffic is applied to and gets each peer's Connection for outbound operations,
// so an Erlang node sees an ordinary (hidden) node under that name: it resolves it through EPMD,
// dials it, sends to, calls, links to and monitors its pids. @ergo-ts/tabs runs one per browser
// tab on its gateway (the twin of ergo-ts/net's startNetworkEndpoint for Go Ergo), so Erlang nodes
// reach tab PIDs: a tab's node name has the gateway's host, and its alive part is registered with
// the EPMD of that host under the endpoint's own port.

import { createServer, type Server, type Socket } from 'node:net';
import { ErrIncorrect, ErrNoConnection, ErrTaken, toError, type Atom, type Core, type Log } from 'ergo-ts';
import { DistConnection } from '../distribution/connection.js';
import { EpmdClient, type EpmdRegistration } from '../epmd/client.js';
import { EpmdError } from '../errors.js';
import { erlToPid, type ErlPid, type Term } from '../etf/terms.js';
import { DEFAULT_FLAGS, DFLAG } from '../handshake/flags.js';
import {
  MAX_NODE_NAME_CHARS,
  acceptHandshake,
  connectNode,
  isNodeName,
  resolveSimultaneous,
  type HandshakeResult,
} from '../handshake/handshake.js';
import { ErlangConnection } from './connection.js';
import type { AttachErlangOptions } from './erlang_node.js';

/** Options of {@link startErlangEndpoint}. */
export interface ErlangEndpointOptions {
  /** The Core every peer's traffic to this name is applied to (its `name()` is the node name, `alive@host`). */
  core: Core;
  /** Where the endpoint logs (handshakes, connections). */
  log: Log;
  /** The distribution cookie. Required. */
  cookie: string;
  /** Address to listen on. Default `0.0.0.0`. */
  host?: string;
  /** EPMD to register with and resolve through (default 127.0.0.1 and `ERL_EPMD_PORT` or 4369), or a client. */
  epmd?: AttachErlangOptions['epmd'];
  /**
   * Announce the name as a visible node. Default false (hidden): a visible node is expected to
   * run OTP's `global`, which an endpoint does not, and a peer's `global:sync()` would wait for it.
   */
  visible?: boolean;
  /** Connection options (ticks, peer timeout, limits, fragments). */
  connection?: AttachErlangOptions['connection'];
  /** Tag style of calls to Erlang gen_servers. */
  callTag?: AttachErlangOptions['callTag'];
  /** Handshake step timeout, ms. Default 7000. */
  setupTimeout?: number;
}

/**
 * A running Erlang distribution endpoint for one name. Lifecycle: made started by
 * {@link startErlangEndpoint}; `stop()` once (idempotent) closes the listener and every connection
 * (each peer's links and monitors of the name's processes fire with `noconnection`) and drops the
 * EPMD registration.
 */
export interface ErlangEndpoint {
  /** The node name (the Core's). */
  readonly name: string;
  /** The port the listener is bound to (registered with EPMD). */
  readonly port: number;
  /**
   * The Connection to Erlang node `node` (connected, or dialling with operations queued).
   * @throws ErrNoConnection after stop; ErrIncorrect for a name that is not `alive@host` or this one.
   */
  connection(node: string): ErlangConnection;
  /** Names of the Erlang nodes connected now. */
  nodes(): string[];
  /** Closes the listener, connections and registration (idempotent). */
  stop(): Promise<void>;
}

/** Pids decode as ergo-ts PIDs (exactly convertible back); the rare unconvertible stays an ErlPid. */
function mapPid(p: ErlPid): Term {
  return erlToPid(p) ?? p;
}

class Endpoint implements ErlangEndpoint {
  readonly name: string;
  port = 0;
  readonly #connections = new Map<string, ErlangConnection>();
  readonly #flags: bigint;
  #server: Server | null = null;
  #registration: EpmdRegistration | null = null;
  #epmd: EpmdClient;
  #stopped = false;

  constructor(private readonly o: ErlangEndpointOptions) {
    this.name = String(o.core.name());
    // SEND_SENDER: an Erlang `!` to the name carries its sender (plain SEND does not), so the
    // Core learns who wrote (a tab gateway hands a tab the senders of its mail).
    const flags = DEFAULT_FLAGS | DFLAG.SEND_SENDER;
    this.#flags = o.visible === true ? flags : flags & ~DFLAG.PUBLISHED;
    const e = o.epmd;
    this.#epmd =
      e instanceof EpmdClient
        ? e
        : new EpmdClient({ ...(e?.host ? { host: e.host } : {}), ...(e?.port ? { port: e.port } : {}) });
  }

  async start(): Promise<void> {
    const server = createServer((socket) => void this.#accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, this.o.host ?? '0.0.0.0', () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (e) => this.o.log.error('erlang endpoint %s: listener: %s', this.name, e.message));
    this.#server = server;
    this.port = (server.address() as { port: number }).port;
    const alive = this.name.slice(0, this.name.indexOf('@'));
    try {
      this.#registration = await this.#epmd.register({ name: alive, port: this.port, hidden: this.o.visible !== true });
    } catch (e) {
      if (e instanceof EpmdError && e.code === 'ERR_EPMD_TAKEN')
        throw ErrTaken.with(`Erlang node name ${this.name} (EPMD)`, e);
      throw e;
    }
    this.#registration.on('lost', () =>
      this.o.log.warning('erlang endpoint %s: EPMD registration lost; re-registering', this.name),
    );
  }

  nodes(): string[] {
    return [...this.#connections.values()].filter((c) => c.connected).map((c) => c.peer);
  }

  connection(node: string): ErlangConnection {
    if (this.#stopped) throw ErrNoConnection.with(`Erlang endpoint ${this.name} stopped`);
    if (node === this.name || !isNodeName(node)) throw ErrIncorrect.with(`not an Erlang peer node name: ${node}`);
    const had = this.#connections.get(node);
    if (had !== undefined) return had;
    const c = this.#newConnection(node as Atom);
    void this.#dial(c);
    return c;
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const c of [...this.#connections.values()]) c.terminate(ErrNoConnection.with('Erlang endpoint stopped'));
    this.#connections.clear();
    const s = this.#server;
    if (s !== null) await new Promise<void>((r) => s.close(() => r()));
    await this.#registration?.close().catch(() => {});
  }

  #newConnection(peer: Atom): ErlangConnection {
    const opts = this.o.callTag ? { callTag: this.o.callTag } : {};
    const c = new ErlangConnection(peer, this.o.core, this.o.log, opts, (x) => {
      if (this.#connections.get(x.peer) === x) this.#connections.delete(x.peer);
    });
    this.#connections.set(peer, c);
    return c;
  }

  #handshake() {
    return {
      name: this.name,
      cookie: this.o.cookie,
      creation: this.o.core.creation(),
      flags: this.#flags,
      timeout: this.o.setupTimeout ?? 7000,
    };
  }

  async #dial(c: ErlangConnection): Promise<void> {
    let hs: HandshakeResult;
    try {
      hs = await connectNode(c.peer, { ...this.#handshake(), epmd: this.#epmd, onAlive: () => true });
    } catch (e) {
      // lost a simultaneous connect: the peer's own connection (accepted) takes this one's place
      if (c.connected || !c.open) return;
      this.o.log.info('erlang endpoint %s: cannot connect to %s: %s', this.name, c.peer, toError(e).message);
      c.fail(toError(e));
      return;
    }
    if (!c.open || c.connected) {
      hs.socket.destroy();
      return;
    }
    c.attach(new DistConnection(hs, { ...this.o.connection, mapPid }));
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
          if (had.connected) return 'alive';
          return resolveSimultaneous(this.name, name);
        },
      });
    } catch (e) {
      this.o.log.warning('erlang endpoint %s: inbound handshake failed: %s', this.name, toError(e).message);
      socket.destroy();
      return;
    }
    if (this.#stopped) {
      hs.socket.destroy();
      return;
    }
    const peer = hs.peerName as Atom;
    let c = this.#connections.get(peer);
    if (c !== undefined && c.connected) {
      c.terminate(ErrNoConnection.with(`${peer} reconnected`));
      c = undefined;
    }
    if (c === undefined || !c.open) c = this.#newConnection(peer);
    c.attach(new DistConnection(hs, { ...this.o.connection, mapPid }));
  }
}

/**
 * Starts an Erlang distribution endpoint for `options.core`'s name (`alive@host`, with the
 * Core's creation in the handshake): listens on a free port, registers the alive name with EPMD,
 * serves Erlang nodes that dial in and dials those {@link ErlangEndpoint.connection} is asked
 * for. No OTP processes (`net_kernel`, `rex`, `global`) run under the name: everything a peer
 * sends goes to the Core. Stop it with `stop()`.
 * @throws ErrIncorrect for a name that is not `alive@host` or a missing cookie; ErrTaken when EPMD
 *   has the name; EpmdError when EPMD cannot be reached (an endpoint never starts an EPMD of its own).
 */
export async function startErlangEndpoint(options: ErlangEndpointOptions): Promise<ErlangEndpoint> {
  const name = String(options?.core?.name?.());
  const at = name.indexOf('@');
  if (at <= 0 || at !== name.lastIndexOf('@') || at === name.length - 1)
    throw ErrIncorrect.with(`an Erlang node name is alive@host, not ${name}`);
  if (!isNodeName(name))
    throw ErrIncorrect.with(`an Erlang node name is an atom: at most ${MAX_NODE_NAME_CHARS} characters`);
  if (typeof options.cookie !== 'string' || options.cookie === '')
    throw ErrIncorrect.with('an Erlang endpoint needs a cookie');
  const ep = new Endpoint(options);
  try {
    await ep.start();
  } catch (e) {
    await ep.stop();
    throw e;
  }
  return ep;
}
