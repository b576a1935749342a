// The node: process table, names, aliases, routing of messages, calls, exits and responses, and
// the public Node API. Spawn, termination, shutdown and info snapshots live in their own files
// and operate on this class.

import { ATOM_MAX_BYTES, utf8Length, type Atom } from '../gen/atom.js';
import { envName } from '../gen/env.js';
import {
  ErrAtomTooLong,
  ErrIncorrect,
  ErrNameUnknown,
  ErrNodeTerminated,
  ErrNotAllowed,
  ErrProcessTerminated,
  ErrProcessUnknown,
  ErrTaken,
  ErrTimeout,
  ErrUnknown,
  ErrUnregistered,
} from '../gen/errors.js';
import type { EventOptions } from '../gen/event.js';
import { LogLevel, MessageLogNode, MessageLogProcess, type LoggerBehavior, type MessageLog } from '../gen/log.js';
import { MessageExitPID } from '../gen/messages.js';
import type { NodeInfo, NodeOptions, PinoLike, Version, Node } from '../gen/node.js';
import { type CallOptions, type ProcessOptions, type SendOptions } from '../gen/options.js';
import { PID } from '../gen/pid.js';
import { MessagePriority, ProcessState } from '../gen/priority.js';
import { ProcessID } from '../gen/processid.js';
import {
  MailboxKind,
  type InitArgs,
  type ProcessBehavior,
  type ProcessFactory,
  type ProcessInfo,
  type ProcessShortInfo,
  type SendTarget,
} from '../gen/process.js';
import { Alias, Ref } from '../gen/ref.js';
import { CallRegistry } from './calls.js';
import { createDefaultLogger } from './default_logger.js';
import { EventRegistry } from './events.js';
import { LogHandle } from './log.js';
import { ALL_LEVELS, LoggerRegistry } from './loggers.js';
import { Q_URGENT } from './mailbox.js';
import { ProcessImpl, S_INIT, S_RUNNING, S_TERMINATED, S_WAIT, S_ZOMBEE } from './process.js';
import { Relations } from './relations.js';
import { MetaTable } from './meta_table.js';
import type { MetaInfo } from '../gen/meta.js';
import { Router } from './router.js';
import { Scheduler } from './scheduler.js';
import { TargetManager } from './targets.js';
import { spawnProcess } from './spawn.js';
import { killProcess, panicProcess, terminateProcess } from './termination.js';
import { Shutdown } from './shutdown.js';
import { nodeInfo, processInfo, processShortInfo } from './info.js';
import { CronService } from './cron/service.js';
import { nodeStartChannel, spawnChannel, terminateChannel } from './diagnostics.js';
import { roundTrip } from '../net/edf/codec.js';
import { ApplicationManager, DEFAULT_APPLICATION_STOP_TIMEOUT } from './application.js';
import { ApplicationMode, type ApplicationBehavior, type ApplicationInfo, type ApplicationOptions } from '../gen/application.js';
import type { Cron } from '../gen/cron.js';

/** The framework's own version. */
export const FRAMEWORK_VERSION: Version = { name: 'ergo-ts', release: '0.1.0', license: 'MIT' };

const NODE_RUNNING = 0;
const NODE_STOPPING = 1;
const NODE_STOPPED = 2;

/** Validates `name@host`: exactly one `@`, both parts non-empty, at most 255 bytes. */
export function validateNodeName(name: string): Atom {
  if (typeof name !== 'string') throw ErrIncorrect.with('node name must be a string');
  const parts = name.split('@');
  if (parts.length !== 2 || parts[0] === '' || parts[1] === '') throw ErrIncorrect.with(`node name "${name}" must be name@host`);
  if (utf8Length(name) > ATOM_MAX_BYTES) throw ErrAtomTooLong.with(name);
  return name as Atom;
}

/** Validates a registered name. */
export function validateName(name: unknown): Atom {
  if (typeof name !== 'string' || name === '') throw ErrIncorrect.with('name must be a non-empty string');
  if (utf8Length(name) > ATOM_MAX_BYTES) throw ErrAtomTooLong.with(name);
  return name as Atom;
}

