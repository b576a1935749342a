// The public node: a handle over the private engine (NodeImpl), one per caller. startNode returns
// the root handle, which acts for the node itself; `process.node` is a handle that acts for that
// process, made on first use and cached on it (idle processes pay nothing). Every handle of a
// node sees the same node; they differ in who is asking, which decides two things:
// - stop()/stopForce() through the root handle wait for every process; through a process's
//   handle they begin the stop and resolve at once (that process cannot wait for its own end),
//   so they never deadlock, wherever the handle was captured;
// - a process's handle refuses everything once its process was detached (a zombee that outlived
//   the kill grace): nothing its late continuation does reaches anyone.
// The engine is kept in a private field: user code cannot reach the tables through a handle.

import type { MessageFor, PayloadOf, ReplyFor, RequestFor } from '../gen/protocol.js';
import { type CallVariantName, installCallVariants, installSpawnForms, type SpawnFormName } from '../gen/variants.js';
import { validatePriority } from '../gen/validate.js';
import type { Atom } from '../gen/atom.js';
import {
  ApplicationMode,
  type ApplicationBehavior,
  type ApplicationInfo,
  type ApplicationOptions,
} from '../gen/application.js';
import type { Cron } from '../gen/cron.js';
import { ErrIncorrect, ErrNotAllowed, ErrProcessTerminated } from '../gen/errors.js';
import type { EventInfo, EventOptions } from '../gen/event.js';
import type { InspectCrashRecord } from '../gen/inspect_v2.js';
import type { Log, LoggerBehavior, LogLevel, LogLevelInput } from '../gen/log.js';
import type { Node, NodeInfo, PinoLike, Version } from '../gen/node.js';
import type { Network, NetworkOptions } from '../gen/network.js';
import type { CallOptions, SendOptions } from '../gen/options.js';
import { PID } from '../gen/pid.js';
import { MessagePriority, type ProcessState } from '../gen/priority.js';
import {
  MailboxKind,
  type MailboxPeek,
  type ProcessInfo,
  type ProcessShortInfo,
  type ProcessTracer,
  type SendTarget,
} from '../gen/process.js';
import { type Alias, type Ref } from '../gen/ref.js';
import type { MetaInfo } from '../gen/meta.js';
import * as apps from './application_api.js';
import { processInfo, processShortInfo } from './info.js';
import * as logging from './logging.js';
import * as names from './names.js';
import type { NodeImpl } from './node.js';
import type { ProcessImpl } from './process.js';
import { S_DETACHED } from './process_state.js';
import { ignorable, rejected, watchDelivery } from '../gen/ignorable.js';
import { spawnLocal } from './spawn.js';
import { killProcess } from './termination.js';

// The call variants and spawn forms are defined once, on the prototype (gen/variants.ts).
export interface NodeHandle extends Pick<Node, CallVariantName | SpawnFormName> {}
/**
 * A handle on a node: the object `startNode` returns (the root handle) and `process.node` (a
 * handle acting for that process). Implements the gen `Node` contract; see there for each method.
 * Handles are cheap views: any number may exist, they never need closing, and they all stop
 * working (ErrNodeTerminated) once their node has stopped, as the `Node` contract says.
 */
export class NodeHandle implements Node {
  readonly #node: NodeImpl;
  /** The process this handle acts for (null: the node itself). */
  readonly #caller: ProcessImpl | null;

  /** Engine use only: handles are made by startNode and `process.node`. */
  constructor(node: NodeImpl, caller: ProcessImpl | null) {
    this.#node = node;
    this.#caller = caller;
  }

  /** The engine behind a handle (engine and test use only; see internals.ts). */
  static engineOf(h: NodeHandle): NodeImpl {
    return h.#node;
  }

  /** The process a handle acts for, or null for a root handle (engine and test use only). */
  static callerOf(h: NodeHandle): ProcessImpl | null {
    return h.#caller;
  }

