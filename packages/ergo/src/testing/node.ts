// The recording node: what `this.node` is for an actor under test. Node-level side effects
// (spawns, sends, exits, kills, application starts...) are recorded; queries answer from what
// the test set up (env, names, buffered events).

import { rejected } from '../gen/ignorable.js';
import type { MessageFor, PayloadOf, ReplyFor, RequestFor } from '../gen/protocol.js';
import { installCallVariants, installSpawnForms } from '../gen/variants.js';
import type { Atom } from '../gen/atom.js';
import type { ApplicationBehavior, ApplicationInfo, ApplicationOptions } from '../gen/application.js';
import {
  ErrApplicationUnknown,
  ErrIncorrect,
  ErrMetaUnknown,
  ErrNameUnknown,
  ErrProcessUnknown,
  ErrTaken,
  ErrUnsupported,
} from '../gen/errors.js';
import type { NetworkOptions } from '../gen/network.js';
import type { Event, EventInfo, EventOptions } from '../gen/event.js';
import type { InspectCrashRecord } from '../gen/inspect_v2.js';
import { LogLevel, type LogLevelInput, type LoggerBehavior } from '../gen/log.js';
import type { MessageEvent } from '../gen/messages.js';
import type { Node, NodeInfo, PinoLike, Version } from '../gen/node.js';
import type { CallOptions, ProcessOptions, SendOptions } from '../gen/options.js';
import { PID } from '../gen/pid.js';
import { MessagePriority, ProcessState } from '../gen/priority.js';
import type { ProcessInfo, ProcessShortInfo, MailboxPeek, ProcessTracer, SendTarget } from '../gen/process.js';
import { Alias, Ref } from '../gen/ref.js';
import { validateAtomName, validateProcessOptions } from '../gen/validate.js';
import type { TestClock } from './clock.js';
import { TestCron } from './cron.js';
import { CallEvent, EventEvent, type EventLog, NodeCallEvent, SendEvent, SendExitEvent, SpawnEvent } from './events.js';
import { Failures } from './failures.js';
import { TestLog } from './log.js';
import { TestNetwork } from './network.js';
import type { TestProcess } from './process.js';

/** Version stamp the test node reports. */
export const TEST_NODE_VERSION: Version = { name: 'ergo-ts-testing', release: '0.1.0' };

/**
 * A {@link Node} that records (Ergo's TestNode). Its `failures` make methods fail on demand;
 * `network()` is the simulated network, `cron()` the scheduler on the test clock.
 */
export class TestNode implements Node {
  readonly pid: PID;
  readonly version = TEST_NODE_VERSION;
  readonly frameworkVersion = TEST_NODE_VERSION;
  readonly log: TestLog;
  /** Failure injection for the node's methods (`spawn`, `send`, `registerName`, `kill`...). */
  readonly failures: Failures;
  #alive = true;
  #nextId = 1000;
  #nextRef = 0;
  #process: TestProcess | undefined;
  readonly #env = new Map<string, unknown>();
  readonly #names = new Map<Atom, PID>();
  readonly #buffers = new Map<string, MessageEvent[]>();
  readonly #cron: TestCron;
  readonly #network: TestNetwork;
  readonly #started: number;

  constructor(
    readonly name: Atom,
    readonly creation: number,
    readonly history: EventLog,
    readonly clock: TestClock,
    logLevel: LogLevel = LogLevel.Info,
  ) {
    this.pid = new PID(name, 1, creation);
    this.log = new TestLog(history, logLevel);
    this.failures = new Failures('node', history);
    this.#cron = new TestCron(this, history, clock);
    this.#network = new TestNetwork(this, history);
    this.#started = clock.now();
  }

