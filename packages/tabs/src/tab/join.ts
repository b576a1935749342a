// joinGateway: a tab becomes a node of the cluster. It dials the gateway, is admitted by its
// token, starts its own node under the name the gateway gives it (`tab-<id>-<gateway>`) and
// attaches a protocol through which every other node is reached over the one socket: its
// processes call, send to, link to and monitor server processes, and are called, linked and
// monitored by them, with the same typed protocols. Uses only the core's public API and the
// platform's WebSocket, so the same code runs in a browser and in Node.

import {
  attachProtocol,
  ErrNoConnection,
  startNode,
  toError,
  type Atom,
  type Core,
  type ErgoError,
  type Node,
  type NodeIncarnation,
  type NodeOptions,
  type PID,
} from 'ergo-ts';
import { Ctl, ErrTabSessionEnded, errorFromWire, Op, type Frame } from '../frame.js';
import { FrameConnection } from '../frame_connection.js';
import { applyFrame } from '../frame_inbound.js';
import { claimsOf, KeptProcesses, readStored, type KeepSpec, type TabStorage } from './keep.js';
import { startTabInspect } from './inspect.js';
import { GatewaySocket, readDial, type ReconnectOptions, type TabWebSocketClass, type Welcome } from './socket.js';

/** The ids of one page incarnation: its node's new ids start at incarnation × this. */
const INCARNATION_IDS = 2 ** 32;

/** Options of {@link joinGateway}. */
export interface JoinGatewayOptions {
  /** The gateway's WebSocket URL (`gateway.url`). */
  url: string;
  /** The token the application issued; the gateway's `admit` callback judges it. */
  token: string;
  /** Options of the tab's node (no network: the gateway is its only route). */
  node?: Omit<NodeOptions, 'network'>;
  /** Bytes the tab holds while its socket is down (default 1 MiB); past them a send throws ERR_TAB_QUEUE_FULL. */
  maxQueuedBytes?: number;
  /** How the tab dials again when its socket drops (default on); `false`: the session ends at once. */
  reconnect?: ReconnectOptions | false;
  /**
   * How long a join keeps dialling a gateway that refuses the tab as busy (ms, default 30 000):
   * ERR_TAB_BUSY (its hello came late on a loaded gateway, or `admit` said busy) is dialled again
   * after a jittered backoff (`reconnect`'s delays; 100 ms doubling to 2 s when it is false). Past
   * it the join rejects with ERR_TAB_BUSY; 0 tries once; at most 2^31 - 1 (else ERR_INCORRECT).
   */
  joinTimeout?: number;
  /**
   * A refusal of a plain send (no one waits for it), once per refused frame; calls and important
   * sends reject instead.
   */
  onRefusal?(error: ErgoError, what: string): void;
  /** The session ended (window passed, gateway gone): links and monitors of server targets fired. */
  onEnded?(reason: Error): void;
  /**
   * `TabNode.resume` of an earlier session of this tab (a page keeps it in `sessionStorage`
   * across a reload). Within that session's reconnect window the tab keeps its node name: the
   * gateway ends the old session first (its processes went with the page, so every server
   * watcher of them gets `noconnection`) and the new node starts empty under the old name, with a
   * later creation (PIDs of the old page never reach a new process). Past the window, or for an
   * unknown session, the tab joins as a new tab with a new name. With `storage`, read from there
   * when absent.
   */
  resume?: string;
  /**
   * Where the page keeps its tab across a reload (a page: `sessionStorage`): the resume and the
   * kept processes' state, under `storageKey`. With it a reload keeps the session and the kept
   * processes (docs/browser-gateway.md, "Tabs come and go").
   */
  storage?: TabStorage;
  /** The key under `storage` (default 'ergo-ts-tab'). */
  storageKey?: string;
  /**
   * Processes kept across page reloads, by registered name (make each with `keep`): started
   * with the node; after a reload under the same PIDs with their saved state, the links and
   * monitors others hold on them in place. Needs `storage` to survive a reload.
   */
  keep?: Readonly<Record<string, KeepSpec>>;
  /** The WebSocket class (default `globalThis.WebSocket`). */
  WebSocket?: TabWebSocketClass;
  /**
   * Start the tab's inspector `tab_inspect` (default true): the servers, and the Observer through
   * the gateway, list this tab's processes and mailboxes (inspect.ts). `false` leaves it out.
   */
  inspect?: boolean;
}