  /** The engine, unless this handle's process was detached (its late code reaches no one). */
  #e(): NodeImpl {
    const c = this.#caller;
    if (c !== null && c.st === S_DETACHED) {
      throw ErrProcessTerminated.with(`${c.pid} was killed and its handler outlived the kill grace: it is detached`);
    }
    return this.#node;
  }

  /** The logger failures of ignored Promises go to: the acting process's, else the node's. */
  #log(): Log {
    return this.#caller !== null ? this.#caller.log : this.#node.log;
  }

  // --- identity and state ---------------------------------------------------------------------

  get name(): Atom {
    return this.#node.name;
  }
  get creation(): number {
    return this.#node.creation;
  }
  get pid(): PID {
    return this.#node.pid;
  }
  get version(): Version {
    return this.#node.version;
  }
  get frameworkVersion(): Version {
    return this.#node.frameworkVersion;
  }
  get log(): Log {
    return this.#node.log;
  }
  isAlive(): boolean {
    return this.#node.isAlive();
  }
  uptime(): number {
    return this.#node.uptime();
  }
  info(): NodeInfo {
    return this.#e().info();
  }
  network(): Network {
    return this.#e().net.network();
  }
  networkStart(options: NetworkOptions): Promise<void> {
    try {
      return ignorable(this.#e().net.start(options), this.#log(), 'networkStart');
    } catch (e) {
      return rejected(e, this.#log(), 'networkStart');
    }
  }
  networkStop(): Promise<void> {
    try {
      return ignorable(this.#e().net.stop(), this.#log(), 'networkStop');
    } catch (e) {
      return rejected(e, this.#log(), 'networkStop');
    }
  }
  cron(): Cron {
    return this.#e().cron();
  }

  // --- env ------------------------------------------------------------------------------------

  env(name: string): unknown {
    return this.#e().env(name);
  }
  envDefault<T>(name: string, defaultValue: T): T {
    const v = this.#e().env(name);
    return v === undefined ? defaultValue : (v as T);
  }
  setEnv(name: string, value: unknown): void {
    this.#e().setEnv(name, value);
  }
  envList(): Record<string, unknown> {
    return this.#e().envList();
  }

  // --- processes ------------------------------------------------------------------------------

  // spawn and spawnRegister are defined once, on the prototype (gen/variants.ts), as forms of
  // this spawn: the child is registered under `name` unless it is ''.
  static {
    installSpawnForms(NodeHandle.prototype, (h, op, name, factory, options, args) => {
      let n: NodeImpl;
      try {
        n = h.#e();
        if (op === 'spawnRegister' && (typeof name !== 'string' || name === ''))
          throw ErrIncorrect.with('spawnRegister: name must be a non-empty string');
      } catch (e) {
        return rejected(e, h.#log(), op);
      }
      return spawnLocal(n, { factory, options, args, register: name }, h.#log(), op);
    });
  }
  registerName(name: Atom | string, pid: PID): void {
    names.registerName(this.#e(), name, pid);
  }
  unregisterName(name: Atom | string): PID {
    return names.unregisterName(this.#e(), name);
  }
  processName(pid: PID): Atom {
    return names.processName(this.#e(), pid);
  }
  processPID(name: Atom | string): PID {
    return names.processPID(this.#e(), name);
  }
  processList(): PID[] {
    const n = this.#e();
    n.checkAlive();
    return [...n.processes.values()].map((p) => p.pid);
  }
  processListShortInfo(start = 1000, limit = 100): ProcessShortInfo[] {
    const n = this.#e();
    n.checkAlive();
    if (!Number.isInteger(start) || !Number.isInteger(limit) || start < 1000 || limit < 0) {
      throw ErrIncorrect.with('processListShortInfo: start must be an integer ≥ 1000 and limit an integer ≥ 0');
    }
    const max = limit === 0 ? 100 : limit;
    const out: ProcessShortInfo[] = [];
    // Ids far apart (a node with an incarnation spawns far above its reserved ids): walk the
    // table in id order instead of every id between.
    if (n.nextID - start > 4 * (n.processes.size + max)) {
      for (const p of n.processes.values()) if (p.pid.id >= start && out.push(processShortInfo(p)) >= max) break;
      return out;
    }
    for (let id = start; id <= n.nextID && out.length < max; id++) {
      const p = n.processes.get(id);
      if (p !== undefined) out.push(processShortInfo(p));
    }
    return out;
  }
  processRangeShortInfo(fn: (info: ProcessShortInfo) => boolean | void): void {
    const n = this.#e();
    n.checkAlive();
    if (typeof fn !== 'function') throw ErrIncorrect.with('processRangeShortInfo: fn must be a function');
    const now = Date.now(); // one clock read for the whole scan
    for (const p of n.processes.values()) if (fn(processShortInfo(p, now)) === false) return;
  }
  processMailbox(pid: PID, limit: number): MailboxPeek {
    const n = this.#e();
    n.checkAlive();
    const p = n.processArg(pid, 'processMailbox');
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000)
      throw ErrIncorrect.with('processMailbox: limit must be an integer 1..10000');
    return p.mb.peek(limit);
  }
  traceProcess(pid: PID, tracer: ProcessTracer): () => void {
    const n = this.#e();
    n.checkAlive();
    const p = n.processArg(pid, 'traceProcess');
    const t = tracer as Partial<ProcessTracer> | null;
    if (
      t === null ||
      typeof t !== 'object' ||
      typeof t.received !== 'function' ||
      typeof t.sent !== 'function' ||
      typeof t.ended !== 'function'
    )
      throw ErrIncorrect.with('traceProcess: tracer must have received, sent and ended methods');
    return p.addTracer(tracer);
  }
  processInfo(pid: PID): ProcessInfo {
    const n = this.#e();
    n.checkAlive();
    return processInfo(n.processArg(pid, 'processInfo'));
  }
  recentCrashes(options: { readonly pid?: PID; readonly limit?: number } = {}): InspectCrashRecord[] {
    // No checkAlive: what crashed before a stop is still worth reading.
    return this.#e().crashes.list(options.pid, options.limit ?? 0);
  }
  processState(pid: PID): ProcessState {
    const n = this.#e();
    n.checkAlive();
    return n.processArg(pid, 'processState').st as ProcessState;
  }
  /**
   * Kills a local process: a sleeping one terminates at once; a running one becomes a zombee,
   * which terminates when its handler settles or, at the latest, `killGraceMs` after the kill
   * (then its late continuation is detached). ErrIncorrect (not a PID), ErrProcessUnknown,
   * ErrNodeTerminated.
   */
  kill(pid: PID): void {
    const n = this.#e();
    n.checkAlive();
    killProcess(n, n.processArg(pid, 'kill'));
  }

  // --- messaging ------------------------------------------------------------------------------

  send<T extends SendTarget>(to: T, message: MessageFor<T>, options?: SendOptions): void;
  send(to: SendTarget, message: unknown, options?: SendOptions): void {
    const n = this.#e();
    const prio = options?.priority ?? MessagePriority.Normal;
    validatePriority(prio);
    // An important remote send returns its delivery ack, which nobody here can await.
    watchDelivery(n.router.routeSend(n.pid, to, message, prio, options?.important ?? false), this.#log(), 'send', to);
  }
  sendExit(to: PID, reason: Error): void {
    const n: NodeImpl = this.#e();
    if (!(reason instanceof Error)) throw ErrIncorrect.with('exit reason must be an Error');
    n.checkPID(to, 'sendExit');
    n.router.routeExit(n.pid, to, reason);
  }
  call<T extends SendTarget, const R extends RequestFor<T>>(
    to: T,
    request: R,
    options?: CallOptions,
  ): Promise<ReplyFor<T, R>>;
  call(to: SendTarget, request: unknown, options?: CallOptions): Promise<unknown> {
    let n: NodeImpl;
    try {
      n = this.#e();
    } catch (e) {
      return rejected(e, this.#log(), 'call');
    }
    return n.router.makeCall(null, n.pid, to, request, options, MailboxKind.Request);
  }
  inspect(pid: PID | Atom | string, ...items: string[]): Promise<Record<string, string>> {
    let n: NodeImpl;
    let target: ProcessImpl;
    try {
      n = this.#e();
      n.checkAlive();
      if (pid instanceof PID && pid.node !== n.name)
        throw ErrNotAllowed.with(`inspect of ${pid}: a process of another node`);
      target = names.resolveLocal(n, pid, 'inspect');
    } catch (e) {
      return rejected(e, this.#log(), 'inspect');
    }
    return n.router.makeCall(
      null,
      n.pid,
      target.pid,
      items,
      { priority: MessagePriority.Max },
      MailboxKind.Inspect,
    ) as Promise<Record<string, string>>;
  }
  registerEvent<N extends Atom | string>(name: N, options?: EventOptions): Ref<PayloadOf<N>>;
  registerEvent(name: Atom | string, options?: EventOptions): Ref {
    const n = this.#e();
    return n.events.register(name as Atom, n.pid, null, options ?? {});
  }
  unregisterEvent(name: Atom | string): void {
    const n = this.#e();
    n.events.unregister(name as Atom, n.pid);
  }
  eventList(): EventInfo[] {
    const n = this.#e();
    n.checkAlive();
    return n.events.list();
  }
  sendEvent<K extends Ref>(name: Atom | string, token: K, message: PayloadOf<K>, options?: SendOptions): void;
  sendEvent(name: Atom | string, token: Ref, message: unknown, options?: SendOptions): void {
    this.#e().events.publish(name as Atom, token, message, options?.priority ?? MessagePriority.Normal);
  }
  makeRef(): Ref {
    return this.#e().makeRef();
  }
  makeRefWithDeadline(deadline: number): Ref {
    return this.#e().makeRefWithDeadline(deadline);
  }

  // --- applications (application_api.ts) ------------------------------------------------------

  applicationLoad(app: ApplicationBehavior, ...args: unknown[]): Promise<Atom> {
    try {
      return ignorable(apps.applicationLoad(this.#e(), this, app, args), this.#log(), 'applicationLoad');
    } catch (e) {
      return rejected(e, this.#log(), 'applicationLoad');
    }
  }
  applicationInfo(name: Atom | string): ApplicationInfo {
    return apps.applicationInfo(this.#e(), name);
  }
  applicationUnload(name: Atom | string): void {
    apps.applicationUnload(this.#e(), name);
  }
  applicationProcessList(name: Atom | string, limit = 0): PID[] {
    return apps.applicationProcessList(this.#e(), name, limit);
  }
  applicationProcessListShortInfo(name: Atom | string, limit = 0): ProcessShortInfo[] {
    return apps.applicationProcessListShortInfo(this.#e(), name, limit);
  }
  applicationStart(name: Atom | string, options?: ApplicationOptions): Promise<void> {
    return this.#start(name, options, undefined);
  }
  applicationStartTemporary(name: Atom | string, options?: ApplicationOptions): Promise<void> {
    return this.#start(name, options, ApplicationMode.Temporary);
  }
  applicationStartTransient(name: Atom | string, options?: ApplicationOptions): Promise<void> {
    return this.#start(name, options, ApplicationMode.Transient);
  }
  applicationStartPermanent(name: Atom | string, options?: ApplicationOptions): Promise<void> {
    return this.#start(name, options, ApplicationMode.Permanent);
  }
  #start(
    name: Atom | string,
    options: ApplicationOptions | undefined,
    mode: ApplicationMode | undefined,
  ): Promise<void> {
    try {
      return ignorable(apps.applicationStart(this.#e(), name, options, mode), this.#log(), 'applicationStart');
    } catch (e) {
      return rejected(e, this.#log(), 'applicationStart');
    }
  }
  applicationStop(name: Atom | string): Promise<void> {
    return this.#stopApp(name, false, undefined);
  }
  applicationStopWithTimeout(name: Atom | string, timeoutMs: number): Promise<void> {
    return this.#stopApp(name, false, timeoutMs);
  }
  applicationStopForce(name: Atom | string): Promise<void> {
    return this.#stopApp(name, true, undefined);
  }
  #stopApp(name: Atom | string, force: boolean, timeoutMs: number | undefined): Promise<void> {
    try {
      return ignorable(apps.applicationStop(this.#e(), name, force, timeoutMs), this.#log(), 'applicationStop');
    } catch (e) {
      return rejected(e, this.#log(), 'applicationStop');
    }
  }
  applications(): Atom[] {
    return apps.applications(this.#e());
  }
  applicationsRunning(): Atom[] {
    return apps.applicationsRunning(this.#e());
  }

  // --- meta processes (meta_table.ts) ---------------------------------------------------------

  metaList(): Alias[] {
    const n = this.#e();
    n.checkAlive();
    return n.metas.list();
  }
  metaInfo(meta: Alias): MetaInfo {
    const n = this.#e();
    n.checkAlive();
    return n.metas.info(meta);
  }
  inspectMeta(meta: Alias, ...items: string[]): Promise<Record<string, string>> {
    try {
      const n = this.#e();
      n.checkAlive();
      return n.metas.inspect(null, n.pid, meta, items);
    } catch (e) {
      return rejected(e, this.#log(), 'inspectMeta');
    }
  }
  logLevelMeta(meta: Alias): LogLevel {
    const n = this.#e();
    n.checkAlive();
    return n.metas.logLevel(meta);
  }
  setLogLevelMeta(meta: Alias, level: LogLevelInput): void {
    const n = this.#e();
    n.checkAlive();
    n.metas.setLogLevel(meta, level);
  }

  // --- logging (logging.ts) -------------------------------------------------------------------

  logLevelProcess(pid: PID): LogLevel {
    return logging.logLevelProcess(this.#e(), pid);
  }
  setLogLevelProcess(pid: PID, level: LogLevelInput): void {
    logging.setLogLevelProcess(this.#e(), pid, level);
  }
  loggerAdd(name: string, logger: LoggerBehavior | PinoLike, ...filter: LogLevelInput[]): void {
    logging.loggerAdd(this.#e(), name, logger, filter);
  }
  loggerAddPID(pid: PID, name: string, ...filter: LogLevelInput[]): void {
    logging.loggerAddPID(this.#e(), pid, name, filter);
  }
  loggerDelete(name: string): void {
    logging.loggerDelete(this.#e(), name);
  }
  loggerDeletePID(pid: PID): void {
    logging.loggerDeletePID(this.#e(), pid);
  }
  loggers(): string[] {
    return logging.loggers(this.#e());
  }
  loggerLevels(name: string): LogLevel[] {
    return logging.loggerLevels(this.#e(), name);
  }

  // --- lifecycle ------------------------------------------------------------------------------

  /**
   * Graceful stop. Through the root handle: resolves once every process has ended and the stop
   * hooks ran (rejects with ErrTimeout after `shutdownTimeout`). Through a process's handle:
   * begins the same stop and resolves at once, without waiting for any process (see the `Node`
   * contract). Idempotent.
   */
  stop(): Promise<void> {
    return this.#stop(false);
  }
  /** Forced stop: kills every process. Waits as stop() does (root) or resolves at once (process). */
  stopForce(): Promise<void> {
    return this.#stop(true);
  }
  #stop(force: boolean): Promise<void> {
    let n: NodeImpl;
    try {
      n = this.#e();
    } catch (e) {
      return rejected(e, this.#log(), 'stop');
    }
    const stopping = n.shutdown.begin(force);
    return this.#caller === null ? ignorable(stopping, this.#log(), 'stop') : Promise.resolve();
  }
  wait(): Promise<void> {
    return ignorable(this.#node.shutdown.wait(), this.#log(), 'wait');
  }
  waitWithTimeout(ms: number): Promise<void> {
    return ignorable(this.#node.shutdown.waitWithTimeout(ms), this.#log(), 'waitWithTimeout');
  }
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}
installCallVariants(NodeHandle.prototype);
