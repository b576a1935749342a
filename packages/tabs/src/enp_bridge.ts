// The gateway's ENP bridge: Go Ergo nodes reach tab PIDs, and tabs reach Go processes, over
// Ergo's own protocol. Go Ergo 3.2 has no route for a name it does not resolve and no proxy
// protocol (ENP's packet 203 is unimplemented), and a Go node checks that the node it dialled
// introduces itself under the name it wanted. So the gateway runs, for each tab, a network
// endpoint under the tab's own name and creation (`ergo-ts/net`'s startNetworkEndpoint: an
// acceptor, a registration with the host's registrar, dials): to a Go node the tab is an ordinary
// Ergo node. What a Go node sends the tab's name becomes tab frames (TabCore); what the tab
// sends a Go node (its frames, checked against its grant by the gateway first) becomes ENP
// operations on the endpoint's connection to that node (OutCore). When the tab's session ends the
// endpoint stops: Go links and monitors of the tab's processes fire with `noconnection`.
//
// The same bridge serves Erlang nodes (`erlang` option, erlangBridge below): there the endpoint is
// an Erlang distribution endpoint the application's factory starts (@ergo-ts/erlang's
// startErlangEndpoint) under the tab's name, and the same two Cores sit on either side of it.
//
// An endpoint starts at the tab's first frame: a tab's creation (which the handshake announces,
// and which Go checks on every PID it addresses) is first seen on a PID of the tab's, and no
// other node can hold a tab PID before the tab sent one.

import {
  Alias,
  ErrIncorrect,
  ErrNoConnection,
  Event,
  PID,
  ProcessID,
  toError,
  type AcceptorOptions,
  type Atom,
  type Connection,
  type Core,
  type Log,
  type MessageEvent,
  type Node,
  type Registrar,
} from 'ergo-ts';
import { EmbeddedRegistrar, startNetworkEndpoint, type NetworkEndpoint } from 'ergo-ts/net';

import { OutCore, outCore, TabCore, type TabCoreHost } from './enp_cores.js';
import { errorToWire, gatewayOfTab, Op, type Frame } from './frame.js';
import { FrameConnection } from './frame_connection.js';
import { applyFrame, eventsToWire, ownPID } from './frame_inbound.js';
import type { TabSession } from './session.js';

/** Options of the gateway's ENP bridge (`createTabGateway`'s `enp`). */
export interface TabEnpOptions {
  /**
   * The nodes tabs reach over ENP (Go Ergo nodes): their names, or a test of a name. Frames of a
   * tab for other nodes keep the relay path (ergo-ts nodes with `attachTabRoutes`).
   */
  nodes: readonly string[] | ((node: string) => boolean);
  /**
   * The registrar each tab's endpoint registers its name with (called once per endpoint).
   * Default: when the gateway node runs the embedded registrar, a client of it on the same port
   * (never its server: a tab does not serve the host); otherwise none (a Go node then reaches a
   * tab once the tab reached it first, or through a static route of its own).
   */
  registrar?: (tab: string) => Registrar | null;
  /** Each endpoint's acceptor (default: port 0 on the host of the gateway's name, one link per connection). */
  acceptor?: AcceptorOptions;
  /** The cookie of the endpoints' handshakes (default: the gateway node's network cookie). */
  cookie?: string;
}

type Relating = Promise<void> | Promise<MessageEvent[]> | void;

