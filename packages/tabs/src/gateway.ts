// The tab gateway: a WebSocket endpoint on a server node that tabs join. It admits a tab by the
// application's token callback, names its node under the gateway's (`tab-<id>-<gateway>`), and
// routes the tab's frames: to the gateway node's own processes through the engine's Core, to
// other server nodes inside an ENP message to their relay (`attachTabRoutes`), and back. Every
// frame a tab sends is held to its limits and its grant first (policy: grant.ts); a refusal is a
// coded error at the tab and a log line here. Sessions outlive sockets for a reconnect window.

import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

import {
  attachProtocol,
  ErrIncorrect,
  ErrNoConnection,
  PID,
  ProcessID,
  toError,
  type Alias,
  type Atom,
  type Core,
  type Node,
} from 'ergo-ts';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';

import { EnpBridge, erlangBridge } from './enp_bridge.js';
import {
  EventHub,
  GatewayRelay,
  HubDropTab,
  HubRequest,
  hubEvent,
  type HubRelay,
  type RelayHost,
} from './event_hub.js';
import {
  DEFAULT_FAN_OUT_SLICE,
  DEFAULT_FAN_OUT_SLICE_MS,
  DEFAULT_INBOUND_SLICE,
  DEFAULT_INBOUND_TURN,
  FanOutQueue,
  InboundSlices,
} from './slices.js';
import { applyFrame } from './frame_inbound.js';
import {
  CLOSE_QUEUE_FULL,
  CLOSE_TAB_BUSY,
  Ctl,
  decodeFrame,
  encodeFrame,
  ErrTabAdmission,
  ErrTabBusy,
  ErrTabBytesLimit,
  ErrTabFrame,
  ErrTabRateLimit,
  ErrTabSessionEnded,
  errorToWire,
  frameHead,
  gatewayOfTab,
  isLeave,
  Op,
  plainSend,
  RELAY_STOP,
  splitFrames,
  TAB_RELAY,
  tabNodeName,
  type Frame,
} from './frame.js';
import {
  DEFAULT_TAB_LIMITS,
  resolveLimits,
  TabPolicy,
  type TabGrant,
  type TabLimits,
  type TabRefusal,
} from './grant.js';
import { DEFAULT_UPGRADE_TIMEOUT, FreeTimeWait, GatewayServer } from './join_waits.js';
import { reloadSession } from './reload.js';
import { startTabsInspect, type TabsInspectHandle } from './inspect.js';
import { RefusalLog } from './refusal_log.js';
import { TabSession, type SessionHooks, type TabInfo } from './session.js';
import type { TabGateway, TabGatewayOptions, TabRequest } from './gateway_options.js';

export type { TabGateway, TabGatewayOptions, TabRequest } from './gateway_options.js';

/** True for a tab's node name (a grant's target may be a tab: TabPolicy). */
const isTabNode = (n: string): boolean => gatewayOfTab(n) !== undefined;

class Gateway implements TabGateway, RelayHost {
  readonly sessions = new Map<string, TabSession>();
  readonly hub: EventHub;
  readonly #bySecret = new Map<string, TabSession>();
  readonly #labels = new Map<TabSession, string>();
  readonly #limits: TabLimits;
  readonly #window: number;
  readonly #hello: number;
  readonly #upgrade: number;
  readonly #wss: WebSocketServer;
  /** The gateway's own HTTP server (null with a `server` of the application's). */
  #server: GatewayServer | null = null;
  #detach: () => void = () => undefined;
  /**
   * The relay this instance started, while it runs (null before, and once it ended: a node's
   * stop ends it before the stop hook ends the sessions).
   */
  #relay: PID | null = null;
  readonly #refusals: RefusalLog;
  /** `tabs_inspect` (inspect.ts): what the Observer asks for the tabs. */
  #inspect: TabsInspectHandle | null = null;
  #unlisten: () => void = () => undefined;
  #core: Core | null = null;
  /** The sessions' hooks (one object for all of them). */
  readonly #hooks: SessionHooks;
  /** What the tabs send, in per-turn slices (slices.ts). */
  readonly #inbound: InboundSlices<TabSession>;
  readonly #enp: EnpBridge | null;
  readonly #erl: EnpBridge | null;
  #next = 0;
  #stopped = false;
  url = '';

