// Test-only network side for the router and Core suites: a Connection that records every call
// the engine makes towards node X (what a real protocol would encode into frames), and lets a
// test answer the requests that cross the wire (link/monitor/event subscription). With it, the
// engine's remote branch and its Core can be driven before the network exists. It stands in for
// the wire only: the node, its processes and its relations are the real ones.

import type {
  Atom,
  Connection,
  Core,
  Event,
  MessageEvent,
  MessageOptions,
  Node,
  PID,
  ProcessID,
  Alias,
  RemoteNode,
} from '../src/index.js';
import { ErrNoConnection } from '../src/index.js';
import { engineOf, type NodeImpl } from '../src/node/internals.js';
import type { Router } from '../src/node/router.js';
import type { TargetManager } from '../src/node/targets.js';

/** The engine behind a node returned by startNode (the one place tests reach it). */
export function engine(node: Node): NodeImpl {
  return engineOf(node);
}

/** The node's router. */
export function routerOf(node: Node): Router {
  return engine(node).router;
}

/** The node's Core, as connections see it (typed by the gen interface only). */
export function coreOf(node: Node): Core {
  return engine(node).router.core;
}

/** The node's link/monitor store (for emptiness checks). */
export function targetsOf(node: Node): TargetManager {
  return engine(node).targets;
}

/** One call the engine made on a connection. */
export interface Sent {
  op: string;
  args: unknown[];
}

/** A pending wire request (link/monitor/event subscription) the test answers. */
interface Pending {
  op: string;
  args: unknown[];
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

/**
 * Records what the engine sends to `peer`. Requests that expect an answer wait in `pending`
 * unless `autoAccept` is set (then they resolve at once, events with `buffer`).
 */
export class RecordingConnection implements Connection {
  readonly sent: Sent[] = [];
  readonly pending: Pending[] = [];
  down = false;
  autoAccept = true;
  buffer: MessageEvent[] = [];

  constructor(readonly peer: Atom) {}

  /** Records of one operation. */
  of(op: string): unknown[][] {
    return this.sent.filter((s) => s.op === op).map((s) => s.args);
  }

  private rec(op: string, args: unknown[]): void {
    if (this.down) throw ErrNoConnection.with(this.peer);
    this.sent.push({ op, args });
  }

  private req<T>(op: string, args: unknown[], value: T): Promise<T> {
    this.rec(op, args);
    if (this.autoAccept) return Promise.resolve(value);
    return new Promise<T>((resolve, reject) =>
      this.pending.push({ op, args, resolve: resolve as (v: unknown) => void, reject }),
    );
  }

  node(): RemoteNode {
    throw new Error('not used by the engine');
  }
  /** What an important send or call returns (the peer's ack); undefined = no ack. */
  ack: (() => Promise<void>) | undefined;

