// The two halves of a tab's ENP bridge (enp_bridge.ts), each a gen `Core` that applies what one
// side sends to the other side's link:
// - TabCore is the Core of the tab's network endpoint: what a Go Ergo node sends the tab's name
//   over ENP (a send, a call, a link, an event, a reply) becomes a tab frame through the
//   FrameConnection from that Go node to the tab (the frames a server node's relay writes);
// - OutCore is what `applyFrame` applies a tab's frame for a Go node to: each route call becomes
//   the same operation on the endpoint's ENP connection to that node.
// A Go value the tab frame codec cannot carry (a registered struct, a typed array) is refused at
// the gateway with ERR_TAB_VALUE and a log line; the Go caller gets the error as its answer.

import {
  Alias,
  ErrNoConnection,
  ErrNotAllowed,
  ErrUnsupported,
  LogLevel,
  PID,
  ProcessID,
  Ref,
  toError,
  type ApplicationInfo,
  type Atom,
  type Connection,
  type Core,
  type Event,
  type Log,
  type MessageEvent,
  type MessageOptions,
  type ProcessFactory,
  type SecurityOptions,
} from 'ergo-ts';
import type { EndpointCore, RelationTarget } from 'ergo-ts/net';

import type { FrameConnection } from './frame_connection.js';

/** What a TabCore needs of its endpoint. */
export interface TabCoreHost {
  readonly log: Log;
  /** The link that carries frames from Go node `node` to the tab (made on first use). */
  link(node: Atom): FrameConnection;
  /** The ENP connection to `node` (for refusals the tab's side answers late). */
  connection(node: Atom): Connection;
  /** The connection to `node` is gone: the tab hears `noconnection`. */
  nodeDown(node: Atom, reason: Error): void;
}

/** Options for a frame: what ENP already acknowledged is not asked of the tab again. */
function plain(o: MessageOptions): MessageOptions {
  return o.important ? { ...o, important: false } : o;
}

const NO_SECURITY: SecurityOptions = Object.freeze({
  exposeEnvInfo: false,
  exposeEnvRemoteSpawn: false,
  exposeEnvRemoteApplicationStart: false,
  inspectMessages: false,
});

/**
 * The Core of tab `name`'s network endpoint (lifecycle: that of its endpoint). Every route call
 * is posted to the tab; a post that throws (ERR_TAB_VALUE, ERR_TAB_QUEUE_FULL) is logged and
 * thrown on, so ENP answers an important send or a call with it.
 */
export class TabCore implements EndpointCore {
  #refs = 0;
  readonly #pid: PID;

  constructor(
    private readonly tab: Atom,
    private readonly tabCreation: number,
    private readonly host: TabCoreHost,
  ) {
    this.#pid = new PID(tab, 1, tabCreation);
  }

  #post(what: string, from: PID, fn: (l: FrameConnection) => unknown): void {
    try {
      const r = fn(this.host.link(from.node));
      if (r instanceof Promise) r.catch((e: unknown) => this.#lost(what, from, toError(e)));
    } catch (e) {
      this.#lost(what, from, toError(e));
      throw e;
    }
  }

