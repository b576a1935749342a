// The node engine: identity, state, the tables (processes, names, aliases, env) and the services
// every other engine module works on (scheduler, router, calls, relations, events, loggers,
// applications, cron, shutdown). It is private: users hold a NodeHandle (handle.ts), which keeps
// the public API surface and acts either for the node itself (the root handle startNode returns)
// or for one process (`process.node`). Names and aliases live in names.ts, the logging API in
// logging.ts, the application API in application_api.ts, spawn/termination/shutdown/info in
// their own files.

import { ATOM_MAX_BYTES, utf8Length, type Atom } from '../gen/atom.js';
import { envName } from '../gen/env.js';
import {
  ErrAtomTooLong,
  ErrIncorrect,
  ErrNodeTerminated,
  ErrProcessTerminated,
  ErrProcessUnknown,
  ErrUnsupported,
} from '../gen/errors.js';
import { LogLevel, MessageLogNode, toLogLevel, type MessageLog } from '../gen/log.js';
import { MessageExitPID } from '../gen/messages.js';
import { DEFAULT_MAILBOX_HIGH_WATER, type NodeInfo, type NodeOptions, type Version } from '../gen/node.js';
import { PID } from '../gen/pid.js';
import { MailboxKind } from '../gen/process.js';
import { Ref, type Alias } from '../gen/ref.js';
import { describeValue } from '../gen/validate.js';
import type { Cron } from '../gen/cron.js';
import { IdTable } from '../lib/id_table.js';
import { ApplicationManager } from './application.js';
import { CallRegistry } from './calls.js';
import { RemoteRequests } from './remote_requests.js';
import { CallMonitors } from './call_monitor.js';
import { logIgnorableFailure } from '../gen/ignorable.js';
import { CronService } from './cron/service.js';
import { createDefaultLogger } from './default_logger.js';
import { nodeStartChannel, spawnChannel, terminateChannel } from './diagnostics.js';
import { EventRegistry } from './events.js';
import { NodeHandle } from './handle.js';
import { nodeInfo, processInfo } from './info.js';
import { LogHandle } from './log.js';
import { ProtocolGuard } from './protocol_guard.js';
import { ALL_LEVELS, LoggerRegistry } from './loggers.js';
import { CrashRing } from './crashes.js';
import { Q_URGENT } from './mailbox.js';
import { dropAlias, registerAlias, registerName, unregisterAlias, unregisterName } from './names.js';
import type { ProcessImpl } from './process.js';
import { S_RUNNING, S_WAIT, S_ZOMBEE } from './process_state.js';
import { Relations } from './relations.js';
import { NodeNotices } from './node_notices.js';
import { MetaTable } from './meta_table.js';
import { NodeNetwork, type NetworkStackFactory } from './network.js';
import { Router } from './router.js';
import { Scheduler } from './scheduler.js';
import { Shutdown, type StopHook } from './shutdown.js';
import { TargetManager } from './targets.js';
import { panicProcess, terminateProcess } from './termination.js';

/** The framework's own version. */
export const FRAMEWORK_VERSION: Version = { name: 'ergo-ts', release: '0.1.0', license: 'MIT' };

/**
 * Default grace of a kill (milliseconds): a killed process whose handler is still running (a
 * zombee) is terminated by force this long after the kill, and its late continuation detached.
 */
export const DEFAULT_KILL_GRACE = 5_000;

const NODE_RUNNING = 0;
const NODE_STOPPING = 1;
const NODE_STOPPED = 2;

/** Validates `name@host`: exactly one `@`, both parts non-empty, at most 255 bytes. */
export function validateNodeName(name: string): Atom {
  if (typeof name !== 'string') throw ErrIncorrect.with('node name must be a string');
  const parts = name.split('@');
  if (parts.length !== 2 || parts[0] === '' || parts[1] === '')
    throw ErrIncorrect.with(`node name "${name}" must be name@host`);
  if (utf8Length(name) > ATOM_MAX_BYTES) throw ErrAtomTooLong.with(name);
  return name as Atom;
}

