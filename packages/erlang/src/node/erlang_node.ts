// attachErlang: an ergo-ts node joins an Erlang/OTP cluster. It listens for distribution
// connections, registers its alive name with EPMD (or with a built-in EPMD server when none runs),
// dials Erlang nodes on demand, and plugs into the node through the core's public attachProtocol
// hook, so processes reach Erlang processes with ordinary PIDs and ProcessIDs. It also starts the
// OTP processes Erlang nodes expect on a peer: `net_kernel` (net_adm:ping) and `rex`.

import {
  ErrIncorrect,
  ErrNoConnection,
  attachProtocol,
  toError,
  type Atom,
  type Core,
  ignorable,
  type Log,
  type Node,
  type PID,
} from 'ergo-ts';
import type { DistConnectionOptions } from '../distribution/connection.js';
import { EpmdClient } from '../epmd/client.js';
import { EpmdServer } from '../epmd/server.js';
import { EpmdError } from '../errors.js';
import { atom, isAtom, tuple, type Term } from '../etf/terms.js';
import { DEFAULT_FLAGS, DFLAG } from '../handshake/flags.js';
import { NetKernel, Rex } from './compat.js';
import { GlobalNameServer, GlobalNodeDown, GlobalNodeUp, GlobalRegistrar } from './global.js';
import { PgScope } from './pg.js';
import type { ErlangConnection, ErlangConnectionOptions } from './connection.js';
import { DistPeers, checkDistName } from './dist_peers.js';

/** Options of {@link attachErlang}. */
export interface AttachErlangOptions {
  /** The distribution cookie (Erlang's `-setcookie`). Required. */
  cookie: string;
  /** Address to listen on. Default `0.0.0.0`. */
  host?: string;
  /** Port to listen on. Default 0 (any free port; EPMD tells peers). */
  port?: number;
  /** EPMD to register with and resolve through: host and port (default 127.0.0.1 and `ERL_EPMD_PORT` or 4369), or a client. */
  epmd?: EpmdClient | { host?: string; port?: number };
  /**
   * Start a built-in EPMD server when none answers: `'auto'` (default), `true` (always; fails
   * when the port is taken), `false` (never; attach fails without an EPMD).
   */
  epmdServer?: 'auto' | boolean;
  /** Which remote nodes are Erlang nodes (dialled through this protocol). Default: every node. */
  match?: RegExp | ((node: string) => boolean);
  /** Announce the node as hidden (not in Erlang's `nodes()`). Default false. */
  hidden?: boolean;
  /** Distribution flags announced. Default DEFAULT_FLAGS (without PUBLISHED when hidden). */
  flags?: bigint;
  /** Connection options (ticks, peer timeout, limits, fragments). */
  connection?: Omit<DistConnectionOptions, 'mapPid'>;
  /** Tag style of calls to Erlang gen_servers (see ErlangConnectionOptions). */
  callTag?: ErlangConnectionOptions['callTag'];
  /** Handshake step timeout, ms. Default 7000 (OTP's net_setuptime). */
  setupTimeout?: number;
  /** Start `net_kernel` (answers net_adm:ping) and `rex` (answers rpc with badrpc). Default true. */
  kernel?: boolean;
  /**
   * Take part in OTP's `global` (names, locks, the full mesh) as a visible node: a
   * `global_name_server` runs on the node. Default true unless `hidden`; a visible node without
   * it makes `global:sync()` hang on every Erlang node it connects to (issue 18).
   */
  global?: boolean;
  /**
   * OTP `pg` scopes to serve (e.g. `['pg']`, the default scope): for each, a scope server
   * registered under the scope's name joins the scope of the same name on every visible Erlang
   * node. Default none (Erlang itself starts the `pg` scope only with `-kernel start_pg true`).
   */
  pg?: string[];
}

/** One OTP `pg` scope seen from the ergo-ts node, from {@link ErlangNode.pg}. */
export interface ErlangPg {
  /** `pg:join(Scope, Group, PidOrPids)`: local processes join `group` (any term). */
  join(group: Term, pids: PID | PID[]): Promise<void>;
  /** `pg:leave(Scope, Group, PidOrPids)`: false when none of them had joined (`not_joined`). */
  leave(group: Term, pids: PID | PID[]): Promise<boolean>;
  /** `pg:get_members(Scope, Group)`: members on every node. */
  getMembers(group: Term): PID[];
  /** `pg:get_local_members(Scope, Group)`. */
  getLocalMembers(group: Term): PID[];
  /** `pg:which_groups(Scope)`. */
  whichGroups(): Term[];
}

/** OTP's `global` names seen from the ergo-ts node, from {@link ErlangNode.global}. */
export interface ErlangGlobal {
  /**
   * `global:register_name(Name, Pid)`: registers `pid` (a local or an Erlang process) under the
   * term `name` on every node of the cluster. Resolves true (`yes`), or false when the name is
   * taken (`no`). The name goes away when the process ends or its node goes down.
   */
  registerName(name: Term, pid: PID): Promise<boolean>;
  /** `global:unregister_name(Name)` on every node. */
  unregisterName(name: Term): Promise<void>;
  /** `global:whereis_name(Name)`: the pid registered under `name`, or undefined. */
  whereisName(name: Term): PID | undefined;
  /** `global:registered_names()`. */
  registeredNames(): Term[];
  /** Resolves once every Erlang node connected now is synced with us (`global:sync()`). */
  sync(): Promise<void>;
}