/** The engine's node. Users see it through the gen `Node` interface. */
export class NodeImpl implements Node {
  readonly name: Atom;
  readonly creation: number;
  readonly pid: PID;
  readonly version: Version;
  readonly frameworkVersion = FRAMEWORK_VERSION;
  readonly startedAt = Date.now();

  readonly processes = new Map<number, ProcessImpl>();
  readonly names = new Map<Atom, ProcessImpl>();
  /** Processes inside an async init, with the function that fails their spawn (node stop). */
  readonly pendingInits = new Map<ProcessImpl, (err: Error) => void>();
  readonly aliasTable = new Map<string, ProcessImpl>();
  readonly scheduler = new Scheduler();
  readonly router: Router = new Router(this);
  readonly calls = new CallRegistry(() => ErrTimeout.with('call'));
  readonly targets = new TargetManager();
  readonly relations = new Relations(this);
  readonly metas = new MetaTable(this);
  readonly events = new EventRegistry(this);
  readonly logRegistry = new LoggerRegistry();
  readonly logSink = (record: MessageLog, only: string): void => {
    if (this.nodeState !== NODE_STOPPED) this.logRegistry.dispatch(record, only);
  };
  readonly log: LogHandle;
  readonly envMap = new Map<string, unknown>();
  readonly options: NodeOptions;
  readonly shutdown: Shutdown;
  private readonly cronService: CronService;
  readonly apps: ApplicationManager;
  nodeState = NODE_RUNNING;
  nextID = 1000;
  private refSeq = 0;
  /** Round-trip function installed by the "simulate remote" option (null = by reference). */
  simulate: ((value: unknown) => unknown) | null = null;

  constructor(name: Atom, options: NodeOptions) {
    this.name = name;
    this.options = options;
    this.creation = Math.floor(Date.now() / 1000);
    this.pid = new PID(name, 1, this.creation);
    this.version = options.version ?? { name, release: '0.0.0' };
    const logOpts = options.log ?? {};
    this.log = new LogHandle(logOpts.level ?? LogLevel.Info, new MessageLogNode(name, this.creation), this.logSink);
    if (!logOpts.defaultLogger?.disable) {
      this.logRegistry.add('default', createDefaultLogger(logOpts.defaultLogger), logOpts.defaultLogger?.filter ?? [], null, 'default');
    }
    for (const l of logOpts.loggers ?? []) this.logRegistry.add(l.name, l.logger, l.filter ?? []);
    // "Simulate remote": every local message goes through EDF, as if it crossed the network.
    if (options.simulateRemote) this.simulate = (value: unknown) => roundTrip(value);
    if (options.env) for (const [k, v] of entriesOf(options.env)) if (v !== undefined && v !== null) this.envMap.set(envName(k), v);
    this.shutdown = new Shutdown(this);
    this.cronService = new CronService(this, { jobs: options.cron?.jobs });
    this.apps = new ApplicationManager(this);
    this.shutdown.hooks.push({ beforeProcesses: (force) => this.apps.stopAll(force) }, { beforeProcesses: () => this.cronService.stop() });
  }

  /** Starts the services that run with the node (called once by startNode). */
  startServices(): void {
    this.cronService.start();
    if (nodeStartChannel.hasSubscribers) nodeStartChannel.publish({ node: this.name });
  }

  cron(): Cron {
    this.checkAlive();
    return this.cronService;
  }

  // --- state ----------------------------------------------------------------------------------

  /** Throws ErrNodeTerminated once stop has begun. */
  checkRunning(): void {
    if (this.nodeState !== NODE_RUNNING) throw ErrNodeTerminated.with(this.name);
  }

  /** Throws ErrNodeTerminated once the node has stopped (stopping still routes messages). */
  checkAlive(): void {
    if (this.nodeState === NODE_STOPPED) throw ErrNodeTerminated.with(this.name);
  }

  get stopping(): boolean {
    return this.nodeState !== NODE_RUNNING;
  }