/** The operation a tab's relation frame asks of the connection to a Go node. */
function relateOut(c: Connection, kind: unknown, pid: PID, t: unknown): Relating {
  const link = kind === 'link' || kind === 'unlink';
  const undo = kind === 'unlink' || kind === 'demonitor';
  if (!link && kind !== 'monitor' && kind !== 'demonitor') throw ErrIncorrect.with(`relation ${String(kind)}`);
  if (t instanceof PID)
    return undo
      ? link
        ? c.unlinkPID(pid, t)
        : c.demonitorPID(pid, t)
      : link
        ? c.linkPID(pid, t)
        : c.monitorPID(pid, t);
  if (t instanceof ProcessID)
    return undo
      ? link
        ? c.unlinkProcessID(pid, t)
        : c.demonitorProcessID(pid, t)
      : link
        ? c.linkProcessID(pid, t)
        : c.monitorProcessID(pid, t);
  if (t instanceof Alias)
    return undo
      ? link
        ? c.unlinkAlias(pid, t)
        : c.demonitorAlias(pid, t)
      : link
        ? c.linkAlias(pid, t)
        : c.monitorAlias(pid, t);
  if (t instanceof Event)
    return undo
      ? link
        ? c.unlinkEvent(pid, t)
        : c.demonitorEvent(pid, t)
      : link
        ? c.linkEvent(pid, t)
        : c.monitorEvent(pid, t);
  throw ErrIncorrect.with('a relation target that is not a PID, ProcessID, Alias or Event');
}

