// Helpers for the distributed suites (dist.*.test.ts): a trapping watcher process that records
// everything it gets and runs code sent to it as a call, the ergo-peer JSON forms of PIDs and
// addresses, a Go peer with a route back to a TS node, and a TS node in a child OS process
// (dist_fixture.ts) driven over IPC.

import { fork, type ChildProcess, type StdioOptions } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Actor, Alias, PID, type MessageEvent, type Node, type Ref, type Atom } from '../src/index.js';
import { Inbox, within } from './helpers.js';
import { netNode, portOf, routeTo } from './net_helpers.js';
import { Peer, requirePeer, type Host } from '@ergo-ts/test-support';

export const DIST_COOKIE = 'dist-secret';

/** A function a {@link Watcher} runs in its own handler (sent to it as a call request). */
export type Job<T> = (self: Watcher) => T | Promise<T>;
class Run {
  constructor(readonly fn: Job<unknown>) {}
}

/** Traps exits; every message and event goes to `inbox`; calls carrying a {@link Run} execute it. */
export class Watcher extends Actor {
  constructor(readonly inbox: Inbox) {
    super();
  }
  override init(): void {
    this.setTrapExit(true);
  }
  override handleMessage(from: PID, message: unknown): void {
    this.inbox.push(message, from);
  }
  override handleEvent(message: MessageEvent): void {
    this.inbox.push(message, this.pid);
  }
  override handleCall(_from: PID, _ref: Ref, request: unknown): unknown {
    if (!(request instanceof Run)) return request;
    // A rejection is returned as a value so the test sees the real error (not a call failure).
    try {
      return Promise.resolve(request.fn(this)).then(
        (v) => ({ ok: v }),
        (e: unknown) => ({ err: e }),
      );
    } catch (e) {
      return { err: e };
    }
  }
}

/** A spawned watcher: its PID, what it got, and `run` to act as it. */
export interface WatcherRef {
  pid: PID;
  inbox: Inbox;
  run<T>(fn: Job<T>): Promise<T>;
}

export async function watcher(node: Node): Promise<WatcherRef> {
  const inbox = new Inbox();
  const pid = await node.spawn(() => new Watcher(inbox));
  return {
    pid,
    inbox,
    async run<T>(fn: Job<T>): Promise<T> {
      const r = (await within(
        node.call(pid, new Run(fn as Job<unknown>), { timeout: 10_000 }),
        'watcher job',
        12_000,
      )) as { ok?: T; err?: unknown };
      if ('err' in r) throw r.err;
      return r.ok as T;
    },
  };
}

/** Waits until the inbox holds a message matching `pred`; returns it. */
export async function seen<T>(inbox: Inbox, pred: (m: unknown) => m is T, what: string, ms = 8000): Promise<T> {
  const deadline = Date.now() + ms;
  for (let n = 1; ; n++) {
    const found = inbox.items.find((s) => pred(s.message));
    if (found !== undefined) return found.message as T;
    await within(inbox.count(Math.max(n, inbox.items.length + 1)), what, Math.max(1, deadline - Date.now()));
  }
}

// --- ergo-peer value forms ---------------------------------------------------------------------

export function pidJSON(pid: PID): unknown {
  return { $: 'gen.PID', v: { node: pid.node, id: pid.id, creation: pid.creation } };
}

/** A `gen.PID` / `gen.Alias` value from an ergo-peer line. */
export function pidOf(value: unknown): PID {
  const v = (value as { v: { node: string; id: number; creation: number } }).v;
  return new PID(v.node as Atom, v.id, v.creation);
}
export function aliasOf(value: unknown): Alias {
  const v = (value as { v: { node: string; id: number[]; creation: number } }).v;
  return new Alias(v.node as Atom, v.creation, v.id as never);
}

/** A Go peer (no registrar) named `name`, sharing the cookie. */
export function goPeer(bin: string, name: string, extra: string[] = []): Promise<Peer> {
  return Peer.start(bin, ['-name', name, '-registrar', 'none', '-cookie', DIST_COOKIE, ...extra]);
}

/**
 * A Go peer named `<prefix><pid>@localhost` for test `t`, stopped after it (a killed one is only
 * waited for: its stdin is closed, so a stop would write into a broken pipe); undefined when the
 * test skipped because the peer binary is absent (see requirePeer).
 */
export async function startGoPeer(
  t: { after(fn: () => Promise<void>): void; skip(m: string): void },
  prefix: string,
  extra: string[] = [],
): Promise<Peer | undefined> {
  const bin = requirePeer(t);
  if (bin === undefined) return undefined;
  const go = await goPeer(bin, `${prefix}${process.pid}@localhost`, extra);
  t.after(() => (go.child.killed ? go.exited.then(() => undefined) : go.stop()));
  return go;
}

/** The Go peer's node name. */
export function goName(go: Peer): Atom {
  return String(go.ready.node) as Atom;
}

