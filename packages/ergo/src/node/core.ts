// The engine's side of gen.Core: what a connection asks of this node when a frame arrives.
// Deliveries go to local targets exactly as local sends do (same errors, same queues); watchers
// from other nodes are recorded as RemoteConsumers (one per remote PID, indexed by node); a node
// going down notifies exactly the relations that involve it. Reached as `router.core`.

import type { ApplicationInfo } from '../gen/application.js';
import type { Atom } from '../gen/atom.js';
import type { RemoteApplicationStart, RemoteSpawnRequest, Core } from '../gen/core.js';
import {
  ErrIncorrect,
  ErrNameUnknown,
  ErrNoConnection,
  ErrNotAllowed,
  ErrProcessUnknown,
  ErrResponseIgnored,
  ErrTaken,
} from '../gen/errors.js';
import type { Event } from '../gen/event.js';
import { LogLevel, toLogLevel } from '../gen/log.js';
import { envName } from '../gen/env.js';
import { MessageExitPID, type MessageEvent } from '../gen/messages.js';
import type { SecurityOptions } from '../gen/node.js';
import type { MessageOptions } from '../gen/options.js';
import { PID } from '../gen/pid.js';
import { ExitIgnoredUnlessTrapped, MailboxKind, type ProcessFactory } from '../gen/process.js';
import type { ProcessID } from '../gen/processid.js';
import type { Alias, Ref } from '../gen/ref.js';
import { Q_URGENT } from './mailbox.js';
import { cappedInitTimeout, checkSpawnOptions, INIT_CAP_MS, spawnProcessNow } from './spawn.js';
import type { MetaImpl } from './meta.js';
import type { NodeImpl } from './node.js';
import { ProcessImpl } from './process.js';
import { S_TERMINATED, S_ZOMBEE } from './process_state.js';
import { NodeTarget, type KeyedHost, type Target } from './targets.js';

/**
 * Who may ask for a remote spawn or application start, as Ergo keeps it: an empty list admits
 * every node, a non-empty one only the nodes marked true (so `disableSpawn(name, A)` on an
 * everyone-entry, which marks A false, admits nobody — Ergo's behaviour).
 */
interface Permission {
  factory: ProcessFactory | null;
  nodes: Map<Atom, boolean>;
}

/** The node as its connections see it. */
export class CoreImpl implements Core {
  private readonly spawnable = new Map<Atom, Permission>();
  private readonly startable = new Map<Atom, Permission>();

  constructor(private readonly n: NodeImpl) {}

  // --- deliveries ---------------------------------------------------------------------------------

  private byPID(to: PID): ProcessImpl {
    this.n.checkAlive();
    return this.n.localProcess(to);
  }

  private byName(to: ProcessID): ProcessImpl {
    this.n.checkAlive();
    const p = this.n.names.get(to.name);
    if (p === undefined) throw ErrProcessUnknown.with(to.toString());
    return p;
  }

  private byAlias(to: Alias): ProcessImpl | MetaImpl {
    this.n.checkAlive();
    // A process alias, else a meta process: remote peers reach metas too (Ergo's RouteSendAlias).
    const p = this.n.aliasOwner(to) ?? this.n.metas.get(to);
    if (p === undefined) throw ErrProcessUnknown.with(to.toString());
    return p;
  }

  routeSendPID(from: PID, to: PID, options: MessageOptions, message: unknown): void {
    const p = this.byPID(to);
    message = this.n.guard.check(p, message, false, from.node);
    p.deliver(2 - options.priority, MailboxKind.Regular, from, message, undefined);
  }

  routeSendProcessID(from: PID, to: ProcessID, options: MessageOptions, message: unknown): void {
    const p = this.byName(to);
    message = this.n.guard.check(p, message, false, from.node);
    p.deliver(2 - options.priority, MailboxKind.Regular, from, message, to.name);
  }