  markStopping(): void {
    if (this.nodeState === NODE_RUNNING) this.nodeState = NODE_STOPPING;
  }

  markStopped(): void {
    this.nodeState = NODE_STOPPED;
  }

  isAlive(): boolean {
    return this.nodeState !== NODE_STOPPED;
  }

  uptime(): number {
    return this.nodeState === NODE_STOPPED ? 0 : Math.floor((Date.now() - this.startedAt) / 1000);
  }

  info(): NodeInfo {
    this.checkAlive();
    return nodeInfo(this);
  }

  /** The process that last read `process.node` in the current synchronous stretch (see shutdown). */
  accessor: ProcessImpl | null = null;
  private readonly clearAccessor = (): void => {
    this.accessor = null;
  };

  /** Records that `p` reached for the node; forgotten at the end of the current task. */
  noteAccess(p: ProcessImpl): void {
    if (this.accessor === null) queueMicrotask(this.clearAccessor);
    this.accessor = p;
  }

  /** Applies the "simulate remote" round trip to a message (identity when off). */
  transform(message: unknown): unknown {
    return this.simulate === null ? message : this.simulate(message);
  }

  // --- refs -----------------------------------------------------------------------------------

  makeRef(): Ref {
    this.checkAlive();
    return new Ref(this.name, this.creation, [++this.refSeq, 0, 0]);
  }

  makeRefWithDeadline(deadline: number): Ref {
    this.checkAlive();
    if (!Number.isInteger(deadline) || deadline < 1 || deadline <= Math.floor(Date.now() / 1000)) {
      throw ErrIncorrect.with(`deadline ${deadline} is not in the future`);
    }
    return new Ref(this.name, this.creation, [++this.refSeq, 0, deadline]);
  }

  callRef(nowMs: number, timeoutMs: number): Ref {
    return new Ref(this.name, this.creation, [++this.refSeq, 0, Math.ceil((nowMs + timeoutMs) / 1000)]);
  }

  // --- env ------------------------------------------------------------------------------------

  env(name: string): unknown {
    this.checkAlive();
    return this.envMap.get(envName(name));
  }

  envDefault<T>(name: string, defaultValue: T): T {
    const v = this.env(name);
    return v === undefined ? defaultValue : (v as T);
  }

  setEnv(name: string, value: unknown): void {
    if (this.nodeState === NODE_STOPPED) return;
    if (value === undefined || value === null) this.envMap.delete(envName(name));
    else this.envMap.set(envName(name), value);
  }

  envList(): Record<string, unknown> {
    this.checkAlive();
    return Object.fromEntries(this.envMap);
  }

  // --- processes ------------------------------------------------------------------------------

  spawn<B extends ProcessBehavior>(factory: ProcessFactory<B>, options?: ProcessOptions, ...args: InitArgs<B>): Promise<PID> {
    return spawnProcess(this, factory as ProcessFactory, options ?? {}, args, null, '' as Atom);
  }

  spawnRegister<B extends ProcessBehavior>(name: Atom | string, factory: ProcessFactory<B>, options?: ProcessOptions, ...args: InitArgs<B>): Promise<PID> {
    return spawnProcess(this, factory as ProcessFactory, options ?? {}, args, null, name as Atom);
  }

  /** The local process of `pid`; ErrProcessUnknown otherwise. */
  localProcess(pid: PID): ProcessImpl {
    const p = pid.node === this.name && pid.creation === this.creation ? this.processes.get(pid.id) : undefined;
    if (p === undefined) throw ErrProcessUnknown.with(String(pid));
    return p;
  }

  registerName(name: Atom | string, pid: PID): void {
    this.checkAlive();
    const n = validateName(name);
    const p = this.localProcess(pid);
    if (this.names.has(n)) throw ErrTaken.with(`name '${n}'`);
    if (p.name !== '') throw ErrTaken.with(`${pid} is registered as '${p.name}'`);
    this.names.set(n, p);
    p.name = n;
    // Keep the source a MessageLogProcess (loggers tell sources apart with instanceof).
    if (p.logHandle !== null) p.logHandle.source = new MessageLogProcess(this.name, p.pid, n, p.behaviorName());
  }