  #lost(what: string, from: PID, e: Error): void {
    this.host.log.warning('tab %s: %s from %s refused: %s', this.tab, what, from.toString(), e.message);
  }

  /**
   * A Go node's link or monitor request, answered when the tab answers (ENP's MessageResult waits
   * for it): the tab's refusal (no such process) is the Go requester's error.
   */
  routeRelationLater(kind: 'link' | 'monitor', pid: PID, target: RelationTarget): Promise<MessageEvent[] | undefined> {
    const what = `a ${kind}`;
    let p: Promise<unknown>;
    try {
      const l = this.host.link(pid.node);
      const link = kind === 'link';
      if (target instanceof PID) p = link ? l.linkPID(pid, target) : l.monitorPID(pid, target);
      else if (target instanceof ProcessID) p = link ? l.linkProcessID(pid, target) : l.monitorProcessID(pid, target);
      else if (target instanceof Alias) p = link ? l.linkAlias(pid, target) : l.monitorAlias(pid, target);
      else p = link ? l.linkEvent(pid, target) : l.monitorEvent(pid, target);
    } catch (e) {
      this.#lost(what, pid, toError(e));
      return Promise.reject(toError(e));
    }
    return p.then(
      (v) => (Array.isArray(v) ? (v as MessageEvent[]) : undefined),
      (e: unknown) => {
        const err = toError(e);
        // The tab's session or the Go node's connection ended: the Go side hears that as such.
        if ((err as { code?: unknown }).code !== ErrNoConnection.code) this.#lost(what, pid, err);
        throw err;
      },
    );
  }

  /**
   * A relation from a peer that does not wait for its answer (ergo-ts's batched monitors): a
   * refusal reaches the watcher as the target's end, as for a link to a process gone.
   */
  #relate(kind: 'link' | 'monitor', pid: PID, target: RelationTarget): void {
    this.routeRelationLater(kind, pid, target).catch((e: unknown) => {
      const err = toError(e);
      if ((err as { code?: unknown }).code === ErrNoConnection.code) return;
      try {
        const c = this.host.connection(pid.node);
        if (target instanceof PID) c.sendTerminatePID(target, err);
        else if (target instanceof ProcessID) c.sendTerminateProcessID(target, err);
        else if (target instanceof Alias) c.sendTerminateAlias(target, err);
        else c.sendTerminateEvent(target, err);
      } catch (e2) {
        this.host.log.warning('tab %s: the %s of %s not told: %s', this.tab, kind, pid.node, toError(e2).message);
      }
    });
  }

  routeSendPID(from: PID, to: PID, o: MessageOptions, message: unknown): void {
    this.#post('a send', from, (l) => l.sendPID(from, to, plain(o), message));
  }
  routeSendProcessID(from: PID, to: ProcessID, o: MessageOptions, message: unknown): void {
    this.#post('a send', from, (l) => l.sendProcessID(from, to, plain(o), message));
  }
  routeSendAlias(from: PID, to: Alias, o: MessageOptions, message: unknown): void {
    this.#post('a send', from, (l) => l.sendAlias(from, to, plain(o), message));
  }
  routeSendEvent(from: PID, _token: Ref, o: MessageOptions, message: MessageEvent): void {
    this.#post('an event', from, (l) => l.sendEvent(from, o, message));
  }
  routeSendExit(from: PID, to: PID, reason: Error): void {
    this.#post('an exit', from, (l) => l.sendExit(from, to, reason));
  }
  routeSendResponse(from: PID, to: PID, o: MessageOptions, message: unknown, ok = true): void {
    this.#post('a response', from, (l) =>
      ok ? l.sendResponse(from, to, plain(o), message) : l.sendResponseError(from, to, plain(o), message as Error),
    );
  }
  routeCallPID(from: PID, to: PID, o: MessageOptions, message: unknown): void {
    this.#post('a call', from, (l) => l.callPID(from, to, plain(o), message));
  }
  routeCallProcessID(from: PID, to: ProcessID, o: MessageOptions, message: unknown): void {
    this.#post('a call', from, (l) => l.callProcessID(from, to, plain(o), message));
  }
  routeCallAlias(from: PID, to: Alias, o: MessageOptions, message: unknown): void {
    this.#post('a call', from, (l) => l.callAlias(from, to, plain(o), message));
  }

  routeLinkPID(pid: PID, target: PID): void {
    this.#relate('link', pid, target);
  }
  routeUnlinkPID(pid: PID, target: PID): void {
    this.#post('an unlink', pid, (l) => l.unlinkPID(pid, target));
  }
  routeLinkProcessID(pid: PID, target: ProcessID): void {
    this.#relate('link', pid, target);
  }
  routeUnlinkProcessID(pid: PID, target: ProcessID): void {
    this.#post('an unlink', pid, (l) => l.unlinkProcessID(pid, target));
  }
  routeLinkAlias(pid: PID, target: Alias): void {
    this.#relate('link', pid, target);
  }
  routeUnlinkAlias(pid: PID, target: Alias): void {
    this.#post('an unlink', pid, (l) => l.unlinkAlias(pid, target));
  }
  /** A peer that does not wait: the tab's buffered events are not waited for either. */
  routeLinkEvent(pid: PID, target: Event): MessageEvent[] {
    this.#relate('link', pid, target);
    return [];
  }
  routeUnlinkEvent(pid: PID, target: Event): void {
    this.#post('an event unlink', pid, (l) => l.unlinkEvent(pid, target));
  }
  routeMonitorPID(pid: PID, target: PID): void {
    this.#relate('monitor', pid, target);
  }
  routeDemonitorPID(pid: PID, target: PID): void {
    this.#post('a demonitor', pid, (l) => l.demonitorPID(pid, target));
  }
  routeMonitorProcessID(pid: PID, target: ProcessID): void {
    this.#relate('monitor', pid, target);
  }
  routeDemonitorProcessID(pid: PID, target: ProcessID): void {
    this.#post('a demonitor', pid, (l) => l.demonitorProcessID(pid, target));
  }
  routeMonitorAlias(pid: PID, target: Alias): void {
    this.#relate('monitor', pid, target);
  }
  routeDemonitorAlias(pid: PID, target: Alias): void {
    this.#post('a demonitor', pid, (l) => l.demonitorAlias(pid, target));
  }
  routeMonitorEvent(pid: PID, target: Event): MessageEvent[] {
    this.#relate('monitor', pid, target);
    return [];
  }
  routeDemonitorEvent(pid: PID, target: Event): void {
    this.#post('an event demonitor', pid, (l) => l.demonitorEvent(pid, target));
  }

  // A Go target a tab process watches ended: the tab's node hears it from that node.
  routeTerminatePID(target: PID, reason: Error): void {
    this.host.link(target.node).sendTerminatePID(target, reason);
  }
  routeTerminateProcessID(target: ProcessID, reason: Error): void {
    this.host.link(target.node).sendTerminateProcessID(target, reason);
  }
  routeTerminateEvent(target: Event, reason: Error): void {
    this.host.link(target.node).sendTerminateEvent(target, reason);
  }
  routeTerminateAlias(target: Alias, reason: Error): void {
    this.host.link(target.node).sendTerminateAlias(target, reason);
  }

  // Tabs never take part in remote spawn or application start (as over their own link).
  routeSpawn(): Promise<PID> {
    return Promise.reject(ErrNotAllowed.with(`remote spawn on tab ${this.tab}`));
  }
  routeSpawnNow(): PID | Promise<PID> {
    throw ErrNotAllowed.with(`remote spawn on tab ${this.tab}`);
  }
  routeApplicationStart(): Promise<void> {
    return Promise.reject(ErrNotAllowed.with(`application start on tab ${this.tab}`));
  }
  routeApplicationInfo(): ApplicationInfo {
    throw ErrNotAllowed.with(`application info of tab ${this.tab}`);
  }
  enableSpawn(_name: Atom, _factory: ProcessFactory, _nodes: Atom[]): void {
    throw ErrUnsupported.with('remote spawn on a tab');
  }
  disableSpawn(): void {}
  enableApplicationStart(): void {
    throw ErrUnsupported.with('application start on a tab');
  }
  disableApplicationStart(): void {}
  enabledSpawns(): { name: Atom; behavior: string; nodes: Atom[] }[] {
    return [];
  }
  enabledApplicationStarts(): { name: Atom; nodes: Atom[] }[] {
    return [];
  }

  routeNodeDown(node: Atom, reason: Error): void {
    this.host.nodeDown(node, reason);
  }
  routeNodeUp(): void {}

  makeRef(): Ref {
    const n = ++this.#refs;
    return new Ref(this.tab, this.tabCreation, [n, 0, 0]);
  }
  name(): Atom {
    return this.tab;
  }
  creation(): number {
    return this.tabCreation;
  }
  pid(): PID {
    return this.#pid;
  }
  logLevel(): LogLevel {
    return LogLevel.Info;
  }
  security(): SecurityOptions {
    return NO_SECURITY;
  }
  envList(): Record<string, unknown> {
    return {};
  }
}