  constructor(
    readonly node: Node,
    private readonly options: TabGatewayOptions,
  ) {
    this.#limits = resolveLimits(DEFAULT_TAB_LIMITS, options.limits);
    this.#window = given(options.reconnectWindow, 30_000);
    const eventRetry = given(options.eventRetryWindow, 30_000);
    this.hub = new EventHub(node.log, eventRetry);
    this.#hello = given(options.helloTimeout, 10_000);
    this.#upgrade = given(options.upgradeTimeout, DEFAULT_UPGRADE_TIMEOUT);
    const refusalLog = given(options.refusalLogInterval, 5_000);
    const slowConsumer = given(options.slowConsumerMs, 30_000);
    // Node runs a timer past 2^31 - 1 ms after 1 ms: a window or count that long would end at once.
    // eventRetryWindow is no timer (a budget the retries' short pauses are cut to).
    for (const [k, v, max] of [
      ['reconnectWindow', this.#window, MAX_TIMER_MS],
      ['eventRetryWindow', eventRetry, Infinity],
      ['helloTimeout', this.#hello, MAX_TIMER_MS],
      ['upgradeTimeout', this.#upgrade, MAX_TIMER_MS],
      ['refusalLogInterval', refusalLog, MAX_TIMER_MS],
      ['slowConsumerMs', slowConsumer, MAX_TIMER_MS],
    ] as const)
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > max)
        throw ErrIncorrect.with(`tab gateway ${k}: ${String(v)}${v > max ? ' (at most 2^31 - 1 ms)' : ''}`);
    this.#refusals = new RefusalLog(node.log, refusalLog);
    const slice = given(options.fanOutSlice, DEFAULT_FAN_OUT_SLICE);
    if (!Number.isSafeInteger(slice) || slice < 1) throw ErrIncorrect.with(`tab gateway fanOutSlice: ${slice}`);
    const sliceMs = given(options.fanOutSliceMs, DEFAULT_FAN_OUT_SLICE_MS);
    if (typeof sliceMs !== 'number' || !(sliceMs > 0))
      throw ErrIncorrect.with(`tab gateway fanOutSliceMs: ${String(sliceMs)}`);
    const inbound = given(options.inboundSlice, DEFAULT_INBOUND_SLICE);
    if (!Number.isSafeInteger(inbound) || inbound < 1) throw ErrIncorrect.with(`tab gateway inboundSlice: ${inbound}`);
    const turn = given(options.inboundTurn, DEFAULT_INBOUND_TURN);
    if (!Number.isSafeInteger(turn) || turn < 1) throw ErrIncorrect.with(`tab gateway inboundTurn: ${turn}`);
    this.#inbound = new InboundSlices(inbound, (t, f) => this.#fromTab(t, f), turn);
    this.#hooks = {
      linkClosed: (s, reason) => this.#core?.routeNodeDown(s.name, reason),
      answersOverflowed: (s) => this.#expire(s, 'its queue is full, answers too', CLOSE_QUEUE_FULL),
      stalled: (s, ms) =>
        this.#expire(s, `slow consumer: its queue is full and its socket took nothing in ${ms} ms`, CLOSE_QUEUE_FULL),
      slowConsumerMs: slowConsumer,
      fanOut: new FanOutQueue(slice, sliceMs),
    };
    if (typeof options.admit !== 'function') throw ErrIncorrect.with('tab gateway: admit must be a function');
    this.#enp = options.enp === undefined ? null : EnpBridge.enp(node, options.enp);
    this.#erl = options.erlang === undefined ? null : erlangBridge(node, options.erlang);
    // Room above the per-tab check (a grant may raise its tab's limit); past it `ws` closes (1009).
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: this.#limits.maxFrameBytes * 4 });
  }

  get log() {
    return this.node.log;
  }

  post(message: unknown): void {
    if (this.#relay === null) return;
    try {
      this.node.send(this.#relay, message);
    } catch (e) {
      this.log.warning('tab relay: a message not posted: %s', toError(e).message);
    }
  }

  /** The relay `pid` ended (the node stops, or the gateway): nothing is sent to it after. */
  relayEnded(pid: PID): void {
    if (this.#relay?.equals(pid) === true) this.#relay = null;
  }

  async start(): Promise<void> {
    // The relay first: a node that has one already (ERR_TAKEN) gets nothing attached.
    this.#relay = await this.node.spawnRegister(TAB_RELAY, () => new GatewayRelay(this));
    this.#inspect = await startTabsInspect(this.node, { tabs: () => this.tabs(), window: this.#window });
    this.#detach = attachProtocol(this.node, (core) => {
      this.#core = core;
      return {
        connection: (name) => {
          const s = this.sessions.get(name);
          if (s !== undefined) return s.conn;
          if (gatewayOfTab(name) === this.node.name) throw ErrNoConnection.with(`tab ${name} is gone`);
          return undefined;
        },
        stop: () => this.#endAll(),
      };
    });
    const path = this.options.path ?? '/tabs';
    let server = this.options.server;
    let own: GatewayServer | null = null;
    if (server === undefined) {
      own = this.#server = new GatewayServer(this.#upgrade, this.log);
      server = own.server;
    }
    const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
      if (new URL(req.url ?? '/', 'http://x').pathname !== path) {
        // Another endpoint's, on an application's server; on the gateway's own, nobody's.
        own?.notFound(socket);
        return;
      }
      own?.heard(socket);
      this.#wss.handleUpgrade(req, socket, head, (ws) => this.#accept(ws, req));
    };
    if (own !== null) await own.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1');
    server.on('upgrade', onUpgrade);
    // Only our listener goes at stop: the server may carry other WebSocket endpoints.
    this.#unlisten = () => server.off('upgrade', onUpgrade);
    const a = server.address();
    const addr = typeof a === 'object' && a !== null ? a : { address: '127.0.0.1', port: 0 };
    const host = addr.address.includes(':') ? `[${addr.address}]` : addr.address;
    this.url = `ws://${host}:${addr.port}${path}`;
  }

  #accept(ws: WebSocket, req: IncomingMessage): void {
    let session: TabSession | null = null;
    // The request and the hello's timer are the join's alone: dropped at the hello, they are not
    // kept for the socket's life by the listeners below (their headers, a few hundred bytes a tab).
    let request: TabRequest | null = {
      url: req.url ?? '',
      headers: req.headers,
      remoteAddress: req.socket.remoteAddress ?? '',
    };
    // Counted in the loop's free time and judged after it read its sockets (join_waits.ts).
    let hello: FreeTimeWait | null = new FreeTimeWait(this.#hello, () => {
      hello = null;
      if (request === null) return;
      this.log.warning('tab refused (%s): no hello within %d ms (busy)', request.remoteAddress, this.#hello);
      request = null;
      ws.send(encodeFrame([Ctl.Refused, errorToWire(ErrTabBusy.with('no hello in time'))]));
      ws.close(CLOSE_TAB_BUSY, 'busy: no hello in time');
    });
    const heard = (): void => {
      hello?.cancel();
      hello = null;
    };
    // The tab sent its Leave (frame.ts: Ctl.Leave): the connection's end is its leave.
    let left = false;
    // What `ws` refused of the socket (a message past maxPayload, a frame no WebSocket client
    // writes): no tab of ours does that, so its session gets no reconnect window ('' while none).
    let broke = '';
    ws.on('error', (e: Error & { code?: unknown }) => {
      if (typeof e.code === 'string' && e.code.startsWith('WS_ERR_')) broke = e.message;
      this.log.warning('tab socket %s: %s', session?.name ?? '(joining)', e.message);
    });
    ws.on('close', (code: number, reason: Buffer) => {
      heard();
      request = null;
      const s = session;
      // Ended already: its Leave (below), or the gateway ended it.
      if (s === null || s.ended) return;
      // The tab's leave() (1000 'left' from a tab of an older build, or its Leave frame if the
      // socket closed before its turn came): gone for good, its watchers hear it now, not past
      // the window. A session ends in the gateway's turns (slices.ts), after the frames the tab
      // sent before: thousands leaving at once, or whose windows pass together, end a turn's worth
      // at a time.
      if ((left || (code === 1000 && reason.toString() === 'left')) && s.socket === ws) this.#end(s, ws, 'it left');
      else if (broke !== '' && s.socket === ws) this.#end(s, ws, `its socket broke the WebSocket protocol: ${broke}`);
      else s.detach(ws, this.#window, () => this.#end(s, null, 'its window passed'));
    });
    ws.on('message', (data: RawData) => {
      // The Leave was the tab's last word: what came after it in the same read is not read.
      if (left) return;
      const bytes = toBytes(data);
      if (session !== null) {
        if (!isLeave(bytes)) return this.#fromTabMessage(session, ws, bytes);
        // Closed without the close handshake, and the session ended, in a turn of the inbound
        // slices after the frames offered before (slices.ts: `end`), never in the poll phase that
        // read it: thousands of Leaves read in one poll phase are then not thousands of sockets
        // torn down in it or in one close phase.
        left = true;
        const s = session;
        this.#inbound.end(
          s,
          () => {
            ws.terminate();
            if (s.socket === ws) this.#expire(s, 'it left');
          },
          true,
        );
        return;
      }
      if (ws.readyState !== ws.OPEN) return; // refused at its join: closing
      if (request === null) {
        // A frame while its hello is judged: a tab speaks after its welcome (its own frames wait
        // for it), so this is no tab of ours. Refused, closed, and no session comes of the hello.
        this.log.warning('tab refused (joining): a frame before its welcome');
        ws.send(encodeFrame([Ctl.Refused, errorToWire(ErrTabFrame.with('a frame before its welcome'))]));
        ws.close(4003, 'a frame before its welcome');
        return;
      }
      const greeting = request;
      request = null;
      heard();
      this.#greet(ws, bytes, greeting).then(
        (s) => {
          session = s;
        },
        (e: unknown) => this.log.warning('tab join failed: %s', toError(e).message),
      );
    });
  }

  async #greet(ws: WebSocket, bytes: Uint8Array, request: TabRequest): Promise<TabSession | null> {
    const refuse = (e: Error, why: string): null => {
      this.log.warning('tab refused (%s): %s', request.remoteAddress, why);
      ws.send(encodeFrame([Ctl.Refused, errorToWire(e)]));
      ws.close(e === ErrTabBusy ? CLOSE_TAB_BUSY : 4003, e.message.slice(0, 100));
      return null;
    };
    let f: Frame;
    try {
      f = decodeFrame(bytes);
      if (f[0] !== Ctl.Hello || typeof f[1] !== 'string' || typeof f[2] !== 'string')
        throw ErrTabFrame.with('the first frame must be a hello');
      // `fresh`, `batches` and (6) `shared`: booleans, or absent (a page of an older build says none).
      for (const i of [3, 4, 6])
        if (f[i] !== undefined && typeof f[i] !== 'boolean')
          throw ErrTabFrame.with(`hello field ${i} is not a boolean`);
    } catch (e) {
      return refuse(toError(e), toError(e).message);
    }
    const secret = f[2];
    let name: Atom | undefined;
    if (secret !== '') {
      const s = this.#bySecret.get(secret);
      if (s === undefined || s.ended)
        return refuse(ErrTabSessionEnded.with('unknown or ended session'), 'stale resume');
      if (f[3] !== true) {
        s.socket?.close(4009, 'replaced');
        this.#welcome(ws, s, f[4] === true, f[6] === true);
        this.log.info('tab %s back', s.name);
        return s;
      }
      // A reloaded page that puts processes back: the session goes on (reload.ts).
      if (f[5] !== undefined && f[5] !== null) return this.#reload(ws, s, f[5], f[4] === true, f[6] === true, refuse);
      // A fresh node under the name (a reloaded page): its processes are gone, so the old
      // session ends as past its window (every watcher: noconnection), and the name goes on.
      name = s.name;
      this.#expire(s, 'its page started afresh');
    }
    let grant: TabGrant | TabRefusal;
    try {
      grant = await this.options.admit(f[1], request);
    } catch (e) {
      return refuse(ErrTabAdmission.with('admission failed'), `admit threw: ${toError(e).message}`);
    }
    if (grant === null || typeof grant !== 'object') return refuse(ErrTabAdmission, 'admit answered no grant');
    if ('refuse' in grant) return refuse(grant.busy === true ? ErrTabBusy : ErrTabAdmission, grant.refuse);
    if (this.#stopped || ws.readyState !== ws.OPEN) return null;
    let limits: TabLimits;
    try {
      limits = resolveLimits(this.#limits, grant.limits);
    } catch (e) {
      return refuse(ErrTabAdmission.with('bad limits in its grant'), toError(e).message);
    }
    if (name === undefined || this.sessions.has(name))
      name = tabNodeName(
        (this.#next++).toString(36).padStart(8, '0') + randomBytes(3).toString('hex'),
        this.node.name,
      ) as Atom;
    const s = this.#session(name, grant, limits);
    this.sessions.set(name, s);
    this.#bySecret.set(s.secret, s);
    this.#labels.set(s, grant.label ?? '');
    this.#welcome(ws, s, f[4] === true, f[6] === true);
    this.log.info('tab %s joined (%s)', name, grant.label ?? request.remoteAddress);
    return s;
  }

  /**
   * A new tab's session. Its closures are made here, not in #greet: a closure keeps its function's
   * whole scope, and #greet's holds the join's request (its headers) and hello.
   */
  #session(name: Atom, grant: TabGrant, limits: TabLimits): TabSession {
    return new TabSession(
      name,
      randomBytes(16).toString('hex'),
      new TabPolicy(name, grant, isTabNode),
      limits,
      this.node.name,
      this.log,
      this.#hooks,
    );
  }

  #reload(
    ws: WebSocket,
    s: TabSession,
    claims: unknown,
    batches: boolean,
    shared: boolean,
    refuse: (e: Error, why: string) => null,
  ): TabSession | null {
    if (s.socket !== null) {
      // The old page's socket is not seen closed yet: whatever it was sent went with the page.
      s.watchers.socketGone();
      s.socket.close(4009, 'reloaded');
    }
    let r;
    try {
      r = reloadSession({ log: this.log, route: (t, f) => this.#route(t, f, encodeFrame(f)) }, s, claims);
    } catch (e) {
      return refuse(toError(e), toError(e).message);
    }
    const max = s.limits.maxFrameBytes;
    ws.send(
      encodeFrame([
        Ctl.Welcome,
        s.name,
        this.node.name,
        s.secret,
        this.#window,
        max,
        r.incarnation,
        r.kept,
        true,
        shared,
      ]),
    );
    for (const b of r.replay) ws.send(b);
    s.attach(ws, batches, shared);
    return s;
  }

  /**
   * `batches`: the tab's hello said it reads messages of several frames; `shared`: it reads shared
   * Event frames (shared_frame.ts).
   */
  #welcome(ws: WebSocket, s: TabSession, batches: boolean, shared: boolean): void {
    // Field 5: the gateway takes batches of up to one frame's limit from the tab; 6 and 7 are a
    // reload's; 8: it takes the tab's Leave frame; 9: it writes the tab shared Event frames.
    const max = s.limits.maxFrameBytes;
    ws.send(encodeFrame([Ctl.Welcome, s.name, this.node.name, s.secret, this.#window, max, 0, null, true, shared]));
    s.attach(ws, batches, shared);
  }

  /** A message from tab `s`: each frame in it as if it came alone (frame.ts: batches), in the turn's slice. */
  #fromTabMessage(s: TabSession, ws: WebSocket, message: Uint8Array): void {
    let frames: Uint8Array[];
    try {
      frames = splitFrames(message);
    } catch (e) {
      return this.#refuse(s, null, toError(e));
    }
    this.#inbound.offer(s, ws, frames);
  }

  /** A frame from tab `s`: limits, grant, then routed. */
  #fromTab(s: TabSession, bytes: Uint8Array): void {
    const refused =
      bytes.length > s.limits.maxFrameBytes
        ? ErrTabFrame.with(`a frame of ${bytes.length} bytes, above ${s.limits.maxFrameBytes}`)
        : s.admitInbound(bytes.length);
    if (refused !== null) {
      // A flood's usual frame, a plain send past a limit while the task's run of such refusals
      // waits: counted into the run, nothing of it decoded.
      if (plainSend(bytes) && s.extendRun(refused)) return this.#counted(s, 'send', refused);
      // Refused undecoded: its head alone says which call or important send fails with the code
      // (else the tab's caller would wait for its timeout), and which caller a reply was for.
      const head = frameHead(bytes);
      if (head !== null && head[0] === Op.Response) this.#failReply(s, head, refused);
      return this.#refuse(s, head, refused);
    }
    let f: Frame | null = null;
    try {
      f = decodeFrame(bytes);
      if (f[0] === Ctl.Keep) return s.watchers.keepFrame(f);
      if (f[0] >= Ctl.Hello) throw ErrTabFrame.with('a control frame after the welcome');
      s.policy.check(f, s.peers, this.node.name);
      this.#route(s, f, bytes);
      s.watchers.fromTab(f);
    } catch (e) {
      this.#refuse(s, f, toError(e));
    }
  }

  #route(s: TabSession, f: Frame, bytes: Uint8Array): void {
    const byEnp = this.#enp?.route(s, f) === true;
    if (this.#erl?.route(s, f, byEnp) === true || byEnp) return;
    const dst = f[2] as string;
    if (dst === this.node.name) {
      applyFrame(this.#core!, f, s.conn, this.log);
      return;
    }
    const ev = f[0] === Op.Relation ? hubEvent(f[6], this.node.name, (n) => gatewayOfTab(n) !== undefined) : null;
    if (ev !== null) {
      // Another server node's event: the relay subscribes once for every tab (event_hub.ts).
      const subscribe = f[4] === 'link' || f[4] === 'monitor';
      if (this.#relay === null) throw ErrNoConnection.with('the tab relay ended');
      this.node.send(this.#relay, new HubRequest(s, subscribe, f[3] as number, f[5] as PID, ev));
      return;
    }
    if (gatewayOfTab(dst) !== undefined) {
      const other = this.sessions.get(dst);
      if (other === undefined) throw ErrNoConnection.with(`tab ${dst}`);
      other.policy.learn(f);
      other.addPeer(s.name);
      s.addPeer(dst);
      other.deliver(bytes);
      other.watchers.toTab(f);
      return;
    }
    s.addPeer(dst);
    this.node.send(new ProcessID(TAB_RELAY as Atom, dst as Atom), bytes);
  }

  /**
   * A reply of tab `s` refused for a limit (`head`: the reply's head): its caller fails now with
   * the refusal's code, as a call the gateway could not deliver does, not at its own timeout. The
   * answer stands in for the tab's reply, so it is held to the tab's grant as the reply would be.
   */
  #failReply(s: TabSession, head: Frame, e: Error): void {
    const reply: Frame = [Op.Response, s.name, head[2], 0, head[4], head[5], head[6], head[7], false, errorToWire(e)];
    try {
      s.policy.check(reply, s.peers, this.node.name);
      this.#route(s, reply, encodeFrame(reply));
      s.watchers.fromTab(reply);
    } catch (e2) {
      this.log.warning('tab %s: the caller of a refused reply not told: %s', s.name, toError(e2).message);
    }
  }

  /** Tells tab `s` (and the log, summarised: RefusalLog) that a frame of its was refused. */
  #refuse(s: TabSession, f: Frame | null, e: Error): void {
    const what = f === null ? 'frame' : opName(f[0]);
    this.#counted(s, what, e);
    const peer = f === null ? '' : String(f[2]);
    const reqId = f !== null && hasReqId(f[0]) && typeof f[3] === 'number' ? f[3] : 0;
    const call = f !== null && f[0] === Op.Call;
    // Past its queue and the refusals' room (session.ts): the tab sends faster than it reads. The
    // refusal still goes, before the close; its other pending requests fail as at a node down.
    let within: boolean;
    if (reqId === 0 && !call && (e === ErrTabRateLimit || e === ErrTabBytesLimit))
      within = s.refusePlain(e, peer, what); // a flood's run of them: one frame with their count
    else
      within = s.deliverRefusal(
        encodeFrame([Ctl.Refusal, peer, reqId, errorToWire(e), what, call ? f![5] : null, call ? f![7] : null]),
      );
    if (!within) this.#expire(s, 'its queue is full, refusals too', CLOSE_QUEUE_FULL);
  }

  /** A refusal of tab `s`'s frame (a `what`) for `e`: counted, and logged as RefusalLog says. */
  #counted(s: TabSession, what: string, e: Error): void {
    s.refused++;
    const code = (e as { code?: unknown }).code;
    if (this.#refusals.note(s, typeof code === 'string' ? code : ''))
      this.log.warning('tab %s: %s refused: %s%s', s.name, what, e.message, limitOf(s, e));
  }

  /** A frame from server node `from.node` (its relay sent it here) for one of the tabs. */
  fromServer(from: PID, bytes: Uint8Array): void {
    let f: Frame;
    try {
      f = decodeFrame(bytes);
    } catch (e) {
      this.log.warning('tab relay: a frame from %s dropped: %s', from.node, toError(e).message);
      return;
    }
    const src = String(f[1]);
    const dst = String(f[2]);
    if (src !== from.node) {
      this.log.warning('tab relay: %s sent a frame for %s: dropped', from.node, src);
      return;
    }
    const s = this.sessions.get(dst);
    if (s === undefined || s.ended) {
      if (gatewayOfTab(dst) === this.node.name)
        this.#toRelay(src, [Op.NodeDown, this.node.name, src, dst, errorToWire(ErrNoConnection)]);
      return;
    }
    s.addPeer(src);
    s.policy.learn(f);
    try {
      s.deliver(bytes);
      s.watchers.toTab(f);
    } catch (e) {
      const err = toError(e);
      this.log.warning('tab %s: frame from %s not delivered: %s', dst, src, err.message);
      const reqId = hasReqId(f[0]) && typeof f[3] === 'number' ? f[3] : 0;
      if (reqId > 0) this.#toRelay(src, [Op.Ack, dst, src, reqId, errorToWire(err), null]);
      else if (f[0] === Op.Call && f[5] instanceof PID)
        this.#toRelay(src, [
          Op.Response,
          dst,
          src,
          0,
          0,
          new PID(dst as Atom, 0, 0),
          f[5],
          f[7],
          false,
          errorToWire(err),
        ]);
    }
  }

  #toRelay(node: string, frame: unknown[]): void {
    try {
      this.node.send(new ProcessID(TAB_RELAY as Atom, node as Atom), encodeFrame(frame));
    } catch (e) {
      this.log.warning('tab relay: %s unreachable: %s', node, toError(e).message);
    }
  }

  /** Server node `node` went down: tabs that spoke with it hear so. */
  serverDown(relay: HubRelay, node: string): void {
    if (gatewayOfTab(node) !== undefined) return;
    for (const s of this.sessions.values()) {
      if (!s.deletePeer(node)) continue;
      // Its node fires the tab's own watches of that node's events: the hub's go too.
      this.hub.dropTabNode(relay, s, node);
      try {
        s.deliverFrame([Op.NodeDown, this.node.name, s.name, node, errorToWire(ErrNoConnection)]);
      } catch (e) {
        this.log.warning('tab %s: node-down of %s not sent: %s', s.name, node, toError(e).message);
      }
    }
  }

  /**
   * Ends session `s` for `why` in a turn of the inbound slices (slices.ts: InboundSlices.end),
   * unless by then it has come back on a socket other than `ws` (null: on none).
   */
  #end(s: TabSession, ws: WebSocket | null, why: string): void {
    this.#inbound.end(s, () => {
      if (s.socket === ws) this.#expire(s, why);
    });
  }

  /**
   * Ends session `s` (`code`: its socket's close code). A full queue's end (4029) does not wait
   * for the close handshake of a tab that does not read (session.ts: TabSession.end).
   */
  #expire(s: TabSession, why: string, code = 4000): void {
    if (this.sessions.get(s.name) !== s) return;
    this.sessions.delete(s.name);
    this.#inbound.drop(s);
    this.#bySecret.delete(s.secret);
    this.#labels.delete(s);
    s.end(code, why, code === CLOSE_QUEUE_FULL);
    this.#refusals.flush(s);
    this.log.info('tab %s ended: %s', s.name, why);
    // Watchers here first (the engine's node down), then every node and tab it spoke with.
    s.conn.terminate(ErrNoConnection);
    this.#enp?.close(s);
    this.#erl?.close(s);
    // Not once the relay ended (the node's stop): the hub's subscriptions went with it.
    if (this.#relay !== null && this.node.isAlive()) this.node.send(this.#relay, new HubDropTab(s));
    for (const peer of s.peers) {
      const down = [Op.NodeDown, this.node.name, peer, s.name, errorToWire(ErrNoConnection)];
      const other = this.sessions.get(peer);
      if (other !== undefined) {
        other.deletePeer(s.name);
        try {
          other.deliverFrame(down);
        } catch {
          // The other tab's queue is full: it hears the node down when its own window ends.
        }
      } else if (
        gatewayOfTab(peer) === undefined &&
        this.#enp?.serves(peer) !== true &&
        this.#erl?.serves(peer) !== true
      )
        this.#toRelay(peer, down);
    }
  }

  #endAll(): void {
    for (const s of [...this.sessions.values()]) this.#expire(s, 'the gateway stopped');
  }

  tabs(): TabInfo[] {
    return [...this.sessions.values()].map((s) => s.info(this.#labels.get(s) ?? ''));
  }

  handOut(tab: string, target: PID | Alias): void {
    const s = this.sessions.get(tab);
    if (s === undefined) throw ErrIncorrect.with(`no tab ${tab}`);
    s.policy.handOut(target);
  }

  disconnect(tab: string): boolean {
    const s = this.sessions.get(tab);
    if (s === undefined) return false;
    this.#expire(s, 'disconnected by the gateway');
    return true;
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#endAll();
    this.#refusals.stop();
    await this.#enp?.stop();
    await this.#erl?.stop();
    this.#detach();
    this.#unlisten();
    for (const c of this.#wss.clients) c.terminate();
    this.#wss.close();
    if (this.node.isAlive()) {
      try {
        if (this.#relay !== null) this.node.send(this.#relay, RELAY_STOP);
      } catch {
        // The relay is gone already (the node is stopping).
      }
    }
    this.#inspect?.stop();
    await this.#server?.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

/** Longest delay Node's timers honour (2^31 - 1 ms, about 24.8 days); longer ones fire after 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** An option's value, or `def` when it was not given: null is a value (refused by its check), not "not given". */
function given<T>(v: T | undefined, def: T): T {
  return v === undefined ? def : v;
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return data;
}

/** The limit a refusal of tab `s` met, for its log line ('' for a refusal of another kind). */
function limitOf(s: TabSession, e: Error): string {
  if (e === ErrTabRateLimit) return ` (${s.limits.messagesPerSecond}/s)`;
  return e === ErrTabBytesLimit ? ` (${s.limits.bytesPerSecond} B/s)` : '';
}

function hasReqId(op: number): boolean {
  return op === Op.Send || op === Op.Call || op === Op.Response || op === Op.Relation;
}

const OP_NAMES: Record<number, string> = {
  [Op.Send]: 'send',
  [Op.Call]: 'call',
  [Op.Response]: 'response',
  [Op.Exit]: 'exit',
  [Op.Event]: 'event',
  [Op.Relation]: 'relation',
  [Op.Terminate]: 'terminate',
  [Op.Ack]: 'ack',
  [Op.NodeDown]: 'node-down',
};

function opName(op: number): string {
  return OP_NAMES[op] ?? `op ${op}`;
}

/**
 * Starts a tab gateway on `node` (a started node; its network, if any, reaches the server nodes
 * that run {@link attachTabRoutes}). Registers the relay process `tabs_relay` on it and attaches
 * the tab nodes' routes. Stop it with `stop()` (the node's stop ends its sessions too).
 * @throws ErrIncorrect for bad options; ErrTaken when `tabs_relay` is registered already; the
 *   listen error of its own server.
 */
export async function createTabGateway(node: Node, options: TabGatewayOptions): Promise<TabGateway> {
  let gw: Gateway;
  try {
    gw = new Gateway(node, options);
  } catch (e) {
    // Options that are no object, or a getter or Proxy that throws: refused with the code, as a bad value is.
    if (typeof (e as { code?: unknown } | null)?.code === 'string') throw e;
    throw ErrIncorrect.with(`tab gateway options could not be read: ${toError(e).message}`);
  }
  try {
    await gw.start();
  } catch (e) {
    await gw.stop();
    throw e;
  }
  return gw;
}