  routeSendAlias(from: PID, to: Alias, options: MessageOptions, message: unknown): void {
    const p = this.byAlias(to);
    message = this.n.guard.check(p, message, false, from.node);
    p.deliver(2 - options.priority, MailboxKind.Regular, from, message, to);
  }

  routeSendEvent(from: PID, _token: Ref, options: MessageOptions, message: MessageEvent): void {
    this.n.checkAlive();
    const host = this.n.targets.keyedHost(message.event, false);
    if (host !== undefined) this.n.router.fanOut(host, 2 - options.priority, from, message, options.priority, false);
  }

  /**
   * An ergo-ts event batch (net/proto/inbound.ts' EventBatchCore): routeSendEvent of each event,
   * in order, with the subscribers looked up once for the batch.
   */
  routeSendEvents(
    from: PID,
    options: MessageOptions,
    event: Event,
    count: number,
    stampHi: readonly number[],
    stampLo: readonly number[],
    payloads: unknown[],
  ): void {
    this.n.checkAlive();
    const host = this.n.targets.keyedHost(event, false);
    if (host === undefined) {
      for (let i = 0; i < count; i++) payloads[i] = undefined;
      return;
    }
    this.n.router.fanOutBatch(host, 2 - options.priority, from, event, count, stampHi, stampLo, payloads);
  }

  routeSendExit(from: PID, to: PID, reason: Error, ignoreUnlessTrapped = false): void {
    if (!(reason instanceof Error)) throw ErrIncorrect.with('exit reason must be an Error');
    const extra = ignoreUnlessTrapped ? ExitIgnoredUnlessTrapped : undefined;
    this.byPID(to).deliver(Q_URGENT, MailboxKind.Exit, from, new MessageExitPID(from, reason), extra);
  }

  routeSendResponse(_from: PID, to: PID, options: MessageOptions, message: unknown, ok = true): void {
    if (options.ref === undefined) throw ErrIncorrect.with('response without a ref');
    // An important reply is acked: the responder learns that nobody waited for it (Ergo 3.2).
    if (!this.n.router.settleLocal(to, options.ref, ok, message) && options.important)
      throw ErrResponseIgnored.with(`${to} no longer waits for ${options.ref}`);
  }

  private request(
    p: ProcessImpl | MetaImpl,
    from: PID,
    options: MessageOptions,
    message: unknown,
    extra: unknown,
  ): void {
    if (options.ref === undefined) throw ErrIncorrect.with('request without a ref');
    if ((p.st & (S_TERMINATED | S_ZOMBEE)) !== 0) throw this.n.errTerminated(p as ProcessImpl);
    message = this.n.guard.check(p, message, true, from.node);
    // The important flag stays with the request: a pool relaying it to another node keeps it.
    if (options.important) extra = [options.ref, Array.isArray(extra) ? extra[1] : undefined, true];
    p.deliver(2 - options.priority, MailboxKind.Request, from, message, extra);
    // Its caller gets an error response at once if `p` ends without answering (termination.ts).
    if (p instanceof ProcessImpl) this.n.remoteRequests.add(p, from, options.ref);
  }

  routeCallPID(from: PID, to: PID, options: MessageOptions, message: unknown): void {
    this.request(this.byPID(to), from, options, message, options.ref);
  }

  routeCallProcessID(from: PID, to: ProcessID, options: MessageOptions, message: unknown): void {
    this.request(this.byName(to), from, options, message, [options.ref, to.name]);
  }

  routeCallAlias(from: PID, to: Alias, options: MessageOptions, message: unknown): void {
    this.request(this.byAlias(to), from, options, message, [options.ref, to]);
  }

  // --- remote watchers ------------------------------------------------------------------------------

  private watch(pid: PID, target: Target, link: boolean): MessageEvent[] {
    this.n.checkAlive();
    if (this.n.router.isLocal(pid.node)) throw ErrIncorrect.with(`${pid} is not a remote process`);
    if (!this.n.router.isLocal(target.node)) throw ErrIncorrect.with(`${target} is not a local target`);
    return this.n.relations.addRemoteWatcher(pid, target, link);
  }