/**
 * What a platform's entry gives the engine beside the options: Node's startNode (start.ts) the
 * ENP network stack and the EDF codec; the browser entry neither (its module graph holds no
 * `node:` module), so `network` and `simulateRemote` are refused there with ErrUnsupported.
 */
export interface EngineParts {
  /** Makes the node's network stack; null: the node has none. */
  network: NetworkStackFactory | null;
  /** The EDF round trip of `simulateRemote`; null: not available. */
  roundTrip: ((value: unknown) => unknown) | null;
}

/** The engine's node. Private: user code reaches it only through a NodeHandle. */
export class NodeImpl {
  readonly name: Atom;
  readonly creation: number;
  readonly pid: PID;
  readonly version: Version;
  readonly frameworkVersion = FRAMEWORK_VERSION;
  readonly startedAt = Date.now();

  /** Live processes (out of init) by PID id: see IdTable for why not a Map. */
  readonly processes = new IdTable<ProcessImpl>();
  readonly names = new Map<Atom, ProcessImpl>();
  /**
   * Processes whose init is running (not in `processes` yet), by id. Ergo 3.2 lets init link,
   * monitor, call and register: others may already link to or monitor such a process by PID, and
   * a reply to it is told apart from one to nobody. Sends by PID still wait for the table.
   * An IdTable, not a Map: with a synchronous init it holds one process at a time, and a Map
   * emptied after every spawn shrinks and regrows its storage each time (spawn +8 %).
   */
  readonly initing = new IdTable<ProcessImpl>();
  /** Processes inside an async init, with the function that fails their spawn (node stop). */
  readonly pendingInits = new Map<ProcessImpl, (err: Error) => void>();
  readonly aliasTable = new Map<string, ProcessImpl>();
  readonly scheduler = new Scheduler();
  readonly router: Router = new Router(this);
  readonly calls = new CallRegistry();
  /** Requests from other nodes' processes that local processes hold (answered on their end). */
  readonly remoteRequests = new RemoteRequests();
  /** Monitors of remote callees for calls made with `monitor` (call_monitor.ts). */
  readonly callMonitors = new CallMonitors(this);
  /** See NodeOptions.monitorCalls. */
  readonly monitorCalls: boolean;
  readonly targets = new TargetManager(this);
  readonly relations = new Relations(this);
  readonly metas = new MetaTable(this);
  readonly events = new EventRegistry(this);
  readonly logRegistry = new LoggerRegistry();
  readonly nodeNotices = new NodeNotices(this);
  readonly logSink = (record: MessageLog, only: string): void => {
    if (this.nodeState !== NODE_STOPPED) this.logRegistry.dispatch(record, only);
  };
  readonly log: LogHandle;
  readonly envMap = new Map<string, unknown>();
  readonly options: NodeOptions;
  readonly shutdown: Shutdown;
  /** The handle that acts for the node itself (startNode returns it; cron actions and application loads get it). */
  readonly root: NodeHandle;
  /** See NodeOptions.killGraceMs. */
  readonly killGrace: number;
  /** See NodeOptions.mailboxSize and mailboxHighWater. */
  readonly mailboxSize: number;
  readonly mailboxHighWater: number;
  private readonly cronService: CronService;
  readonly apps: ApplicationManager;
  /** The recent crashes (crashes.ts): termination.ts records, supervisors and system_inspect read. */
  readonly crashes = new CrashRing();
  nodeState = NODE_RUNNING;
  nextID = 1000;
  private refSeq = 0;
  /** Round-trip function installed by the "simulate remote" option (null = by reference). */
  simulate: ((value: unknown) => unknown) | null = null;
  /** Typed protocols: the boundary check of inbound messages (protocol_guard.ts). */
  readonly guard: ProtocolGuard;
  /** The `validateLocal` option: local sends and calls are checked too. */
  readonly checkLocal: boolean;