  unregisterName(name: Atom | string): PID {
    this.checkAlive();
    const p = this.names.get(name as Atom);
    if (p === undefined) throw ErrNameUnknown.with(`'${name}'`);
    this.names.delete(name as Atom);
    p.name = '' as Atom;
    this.relations.targetEnded(new ProcessID(name as Atom, this.name), ErrUnregistered, this.pid);
    return p.pid;
  }

  processName(pid: PID): Atom {
    this.checkAlive();
    return this.localProcess(pid).name;
  }

  processPID(name: Atom | string): PID {
    this.checkAlive();
    const p = this.names.get(name as Atom);
    if (p === undefined || p.st === S_INIT) throw ErrProcessUnknown.with(`'${name}'`);
    return p.pid;
  }

  processList(): PID[] {
    this.checkAlive();
    return [...this.processes.values()].map((p) => p.pid);
  }

  processListShortInfo(start = 1000, limit = 100): ProcessShortInfo[] {
    this.checkAlive();
    if (start < 1000 || limit < 0) throw ErrIncorrect.with('start must be ≥ 1000 and limit ≥ 0');
    const max = limit === 0 ? 100 : limit;
    const out: ProcessShortInfo[] = [];
    for (let id = start; id <= this.nextID && out.length < max; id++) {
      const p = this.processes.get(id);
      if (p !== undefined) out.push(processShortInfo(p));
    }
    return out;
  }

  processInfo(pid: PID): ProcessInfo {
    this.checkAlive();
    return processInfo(this.localProcess(pid));
  }

  /** Snapshot of a process (no state checks). */
  processInfoOf(p: ProcessImpl): ProcessInfo {
    return processInfo(p);
  }

  processState(pid: PID): ProcessState {
    this.checkAlive();
    return this.localProcess(pid).st as ProcessState;
  }

  kill(pid: PID): void {
    this.checkAlive();
    killProcess(this, this.localProcess(pid));
  }

  // --- aliases --------------------------------------------------------------------------------

  registerAlias(alias: Alias, p: ProcessImpl): void {
    if (this.aliasTable.has(alias.key)) throw ErrTaken.with(alias.toString());
    this.aliasTable.set(alias.key, p);
  }

  /** Removes an alias and notifies its watchers (ErrUnregistered). */
  unregisterAlias(alias: Alias): void {
    this.aliasTable.delete(alias.key);
    this.relations.targetEnded(alias, ErrUnregistered, this.pid);
  }

  /** Drops an alias of a terminating process, notifying watchers with its reason. */
  dropAlias(alias: Alias, reason: Error): void {
    this.aliasTable.delete(alias.key);
    this.relations.targetEnded(alias, reason, this.pid);
  }

  aliasOwner(alias: Alias): ProcessImpl | undefined {
    return this.aliasTable.get(alias.key);
  }

  get aliasCount(): number {
    return this.aliasTable.size;
  }

  /** ErrProcessTerminated for a process that is going away. */
  errTerminated(p: ProcessImpl): Error {
    return ErrProcessTerminated.with(p.pid.toString());
  }

  /** Terminates a process with `reason` (no-op if already terminated). */
  terminate(p: ProcessImpl, reason: Error): void {
    terminateProcess(this, p, reason);
  }

  /** A callback threw or rejected: log with stack, terminate with the panic reason. */
  panic(p: ProcessImpl, err: unknown, where: string): void {
    panicProcess(this, p, err, where);
  }

  // --- node-level messaging -------------------------------------------------------------------

  send(to: SendTarget, message: unknown, options?: SendOptions): void {
    const prio = options?.priority ?? MessagePriority.Normal;
    if (prio !== 0 && prio !== 1 && prio !== 2) throw ErrIncorrect.with(`priority ${String(prio)}`);
    this.router.routeSend(this.pid, to, message, prio, options?.important ?? false);
  }