  private unwatch(pid: PID, target: Target, link: boolean): void {
    this.n.checkAlive();
    this.n.relations.removeRemoteWatcher(pid, target, link);
  }

  routeLinkPID(pid: PID, target: PID): void {
    this.watch(pid, target, true);
  }
  routeUnlinkPID(pid: PID, target: PID): void {
    this.unwatch(pid, target, true);
  }
  routeLinkProcessID(pid: PID, target: ProcessID): void {
    this.watch(pid, target, true);
  }
  routeUnlinkProcessID(pid: PID, target: ProcessID): void {
    this.unwatch(pid, target, true);
  }
  routeLinkAlias(pid: PID, target: Alias): void {
    this.watch(pid, target, true);
  }
  routeUnlinkAlias(pid: PID, target: Alias): void {
    this.unwatch(pid, target, true);
  }
  routeLinkEvent(pid: PID, target: Event): MessageEvent[] {
    return this.watch(pid, target, true);
  }
  routeUnlinkEvent(pid: PID, target: Event): void {
    this.unwatch(pid, target, true);
  }
  routeMonitorPID(pid: PID, target: PID): void {
    this.watch(pid, target, false);
  }
  routeDemonitorPID(pid: PID, target: PID): void {
    this.unwatch(pid, target, false);
  }
  routeMonitorProcessID(pid: PID, target: ProcessID): void {
    this.watch(pid, target, false);
  }
  routeDemonitorProcessID(pid: PID, target: ProcessID): void {
    this.unwatch(pid, target, false);
  }
  routeMonitorAlias(pid: PID, target: Alias): void {
    this.watch(pid, target, false);
  }
  routeDemonitorAlias(pid: PID, target: Alias): void {
    this.unwatch(pid, target, false);
  }
  routeMonitorEvent(pid: PID, target: Event): MessageEvent[] {
    return this.watch(pid, target, false);
  }
  routeDemonitorEvent(pid: PID, target: Event): void {
    this.unwatch(pid, target, false);
  }

  // --- remote targets ended -------------------------------------------------------------------------

  routeTerminatePID(target: PID, reason: Error, ignoreUnlessTrapped = false): void {
    this.n.relations.targetEnded(target, reason, target, undefined, ignoreUnlessTrapped);
  }
  routeTerminateProcessID(target: ProcessID, reason: Error): void {
    this.n.relations.targetEnded(target, reason, this.n.pid);
  }
  routeTerminateEvent(target: Event, reason: Error): void {
    this.n.relations.targetEnded(target, reason, this.n.pid);
  }
  routeTerminateAlias(target: Alias, reason: Error): void {
    this.n.relations.targetEnded(target, reason, this.n.pid);
  }

  // --- remote spawn and application start -------------------------------------------------------

  /**
   * Lets `nodes` spawn `factory` under `name` here; without nodes every node (an earlier list is
   * dropped, as in Ergo). ErrTaken when `name` is enabled with another factory.
   */
  enableSpawn(name: Atom, factory: ProcessFactory, nodes: Atom[]): void {
    const had = this.spawnable.get(name);
    if (had !== undefined && had.factory !== factory) throw ErrTaken.with(`spawn '${name}'`);
    if (had === undefined) this.spawnable.set(name, { factory, nodes: new Map(nodes.map((x) => [x, true])) });
    else grant(had, nodes);
  }

  /** Revokes remote spawn of `name` for `nodes` (for everyone when empty). */
  disableSpawn(name: Atom, nodes: Atom[]): void {
    revoke(this.spawnable, name, nodes, true);
  }

  /** What remote nodes may spawn here, for `Network.info()`: names, behaviours, allowed nodes (empty = all). */
  enabledSpawns(): { name: Atom; behavior: string; nodes: Atom[] }[] {
    return [...this.spawnable].map(([name, p]) => ({ name, behavior: p.factory?.name ?? '', nodes: allowedNodes(p) }));
  }

