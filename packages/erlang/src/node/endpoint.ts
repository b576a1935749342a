// An Erlang distribution endpoint: the listener, EPMD registration, handshakes and connections of
// attachErlang run for a name whose processes are not a local node's engine. The caller supplies
// the Core inbound traffic is applied to and gets each peer's Connection for outbound operations,
// so an Erlang node sees an ordinary (hidden) node under that name: it resolves it through EPMD,
// dials it, sends to, calls, links to and monitors its pids. @ergo-ts/tabs runs one per browser
// tab on its gateway (the twin of ergo-ts/net's startNetworkEndpoint for Go Ergo), so Erlang nodes
// reach tab PIDs: a tab's node name has the gateway's host, and its alive part is registered with
// the EPMD of that host under the endpoint's own port.

import { ErrIncorrect, ErrNoConnection, type Atom, type Core, type Log } from 'ergo-ts';
import { EpmdClient } from '../epmd/client.js';
import { DEFAULT_FLAGS, DFLAG } from '../handshake/flags.js';
import { isNodeName } from '../handshake/handshake.js';
import type { ErlangConnection } from './connection.js';
import { DistPeers, checkDistName } from './dist_peers.js';
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

class Endpoint implements ErlangEndpoint {
  readonly name: string;
  readonly #peers: DistPeers;
  readonly #epmd: EpmdClient;

  constructor(private readonly o: ErlangEndpointOptions) {
    this.name = String(o.core.name());
    // SEND_SENDER: an Erlang `!` to the name carries its sender (plain SEND does not), so the
    // Core learns who wrote (a tab gateway hands a tab the senders of its mail).
    const flags = DEFAULT_FLAGS | DFLAG.SEND_SENDER;
    const e = o.epmd;
    this.#epmd =
      e instanceof EpmdClient
        ? e
        : new EpmdClient({ ...(e?.host ? { host: e.host } : {}), ...(e?.port ? { port: e.port } : {}) });
    this.#peers = new DistPeers({
      name: this.name,
      cookie: o.cookie,
      flags: o.visible === true ? flags : flags & ~DFLAG.PUBLISHED,
      creation: () => o.core.creation(),
      core: () => o.core,
      log: o.log,
      logPrefix: `erlang endpoint ${this.name}`,
      logConnections: false,
      host: o.host,
      setupTimeout: o.setupTimeout,
      connection: o.connection,
      callTag: o.callTag,
    });
  }

  get port(): number {
    return this.#peers.port;
  }

  async start(alive: string): Promise<void> {
    await this.#peers.listen();
    await this.#peers.register(this.#epmd, alive, this.o.visible !== true);
  }

  nodes(): string[] {
    return this.#peers.nodes();
  }

  connection(node: string): ErlangConnection {
    if (this.#peers.closed) throw ErrNoConnection.with(`Erlang endpoint ${this.name} stopped`);
    if (node === this.name || !isNodeName(node)) throw ErrIncorrect.with(`not an Erlang peer node name: ${node}`);
    return this.#peers.connection(node as Atom) as ErlangConnection;
  }

  stop(): Promise<void> {
    return this.#peers.close('Erlang endpoint stopped');
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
  const alive = checkDistName(String(options?.core?.name?.()), options?.cookie, 'an Erlang endpoint');
  const ep = new Endpoint(options);
  try {
    await ep.start(alive);
  } catch (e) {
    await ep.stop();
    throw e;
  }
  return ep;
}