/** A tab joined to a gateway. */
export interface TabNode {
  /** The tab's node: spawn processes on it as on any node. */
  readonly node: Node;
  /** Its node name, given by the gateway. */
  readonly name: string;
  /** The gateway node's name. */
  readonly gateway: string;
  /**
   * What a later `joinGateway` of this page takes (`resume`) to keep the name after a reload:
   * the session's secret and the node's creation. As much a credential as the token: keep it
   * per tab (`sessionStorage`), never in a URL.
   */
  readonly resume: string;
  /** True while the socket is up. */
  readonly connected: boolean;
  /** Drops the socket as a network cut would; the tab dials again within its window. */
  dropConnection(): void;
  /** Resolves when the socket is up again (at once when it is). */
  whenConnected(): Promise<void>;
  /** Resolves with the reason when the session ends. */
  readonly ended: Promise<Error>;
  /** The kept processes (`keep`) by name: the same PIDs across page reloads. */
  readonly kept: ReadonlyMap<string, PID>;
  /** Saves the kept processes' state (and the resume) to `storage` now; `pagehide` does too. */
  save(): void;
  /**
   * Ends this page's part as a page unload does, without leaving: saves, closes the socket
   * (4002 `unload`; the gateway keeps the session for its window) and stops the node; kept
   * processes stay kept. A later `joinGateway` with the same storage is the reloaded page.
   */
  unload(): Promise<void>;
  /** Leaves the gateway and stops the tab's node (idempotent); `storage` forgets the tab. */
  leave(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Joins the gateway at `url` with `token` and starts the tab's node. Rejects with the gateway's
 * coded refusal (ERR_TAB_ADMISSION...) or the socket's failure; nothing is left running then.
 */
export async function joinGateway(options: JoinGatewayOptions): Promise<TabNode> {
  const d = readDial('joinGateway', options);
  const dial = (secret: string, claims?: unknown[]): Promise<[GatewaySocket, Welcome]> => {
    const socket = new GatewaySocket(d, secret, claims);
    socket.handlers = { frame: (f) => early.push(f), connected: () => undefined, ended: () => undefined };
    return socket.open().then((w) => [socket, w]);
  };
  // Frames that arrive between the welcome and the node's start wait here.
  const early: Frame[] = [];
  const key = options.storageKey ?? 'ergo-ts-tab';
  const stored = options.storage === undefined ? null : readStored(options.storage, key);
  const resume = options.resume ?? stored?.resume ?? '';
  const [secret = '', created = '0'] = resume.split('.');
  // With storage, a resume is a reload that keeps the session: it claims the kept PIDs.
  const mine = stored !== null && stored.resume === resume ? stored : null;
  const claims = options.storage !== undefined && secret !== '' ? (mine === null ? [] : claimsOf(mine)) : undefined;
  let socket: GatewaySocket;
  let welcome: Welcome;
  try {
    [socket, welcome] = await dial(secret, claims);
  } catch (e) {
    // A session already ended (its window passed): this tab joins as a new one.
    if (secret === '' || (e as { code?: unknown }).code !== ErrTabSessionEnded.code) throw e;
    [socket, welcome] = await dial('');
  }
  // A reload that keeps processes: the old creation, new ids far above the old page's.
  const incarnation: NodeIncarnation | undefined =
    welcome.incarnation > 0 ? { creation: Number(created), firstID: welcome.incarnation * INCARNATION_IDS } : undefined;
  if (secret !== '' && incarnation === undefined) await laterCreation(Number(created));
  let node: Node;
  try {
    node = await startNode(
      welcome.name,
      incarnation === undefined ? { ...options.node } : { ...options.node, incarnation },
    );
  } catch (e) {
    socket.close();
    throw e;
  }
  let tab: Tab;
  try {
    tab = new Tab(node, welcome.gateway, socket, options, key, early);
  } catch (e) {
    // An option whose read throws (a getter, a Proxy): neither the node nor the socket stays.
    socket.close();
    await node.stop();
    throw e;
  }
  try {
    // Past the window (a new session) the saved states still start the kept processes, afresh.
    await tab.keptProcesses.start(mine, welcome.kept);
    if (options.inspect !== false) await startTabInspect(node);
  } catch (e) {
    await tab.leave();
    throw e;
  }
  tab.ready();
  return tab;
}

/**
 * Waits until a node started now gets a creation (Unix seconds) after `old`'s, so a PID of the
 * page before the reload never names a process of this one. A clock more than 2 s behind is not
 * waited for (PIDs could then collide: docs/browser-gateway.md).
 */
async function laterCreation(old: number): Promise<void> {
  const first = (old + 1) * 1000 - Date.now();
  if (!(first > 0) || first > 2000) return;
  // A timer runs on the monotonic clock and may fire a little before the wall clock (which the
  // creation reads) reaches the second: wait again for what is left.
  for (let wait = first; wait > 0; wait = (old + 1) * 1000 - Date.now())
    await new Promise<void>((r) => setTimeout(r, wait));
}

class Tab implements TabNode {
  readonly #links = new Map<string, FrameConnection>();
  #core!: Core;
  #waiters: (() => void)[] = [];
  #left = false;
  readonly ended: Promise<Error>;
  #endedResolve!: (e: Error) => void;
  readonly keptProcesses: KeptProcesses;
  /** Frames that wait for the kept processes to start (null once they did). */
  #waiting: Frame[] | null;
  readonly #pagehide = (): void => this.save();

  constructor(
    readonly node: Node,
    readonly gateway: string,
    private readonly socket: GatewaySocket,
    private readonly options: JoinGatewayOptions,
    key: string,
    early: Frame[],
  ) {
    this.ended = new Promise<Error>((r) => (this.#endedResolve = r));
    this.#waiting = early;
    attachProtocol(node, (core) => {
      this.#core = core;
      return { connection: (peer) => this.#link(peer), stop: () => this.#leaveSocket() };
    });
    this.keptProcesses = new KeptProcesses(
      node,
      options.keep ?? {},
      options.storage,
      key,
      () => ({ resume: this.resume, node: node.name, creation: node.creation }),
      (pid, kept, name) => socket.send([Ctl.Keep, pid, kept, name]),
      node.log,
    );
    if (options.storage !== undefined) pageEvents()?.addEventListener('pagehide', this.#pagehide);
    socket.handlers = {
      frame: (f) => (this.#waiting !== null ? this.#waiting.push(f) : this.frame(f)),
      connected: (up) => {
        if (up) for (const w of this.#waiters.splice(0)) w();
      },
      ended: (reason) => this.#ended(reason),
    };
  }

  get name(): string {
    return this.node.name;
  }

  get connected(): boolean {
    return this.socket.connected;
  }

  get resume(): string {
    return `${this.socket.secret}.${this.node.creation}`;
  }

  get kept(): ReadonlyMap<string, PID> {
    return this.keptProcesses.pids;
  }

  /** The kept processes started: frames that waited for them are handled, in order. */
  ready(): void {
    const w = this.#waiting ?? [];
    this.#waiting = null;
    for (const f of w) this.frame(f);
  }

  save(): void {
    this.keptProcesses.save();
  }

  async unload(): Promise<void> {
    if (this.#left) return;
    this.save();
    this.keptProcesses.unloading = true;
    this.#left = true;
    pageEvents()?.removeEventListener('pagehide', this.#pagehide);
    this.socket.unload();
    if (this.node.isAlive()) await this.node.stop();
  }

  #link(peer: string): FrameConnection {
    let c = this.#links.get(peer);
    if (c === undefined) {
      c = new FrameConnection(
        this.node.name,
        peer as Atom,
        (f, b) => this.socket.send(f, b),
        (reason) => {
          this.#core.routeNodeDown(peer as Atom, reason);
          this.#links.delete(peer);
        },
      );
      this.#links.set(peer, c);
    }
    return c;
  }

  /** A frame from the gateway. Never throws (failures are logged on the tab's node). */
  frame(f: Frame): void {
    const log = this.node.log;
    try {
      if (f[0] === Ctl.Refusal) return this.#refusal(f);
      if (f[0] >= Ctl.Hello || f[2] !== this.node.name) return;
      if (f[0] === Op.NodeDown) {
        this.#links.get(String(f[3]))?.terminate(errorFromWire(f[4]));
        return;
      }
      applyFrame(this.#core, f, this.#link(String(f[1])), log);
    } catch (e) {
      log.warning('tab: frame from the gateway dropped: %s', toError(e).message);
    }
  }

  #refusal(f: Frame): void {
    const err = errorFromWire(f[3]) as ErgoError;
    const reqId = typeof f[2] === 'number' ? f[2] : 0;
    const link = this.#links.get(String(f[1]));
    if (reqId > 0 && link !== undefined) {
      link.settle(reqId, err, undefined);
      return;
    }
    const caller = f[5];
    const ref = f[6];
    if (caller !== null && ref !== null && caller !== undefined && ref !== undefined) {
      this.#core.routeSendResponse(
        this.#core.pid(),
        caller as never,
        { ref: ref as never, priority: 0, important: false, compression: null, keepNetworkOrder: true },
        err,
        false,
      );
      return;
    }
    // A run of plain frames refused alike comes as one frame with their count (frame.ts: Refusal).
    const n = typeof f[7] === 'number' && f[7] > 1 ? f[7] : 1;
    const on = this.options.onRefusal;
    if (on !== undefined) for (let i = 0; i < n; i++) on(err, String(f[4]));
    else this.node.log.warning('tab: %d × %s refused by the gateway: %s', n, String(f[4]), err.message);
  }

  #ended(reason: Error): void {
    for (const c of [...this.#links.values()]) c.terminate(ErrNoConnection);
    this.#endedResolve(reason);
    this.options.onEnded?.(reason);
  }

  dropConnection(): void {
    this.socket.drop();
  }

  whenConnected(): Promise<void> {
    if (this.socket.connected) return Promise.resolve();
    return new Promise<void>((r) => this.#waiters.push(r));
  }

  #leaveSocket(): void {
    if (this.#left) return;
    this.#left = true;
    this.socket.close();
  }

  async leave(): Promise<void> {
    if (!this.#left) this.keptProcesses.clear();
    pageEvents()?.removeEventListener('pagehide', this.#pagehide);
    this.#leaveSocket();
    if (this.node.isAlive()) await this.node.stop();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.leave();
  }
}

/** The page's events (`pagehide`), where the platform has them (not in Node). */
function pageEvents():
  | { addEventListener(t: string, f: () => void): void; removeEventListener(t: string, f: () => void): void }
  | undefined {
  const g = globalThis as { addEventListener?: unknown; removeEventListener?: unknown };
  return typeof g.addEventListener === 'function' && typeof g.removeEventListener === 'function'
    ? (g as never)
    : undefined;
}