  /** Binds the process under test (done by the harness). */
  attach(process: TestProcess): void {
    this.#process = process;
  }
  /** The process under test, once attached. */
  get process(): TestProcess | undefined {
    return this.#process;
  }
  /** A fresh PID of this node (ids count up from 1001, as on a real node). */
  nextPID(): PID {
    return new PID(this.name, ++this.#nextId, this.creation);
  }
  /** A fresh Alias of this node. */
  nextAlias(): Alias {
    return new Alias(this.name, this.creation, [++this.#nextRef, 0, 0]);
  }
  /** Sets what linkEvent/monitorEvent of `event` return (its buffered messages). */
  setEventBuffer(event: Event, messages: MessageEvent[]): void {
    this.#buffers.set(`${event.name}\u0000${event.node}`, messages.slice());
  }
  /** The buffered messages set for `event` (empty by default). */
  bufferedEvents(event: Event): MessageEvent[] {
    return (this.#buffers.get(`${event.name}\u0000${event.node}`) ?? []).slice();
  }
  /** The simulated network (Ergo's `node.Network()`). */
  network(): TestNetwork {
    return this.#network;
  }
  /** The simulated network is always up: starting a real one is not supported here (ErrUnsupported). */
  networkStart(_options: NetworkOptions): Promise<void> {
    return rejected(
      ErrUnsupported.with('networkStart in the test kit (its network is simulated)'),
      undefined,
      'a test-kit call',
    );
  }
  /** ErrUnsupported: the simulated network cannot be stopped. */
  networkStop(): Promise<void> {
    return rejected(
      ErrUnsupported.with('networkStop in the test kit (its network is simulated)'),
      undefined,
      'a test-kit call',
    );
  }

  #fail(method: string, args: unknown[]): void {
    const err = this.failures.check(method, args);
    if (err !== undefined) throw err;
  }
  #record(method: string, args: unknown[]): void {
    this.#fail(method, args);
    this.history.push(new NodeCallEvent(method, args));
  }

  isAlive(): boolean {
    return this.#alive;
  }
  uptime(): number {
    return this.#alive ? Math.floor((this.clock.now() - this.#started) / 1000) : 0;
  }
  info(): NodeInfo {
    return {
      name: this.name,
      uptime: this.uptime(),
      version: this.version,
      framework: this.frameworkVersion,
      env: this.envList(),
      logLevel: this.log.level(),
      loggers: [],
      processesTotal: this.#process ? 1 : 0,
      processesRunning: this.#process?.state() === ProcessState.Running ? 1 : 0,
      processesZombee: 0,
      registeredAliases: 0,
      registeredNames: this.#names.size,
      registeredEvents: 0,
      applicationsTotal: 0,
      applicationsRunning: 0,
      connections: this.#network.nodes().length,
      memoryUsed: 0,
      memoryAlloc: 0,
      userTime: 0,
      systemTime: 0,
    };
  }

  env(name: string): unknown {
    return this.#env.get(name.toUpperCase());
  }
  envDefault<T>(name: string, defaultValue: T): T {
    const v = this.env(name);
    return v === undefined ? defaultValue : (v as T);
  }
  setEnv(name: string, value: unknown): void {
    if (value === undefined || value === null) this.#env.delete(name.toUpperCase());
    else this.#env.set(name.toUpperCase(), value);
  }
  envList(): Record<string, unknown> {
    return Object.fromEntries(this.#env);
  }

  /** Records a SpawnEvent and resolves with a new PID (see {@link Node.spawn}); `failures` make it fail. */
  declare spawn: Node['spawn'];
  /** spawn() with a name, which this node remembers (see {@link Node.spawnRegister}). ErrTaken. */
  declare spawnRegister: Node['spawnRegister'];
  // spawn and spawnRegister are defined once, on the prototype (gen/variants.ts).
  static {
    installSpawnForms(TestNode.prototype, (n, op, name, factory, options, args) =>
      n.#spawn(op, name as Atom, factory, options, args),
    );
  }
  #spawn(
    op: string,
    register: Atom,
    factory: unknown,
    options: ProcessOptions | undefined,
    args: unknown[],
  ): Promise<PID> {
    try {
      if (typeof factory !== 'function') throw ErrIncorrect.with(`${op}: factory must be a class or a function`);
      if (options !== undefined) validateProcessOptions(options);
      if (op === 'spawnRegister') validateAtomName(register, 'name');
      this.#fail(op, register ? [register, factory, ...args] : [factory, ...args]);
      if (register && this.#names.has(register)) throw ErrTaken.with(`name '${register}'`);
      const pid = this.nextPID();
      if (register) this.#names.set(register, pid);
      this.history.push(new SpawnEvent(this.pid, pid, factory, options, args, register));
      return Promise.resolve(pid);
    } catch (e) {
      return rejected(e, undefined, 'a test-kit call');
    }
  }
  registerName(name: Atom | string, pid: PID): void {
    this.#fail('registerName', [name, pid]);
    if (this.#names.has(name as Atom)) throw ErrTaken.with(`name '${name}'`);
    this.#names.set(name as Atom, pid);
    this.history.push(new NodeCallEvent('registerName', [name, pid]));
  }
  unregisterName(name: Atom | string): PID {
    this.#fail('unregisterName', [name]);
    const pid = this.#names.get(name as Atom);
    if (pid === undefined) throw ErrNameUnknown.with(`name '${name}'`);
    this.#names.delete(name as Atom);
    this.history.push(new NodeCallEvent('unregisterName', [name]));
    return pid;
  }
  processName(pid: PID): Atom {
    if (this.#process?.pid.equals(pid)) return this.#process.name;
    for (const [n, p] of this.#names) if (p.equals(pid)) return n;
    return '' as Atom;
  }
  processPID(name: Atom | string): PID {
    if (this.#process && this.#process.name === name) return this.#process.pid;
    const pid = this.#names.get(name as Atom);
    if (pid === undefined) throw ErrProcessUnknown.with(`name '${name}'`);
    return pid;
  }
  processList(): PID[] {
    return this.#process ? [this.#process.pid] : [];
  }
  processListShortInfo(_start?: number, _limit?: number): ProcessShortInfo[] {
    return [];
  }
  processRangeShortInfo(_fn: (info: ProcessShortInfo) => boolean | void): void {}
  recentCrashes(_options?: { readonly pid?: PID; readonly limit?: number }): InspectCrashRecord[] {
    return [];
  }
  processInfo(pid: PID): ProcessInfo {
    if (this.#process?.pid.equals(pid) && this.#process.state() !== ProcessState.Terminated) {
      const p = this.#process;
      const st = p.state();
      p.setState(ProcessState.Running);
      try {
        return { ...p.info(), state: st };
      } finally {
        p.setState(st);
      }
    }
    throw ErrProcessUnknown.with(String(pid));
  }
  processState(pid: PID): ProcessState {
    if (this.#process?.pid.equals(pid)) return this.#process.state();
    throw ErrProcessUnknown.with(String(pid));
  }
  /** Not supported by the test harness: ErrUnsupported. */
  processMailbox(_pid: PID, _limit: number): MailboxPeek {
    throw ErrUnsupported.with('processMailbox is not supported by TestNode');
  }
  /** Not supported by the test harness: ErrUnsupported. */
  traceProcess(_pid: PID, _tracer: ProcessTracer): () => void {
    throw ErrUnsupported.with('traceProcess is not supported by TestNode');
  }
  kill(pid: PID): void {
    this.#record('kill', [pid]);
  }

  send<T extends SendTarget>(to: T, message: MessageFor<T>, options?: SendOptions): void;
  send(to: SendTarget, message: unknown, options?: SendOptions): void {
    this.#fail('send', [to, message]);
    if (to === undefined || to === null || to === '') throw ErrIncorrect.with('send: empty target');
    this.history.push(
      new SendEvent(
        this.pid,
        to,
        message,
        options?.priority ?? MessagePriority.Normal,
        options?.important ?? false,
        false,
      ),
    );
  }
  sendExit(to: PID, reason: Error): void {
    this.#fail('sendExit', [to, reason]);
    this.history.push(new SendExitEvent(this.pid, to, reason, 0));
  }
  call<T extends SendTarget, const R extends RequestFor<T>>(
    to: T,
    request: R,
    options?: CallOptions,
  ): Promise<ReplyFor<T, R>>;
  call(to: SendTarget, request: unknown, options?: CallOptions): Promise<unknown> {
    try {
      this.#fail('call', [to, request]);
      const event = new CallEvent(this.pid, to, request, options);
      this.history.push(event);
      const answer = this.#process ? this.#process.callResponder(event) : undefined;
      return answer instanceof Error ? rejected(answer, undefined, 'a test-kit call') : Promise.resolve(answer);
    } catch (e) {
      return rejected(e, undefined, 'a test-kit call');
    }
  }
  // The call variants are `call` with one option set, defined once on the prototype (gen/variants.ts).
  /** call() with a timeout in milliseconds. */
  declare callWithTimeout: Node['callWithTimeout'];
  /** call() with a priority. */
  declare callWithPriority: Node['callWithPriority'];
  /** call() with important delivery. */
  declare callImportant: Node['callImportant'];
  /** call() to a PID; ErrIncorrect for anything else. */
  declare callPID: Node['callPID'];
  /** call() to a ProcessID; ErrIncorrect for anything else. */
  declare callProcessID: Node['callProcessID'];
  /** call() to an Alias; ErrIncorrect for anything else. */
  declare callAlias: Node['callAlias'];
  /** Records the request as a node call `{ inspect: items }` to `pid` and resolves with an empty map. */
  inspect(pid: PID | Atom | string, ...items: string[]): Promise<Record<string, string>> {
    try {
      this.#fail('inspect', [pid, ...items]);
      this.history.push(new CallEvent(this.pid, pid, { inspect: items }, undefined));
      return Promise.resolve({});
    } catch (e) {
      return rejected(e, undefined, 'a test-kit call');
    }
  }
  registerEvent<N extends Atom | string>(name: N, options?: EventOptions): Ref<PayloadOf<N>>;
  registerEvent(name: Atom | string, options?: EventOptions): Ref {
    this.#fail('registerEvent', [name]);
    const token = this.makeRef();
    this.history.push(new EventEvent('register', name as Atom, token, undefined, options));
    return token;
  }
  unregisterEvent(name: Atom | string): void {
    this.#fail('unregisterEvent', [name]);
    this.history.push(new EventEvent('unregister', name as Atom, undefined, undefined, undefined));
  }
  /** A test node keeps no event table: always empty. */
  eventList(): EventInfo[] {
    return [];
  }
  sendEvent<K extends Ref>(name: Atom | string, token: K, message: PayloadOf<K>, _options?: SendOptions): void;
  sendEvent(name: Atom | string, token: Ref, message: unknown, _options?: SendOptions): void {
    this.#fail('sendEvent', [name, message]);
    this.history.push(new EventEvent('send', name as Atom, token, message, undefined));
  }

  makeRef(): Ref {
    return new Ref(this.name, this.creation, [++this.#nextRef, 0, 0]);
  }
  makeRefWithDeadline(deadline: number): Ref {
    if (!(deadline > this.clock.now() / 1000)) throw ErrIncorrect.with('deadline must be in the future');
    return new Ref(this.name, this.creation, [++this.#nextRef, 0, deadline]);
  }

  applicationLoad(app: ApplicationBehavior, ...args: unknown[]): Promise<Atom> {
    try {
      this.#record('applicationLoad', [app, ...args]);
      return Promise.resolve(app.load(this, ...args)).then((spec) => spec.name as Atom);
    } catch (e) {
      return rejected(e, undefined, 'a test-kit call');
    }
  }
  applicationInfo(name: Atom | string): ApplicationInfo {
    throw ErrApplicationUnknown.with(`application '${name}'`);
  }
  applicationUnload(name: Atom | string): void {
    this.#record('applicationUnload', [name]);
  }
  applicationProcessList(_name: Atom | string, _limit?: number): PID[] {
    return [];
  }
  applicationProcessListShortInfo(_name: Atom | string, _limit?: number): ProcessShortInfo[] {
    return [];
  }
  #async(method: string, args: unknown[]): Promise<void> {
    try {
      this.#record(method, args);
      return Promise.resolve();
    } catch (e) {
      return rejected(e, undefined, 'a test-kit call');
    }
  }
  applicationStart(name: Atom | string, options?: ApplicationOptions): Promise<void> {
    return this.#async('applicationStart', [name, options]);
  }
  applicationStartTemporary(name: Atom | string, options?: ApplicationOptions): Promise<void> {
    return this.#async('applicationStartTemporary', [name, options]);
  }
  applicationStartTransient(name: Atom | string, options?: ApplicationOptions): Promise<void> {
    return this.#async('applicationStartTransient', [name, options]);
  }
  applicationStartPermanent(name: Atom | string, options?: ApplicationOptions): Promise<void> {
    return this.#async('applicationStartPermanent', [name, options]);
  }
  applicationStop(name: Atom | string): Promise<void> {
    return this.#async('applicationStop', [name]);
  }
  applicationStopWithTimeout(name: Atom | string, timeoutMs: number): Promise<void> {
    return this.#async('applicationStopWithTimeout', [name, timeoutMs]);
  }
  applicationStopForce(name: Atom | string): Promise<void> {
    return this.#async('applicationStopForce', [name]);
  }
  applications(): Atom[] {
    return [];
  }
  applicationsRunning(): Atom[] {
    return [];
  }

  /** The scheduler on the test clock. */
  cron(): TestCron {
    return this.#cron;
  }
  logLevelProcess(pid: PID): LogLevel {
    if (this.#process?.pid.equals(pid)) return this.#process.log.level();
    throw ErrProcessUnknown.with(String(pid));
  }
  setLogLevelProcess(pid: PID, level: LogLevelInput): void {
    if (this.#process?.pid.equals(pid)) return this.#process.log.setLevel(level);
    throw ErrProcessUnknown.with(String(pid));
  }
  /** Meta processes do not run under the kit: none. */
  metaList(): Alias[] {
    return [];
  }
  /** Meta processes do not run under the kit: always ErrMetaUnknown. */
  metaInfo(meta: Alias): never {
    throw ErrMetaUnknown.with(String(meta));
  }
  /** Always rejects with ErrMetaUnknown. */
  inspectMeta(meta: Alias, ..._items: string[]): Promise<Record<string, string>> {
    return rejected(ErrMetaUnknown.with(String(meta)), undefined, 'a test-kit call');
  }
  /** Always ErrMetaUnknown. */
  logLevelMeta(meta: Alias): never {
    throw ErrMetaUnknown.with(String(meta));
  }
  /** Always ErrMetaUnknown. */
  setLogLevelMeta(meta: Alias, _level: LogLevelInput): void {
    throw ErrMetaUnknown.with(String(meta));
  }
  loggerAdd(name: string, _logger: LoggerBehavior | PinoLike, ...filter: LogLevelInput[]): void {
    this.#record('loggerAdd', [name, ...filter]);
  }
  loggerAddPID(pid: PID, name: string, ...filter: LogLevelInput[]): void {
    this.#record('loggerAddPID', [pid, name, ...filter]);
  }
  loggerDelete(name: string): void {
    this.#record('loggerDelete', [name]);
  }
  loggerDeletePID(pid: PID): void {
    this.#record('loggerDeletePID', [pid]);
  }
  loggers(): string[] {
    return [];
  }
  loggerLevels(_name: string): LogLevel[] {
    return [];
  }

  /** Records the stop and marks the node stopped (the actor under test is not terminated). */
  stop(): Promise<void> {
    this.#alive = false;
    this.history.push(new NodeCallEvent('stop', []));
    return Promise.resolve();
  }
  stopForce(): Promise<void> {
    this.#alive = false;
    this.history.push(new NodeCallEvent('stopForce', []));
    return Promise.resolve();
  }
  wait(): Promise<void> {
    return Promise.resolve();
  }
  waitWithTimeout(_ms: number): Promise<void> {
    return Promise.resolve();
  }
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}
installCallVariants(TestNode.prototype);