/** A TS node with a route to `go` and a route on `go` back to it. */
export async function tsFor(
  t: { after(fn: () => Promise<void>): void },
  prefix: string,
  go: Peer,
  network: Record<string, unknown> = {},
): Promise<Node> {
  const goName = String(go.ready.node);
  const node = await netNode(prefix, {
    cookie: DIST_COOKIE,
    routes: [{ match: goName.replace(/[.$]/g, '\\$&'), route: routeTo(go.ready.port as number) }],
    ...network,
  });
  t.after(() => node.stop().catch(() => undefined));
  const r = await go.cmd('route_add', {
    match: '^' + node.name.replace(/[.$]/g, '\\$&') + '$',
    host: '127.0.0.1',
    port: portOf(node),
  });
  if (r.kind !== 'result') throw new Error(`route_add: ${String(r.error)}`);
  return node;
}

// --- a TS node in a child OS process -------------------------------------------------------------

const FIXTURE = fileURLToPath(new URL('./dist_fixture.js', import.meta.url));

export interface ChildNode {
  proc: ChildProcess;
  name: string;
  port: number;
  creation: number;
  /** Sends an IPC command and waits for its answer `{ id, ok } | { id, err }`. */
  /** Runs `cmd` in the child; rejects after `ms` (default 60 s, a bound against a hang only; heavy commands pass more). */
  cmd(cmd: string, fields?: Record<string, unknown>, ms?: number): Promise<unknown>;
  /** Unsolicited reports from the child (`{ kind: 'report', ... }`). */
  reports: Record<string, unknown>[];
  /** The first report `pred` accepts, waited for up to `ms` (default 8 s). */
  report(pred: (r: Record<string, unknown>) => boolean, what: string, ms?: number): Promise<Record<string, unknown>>;
  kill(): void;
}

/**
 * Starts dist_fixture.ts in a child OS process named `name`; with `host`, inside that test host
 * (a network namespace of @ergo-ts/test-support), listening on the host's own address.
 */
export async function startChild(name: string, host?: Host): Promise<ChildNode> {
  const env = { ...process.env, DIST_FIXTURE_NAME: name, DIST_FIXTURE_COOKIE: DIST_COOKIE };
  const stdio: StdioOptions = ['ignore', 'inherit', 'inherit', 'ipc'];
  const proc =
    host === undefined
      ? fork(FIXTURE, [], { env, stdio })
      : host.spawn(process.execPath, [...process.execArgv, FIXTURE], {
          env: { ...env, DIST_FIXTURE_HOST: host.address },
          stdio,
        });
  const ready = await within(
    new Promise<{ name: string; port: number; creation: number }>((resolve, reject) => {
      const onMessage = (m: { kind?: string; name: string; port: number; creation: number }): void => {
        if (m.kind !== 'ready') return;
        proc.off('message', onMessage);
        resolve(m);
      };
      proc.on('message', onMessage);
      proc.once('exit', (code) => reject(new Error(`fixture exited with ${String(code)} before ready`)));
    }),
    'fixture ready',
    15_000,
  );
  let next = 1;
  const waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  const reports: Record<string, unknown>[] = [];
  const reportWaiters: (() => void)[] = [];
  proc.on('message', (m: { id?: number; ok?: unknown; err?: string; kind?: string }) => {
    if (m.kind === 'report') {
      reports.push(m as Record<string, unknown>);
      for (const w of [...reportWaiters]) w();
      return;
    }
    const w = waiting.get(m.id!);
    if (w === undefined) return;
    waiting.delete(m.id!);
    if (m.err !== undefined) w.reject(new Error(m.err));
    else w.resolve(m.ok);
  });
  proc.on('exit', () => {
    for (const w of waiting.values()) w.reject(new Error('fixture exited'));
    waiting.clear();
  });
  return {
    proc,
    name: ready.name,
    port: ready.port,
    creation: ready.creation,
    reports,
    cmd(cmd, fields = {}, ms = 60_000) {
      const id = next++;
      return within(
        new Promise((resolve, reject) => {
          waiting.set(id, { resolve, reject });
          proc.send({ cmd, id, ...fields });
        }),
        `fixture ${cmd}`,
        ms,
      );
    },
    report(pred, what, ms = 8000) {
      return within(
        new Promise((resolve) => {
          const check = (): void => {
            const r = reports.find(pred);
            if (r === undefined) return;
            reportWaiters.splice(reportWaiters.indexOf(check), 1);
            resolve(r);
          };
          reportWaiters.push(check);
          check();
        }),
        what,
        ms,
      );
    },
    kill() {
      proc.kill('SIGKILL');
    },
  };
}

/** A TS node in this process with a route to `child`. */
export async function parentFor(
  t: { after(fn: () => Promise<void>): void },
  prefix: string,
  child: ChildNode,
  network: Record<string, unknown> = {},
): Promise<Node> {
  const node = await netNode(prefix, {
    cookie: DIST_COOKIE,
    routes: [{ match: child.name.replace(/[.$]/g, '\\$&'), route: routeTo(child.port) }],
    ...network,
  });
  t.after(() => node.stop().catch(() => undefined));
  return node;
}