  constructor(name: Atom, options: NodeOptions, parts: EngineParts) {
    this.name = name;
    this.options = options;
    const inc = options.incarnation;
    this.creation = inc?.creation ?? Math.floor(Date.now() / 1000);
    // Ids below firstID stay reserved for spawnReserved (reserved.ts); refs start there too, so
    // no Ref of an earlier incarnation under this creation is made again.
    if (inc !== undefined) this.nextID = this.refSeq = inc.firstID - 1;
    this.pid = new PID(name, 1, this.creation);
    this.version = options.version ?? { name, release: '0.0.0' };
    this.killGrace = options.killGraceMs ?? DEFAULT_KILL_GRACE;
    this.monitorCalls = options.monitorCalls === true;
    this.mailboxSize = options.mailboxSize ?? 0;
    this.mailboxHighWater = options.mailboxHighWater ?? DEFAULT_MAILBOX_HIGH_WATER;
    const logOpts = options.log ?? {};
    this.log = new LogHandle(
      toLogLevel(logOpts.level) ?? LogLevel.Info,
      new MessageLogNode(name, this.creation),
      this.logSink,
    );
    this.calls.onFailed = (c, err) => {
      const log = c.owner === null ? this.log : c.owner.log;
      // Checked first: a burst of timeouts must not format a target string each when debug is off.
      if (log.level() <= LogLevel.Debug) logIgnorableFailure(log, `call to ${String(c.target)}`, err);
    };
    if (!logOpts.defaultLogger?.disable) {
      this.logRegistry.add(
        'default',
        createDefaultLogger(logOpts.defaultLogger),
        (logOpts.defaultLogger?.filter ?? []).map(toLogLevel),
        null,
        'default',
      );
    }
    for (const l of logOpts.loggers ?? []) this.logRegistry.add(l.name, l.logger, (l.filter ?? []).map(toLogLevel));
    // "Simulate remote": every local message goes through EDF, as if it crossed the network.
    if (options.simulateRemote) {
      const roundTrip = parts.roundTrip;
      if (roundTrip === null)
        throw ErrUnsupported.with('simulateRemote: this platform has no EDF codec (the browser entry)');
      this.simulate = (value: unknown) => roundTrip(value);
    }
    this.guard = new ProtocolGuard(this.log);
    this.checkLocal = options.validateLocal === true;
    // Local checks run on the router's slow path: an identity "copy" keeps sends off the fast one.
    if (this.checkLocal && this.simulate === null) this.simulate = (value: unknown) => value;
    if (options.env)
      for (const [k, v] of entriesOf(options.env)) if (v !== undefined && v !== null) this.envMap.set(envName(k), v);
    this.root = new NodeHandle(this, null);
    this.shutdown = new Shutdown(this);
    this.cronService = new CronService(this.root, { jobs: options.cron?.jobs });
    this.apps = new ApplicationManager(this);
    this.addStopHook({ beforeProcesses: (force) => this.apps.stopAll(force) });
    this.addStopHook({ beforeProcesses: () => this.cronService.stop() });
    this.net = new NodeNetwork(this, parts.network);
  }

  /** The network stack (started by startNode with `options.network`, or networkStart). */
  readonly net: NodeNetwork;