  sendExit(to: PID, reason: Error): void {
    if (!(reason instanceof Error)) throw ErrIncorrect.with('exit reason must be an Error');
    if (!(to instanceof PID)) throw ErrIncorrect.with('exit target must be a PID');
    this.router.routeExit(this.pid, to, reason);
  }

  call(to: SendTarget, request: unknown, options?: CallOptions): Promise<unknown> {
    return this.router.makeCall(null, this.pid, to, request, options, MailboxKind.Request);
  }

  registerEvent(name: Atom | string, options?: EventOptions): Ref {
    return this.events.register(name as Atom, this.pid, null, options ?? {});
  }

  unregisterEvent(name: Atom | string): void {
    this.events.unregister(name as Atom, this.pid);
  }

  sendEvent(name: Atom | string, token: Ref, message: unknown, options?: SendOptions): void {
    this.events.publish(name as Atom, token, message, options?.priority ?? MessagePriority.Normal);
  }

  // --- meta processes (meta_table.ts) ---------------------------------------------------------

  metaInfo(meta: Alias): MetaInfo {
    this.checkAlive();
    return this.metas.info(meta);
  }

  inspectMeta(meta: Alias, ...items: string[]): Promise<Record<string, string>> {
    return this.metas.inspect(null, this.pid, meta, items);
  }

  logLevelMeta(meta: Alias): LogLevel {
    this.checkAlive();
    return this.metas.logLevel(meta);
  }

  setLogLevelMeta(meta: Alias, level: LogLevel): void {
    this.checkAlive();
    this.metas.setLogLevel(meta, level);
  }

  // --- logging --------------------------------------------------------------------------------

  logLevelProcess(pid: PID): LogLevel {
    this.checkAlive();
    return this.localProcess(pid).logLevel;
  }

  setLogLevelProcess(pid: PID, level: LogLevel): void {
    this.checkAlive();
    const p = this.localProcess(pid);
    if (level < LogLevel.Trace || level > LogLevel.Disabled || level === LogLevel.Default) throw ErrIncorrect.with(`log level ${level}`);
    p.logLevel = level;
    if (p.logHandle !== null && p.loggerName === '') p.logHandle.forceLevel(level);
  }

  loggerAdd(name: string, logger: LoggerBehavior | PinoLike, ...filter: LogLevel[]): void {
    this.checkAlive();
    this.logRegistry.add(name, logger, filter);
  }

  loggerAddPID(pid: PID, name: string, ...filter: LogLevel[]): void {
    this.checkAlive();
    const p = this.localProcess(pid);
    if (p.loggerName !== '') throw ErrNotAllowed.with(`${pid} is a logger already`);
    this.logRegistry.add(
      name,
      {
        log: (m: MessageLog) => {
          if (p.st !== S_TERMINATED) p.notify(3, MailboxKind.Regular, this.pid, m);
        },
      },
      filter,
      pid,
      p.behaviorName(),
    );
    p.loggerName = name;
    // A logger process must not log to the loggers (it would feed itself).
    p.logHandle?.forceLevel(LogLevel.Disabled);
  }

  loggerDelete(name: string): void {
    this.checkAlive();
    const pid = this.logRegistry.delete(name);
    if (pid !== null) this.loggerReleased(pid);
  }

  loggerDeletePID(pid: PID): void {
    this.checkAlive();
    const name = this.logRegistry.nameOf(pid);
    if (name === undefined) throw ErrUnknown.with(`${pid} is not a logger`);
    this.loggerDelete(name);
  }

  /** A process stopped being a logger: its own logging comes back. */
  loggerReleased(pid: PID): void {
    const p = this.processes.get(pid.id);
    if (p === undefined) return;
    p.loggerName = '';
    p.logHandle?.forceLevel(p.logLevel);
  }

  loggers(): string[] {
    this.checkAlive();
    return this.logRegistry.names();
  }

  loggerLevels(name: string): LogLevel[] {
    this.checkAlive();
    return this.logRegistry.levels(name);
  }

  // --- lifecycle ------------------------------------------------------------------------------

  stop(): Promise<void> {
    return this.shutdown.stop(false);
  }

  stopForce(): Promise<void> {
    return this.shutdown.stop(true);
  }