  /** Which applications remote nodes may start here, for `Network.info()`. */
  enabledApplicationStarts(): { name: Atom; nodes: Atom[] }[] {
    return [...this.startable].map(([name, p]) => ({ name, nodes: allowedNodes(p) }));
  }

  enableApplicationStart(name: Atom, nodes: Atom[]): void {
    const had = this.startable.get(name);
    if (had === undefined) this.startable.set(name, { factory: null, nodes: new Map(nodes.map((x) => [x, true])) });
    else grant(had, nodes);
  }

  disableApplicationStart(name: Atom, nodes: Atom[]): void {
    revoke(this.startable, name, nodes);
  }

  /**
   * Spawns `name`'s factory for a process on `source`: the remote parent is the new process's
   * parent (and its leader the leader), its env travels only with `exposeEnvRemoteSpawn`, and
   * init is capped at REMOTE_INIT_CAP_MS (Ergo 3.2).
   */
  routeSpawn(_node: Atom, name: Atom, request: RemoteSpawnRequest, source: Atom): Promise<PID> {
    // Not async: spawnProcess's own promise goes back as it is (an async wrapper adopting it
    // cost two more microtasks per remote spawn); a refusal still comes back as a rejection.
    try {
      const r = this.routeSpawnNow(_node, name, request, source);
      return r instanceof PID ? Promise.resolve(r) : r;
    } catch (e) {
      return Promise.reject(e as Error);
    }
  }

  routeSpawnNow(_node: Atom, name: Atom, request: RemoteSpawnRequest, source: Atom): PID | Promise<PID> {
    const perm = allowed(this.spawnable, name, source, 'spawn');
    const options = { ...request.processOptions };
    checkSpawnOptions(options);
    options.initTimeout = cappedInitTimeout(options.initTimeout);
    const n = this.n;
    const parentEnv = this.security().exposeEnvRemoteSpawn ? request.parentEnv : null;
    // No map at all for the usual spawn that carries no env into a node without one.
    const env =
      n.envMap.size === 0 && (parentEnv === null || parentEnv.size === 0) && options.env === undefined
        ? null
        : new Map<string, unknown>(n.envMap);
    if (env !== null) {
      if (parentEnv !== null) for (const [k, v] of parentEnv) env.set(envName(k), v);
      for (const [k, v] of entries(options.env)) if (v !== undefined && v !== null) env.set(envName(k), v);
    }
    const own = toLogLevel(options.logLevel);
    const level = own !== undefined && own !== LogLevel.Default ? own : request.parentLogLevel;
    return spawnProcessNow(n, {
      factory: perm.factory!,
      options,
      args: request.args ?? [],
      register: request.register,
      parent: null,
      parentPID: request.parentPID,
      leader: request.parentLeader,
      env: env !== null && env.size > 0 ? env : null,
      logLevel: level === LogLevel.Default ? n.log.level() : level,
      application: request.application,
      onSpawned: null,
    });
  }

  async routeApplicationStart(name: Atom, request: RemoteApplicationStart, source: Atom): Promise<void> {
    allowed(this.startable, name, source, 'application start');
    const opts = { ...request.applicationOptions };
    if (this.security().exposeEnvRemoteApplicationStart && request.coreEnv !== null) {
      opts.env = new Map([...request.coreEnv, ...entries(opts.env)]);
    }
    // Mode 0 on the wire: the application's own mode. The requesting node's core PID is the
    // members' parent and leader, as in Ergo (a peer that sends none: its name with core id 1).
    const core = request.corePID.node === source ? request.corePID : new PID(source, 1, 0);
    await this.n.apps.start(name, opts, request.mode === (0 as never) ? undefined : request.mode, core);
  }

  routeApplicationInfo(name: Atom, _source: Atom): ApplicationInfo {
    this.n.checkAlive();
    return this.n.apps.info(name);
  }