  /**
   * Registers a service to be stopped with the node, in registration order: `beforeProcesses`
   * before the exits go out, `afterProcesses` (may be async; e.g. closing connections after the
   * last terminate packets) once the processes are gone. Both are bounded by `shutdownTimeout`.
   */
  addStopHook(hook: StopHook): void {
    this.shutdown.hooks.push(hook);
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

  /** The normalized env name; ErrIncorrect for anything but a non-empty string. */
  envKey(name: unknown): string {
    if (typeof name !== 'string' || name === '')
      throw ErrIncorrect.with(`env name must be a non-empty string, not ${describeValue(name)}`);
    return envName(name);
  }

  env(name: string): unknown {
    this.checkAlive();
    return this.envMap.get(this.envKey(name));
  }

  setEnv(name: string, value: unknown): void {
    const key = this.envKey(name);
    if (this.nodeState === NODE_STOPPED) return;
    if (value === undefined || value === null) this.envMap.delete(key);
    else this.envMap.set(key, value);
  }

  envList(): Record<string, unknown> {
    this.checkAlive();
    return Object.fromEntries(this.envMap);
  }

  // --- processes ------------------------------------------------------------------------------

  /** The local process of `pid`; ErrProcessUnknown otherwise. */
  localProcess(pid: PID): ProcessImpl {
    const p = pid.node === this.name && pid.creation === this.creation ? this.processes.get(pid.id) : undefined;
    if (p === undefined) throw ErrProcessUnknown.with(String(pid));
    return p;
  }

  /** The local process of `pid`, in the table or still in init; undefined when none. */
  processOrInit(pid: PID): ProcessImpl | undefined {
    if (pid.node !== this.name || pid.creation !== this.creation) return undefined;
    return this.processes.get(pid.id) ?? this.initing.get(pid.id);
  }

  /**
   * The local process of a PID argument of a public method: ErrIncorrect when `pid` is not a PID
   * (a plain object shaped like one included), ErrProcessUnknown when no such local process.
   */
  processArg(pid: unknown, op: string): ProcessImpl {
    this.checkPID(pid, op);
    return this.localProcess(pid);
  }

  /** ErrIncorrect unless `pid` is a PID (one rule for every public method taking a PID). */
  checkPID(pid: unknown, op: string): asserts pid is PID {
    if (!(pid instanceof PID)) throw ErrIncorrect.with(`${op}: ${describeValue(pid)} is not a PID`);
  }

  /** Snapshot of a process (no state checks). */
  processInfoOf(p: ProcessImpl): ReturnType<typeof processInfo> {
    return processInfo(p);
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

  // --- names and aliases (names.ts) -----------------------------------------------------------

  registerName(name: Atom | string, pid: PID): void {
    registerName(this, name, pid);
  }

  unregisterName(name: Atom | string): PID {
    return unregisterName(this, name);
  }

  registerAlias(alias: Alias, p: ProcessImpl): void {
    registerAlias(this, alias, p);
  }

  /** Removes an alias and notifies its watchers (ErrUnregistered). */
  unregisterAlias(alias: Alias): void {
    unregisterAlias(this, alias);
  }

  /** Drops an alias of a terminating process, notifying watchers with its reason. */
  dropAlias(alias: Alias, reason: Error): void {
    dropAlias(this, alias, reason);
  }

  aliasOwner(alias: Alias): ProcessImpl | undefined {
    return this.aliasTable.get(alias.key);
  }

  get aliasCount(): number {
    return this.aliasTable.size;
  }

  // --- hooks ----------------------------------------------------------------------------------

  /** Hook: a process finished init and entered the table. */
  processSpawned(p: ProcessImpl): void {
    if (spawnChannel.hasSubscribers) {
      spawnChannel.publish({ node: this.name, pid: p.pid, name: p.name, behavior: p.behaviorName(), parent: p.parent });
    }
  }

  /** Hook: a process left the table (applications and shutdown follow it). */
  processTerminated(p: ProcessImpl, reason: Error): void {
    p.traceEnded(reason);
    if (terminateChannel.hasSubscribers)
      terminateChannel.publish({ node: this.name, pid: p.pid, name: p.name, reason });
    if (p.application !== '') this.apps.memberTerminated(p, reason);
    if (this.nodeState !== NODE_RUNNING) this.shutdown.check();
  }

  /** Application counts for node info. */
  applicationCounts(): { total: number; running: number } {
    return this.apps.counts();
  }
}

/** The entries of an env given as a plain object or a Map. */
function entriesOf(env: Record<string, unknown> | Map<string, unknown>): Iterable<[string, unknown]> {
  return env instanceof Map ? env.entries() : Object.entries(env);
}

export { ALL_LEVELS, entriesOf };
