// Tab routes on a server node that is not the gateway: a tab's node name says which gateway
// reaches it (`tab-<id>-<gateway>`), so this node sends whatever it has for a tab (a send, a call,
// a link, a reply) as a tab frame inside an ordinary ENP message to the gateway's relay, and its
// own relay takes the frames the gateway passes back from tabs and applies them to this node's
// Core. Nothing here trusts a tab: the gateway checked each frame against the tab's grant; this
// node checks that frames come from the gateway that owns the tab's name.

import {
  Actor,
  attachProtocol,
  ErrIncorrect,
  ErrNoConnection,
  MessageNodeDown,
  ProcessID,
  TerminateReasonNormal,
  toError,
  type Atom,
  type HandlerResult,
  type Core,
  type Node,
  type PID,
} from 'ergo-ts';
import { decodeFrame, encodeFrame, errorFromWire, gatewayOfTab, Op, RELAY_STOP, TAB_RELAY } from './frame.js';
import { TabLink } from './tab_link.js';
import { applyFrame } from './frame_inbound.js';

/** Options of {@link attachTabRoutes}. */
export interface TabRoutesOptions {
  /** Gateway nodes whose tabs this node reaches (default: any gateway node of the cluster). */
  gateways?: readonly string[];
}

/** The tab routes of a server node. */
export interface TabRoutes {
  /** Tab nodes this node has a link to now. */
  tabs(): string[];
  /** Detaches the routes and stops the relay (links to tabs end with `noconnection`). */
  stop(): Promise<void>;
}

class ServerRelay extends Actor {
  constructor(private readonly r: Routes) {
    super();
  }
  override init(): void {
    this.monitorNodes();
  }
  override handleMessage(from: PID, message: unknown): HandlerResult {
    if (message === RELAY_STOP) return TerminateReasonNormal;
    if (message instanceof Uint8Array) this.r.fromGateway(from, message);
    else if (message instanceof MessageNodeDown) this.r.gatewayDown(message.name);
  }
}

class Routes implements TabRoutes {
  readonly #links = new Map<string, TabLink>();
  #core: Core | null = null;
  #detach: () => void = () => undefined;
  /** The relay this instance started (null until then: a failed start stops no one else's). */
  #relay: PID | null = null;

  constructor(
    readonly node: Node,
    private readonly gateways: readonly string[] | undefined,
  ) {}

  async start(): Promise<void> {
    this.#relay = await this.node.spawnRegister(TAB_RELAY, () => new ServerRelay(this));
    this.#detach = attachProtocol(this.node, (core) => {
      this.#core = core;
      return {
        connection: (name) => (this.#reaches(name) ? this.#link(name) : undefined),
        stop: () => this.#closeAll(),
      };
    });
  }

  #reaches(tab: string): boolean {
    const gw = gatewayOfTab(tab);
    return gw !== undefined && gw !== this.node.name && (this.gateways === undefined || this.gateways.includes(gw));
  }

  /** The link to tab `tab` (made on first use). */
  #link(tab: string): TabLink {
    let c = this.#links.get(tab);
    if (c === undefined) {
      const to = new ProcessID(TAB_RELAY as Atom, gatewayOfTab(tab)! as Atom);
      c = new TabLink(
        this.node.name,
        tab as Atom,
        (f, b) => this.node.send(to, b ?? encodeFrame(f)),
        (reason) => {
          // Node down while the closed link still answers for the tab (ErrNoConnection).
          this.#core?.routeNodeDown(tab as Atom, reason);
          this.#links.delete(tab);
        },
      );
      this.#links.set(tab, c);
    }
    return c;
  }

  /** A frame the gateway `from.node` passed on (from one of its tabs, or a node-down notice). */
  fromGateway(from: PID, bytes: Uint8Array): void {
    const log = this.node.log;
    try {
      const f = decodeFrame(bytes);
      const src = String(f[1]);
      if (f[0] === Op.NodeDown) {
        const tab = String(f[3]);
        if (src !== from.node || gatewayOfTab(tab) !== from.node) throw ErrIncorrect.with(`a node-down of ${tab}`);
        this.#links.get(tab)?.terminate(errorFromWire(f[4]));
        return;
      }
      if (gatewayOfTab(src) !== from.node || !this.#reaches(src))
        throw ErrIncorrect.with(`a frame of ${src} from ${from.node}`);
      if (f[2] !== this.node.name) throw ErrIncorrect.with(`a frame for ${String(f[2])}`);
      applyFrame(this.#core!, f, this.#link(src), log);
    } catch (e) {
      log.warning('tab relay: frame from %s dropped: %s', from.node, toError(e).message);
    }
  }

  /** Gateway `node` is gone: so is every tab behind it. */
  gatewayDown(node: string): void {
    for (const [tab, c] of [...this.#links]) if (gatewayOfTab(tab) === node) c.terminate(ErrNoConnection);
  }

  #closeAll(): void {
    for (const c of [...this.#links.values()]) c.terminate(ErrNoConnection);
  }

  tabs(): string[] {
    return [...this.#links.keys()];
  }

  async stop(): Promise<void> {
    this.#closeAll();
    this.#detach();
    if (!this.node.isAlive()) return;
    try {
      if (this.#relay !== null) this.node.send(this.#relay, RELAY_STOP);
    } catch {
      // Already gone.
    }
  }
}

/**
 * Lets server node `node` reach tab PIDs through their gateways (and tabs reach its processes):
 * attaches the routes for tab node names and registers the relay process `tabs_relay`. The node
 * needs a network that reaches the gateway nodes (their names, by registrar or static route).
 * Call it once per node, after start; `stop()` (or the node's stop) undoes it.
 * @throws ErrTaken when `tabs_relay` is registered already; ErrNodeTerminated on a stopped node.
 */
export async function attachTabRoutes(node: Node, options: TabRoutesOptions = {}): Promise<TabRoutes> {
  const r = new Routes(node, options.gateways);
  await r.start();
  return r;
}
