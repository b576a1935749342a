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

/** One tab's endpoint: its network under the tab's name, and its links to the Go nodes. */
class TabEndpoint implements TabCoreHost {
  #ep: NetworkEndpoint | null = null;
  /** Frames that came while the endpoint starts (null once started or failed). */
  #queue: Frame[] | null = [];
  #failed: Error | null = null;
  #closed = false;
  readonly #links = new Map<string, FrameConnection>();
  readonly #routed = new Set<string>();
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
      const ep = await startNetworkEndpoint(this.core, this.bridge.endpointOptions(this.s.name));
      if (this.#closed) {
        await ep.stop();
        throw ErrNoConnection.with(`tab ${this.s.name} ended`);
      }
      this.#ep = ep;
      this.log.info(
        'tab %s: ENP endpoint up (%s)',
        this.s.name,
        ep.network.acceptors()[0]?.info().interface ?? 'no acceptor',
      );
    } catch (e) {
      this.#failed = toError(e);
      if (!this.#closed) this.log.warning('tab %s: ENP endpoint failed: %s', this.s.name, this.#failed.message);
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
          s.peers.add(node);
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
    if (ep === null) throw this.#failed ?? ErrNoConnection.with(`tab ${this.s.name}: no ENP endpoint`);
    if (!this.#routed.has(node)) {
      // The gateway's static routes to the node serve the tab's dials too.
      this.#routed.add(node);
      const routes = this.bridge.staticRoutes(node);
      if (ep.network.route(node).length === 0)
        routes.forEach((r, i) => ep.network.addRoute(`^${escapeRe(node)}$`, r, routes.length - i));
    }
    return ep.connection(node);
  }

  nodeDown(node: Atom, reason: Error): void {
    this.#links.get(node)?.terminate(reason);
    if (this.#closed || this.s.ended) return;
    this.s.peers.delete(node);
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
 * The ENP bridge of a gateway (lifecycle: made by the gateway with its `enp` option, stopped
 * with it). The gateway hands it every routed frame a tab sent once the tab's grant allowed it
 * ({@link EnpBridge.route}), and each session's end ({@link EnpBridge.close}).
 */
export class EnpBridge {
  readonly #eps = new Map<string, TabEndpoint>();
  /** Endpoints stopping, by tab name: a name reused (a reloaded page) registers after they go. */
  readonly #stopping = new Map<string, Promise<void>>();
  readonly #serves: (node: string) => boolean;
  readonly #registrar: (tab: string) => Registrar | null;
  #stopped = false;

  /** @throws ErrIncorrect for bad options. */
  constructor(
    private readonly node: Node,
    private readonly options: TabEnpOptions,
  ) {
    const n = options.nodes as unknown;
    if (typeof n === 'function') this.#serves = n as (node: string) => boolean;
    else if (Array.isArray(n) && n.every((x) => typeof x === 'string')) {
      const set = new Set<string>(n);
      this.#serves = (x) => set.has(x);
    } else throw ErrIncorrect.with('tab gateway enp.nodes: a list of node names or a function');
    if (options.registrar !== undefined && typeof options.registrar !== 'function')
      throw ErrIncorrect.with('tab gateway enp.registrar must be a function');
    this.#registrar = options.registrar ?? defaultRegistrar(node);
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

  /** What an endpoint of tab `tab` starts with. */
  endpointOptions(tab: string): Parameters<typeof startNetworkEndpoint>[1] {
    const net = this.node.network();
    return {
      log: this.node.log,
      cookie: this.options.cookie ?? net.cookie(),
      registrar: this.#registrar(tab),
      acceptors: [{ port: 0, poolSize: 1, ...this.options.acceptor }],
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

  /** The gateway node's static routes to `node`. */
  staticRoutes(node: string): ReturnType<ReturnType<Node['network']>['route']> {
    try {
      return this.node.network().route(node);
    } catch {
      return [];
    }
  }

  /**
   * A routed frame of tab `s` (its grant checked): starts the tab's endpoint at its first frame,
   * and takes the frame when it is for a node the bridge serves (true).
   * @throws ErrNoConnection for a frame to such a node before the tab's endpoint could start.
   */
  route(s: TabSession, f: Frame): boolean {
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
    if (dst === this.node.name || gatewayOfTab(dst) !== undefined || !this.#serves(dst)) return false;
    // A Go node's event: the gateway node subscribes once for all its tabs (event_hub.ts), over its
    // own connection to that node, as for an ergo-ts node's event.
    if (f[0] === Op.Relation && f[6] instanceof Event) return false;
    if (ep === undefined) throw ErrNoConnection.with(`tab ${s.name} has no ENP endpoint yet`);
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
      .catch((e: unknown) => this.log.warning('tab %s: ENP endpoint stop failed: %s', s.name, toError(e).message))
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