/** An ergo-ts node's membership in an Erlang cluster, from {@link attachErlang}. */
export class ErlangNode {
  readonly #node: Node;
  readonly #options: AttachErlangOptions;
  readonly #peers: DistPeers;
  readonly #match: (node: string) => boolean;
  #epmdServer: EpmdServer | null = null;
  #core!: Core;
  #log: Log;
  #detach: (() => void) | null = null;
  #stopped = false;
  #gns: GlobalNameServer | null = null;
  readonly #pg = new Map<string, PgScope>();
  #registrar: PID | null = null;

  private constructor(node: Node, options: AttachErlangOptions) {
    this.#node = node;
    this.#options = options;
    this.#log = node.log;
    const m = options.match;
    this.#match = m === undefined ? () => true : m instanceof RegExp ? (n) => m.test(n) : m;
    this.#peers = new DistPeers({
      name: String(node.name),
      cookie: options.cookie,
      flags: options.flags ?? (options.hidden ? DEFAULT_FLAGS & ~DFLAG.PUBLISHED : DEFAULT_FLAGS),
      creation: () => node.creation,
      core: () => this.#core,
      log: node.log,
      logPrefix: 'erlang',
      logConnections: true,
      host: options.host,
      port: options.port,
      setupTimeout: options.setupTimeout,
      connection: options.connection,
      callTag: options.callTag,
      onUp: (c) => this.#up(c),
      onDown: (c) => this.#downOf(c),
    });
  }

  /** @internal Use {@link attachErlang}. */
  static start(node: Node, options: AttachErlangOptions): Promise<ErlangNode> {
    return ignorable(ErlangNode.#start(node, options), node.log, 'attachErlang');
  }

  static async #start(node: Node, options: AttachErlangOptions): Promise<ErlangNode> {
    const alive = checkDistName(String(node.name), options?.cookie, 'attachErlang');
    const e = new ErlangNode(node, options);
    try {
      await e.#peers.listen();
      await e.#register(alive);
      e.#detach = attachProtocol(node, (core) => {
        e.#core = core;
        return { connection: (n) => e.#connection(n), stop: () => e.stop() };
      });
      if (options.kernel !== false) {
        await node.spawnRegister('net_kernel', () => new NetKernel());
        await node.spawnRegister('rex', () => new Rex());
      }
      if (options.global ?? options.hidden !== true) {
        const gns = new GlobalNameServer((n) =>
          e.#peers.get(n)?.terminate(ErrNoConnection.with(`disconnected from ${n} (global)`)),
        );
        await node.spawnRegister('global_name_server', () => gns);
        e.#gns = gns;
        e.#registrar = await node.spawn(() => new GlobalRegistrar(gns));
      }
      for (const scope of options.pg ?? []) {
        const pg = new PgScope(scope);
        await node.spawnRegister(scope, () => pg);
        e.#pg.set(scope, pg);
      }
    } catch (err) {
      await e.stop();
      throw err;
    }
    return e;
  }

  /** The port the distribution listener is bound to. */
  get port(): number {
    return this.#peers.port;
  }
  /** The node's creation, as Erlang nodes see it in its pids. */
  get creation(): number {
    return this.#node.creation;
  }
  /** Names of the Erlang nodes connected now. */
  nodes(): string[] {
    return this.#peers.nodes();
  }
  /** OTP's `global` on this node; undefined when it does not take part (hidden, or `global: false`). */
  get global(): ErlangGlobal | undefined {
    const gns = this.#gns;
    const registrar = this.#registrar;
    if (gns === null || registrar === null) return undefined;
    const node = this.#node;
    return {
      registerName: (name, pid) =>
        ignorable(
          node.call(registrar, tuple(atom('register'), name, pid), { timeout: 60000 }).then((r) => isAtom(r, 'yes')),
          node.log,
          'global registerName',
        ),
      unregisterName: (name) =>
        ignorable(
          node.call(registrar, tuple(atom('unregister'), name), { timeout: 60000 }).then(() => undefined),
          node.log,
          'global unregisterName',
        ),
      whereisName: (name) => gns.whereis(name),
      registeredNames: () => gns.names().map((n) => n.name),
      sync: () =>
        ignorable(
          Promise.all(this.#visible().map((n) => gns.whenSynced(n))).then(() => undefined),
          node.log,
          'global sync',
        ),
    };
  }

  /** The OTP `pg` scope `scope` (default `pg`) if attachErlang serves it (option `pg`). */
  pg(scope = 'pg'): ErlangPg | undefined {
    const pg = this.#pg.get(scope);
    if (pg === undefined) return undefined;
    const node = this.#node;
    const list = (pids: PID | PID[]): PID[] => (Array.isArray(pids) ? pids : [pids]);
    return {
      join: (group, pids) =>
        ignorable(
          node.call(pg.pid, tuple(atom('join_local'), group, list(pids))).then(() => undefined),
          node.log,
          'pg join',
        ),
      leave: (group, pids) =>
        ignorable(
          node.call(pg.pid, tuple(atom('leave_local'), group, list(pids))).then((r) => isAtom(r, 'ok')),
          node.log,
          'pg leave',
        ),
      getMembers: (group) => pg.getMembers(group),
      getLocalMembers: (group) => pg.getLocalMembers(group),
      whichGroups: () => pg.whichGroups(),
    };
  }

  /** Connected nodes that see us as visible (both sides PUBLISHED): the ones `global` syncs with. */
  #visible(): Atom[] {
    return this.#peers
      .all()
      .filter((c) => c.connected && c.dist !== null && (c.dist.flags & DFLAG.PUBLISHED) !== 0n)
      .map((c) => c.peer);
  }

  /** A connection came up: `global` starts its handshake with a visible peer. */
  #up(c: ErlangConnection): void {
    if (c.dist === null || (c.dist.flags & DFLAG.PUBLISHED) === 0n) return;
    const to = [...this.#pg.values()].map((p) => p.pid);
    if (this.#gns !== null) to.push(this.#gns.pid);
    for (const pid of to) {
      try {
        this.#node.send(pid, new GlobalNodeUp(c.peer));
      } catch (e) {
        this.#log.debug('erlang: nodeup of %s: %s', c.peer, toError(e).message);
      }
    }
  }

  /** The connection to a node we were connected with went away. */
  #downOf(c: ErlangConnection): void {
    const g = this.#gns;
    if (g === null || c.connectedAt === 0 || this.#stopped) return;
    try {
      this.#node.send(g.pid, new GlobalNodeDown(c.peer));
    } catch {
      // the server is gone (node stopping)
    }
  }

  /** The connection to `node`, if any (connected or dialling). */
  connectionOf(node: string): ErlangConnection | undefined {
    return this.#peers.get(node);
  }

  /**
   * Connects to `node` now (Erlang's `net_kernel:connect_node`). Resolves once connected.
   * @throws ErrNoConnection with the handshake or EPMD error as cause.
   */
  connect(node: string): Promise<void> {
    return ignorable(this.#connect(node), this.#node.log, 'connect');
  }

  async #connect(node: string): Promise<void> {
    const c = this.#connection(node as Atom);
    if (c === undefined) throw ErrIncorrect.with(`${node} does not match the Erlang node pattern`);
    if (c.connected) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (c.connected) {
          clearInterval(timer);
          resolve();
        } else if (!c.open) {
          clearInterval(timer);
          reject(ErrNoConnection.with(`cannot connect to ${node}`, c.failure));
        }
      }, 5);
    });
  }

  /** Closes every connection, the listener and the EPMD registration. Idempotent. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#detach?.();
    await this.#peers.close('Erlang distribution stopped');
    await this.#epmdServer?.close().catch(() => {});
  }

  // --- setup ------------------------------------------------------------------------------------

  /** Registers with EPMD, starting the built-in EPMD server as `epmdServer` asks. */
  async #register(alive: string): Promise<void> {
    const o = this.#options.epmd;
    const epmd =
      o instanceof EpmdClient
        ? o
        : new EpmdClient({ ...(o?.host ? { host: o.host } : {}), ...(o?.port ? { port: o.port } : {}) });
    const mode = this.#options.epmdServer ?? 'auto';
    if (mode === true) this.#epmdServer = await EpmdServer.start({ port: epmd.port });
    const hidden = this.#options.hidden === true;
    try {
      await this.#peers.register(epmd, alive, hidden);
    } catch (e) {
      if (!(e instanceof EpmdError && e.code === 'ERR_EPMD_CONNECT' && mode === 'auto')) throw e;
      this.#epmdServer = await EpmdServer.start({ port: epmd.port });
      await this.#peers.register(epmd, alive, hidden);
    }
  }

  // --- connections ------------------------------------------------------------------------------

  /** The engine asks for `node`: an existing connection, or a new one dialling. */
  #connection(node: Atom): ErlangConnection | undefined {
    if (this.#stopped || !this.#match(node)) return undefined;
    return this.#peers.connection(node);
  }
}

/**
 * Attaches the Erlang distribution to a started ergo-ts node whose name is `alive@host` (as
 * Erlang nodes will address it, e.g. `ts@localhost`): listens, registers with EPMD (starting a
 * built-in EPMD server when none runs, by default), dials Erlang nodes on demand and serves the
 * ones that dial in. Stops with the node, or with `stop()`.
 * @throws ErrIncorrect for a node name without one `@` or a missing cookie; ErrTaken when EPMD
 *   has the name already; EpmdError when no EPMD can be reached or started.
 */
export function attachErlang(node: Node, options: AttachErlangOptions): Promise<ErlangNode> {
  return ErlangNode.start(node, options);
}