/** The creation of tab `tab` as a PID of its in frame `f` carries it (undefined: none there). */
function creationIn(f: Frame, tab: string): number | undefined {
  for (const i of [5, 3]) {
    const v = f[i];
    if (v instanceof PID && v.node === tab) return v.creation;
  }
  return undefined;
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * One tab's endpoint in one protocol (ENP, the Erlang distribution), running under the tab's
 * name and creation with a {@link TabCore} as its Core. Lifecycle: started by its bridge at the
 * tab's first frame, stopped once when the tab's session ends.
 */
export interface TabNodeEndpoint {
  /** The connection that reaches `node` (dialling if need be). @throws when it cannot. */
  connection(node: Atom): Connection;
  /** Where it listens (for the log). */
  readonly where: string;
  /** Stops it: its peers' links and monitors of the tab's processes fire with `noconnection`. */
  stop(): Promise<void>;
}

/** What a bridge starts per tab (the Core of the tab's endpoint, the tab's name). */
export type TabEndpointStart = (core: TabCore, tab: string) => Promise<TabNodeEndpoint>;

/** One tab's endpoint: its network under the tab's name, and its links to the Go or Erlang nodes. */
class TabEndpoint implements TabCoreHost {
  #ep: TabNodeEndpoint | null = null;
  /** Frames that came while the endpoint starts (null once started or failed). */
  #queue: Frame[] | null = [];
  #failed: Error | null = null;
  #closed = false;
  readonly #links = new Map<string, FrameConnection>();
  readonly #out: OutCore;
  readonly core: TabCore;
  readonly started: Promise<void>;

  constructor(
    private readonly bridge: EnpBridge,
    private readonly s: TabSession,
    creation: number,
    after: Promise<void>,
  ) {
    this.core = new TabCore(s.name, creation, this);
    this.#out = new OutCore(s.name, (n) => this.connection(n), bridge.log);
    this.started = after.then(() => this.#start());
  }

  get log() {
    return this.bridge.log;
  }

  async #start(): Promise<void> {
    try {
      if (this.#closed) throw ErrNoConnection.with(`tab ${this.s.name} ended`);
      const ep = await this.bridge.startEndpoint(this.core, this.s.name);
      if (this.#closed) {
        await ep.stop();
        throw ErrNoConnection.with(`tab ${this.s.name} ended`);
      }
      this.#ep = ep;
      this.log.info('tab %s: %s endpoint up (%s)', this.s.name, this.bridge.label, ep.where);
    } catch (e) {
      this.#failed = toError(e);
      if (!this.#closed)
        this.log.warning('tab %s: %s endpoint failed: %s', this.s.name, this.bridge.label, this.#failed.message);
    }
    const q = this.#queue ?? [];
    this.#queue = null;
    for (const f of q) this.#apply(f);
  }

  link(node: Atom): FrameConnection {
    let c = this.#links.get(node);
    if (c === undefined) {
      const s = this.s;
      c = new FrameConnection(
        node,
        s.name,
        (f) => {
          s.addPeer(node);
          s.deliverFrame(f);
        },
        () => this.#links.delete(node),
      );
      this.#links.set(node, c);
    }
    return c;
  }

  connection(node: Atom): Connection {
    const ep = this.#ep;
    if (ep === null) throw this.#failed ?? ErrNoConnection.with(`tab ${this.s.name}: no ${this.bridge.label} endpoint`);
    return ep.connection(node);
  }

  nodeDown(node: Atom, reason: Error): void {
    this.#links.get(node)?.terminate(reason);
    if (this.#closed || this.s.ended) return;
    this.s.deletePeer(node);
    try {
      this.s.deliverFrame([Op.NodeDown, this.bridge.gateway, this.s.name, node, errorToWire(reason)]);
    } catch (e) {
      this.log.warning('tab %s: node-down of %s not sent: %s', this.s.name, node, toError(e).message);
    }
  }

  /** A frame of the tab for a Go node (its grant checked). */
  fromTab(f: Frame): void {
    if (this.#queue !== null) this.#queue.push(f);
    else this.#apply(f);
  }

  #apply(f: Frame): void {
    const dst = f[2] as Atom;
    const link = this.link(dst);
    if (f[0] === Op.Relation) return this.#relation(f, dst, link);
    this.#out.dst = dst;
    applyFrame(outCore(this.#out), f, link, this.log);
  }

  /** A tab process links to or monitors a Go target: answered once the Go node answered. */
  #relation(f: Frame, dst: Atom, link: FrameConnection): void {
    const id = typeof f[3] === 'number' ? f[3] : 0;
    const answer = (err: Error | null, events: MessageEvent[] | null): void => {
      if (err !== null) this.log.warning('tab %s: %s to %s failed: %s', this.s.name, String(f[4]), dst, err.message);
      if (id === 0) return;
      try {
        link.answer([
          Op.Ack,
          dst,
          this.s.name,
          id,
          err === null ? null : errorToWire(err),
          events && eventsToWire(events),
        ]);
      } catch (e) {
        this.log.warning('tab %s: answer of %s lost: %s', this.s.name, dst, toError(e).message);
      }
    };
    let r: Relating;
    try {
      r = relateOut(this.connection(dst), f[4], ownPID(f[5], this.s.name), f[6]);
    } catch (e) {
      answer(toError(e), null);
      return;
    }
    if (r === undefined) answer(null, null);
    else
      r.then(
        (v) => answer(null, Array.isArray(v) ? v : null),
        (e: unknown) => answer(toError(e), null),
      );
  }

  /** The tab's session ended: the endpoint stops (its Go peers see the node go). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const c of [...this.#links.values()]) c.terminate(ErrNoConnection);
    await this.started;
    const ep = this.#ep;
    this.#ep = null;
    if (ep !== null) await ep.stop();
  }
}

/**
 * The ENP bridge of a gateway, or its Erlang bridge (lifecycle: made by the gateway with its
 * `enp` or `erlang` option, stopped with it). The gateway hands it every routed frame a tab sent
 * once the tab's grant allowed it ({@link EnpBridge.route}), and each session's end
 * ({@link EnpBridge.close}).
 */
export class EnpBridge {
  readonly #eps = new Map<string, TabEndpoint>();
  /** Endpoints stopping, by tab name: a name reused (a reloaded page) registers after they go. */
  readonly #stopping = new Map<string, Promise<void>>();
  readonly #serves: (node: string) => boolean;
  #stopped = false;

  /**
   * A bridge whose endpoints `start` starts; `label` names it in log lines ('ENP', 'Erlang'),
   * `option` in errors ('enp', 'erlang').
   * @throws ErrIncorrect for bad options.
   */
  constructor(
    private readonly node: Node,
    nodes: TabEnpOptions['nodes'],
    readonly startEndpoint: TabEndpointStart,
    readonly label: string,
    option: string,
  ) {
    const n = nodes as unknown;
    if (typeof n === 'function') this.#serves = n as (node: string) => boolean;
    else if (Array.isArray(n) && n.every((x) => typeof x === 'string')) {
      const set = new Set<string>(n);
      this.#serves = (x) => set.has(x);
    } else throw ErrIncorrect.with(`tab gateway ${option}.nodes: a list of node names or a function`);
  }

  /** The ENP bridge of `node` (its `enp` option). @throws ErrIncorrect for bad options. */
  static enp(node: Node, options: TabEnpOptions): EnpBridge {
    if (options.registrar !== undefined && typeof options.registrar !== 'function')
      throw ErrIncorrect.with('tab gateway enp.registrar must be a function');
    const registrar = options.registrar ?? defaultRegistrar(node);
    return new EnpBridge(
      node,
      options.nodes,
      async (core, tab) =>
        enpEndpoint(node, await startNetworkEndpoint(core, enpOptions(node, options, registrar, tab))),
      'ENP',
      'enp',
    );
  }

  get log() {
    return this.node.log;
  }

  get gateway(): Atom {
    return this.node.name;
  }

  /** True when frames for `node` go over ENP. */
  serves(node: string): boolean {
    return this.#serves(node);
  }

  /**
   * A routed frame of tab `s` (its grant checked): starts the tab's endpoint at its first frame,
   * and takes the frame when it is for a node the bridge serves (true), unless another bridge
   * took it (`taken`).
   * @throws ErrNoConnection for a frame to such a node before the tab's endpoint could start.
   */
  route(s: TabSession, f: Frame, taken = false): boolean {
    if (this.#stopped) return false;
    let ep = this.#eps.get(s.name);
    if (ep === undefined) {
      const creation = creationIn(f, s.name);
      if (creation !== undefined) {
        ep = new TabEndpoint(this, s, creation, this.#stopping.get(s.name) ?? Promise.resolve());
        this.#eps.set(s.name, ep);
      }
    }
    const dst = f[2] as string;
    if (taken || dst === this.node.name || gatewayOfTab(dst) !== undefined || !this.#serves(dst)) return false;
    // A Go node's event: the gateway node subscribes once for all its tabs (event_hub.ts), over its
    // own connection to that node, as for an ergo-ts node's event.
    if (f[0] === Op.Relation && f[6] instanceof Event) return false;
    if (ep === undefined) throw ErrNoConnection.with(`tab ${s.name} has no ${this.label} endpoint yet`);
    ep.fromTab(f);
    return true;
  }

  /** Tab `s`'s session ended: its endpoint stops (never throws; a failure is logged). */
  close(s: TabSession): void {
    const ep = this.#eps.get(s.name);
    if (ep === undefined) return;
    this.#eps.delete(s.name);
    const p = ep
      .close()
      .catch((e: unknown) =>
        this.log.warning('tab %s: %s endpoint stop failed: %s', s.name, this.label, toError(e).message),
      )
      .finally(() => {
        if (this.#stopping.get(s.name) === p) this.#stopping.delete(s.name);
      });
    this.#stopping.set(s.name, p);
  }

  /** Tabs with an endpoint. */
  tabs(): string[] {
    return [...this.#eps.keys()];
  }

  /** Stops every endpoint (after the gateway ended the sessions). Idempotent. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all([...this.#stopping.values()]);
  }
}

/** A client of the gateway node's embedded registrar per endpoint; none for other registrars. */
function defaultRegistrar(node: Node): (tab: string) => Registrar | null {
  let r: Registrar;
  try {
    r = node.network().registrar();
  } catch {
    return () => null;
  }
  if (!(r instanceof EmbeddedRegistrar)) return () => null;
  const port = r.port();
  return () => new EmbeddedRegistrar({ port, disableServer: true });
}

/** What an ENP endpoint of tab `tab` starts with. */
function enpOptions(
  node: Node,
  o: TabEnpOptions,
  registrar: (tab: string) => Registrar | null,
  tab: string,
): Parameters<typeof startNetworkEndpoint>[1] {
  return {
    log: node.log,
    cookie: o.cookie ?? node.network().cookie(),
    registrar: registrar(tab),
    acceptors: [{ port: 0, poolSize: 1, ...o.acceptor }],
    flags: {
      enable: true,
      enableRemoteSpawn: false,
      enableRemoteApplicationStart: false,
      enableFragmentation: false,
      enableProxyTransit: false,
      enableProxyAccept: false,
      enableImportantDelivery: true,
    },
  };
}

/** Tab endpoint `ep` over ENP: the gateway node's static routes to a node serve the tab's dials too. */
function enpEndpoint(node: Node, ep: NetworkEndpoint): TabNodeEndpoint {
  const routed = new Set<string>();
  return {
    where: ep.network.acceptors()[0]?.info().interface ?? 'no acceptor',
    stop: () => ep.stop(),
    connection(n: Atom): Connection {
      if (!routed.has(n)) {
        routed.add(n);
        let routes: ReturnType<ReturnType<Node['network']>['route']> = [];
        try {
          routes = node.network().route(n);
        } catch {
          // no network routes on the gateway node
        }
        if (ep.network.route(n).length === 0)
          routes.forEach((r, i) => ep.network.addRoute(`^${escapeRe(n)}$`, r, routes.length - i));
      }
      return ep.connection(n);
    },
  };
}

// --- the Erlang bridge --------------------------------------------------------------------------
// Erlang/OTP nodes dial a node by its name too (EPMD of the name's host, then a handshake under
// that name), so each tab gets an Erlang distribution endpoint under its name and creation,
// registered with the EPMD of the gateway's host: to an Erlang node the tab is an ordinary hidden
// node. The endpoint is @ergo-ts/erlang's startErlangEndpoint, which the application passes in
// (`erlang.start`), so @ergo-ts/tabs does not depend on @ergo-ts/erlang. What an Erlang node sends
// a tab crosses when the tab frame codec carries it (numbers, binaries as Uint8Array, proper
// lists, booleans, pids); an atom, tuple or map is refused at the gateway with ERR_TAB_VALUE and a
// log line, and an Erlang caller gets that error as its answer.

/** An Erlang distribution endpoint as @ergo-ts/erlang's startErlangEndpoint gives it. */
export interface TabErlangEndpoint {
  /** The port it listens on (for the log). */
  readonly port: number;
  /** The connection to Erlang node `node` (dialling if need be). */
  connection(node: string): Connection;
  /** Closes it (its peers' links and monitors fire with `noconnection`). */
  stop(): Promise<void>;
}

/** Options of the gateway's Erlang bridge (`createTabGateway`'s `erlang`). */
export interface TabErlangOptions {
  /**
   * The Erlang nodes tabs reach: their names, or a test of a name. A name both this and `enp`
   * serve goes over ENP.
   */
  nodes: readonly string[] | ((node: string) => boolean);
  /**
   * Starts one tab's endpoint (called at the tab's first frame, with the Core of the tab's name
   * and creation, and the gateway node's log): `(o) => startErlangEndpoint({ ...o, cookie, epmd })`
   * with @ergo-ts/erlang's startErlangEndpoint. A rejection is logged, and the tab's frames for
   * Erlang nodes are refused with it.
   */
  start: (o: { core: Core; log: Log }) => Promise<TabErlangEndpoint>;
}

/**
 * The Erlang bridge of `node` (lifecycle: the gateway's, as the ENP bridge).
 * @throws ErrIncorrect for bad options.
 */
export function erlangBridge(node: Node, options: TabErlangOptions): EnpBridge {
  if (typeof options?.start !== 'function')
    throw ErrIncorrect.with('tab gateway erlang.start: a function that starts an Erlang endpoint');
  return new EnpBridge(
    node,
    options.nodes,
    async (core): Promise<TabNodeEndpoint> => {
      const ep = await options.start({ core, log: node.log });
      return {
        where: `port ${ep.port}`,
        connection: (n: Atom) => ep.connection(n),
        stop: () => ep.stop(),
      };
    },
    'Erlang',
    'erlang',
  );
}