  wait(): Promise<void> {
    return this.shutdown.wait();
  }

  waitWithTimeout(ms: number): Promise<void> {
    return this.shutdown.waitWithTimeout(ms);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  /** Hook: a process finished init and entered the table. */
  processSpawned(p: ProcessImpl): void {
    if (spawnChannel.hasSubscribers) {
      spawnChannel.publish({ node: this.name, pid: p.pid, name: p.name, behavior: p.behaviorName(), parent: p.parent });
    }
  }

  /** Hook: a process left the table (applications and shutdown follow it). */
  processTerminated(p: ProcessImpl, reason: Error): void {
    if (terminateChannel.hasSubscribers) terminateChannel.publish({ node: this.name, pid: p.pid, name: p.name, reason });
    if (p.application !== '') this.apps.memberTerminated(p, reason);
    if (this.nodeState !== NODE_RUNNING) this.shutdown.check();
  }

  /** Application counts for node info. */
  applicationCounts(): { total: number; running: number } {
    return this.apps.counts();
  }

  // --- applications ---------------------------------------------------------------------------

  applicationLoad(app: ApplicationBehavior, ...args: unknown[]): Promise<Atom> {
    return this.apps.load(app, args);
  }
  applicationInfo(name: Atom | string): ApplicationInfo {
    this.checkAlive();
    return this.apps.info(name);
  }
  applicationUnload(name: Atom | string): void {
    this.checkAlive();
    this.apps.unload(name);
  }
  applicationProcessList(name: Atom | string, limit = 0): PID[] {
    this.checkAlive();
    return this.apps.processList(name, limit).map((p) => p.pid);
  }
  applicationProcessListShortInfo(name: Atom | string, limit = 0): ProcessShortInfo[] {
    this.checkAlive();
    return this.apps.processListShortInfo(name, limit);
  }
  applicationStart(name: Atom | string, options?: ApplicationOptions): Promise<void> {
    return this.apps.start(name, options ?? {});
  }
  applicationStartTemporary(name: Atom | string, options?: ApplicationOptions): Promise<void> {
    return this.apps.start(name, options ?? {}, ApplicationMode.Temporary);
  }
  applicationStartTransient(name: Atom | string, options?: ApplicationOptions): Promise<void> {
    return this.apps.start(name, options ?? {}, ApplicationMode.Transient);
  }
  applicationStartPermanent(name: Atom | string, options?: ApplicationOptions): Promise<void> {
    return this.apps.start(name, options ?? {}, ApplicationMode.Permanent);
  }
  applicationStop(name: Atom | string): Promise<void> {
    return this.apps.stop(name, false, DEFAULT_APPLICATION_STOP_TIMEOUT);
  }
  applicationStopWithTimeout(name: Atom | string, timeoutMs: number): Promise<void> {
    return this.apps.stop(name, false, timeoutMs);
  }
  applicationStopForce(name: Atom | string): Promise<void> {
    return this.apps.stop(name, true, 0);
  }
  applications(): Atom[] {
    this.checkAlive();
    return this.apps.names();
  }
  applicationsRunning(): Atom[] {
    this.checkAlive();
    return this.apps.running();
  }

  /** Counts of processes per state (for node info). */
  countStates(): { total: number; running: number; zombee: number } {
    let running = 0;
    let zombee = 0;
    for (const p of this.processes.values()) {
      if (p.st === S_RUNNING || p.st === S_WAIT) running++;
      else if (p.st === S_ZOMBEE) zombee++;
    }
    return { total: this.processes.size, running, zombee };
  }

  /** Default exit for shutdown: as if from the process' parent (untrappable). */
  shutdownExit(p: ProcessImpl, reason: Error): void {
    p.notify(Q_URGENT, MailboxKind.Exit, p.parent, new MessageExitPID(p.parent, reason));
  }

}


function entriesOf(env: Record<string, unknown> | Map<string, unknown>): Iterable<[string, unknown]> {
  return env instanceof Map ? env.entries() : Object.entries(env);
}

export { ALL_LEVELS, entriesOf };