/**
 * What `applyFrame` applies a tab's frame for Go node `dst` to: each route call is the same
 * operation on the ENP connection to `dst` (set before each frame). Relations are not routed
 * here (they are answered when the Go node answers, enp_bridge.ts); a late failure of an
 * important send is logged.
 */
export class OutCore implements OutRoutes {
  dst = '' as Atom;

  constructor(
    private readonly tab: string,
    private readonly connection: (node: Atom) => Connection,
    private readonly log: Log,
  ) {}

  #c(): Connection {
    return this.connection(this.dst);
  }

  #late(p: Promise<void> | void): void {
    if (p instanceof Promise)
      p.catch((e: unknown) =>
        this.log.warning('tab %s: important delivery to %s failed: %s', this.tab, this.dst, toError(e).message),
      );
  }

  routeSendPID(from: PID, to: PID, o: MessageOptions, message: unknown): void {
    this.#late(this.#c().sendPID(from, to, o, message));
  }
  routeSendProcessID(from: PID, to: ProcessID, o: MessageOptions, message: unknown): void {
    this.#late(this.#c().sendProcessID(from, to, o, message));
  }
  routeSendAlias(from: PID, to: Alias, o: MessageOptions, message: unknown): void {
    this.#late(this.#c().sendAlias(from, to, o, message));
  }
  routeSendEvent(from: PID, _token: Ref, o: MessageOptions, message: MessageEvent): void {
    this.#c().sendEvent(from, o, message);
  }
  routeSendExit(from: PID, to: PID, reason: Error): void {
    this.#c().sendExit(from, to, reason);
  }
  routeSendResponse(from: PID, to: PID, o: MessageOptions, message: unknown, ok = true): void {
    const c = this.#c();
    this.#late(ok ? c.sendResponse(from, to, o, message) : c.sendResponseError(from, to, o, message as Error));
  }
  routeCallPID(from: PID, to: PID, o: MessageOptions, message: unknown): void {
    this.#late(this.#c().callPID(from, to, o, message));
  }
  routeCallProcessID(from: PID, to: ProcessID, o: MessageOptions, message: unknown): void {
    this.#late(this.#c().callProcessID(from, to, o, message));
  }
  routeCallAlias(from: PID, to: Alias, o: MessageOptions, message: unknown): void {
    this.#late(this.#c().callAlias(from, to, o, message));
  }
  routeTerminatePID(target: PID, reason: Error): void {
    this.#c().sendTerminatePID(target, reason);
  }
  routeTerminateProcessID(target: ProcessID, reason: Error): void {
    this.#c().sendTerminateProcessID(target, reason);
  }
  routeTerminateAlias(target: Alias, reason: Error): void {
    this.#c().sendTerminateAlias(target, reason);
  }
  routeTerminateEvent(target: Event, reason: Error): void {
    this.#c().sendTerminateEvent(target, reason);
  }
  /** The sender of an error Response `applyFrame` answers a call it could not pass on with. */
  pid(): PID {
    return new PID(this.dst, 1, 0);
  }
}

/** The part of a Core `applyFrame` calls for frames other than relations. */
type OutRoutes = Pick<
  Core,
  | 'routeSendPID'
  | 'routeSendProcessID'
  | 'routeSendAlias'
  | 'routeSendEvent'
  | 'routeSendExit'
  | 'routeSendResponse'
  | 'routeCallPID'
  | 'routeCallProcessID'
  | 'routeCallAlias'
  | 'routeTerminatePID'
  | 'routeTerminateProcessID'
  | 'routeTerminateAlias'
  | 'routeTerminateEvent'
  | 'pid'
>;

/** `out` as the Core `applyFrame` takes: relations never reach it (the bridge answers them). */
export function outCore(out: OutCore): Core {
  return out as unknown as Core;
}