  sendPID(from: PID, to: PID, options: MessageOptions, message: unknown): Promise<void> | void {
    this.rec('sendPID', [from, to, options, message]);
    return options.important && this.ack !== undefined ? this.ack() : undefined;
  }
  sendProcessID(from: PID, to: ProcessID, options: MessageOptions, message: unknown): void {
    this.rec('sendProcessID', [from, to, options, message]);
  }
  sendAlias(from: PID, to: Alias, options: MessageOptions, message: unknown): void {
    this.rec('sendAlias', [from, to, options, message]);
  }
  sendEvent(from: PID, options: MessageOptions, message: MessageEvent): void {
    this.rec('sendEvent', [from, options, message]);
  }
  sendExit(from: PID, to: PID, reason: Error): void {
    this.rec('sendExit', [from, to, reason]);
  }
  sendResponse(from: PID, to: PID, options: MessageOptions, response: unknown): void {
    this.rec('sendResponse', [from, to, options, response]);
  }
  sendResponseError(from: PID, to: PID, options: MessageOptions, error: Error): void {
    this.rec('sendResponseError', [from, to, options, error]);
  }
  sendTerminatePID(target: PID, reason: Error): void {
    this.rec('sendTerminatePID', [target, reason]);
  }
  sendTerminateProcessID(target: ProcessID, reason: Error): void {
    this.rec('sendTerminateProcessID', [target, reason]);
  }
  sendTerminateAlias(target: Alias, reason: Error): void {
    this.rec('sendTerminateAlias', [target, reason]);
  }
  sendTerminateEvent(target: Event, reason: Error): void {
    this.rec('sendTerminateEvent', [target, reason]);
  }
  callPID(from: PID, to: PID, options: MessageOptions, request: unknown): Promise<void> | void {
    this.rec('callPID', [from, to, options, request]);
    return options.important && this.ack !== undefined ? this.ack() : undefined;
  }
  callProcessID(from: PID, to: ProcessID, options: MessageOptions, request: unknown): void {
    this.rec('callProcessID', [from, to, options, request]);
  }
  callAlias(from: PID, to: Alias, options: MessageOptions, request: unknown): void {
    this.rec('callAlias', [from, to, options, request]);
  }
  linkPID(pid: PID, target: PID): Promise<void> {
    return this.req('linkPID', [pid, target], undefined);
  }
  unlinkPID(pid: PID, target: PID): void {
    this.rec('unlinkPID', [pid, target]);
  }
  linkProcessID(pid: PID, target: ProcessID): Promise<void> {
    return this.req('linkProcessID', [pid, target], undefined);
  }
  unlinkProcessID(pid: PID, target: ProcessID): void {
    this.rec('unlinkProcessID', [pid, target]);
  }
  linkAlias(pid: PID, target: Alias): Promise<void> {
    return this.req('linkAlias', [pid, target], undefined);
  }
  unlinkAlias(pid: PID, target: Alias): void {
    this.rec('unlinkAlias', [pid, target]);
  }
  linkEvent(pid: PID, target: Event): Promise<MessageEvent[]> {
    return this.req('linkEvent', [pid, target], this.buffer);
  }
  unlinkEvent(pid: PID, target: Event): void {
    this.rec('unlinkEvent', [pid, target]);
  }
  monitorPID(pid: PID, target: PID): Promise<void> {
    return this.req('monitorPID', [pid, target], undefined);
  }
  demonitorPID(pid: PID, target: PID): void {
    this.rec('demonitorPID', [pid, target]);
  }
  monitorProcessID(pid: PID, target: ProcessID): Promise<void> {
    return this.req('monitorProcessID', [pid, target], undefined);
  }
  demonitorProcessID(pid: PID, target: ProcessID): void {
    this.rec('demonitorProcessID', [pid, target]);
  }
  monitorAlias(pid: PID, target: Alias): Promise<void> {
    return this.req('monitorAlias', [pid, target], undefined);
  }
  demonitorAlias(pid: PID, target: Alias): void {
    this.rec('demonitorAlias', [pid, target]);
  }
  monitorEvent(pid: PID, target: Event): Promise<MessageEvent[]> {
    return this.req('monitorEvent', [pid, target], this.buffer);
  }
  demonitorEvent(pid: PID, target: Event): void {
    this.rec('demonitorEvent', [pid, target]);
  }
  remoteSpawn(): Promise<PID> {
    return Promise.reject(new Error('not used'));
  }
  remoteApplicationStart(): Promise<void> {
    return Promise.reject(new Error('not used'));
  }
  join(): void {
    throw new Error('not used');
  }
  terminate(): void {
    this.down = true;
  }
}

/**
 * Installs recording connections on `node` for the given peers; any other node is unreachable
 * (ErrNoConnection). Returns the connections by peer name.
 */
export function fakeNetwork(node: Node, ...peers: string[]): Map<string, RecordingConnection> {
  const conns = new Map<string, RecordingConnection>(peers.map((p) => [p, new RecordingConnection(p as Atom)]));
  routerOf(node).setConnector((peer) => {
    const c = conns.get(peer);
    if (c === undefined || c.down) throw ErrNoConnection.with(peer);
    return c;
  });
  return conns;
}

/** Takes `peer` down: its connection refuses everything and the node hears it through Core. */
export function nodeDown(node: Node, conn: RecordingConnection): void {
  conn.down = true;
  coreOf(node).routeNodeDown(conn.peer, ErrNoConnection);
}
