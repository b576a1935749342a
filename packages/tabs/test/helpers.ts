// Helpers of the tab tests: a gateway node with a network (port 0) and a tab gateway, log lines
// a test can wait for, typed Board and TabView actors, and a server node in another OS process
// (server_fixture.ts) driven over IPC, and a proxy that withholds a tab's upgrade request.

import { fork } from 'node:child_process';
import { connect as connectTcp, createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

import {
  Actor,
  MessageDownPID,
  MessageExitPID,
  PID,
  startNode,
  type Event,
  type HandlerResult,
  type MessageEvent,
  type NetworkRoute,
  type Node,
  type NodeOptions,
  type Ref,
} from 'ergo-ts';
import { IpcCommands, ipcMessage, isStarted, within } from '@ergo-ts/test-support';

import { createTabGateway, joinGateway, type TabGateway, type TabGatewayOptions, type TabNode } from '../src/index.js';
import { Ctl, decodeFrame, encodeFrame, type Frame } from '../src/frame.js';
import { Board, TabView } from './protocols.js';

export const COOKIE = 'tabs-secret';
let seq = 0;

/** Log lines of a node, with a wait for the first line that matches. */
export class LogLines {
  readonly lines: string[] = [];
  #waiters: { re: RegExp; resolve: (l: string) => void }[] = [];
  #checks: { check: () => boolean; resolve: () => void }[] = [];
  write = (line: string): boolean => {
    this.lines.push(line);
    this.#waiters = this.#waiters.filter((w) => {
      if (!w.re.test(line)) return true;
      w.resolve(line);
      return false;
    });
    this.#checks = this.#checks.filter((c) => {
      if (!c.check()) return true;
      c.resolve();
      return false;
    });
    return true;
  };
  /** Resolves once `check()` holds: now, or after a line to come. */
  until(check: () => boolean, what: string, ms = 20_000): Promise<void> {
    if (check()) return Promise.resolve();
    return within(new Promise<void>((resolve) => this.#checks.push({ check, resolve })), what, ms);
  }
  /**
   * Refusals the gateway logged (matching `re`, e.g. a tab's name or a code): one per line of its
   * own, and the count of each summary line (`N more refusals (CODE)`).
   */
  refusals(re: RegExp = /./): number {
    let n = 0;
    for (const l of this.lines) {
      if (!re.test(l)) continue;
      if (/refused: /.test(l)) n++;
      const m = / (\d+) more refusals \(/.exec(l);
      if (m !== null) n += Number(m[1]);
    }
    return n;
  }
  /** The first line (logged already or to come) matching `re`. */
  waitFor(re: RegExp, what: string, ms = 20_000): Promise<string> {
    const seen = this.lines.find((l) => re.test(l));
    if (seen !== undefined) return Promise.resolve(seen);
    return within(new Promise<string>((resolve) => this.#waiters.push({ re, resolve })), what, ms);
  }
  /** Lines matching `re` so far. */
  count(re: RegExp): number {
    return this.lines.filter((l) => re.test(l)).length;
  }
}

/** Quiet node options writing to `lines`. */
export function quiet(lines: LogLines = new LogLines()): NodeOptions {
  return { systemApp: false, log: { defaultLogger: { output: lines } } };
}

/** A typed board: `add` answers n + 1, `self` its PID, notes go to `notes`. */
export class BoardActor extends Actor.of(Board) {
  constructor(readonly notes: string[] = []) {
    super();
  }
  override handleMessage(_from: PID, msg: string): void {
    this.notes.push(msg);
  }
  override handleCall(_from: PID, _ref: Ref, req: number | 'self') {
    if (req === 'self') return this.reply(req, this.pid);
    return this.reply(req, req + 1);
  }
}

/** Registers the event 'news' and publishes every message it gets on it (one publish each). */
export class NewsActor extends Actor {
  token!: Ref;
  override init(): void {
    this.token = this.registerEvent('news');
  }
  override handleMessage(_from: PID, m: unknown): void {
    this.sendEvent('news', this.token, m);
  }
}

/** A tab's typed view: `render` answers `rendered:<s>`, `show` lines go to `shown`. */
export class ViewActor extends Actor.of(TabView) {
  constructor(readonly shown: string[] = []) {
    super();
  }
  override handleMessage(_from: PID, msg: string): void {
    this.shown.push(msg);
  }
  override handleCall(_from: PID, _ref: Ref, req: string): string {
    return `rendered:${req}`;
  }
}

/** What a {@link WatchActor} saw: exit and down reasons (their codes) by target. */
export interface Watched {
  exits: { pid: PID; code: string }[];
  downs: { pid: PID; code: string }[];
  wait: Promise<void>;
  /** Called after each exit or down recorded. */
  changed?: () => void;
}

/** Traps exits; records MessageExitPID / MessageDownPID; `onBoth` when it has one of each. */
export class WatchActor extends Actor {
  constructor(
    readonly seen: Watched,
    readonly onBoth: () => void,
  ) {
    super();
  }
  override init(): void {
    this.setTrapExit(true);
  }
  override handleMessage(_from: PID, m: unknown): HandlerResult {
    const code = (r: Error): string => String((r as { code?: unknown }).code ?? r.message);
    if (m instanceof MessageExitPID) this.seen.exits.push({ pid: m.pid, code: code(m.reason) });
    if (m instanceof MessageDownPID) this.seen.downs.push({ pid: m.pid, code: code(m.reason) });
    if (this.seen.exits.length > 0 && this.seen.downs.length > 0) this.onBoth();
    this.seen.changed?.();
  }
  override async handleCall(_from: PID, _ref: Ref, req: unknown): Promise<unknown> {
    if (req instanceof PID) {
      this.link(req);
      this.monitor(req);
      // Held on the target's node before the caller goes on (a tab's frames leave at the end of the task).
      await this.relationsConfirmed();
      return 'watching';
    }
    return req;
  }
}

/** Spawns a watcher on `node`; `watch(pid)` links and monitors `pid` from it. */
export async function watcherOn(node: Node): Promise<{ seen: Watched; watch(pid: PID): Promise<unknown> }> {
  let both!: () => void;
  const seen: Watched = { exits: [], downs: [], wait: new Promise<void>((r) => (both = r)) };
  const w = await node.spawn(() => new WatchActor(seen, both));
  return { seen, watch: (pid) => node.call(w, pid) };
}

/** A gateway node (network on port 0) with a tab gateway; both stop after the test. */
export async function gatewayNode(
  t: { after(fn: () => Promise<void>): void },
  options: Partial<TabGatewayOptions> = {},
): Promise<{ g: Node; gw: TabGateway; lines: LogLines }> {
  const lines = new LogLines();
  const g = await startNode(`gw${process.pid}x${seq++}@localhost`, {
    ...quiet(lines),
    network: { cookie: COOKIE, acceptors: [{ port: 0 }], registrar: null },
  });
  const gw = await createTabGateway(g, { admit: () => ({ names: { board: Board } }), ...options });
  t.after(async () => {
    await gw.stop();
    await g.stop();
  });
  return { g, gw, lines };
}

/** A tab joined with `token`; it leaves after the test. */
export async function tabOf(
  t: { after(fn: () => Promise<void>): void },
  gw: TabGateway,
  token = 'good',
  extra: Partial<Parameters<typeof joinGateway>[0]> = {},
): Promise<TabNode & { lines: LogLines }> {
  const lines = new LogLines();
  const tab = await joinGateway({ url: gw.url, token, node: quiet(lines), ...extra });
  t.after(() => tab.leave());
  return Object.assign(tab, { lines });
}

/** The port a node's first acceptor listens on. */
export function portOf(node: Node): number {
  const i = node.network().acceptors()[0]!.info().interface;
  return Number(i.slice(i.lastIndexOf(':') + 1));
}

/** A static route to a loopback port. */
export function routeTo(port: number): NetworkRoute {
  const v = { name: '', release: '' };
  return { route: { host: '127.0.0.1', port, tls: false, handshakeVersion: v, protoVersion: v } };
}

/** A PID as it crosses IPC. */
export interface PidJson {
  node: string;
  id: number;
  creation: number;
}
export const pidJson = (p: PID): PidJson => ({ node: p.node, id: p.id, creation: p.creation });

/**
 * A server node in another OS process (server_fixture.ts) with a static route to gateway node
 * `g`, and `g` with one to it; it stops after the test.
 */
export async function serverProcess(
  t: { after(fn: () => Promise<void>): void },
  g: Node,
): Promise<{ name: string; ipc: IpcCommands }> {
  const file = fileURLToPath(new URL('./server_fixture.js', import.meta.url));
  const proc = fork(file, [], {
    env: { ...process.env, TABS_GATEWAY: g.name, TABS_GATEWAY_PORT: String(portOf(g)), TABS_COOKIE: COOKIE },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ready = await ipcMessage(proc, isStarted, 'server node ready');
  g.network().addRoute(ready.name.replace(/[.$]/g, '\\$&'), routeTo(ready.port), 1);
  const ipc = new IpcCommands(proc, ready.name);
  t.after(async () => {
    if (ipc.running) await ipc.ask('stop').catch(() => undefined);
    await ipc.exited;
  });
  return { name: ready.name, ipc };
}

/** Subscribes (monitorEvent) to `event` in init; every event it gets goes to `onEvent`. */
export class Subscriber extends Actor {
  constructor(
    readonly event: Event,
    readonly onEvent: (m: MessageEvent) => void,
  ) {
    super();
  }
  override async init(): Promise<void> {
    await this.monitorEvent(this.event);
  }
  override handleEvent(m: MessageEvent): void {
    this.onEvent(m);
  }
}

/** A raw tab: the WebSocket with hand-made frames (what a hostile page could send). */
export async function rawTab(url: string): Promise<{
  name: string;
  send(f: unknown[] | Uint8Array): void;
  next(): Promise<Frame>;
  close(): void;
  /** The close code of the socket, once it closed. */
  closed: Promise<number>;
}> {
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  const closed = new Promise<number>((resolve) => (ws.onclose = (ev) => resolve(ev.code)));
  const inbox: Frame[] = [];
  let wake: (() => void) | null = null;
  ws.onmessage = (ev) => {
    inbox.push(decodeFrame(new Uint8Array(ev.data as ArrayBuffer)));
    wake?.();
  };
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error('raw tab: no socket'));
  });
  const next = async (): Promise<Frame> => {
    while (inbox.length === 0) await new Promise<void>((r) => (wake = r));
    return inbox.shift()!;
  };
  ws.send(encodeFrame([Ctl.Hello, 'good', '']));
  const welcome = await next();
  if (welcome[0] !== Ctl.Welcome) throw new Error(`raw tab: no welcome (op ${welcome[0]})`);
  return {
    name: String(welcome[1]),
    send: (f) => ws.send(f instanceof Uint8Array ? f : encodeFrame(f)),
    next,
    close: () => ws.close(),
    closed,
  };
}

/**
 * A TCP proxy to `port` (a gateway's own server) that withholds the requests of its first
 * `withheld` connections (a network that delays a tab's upgrade request): the gateway's
 * `upgradeTimeout` passes and it refuses the upgrade with HTTP (408, or 503 when busy), which the
 * client gets, and its close closes the client. Later connections pass as they are.
 * `connections()` counts the connections it took.
 */
export async function withholdingProxy(
  t: { after(fn: () => Promise<void>): void },
  port: number,
  withheld: number,
): Promise<{ url: (path: string) => string; connections: () => number }> {
  let n = 0;
  const all = new Set<Socket>();
  const server = createNetServer((inbound) => {
    const hold = n++ < withheld;
    const outbound = connectTcp(port, '127.0.0.1');
    for (const x of [inbound, outbound]) {
      all.add(x);
      x.on('error', () => undefined);
      x.on('close', () => {
        inbound.destroy();
        outbound.destroy();
      });
    }
    // A withheld request is read and dropped: the gateway hears nothing from the client.
    if (hold) inbound.on('data', () => undefined);
    else inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(async () => {
    for (const x of all) x.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });
  const at = (server.address() as AddressInfo).port;
  return { url: (path) => `ws://127.0.0.1:${at}${path}`, connections: () => n };
}