  // --- node down --------------------------------------------------------------------------------------

  /**
   * The connection to `node` is gone. Local watchers of targets there get exit/down with the
   * sentinel ErrNoConnection; watchers of the node itself MessageExitNode / MessageDownNode; watchers
   * from there are dropped (event subscriber counts fall); calls waiting for it fail.
   */
  routeNodeUp(node: Atom): void {
    this.n.nodeNotices.nodeUp(node);
  }

  routeNodeDown(node: Atom, reason: Error): void {
    const n = this.n;
    n.nodeNotices.nodeDown(node, reason);
    // Calls reject with a fresh error naming the node (an API failure); exit/down reasons are the
    // sentinel itself, as in Ergo (`reason === ErrNoConnection`): the message's target or node
    // field already says which node it was. Made only when a call waits (calls.ts: failNode).
    n.calls.failNode(node, () => ErrNoConnection.with(`node ${node} is down`));
    n.router.remote.dropUnconfirmed(node);
    const lost = ErrNoConnection;
    const x = n.targets.nodeIndex(node);
    if (x === undefined) return;
    // Watchers of the node itself last: their MessageExitNode/MessageDownNode follows the
    // notifications about the node's processes.
    let self: KeyedHost | null = null;
    for (const h of [...x.targets]) {
      const t = h.target;
      if (t instanceof NodeTarget) self = h;
      else n.relations.targetEnded(t, lost, t instanceof PID ? t : n.pid, h);
    }
    if (self !== null) n.relations.targetEnded(self.target, lost, n.pid, self);
    for (const c of x.consumerList()) n.relations.consumerEnded(c);
  }

  // --- identity ----------------------------------------------------------------------------------------

  makeRef(): Ref {
    return this.n.makeRef();
  }
  name(): Atom {
    return this.n.name;
  }
  creation(): number {
    return this.n.creation;
  }
  pid(): PID {
    return this.n.pid;
  }
  logLevel(): LogLevel {
    return this.n.log.level();
  }
  security(): SecurityOptions {
    return this.n.options.security ?? {};
  }
  envList(): Record<string, unknown> {
    return this.n.envList();
  }
}

/** Adds `nodes` to an entry's list; none resets it to "every node" (Ergo's Enable* semantics). */
function grant(p: Permission, nodes: Atom[]): void {
  if (nodes.length === 0) p.nodes.clear();
  else for (const x of nodes) p.nodes.set(x, true);
}

/** Without nodes the entry goes (requests then get ErrNameUnknown); spawn marks nodes denied, app start forgets them (Ergo's asymmetry). */
function revoke(table: Map<Atom, Permission>, name: Atom, nodes: Atom[], mark = false): void {
  const p = table.get(name);
  if (p === undefined) return;
  if (nodes.length === 0) table.delete(name);
  else for (const x of nodes) mark ? p.nodes.set(x, false) : p.nodes.delete(x);
}

function allowed(table: Map<Atom, Permission>, name: Atom, source: Atom, what: string): Permission {
  const p = table.get(name);
  if (p === undefined) throw ErrNameUnknown.with(`remote ${what} of '${name}': not enabled`);
  if (p.nodes.size > 0 && p.nodes.get(source) !== true)
    throw ErrNotAllowed.with(`remote ${what} of '${name}' for ${source}`);
  return p;
}

/** The nodes a permission admits by name (denied entries left out). */
function allowedNodes(p: Permission): Atom[] {
  const out: Atom[] = [];
  for (const [node, allowed] of p.nodes) if (allowed) out.push(node);
  return out;
}

/** Ergo 3.2 caps the init of a remotely spawned process at 15 s (the cap application members share). */
export const REMOTE_INIT_CAP_MS = INIT_CAP_MS;

function entries(env: Record<string, unknown> | Map<string, unknown> | undefined): Iterable<[string, unknown]> {
  if (env === undefined) return [];
  return env instanceof Map ? env.entries() : Object.entries(env);
}
