// The recording process: the gen `Process` a behaviour under test is bound to. Every side
// effect becomes an event in the harness' history instead of reaching a node; state rules are
// the engine's (Ergo 3.2's, with the wider Init), so an operation the real node would refuse
// (sendEvent or info in init...) is refused here too. What it sends out (messages, exits,
// responses, calls, meta operations) is recorded by process_outbound.ts.

import { rejected } from '../gen/ignorable.js';
import type { MessageFor, PayloadOf, ReplyFor, RequestFor } from '../gen/protocol.js';
import { installCallVariants, installSpawnForms } from '../gen/variants.js';
import type { Atom } from '../gen/atom.js';
import {
  ErrIncorrect,
  ErrNotAllowed,
  ErrProcessUnknown,
  ErrTaken,
  ErrNameUnknown,
  ErrAliasUnknown,
  ErrEventUnknown,
  ErrMetaUnknown,
  ErrTargetUnknown,
} from '../gen/errors.js';
import { Event, type EventOptions } from '../gen/event.js';
import { sleepingRefusal, validateAtomName, validateProcessOptions } from '../gen/validate.js';
import { type LogLevel } from '../gen/log.js';
import type { MessageEvent } from '../gen/messages.js';
import type {
  CallOptions,
  CancelFunc,
  Compression,
  ProcessFallback,
  ProcessOptions,
  SendOptions,
} from '../gen/options.js';
import { PID } from '../gen/pid.js';
import { MessagePriority, ProcessState, isMessagePriority, processStateString } from '../gen/priority.js';
import type { LinkTarget, MailboxKind, Process, ProcessBehavior, ProcessInfo, SendTarget } from '../gen/process.js';
import { ProcessID } from '../gen/processid.js';
import { Alias, type Ref } from '../gen/ref.js';
import type { TestClock } from './clock.js';
import {
  type CallEvent,
  EventEvent,
  type EventLog,
  ForwardEvent,
  NameEvent,
  SpawnEvent,
  WatchEvent,
} from './events.js';
import { Failures } from './failures.js';
import { TestLog } from './log.js';
import { TestMailbox } from './mailbox.js';
import type { TestNode } from './node.js';
import { MASK_IR, MASK_R, OutboundRecorder } from './process_outbound.js';

/**
 * How the recording process answers the calls the actor makes: return the reply (or a promise
 * of it); return or throw an Error to fail the call. The default answers `undefined`, as Ergo's
 * kit answers nil.
 */
export type CallResponder = (call: CallEvent) => unknown;

/** Settings of a {@link TestProcess} (the harness fills them from spawnTest's options). */
export interface TestProcessSettings {
  pid: PID;
  parent: PID;
  leader: PID;
  name: Atom;
  application: Atom;
  env: Record<string, unknown>;
  logLevel: LogLevel;
}

/** A link or monitor the actor holds, keyed by its target. */
export interface Watch {
  readonly op: 'link' | 'monitor';
  readonly target: LinkTarget;
}

/** The node name a link/send target lives on ('' = local). */
export function targetNode(target: unknown): Atom {
  if (target instanceof PID || target instanceof Alias || target instanceof Event) return target.node;
  if (target instanceof ProcessID) return target.node;
  return '' as Atom;
}

function targetKey(target: LinkTarget): string {
  if (typeof target === 'string') return `N${target}`;
  if (target instanceof ProcessID) return `I${target.name}\u0000${target.node}`;
  if (target instanceof Event) return `E${target.name}\u0000${target.node}`;
  return (target as PID | Alias).key;
}

/**
 * A {@link Process} that records. Obtain it from the harness (`actor.process`); its failure
 * rules are `actor.process.failures` (method names as on {@link Process}).
 */
export class TestProcess implements Process {
  readonly pid: PID;
  readonly parent: PID;
  readonly leader: PID;
  readonly application: Atom;
  readonly log: TestLog;
  /** Failure injection for this process' methods. */
  readonly failures: Failures;
  /** Links and monitors currently held (the simulated network notifies them on disconnect). */
  readonly watches = new Map<string, Watch>();
  /** Links and monitors of whole remote nodes (`linkNode`, `monitorNode`), by node name. */
  readonly nodeWatches = new Map<Atom, Set<'link' | 'monitor'>>();
  /** How calls made by the actor are answered. */
  callResponder: CallResponder = () => undefined;

  #name: Atom;
  #state: ProcessState = ProcessState.Init;
  #behavior: ProcessBehavior | undefined;
  readonly #mailbox = new TestMailbox();
  readonly #env = new Map<string, unknown>();
  readonly #aliases: Alias[] = [];
  readonly #events = new Map<Atom, Ref>();
  readonly #started: number;
  #priority: MessagePriority = MessagePriority.Normal;
  #important = false;
  #keepOrder = true;
  readonly #compression: Compression = { enable: false, type: 'gzip', level: 0, threshold: 1024 };
  /** Records the sends, calls and meta operations (process_outbound.ts). */
  readonly #out: OutboundRecorder;

  constructor(
    readonly node: TestNode,
    readonly history: EventLog,
    readonly clock: TestClock,
    settings: TestProcessSettings,
  ) {
    this.pid = settings.pid;
    this.parent = settings.parent;
    this.leader = settings.leader;
    this.application = settings.application;
    this.#name = settings.name;
    for (const [k, v] of Object.entries(settings.env)) this.#env.set(k.toUpperCase(), v);
    this.log = new TestLog(history, settings.logLevel);
    this.failures = new Failures('process', history);
    this.#started = clock.now();
    this.#out = new OutboundRecorder(this, {
      allow: (mask, op) => this.#allow(mask, op),
      droppedAsleep: (op) => this.#droppedAsleep(op),
      fail: (method, args) => this.#fail(method, args),
      state: () => this.#state,
      priority: () => this.#priority,
      important: () => this.#important,
    });
  }

  // --- harness hooks ---------------------------------------------------------------------------

  /** Sets the state (the harness moves it between Init, Sleep, Running and Terminated). */
  setState(state: ProcessState): void {
    this.#state = state;
  }
  /** Binds the behaviour (the harness does it before init). */
  setBehavior(b: ProcessBehavior): void {
    this.#behavior = b;
  }
  /** The mailbox the harness fills. */
  get testMailbox(): TestMailbox {
    return this.#mailbox;
  }

  #allow(mask: number, op: string): void {
    if ((this.#state & mask) === 0) {
      if (this.#state === ProcessState.Sleep) throw sleepingRefusal(op, this.pid);
      throw ErrNotAllowed.with(`${op} is not allowed in state ${processStateString(this.#state)}`);
    }
  }
  /** As the engine: a message op of a sleeping process is logged at error and dropped (no throw). */
  #droppedAsleep(op: string): boolean {
    if (this.#state !== ProcessState.Sleep) return false;
    this.log.error('%s; nothing was sent', sleepingRefusal(op, this.pid).message);
    return true;
  }
  #fail(method: string, args: unknown[]): void {
    const err = this.failures.check(method, args);
    if (err !== undefined) throw err;
  }

  // --- identity --------------------------------------------------------------------------------

  get name(): Atom {
    return this.#name;
  }
  uptime(): number {
    return Math.floor((this.clock.now() - this.#started) / 1000);
  }
  state(): ProcessState {
    return this.#state;
  }
  behaviorName(): string {
    return this.#behavior?.constructor.name ?? '';
  }

  // --- spawning --------------------------------------------------------------------------------

  /** Records a SpawnEvent and resolves with a new PID (see {@link Process.spawn}); `failures` make it fail. */
  declare spawn: Process['spawn'];
  /** spawn() with a name (see {@link Process.spawnRegister}). */
  declare spawnRegister: Process['spawnRegister'];
  // spawn and spawnRegister are defined once, on the prototype (gen/variants.ts).
  static {
    installSpawnForms(TestProcess.prototype, (p, op, name, factory, options, args) =>
      p.#spawn(op, name as Atom, factory, options, args),
    );
  }
  /** Spawns through the simulated network (recorded as a RemoteSpawnEvent); the node must be connected. */
  remoteSpawn(node: Atom | string, name: Atom | string, options?: ProcessOptions, ...args: unknown[]): Promise<PID> {
    return this.remoteSpawnRegister(node, '', name, options, ...args);
  }
  async remoteSpawnRegister(
    node: Atom | string,
    register: Atom | string,
    name: Atom | string,
    options?: ProcessOptions,
    ...args: unknown[]
  ): Promise<PID> {
    this.#allow(MASK_IR, 'remoteSpawn');
    const remote = await this.node.network().getNode(node);
    return register === ''
      ? remote.spawn(name, options, ...args)
      : remote.spawnRegister(register, name, options, ...args);
  }
  #spawn(
    op: string,
    register: Atom,
    factory: unknown,
    options: ProcessOptions | undefined,
    args: unknown[],
  ): Promise<PID> {
    try {
      this.#allow(MASK_IR, op);
      if (typeof factory !== 'function') throw ErrIncorrect.with(`${op}: factory must be a class or a function`);
      if (options !== undefined) validateProcessOptions(options);
      if (op === 'spawnRegister') validateAtomName(register, 'name');
      this.#fail(op, register ? [register, factory, options, ...args] : [factory, options, ...args]);
      const pid = this.node.nextPID();
      this.history.push(new SpawnEvent(this.pid, pid, factory, options, args, register));
      return Promise.resolve(pid);
    } catch (e) {
      return rejected(e, undefined, 'a test-kit call');
    }
  }

  // --- naming ----------------------------------------------------------------------------------

  registerName(name: Atom | string): void {
    this.#allow(MASK_IR, 'registerName');
    this.#fail('registerName', [name]);
    if (this.#name !== '') throw ErrTaken.with(`process already has the name '${this.#name}'`);
    this.#name = name as Atom;
    this.history.push(new NameEvent('registerName', name as Atom));
  }
  unregisterName(): void {
    this.#allow(MASK_IR, 'unregisterName');
    this.#fail('unregisterName', []);
    if (this.#name === '') throw ErrNameUnknown.with('process has no name');
    const old = this.#name;
    this.#name = '' as Atom;
    this.history.push(new NameEvent('unregisterName', old));
  }

  // --- environment -----------------------------------------------------------------------------

  env(name: string): unknown {
    const key = name.toUpperCase();
    return this.#env.has(key) ? this.#env.get(key) : this.node.env(key);
  }
  envDefault<T>(name: string, defaultValue: T): T {
    const v = this.env(name);
    return v === undefined ? defaultValue : (v as T);
  }
  setEnv(name: string, value: unknown): void {
    if ((this.#state & MASK_IR) === 0) return;
    if (value === undefined || value === null) this.#env.delete(name.toUpperCase());
    else this.#env.set(name.toUpperCase(), value);
  }
  envList(): Record<string, unknown> {
    const out = this.node.envList();
    for (const [k, v] of this.#env) out[k] = v;
    return out;
  }

  // --- delivery settings -----------------------------------------------------------------------

  sendPriority(): MessagePriority {
    return this.#priority;
  }
  setSendPriority(priority: MessagePriority): void {
    this.#allow(MASK_IR, 'setSendPriority');
    if (!isMessagePriority(priority)) throw ErrIncorrect.with(`priority ${String(priority)}`);
    this.#priority = priority;
  }
  importantDelivery(): boolean {
    return this.#important;
  }
  setImportantDelivery(important: boolean): void {
    this.#allow(MASK_IR, 'setImportantDelivery');
    this.#important = important;
  }
  keepNetworkOrder(): boolean {
    return this.#keepOrder;
  }
  setKeepNetworkOrder(keep: boolean): void {
    this.#allow(MASK_IR, 'setKeepNetworkOrder');
    this.#keepOrder = keep;
  }
  compression(): Compression {
    return { ...this.#compression };
  }
  setCompression(enable: boolean): void {
    this.#allow(MASK_IR, 'setCompression');
    this.#compression.enable = enable;
  }
  setCompressionType(type: 'gzip' | 'zlib' | 'lzw'): void {
    this.#allow(MASK_IR, 'setCompressionType');
    this.#compression.type = type;
  }
  setCompressionLevel(level: 0 | 1 | 2): void {
    this.#allow(MASK_IR, 'setCompressionLevel');
    this.#compression.level = level;
  }
  setCompressionThreshold(threshold: number): void {
    this.#allow(MASK_IR, 'setCompressionThreshold');
    this.#compression.threshold = threshold;
  }

  // --- aliases ---------------------------------------------------------------------------------

  createAlias(): Alias {
    this.#allow(MASK_IR, 'createAlias');
    this.#fail('createAlias', []);
    const alias = this.node.nextAlias();
    this.#aliases.push(alias);
    this.history.push(new NameEvent('createAlias', alias));
    return alias;
  }
  deleteAlias(alias: Alias): void {
    this.#allow(MASK_IR, 'deleteAlias');
    this.#fail('deleteAlias', [alias]);
    const i = this.#aliases.findIndex((a) => a.equals(alias));
    if (i < 0) throw ErrAliasUnknown.with(String(alias));
    this.#aliases.splice(i, 1);
    this.history.push(new NameEvent('deleteAlias', alias));
  }
  aliases(): Alias[] {
    return this.#aliases.slice();
  }

  // --- sending ---------------------------------------------------------------------------------

  send<T extends SendTarget>(to: T, message: MessageFor<T>, options?: SendOptions): void;
  send(to: SendTarget, message: unknown, options?: SendOptions): void {
    this.#out.send(to, message, options);
  }
  sendWithPriority<T extends SendTarget>(to: T, message: MessageFor<T>, priority: MessagePriority): void;
  sendWithPriority(to: SendTarget, message: unknown, priority: MessagePriority): void {
    if (!isMessagePriority(priority)) throw ErrIncorrect.with(`priority ${String(priority)}`);
    this.send(to, message, { priority });
  }
  sendImportant<T extends SendTarget>(to: T, message: MessageFor<T>): Promise<void>;
  sendImportant(to: SendTarget, message: unknown): Promise<void> {
    return this.#out.sendImportant(to, message);
  }
  sendAfter<T extends SendTarget>(
    to: T,
    message: MessageFor<T>,
    delayMs: number,
    priority?: MessagePriority,
  ): CancelFunc;
  sendAfter(to: SendTarget, message: unknown, delayMs: number, priority?: MessagePriority): CancelFunc {
    return this.#out.sendAfter(to, message, delayMs, priority);
  }
  /** sendAfter with an explicit priority (I/R); recorded as sendAfter, its send with that priority. */
  sendWithPriorityAfter<T extends SendTarget>(
    to: T,
    message: MessageFor<T>,
    priority: MessagePriority,
    delayMs: number,
  ): CancelFunc;
  sendWithPriorityAfter(to: SendTarget, message: unknown, priority: MessagePriority, delayMs: number): CancelFunc {
    this.#allow(MASK_IR, 'sendWithPriorityAfter');
    if (!isMessagePriority(priority)) throw ErrIncorrect.with(`priority ${String(priority)}`);
    return this.sendAfter(to, message, delayMs, priority);
  }
  sendExit(to: PID, reason: Error): void {
    this.#out.sendExit(to, reason);
  }
  sendExitAfter(to: PID, reason: Error, delayMs: number): CancelFunc {
    return this.#out.sendExitAfter(to, reason, delayMs);
  }
  sendResponse(to: PID, ref: Ref, value: unknown): void {
    this.#out.sendResponse(to, ref, value);
  }
  sendResponseError(to: PID, ref: Ref, error: Error): void {
    this.#out.sendResponseError(to, ref, error);
  }
  /**
   * Records the reply as sendResponse does and resolves: under the kit the caller is taken to be
   * waiting (make it fail with `failures` on 'sendResponseImportant', e.g. ErrResponseIgnored).
   */
  sendResponseImportant(to: PID, ref: Ref, value: unknown): Promise<void> {
    return this.#out.sendResponseImportant(to, ref, value);
  }
  /** Records the error reply as sendResponseError does and resolves (see sendResponseImportant). */
  sendResponseErrorImportant(to: PID, ref: Ref, error: Error): Promise<void> {
    return this.#out.sendResponseErrorImportant(to, ref, error);
  }

  // --- calls -----------------------------------------------------------------------------------

  call<T extends SendTarget, const R extends RequestFor<T>>(
    to: T,
    request: R,
    options?: CallOptions,
  ): Promise<ReplyFor<T, R>>;
  call(to: SendTarget, request: unknown, options?: CallOptions): Promise<unknown> {
    return this.#out.call(to, request, options);
  }
  // The call variants are `call` with one option set, defined once on the prototype (gen/variants.ts).
  /** call() with a timeout in milliseconds. */
  declare callWithTimeout: Process['callWithTimeout'];
  /** call() with a priority. */
  declare callWithPriority: Process['callWithPriority'];
  /** call() with important delivery. */
  declare callImportant: Process['callImportant'];
  /** call() to a PID; ErrIncorrect for anything else. */
  declare callPID: Process['callPID'];
  /** call() to a ProcessID; ErrIncorrect for anything else. */
  declare callProcessID: Process['callProcessID'];
  /** call() to an Alias; ErrIncorrect for anything else. */
  declare callAlias: Process['callAlias'];
  /** Records the request as a call `{ inspect: items }` to `pid` and resolves with an empty map. */
  inspect(pid: PID, ...items: string[]): Promise<Record<string, string>> {
    return this.#out.inspect(pid, ...items);
  }
  info(): ProcessInfo {
    this.#allow(MASK_R, 'info');
    const watched = (op: 'link' | 'monitor', cls: Function): never[] =>
      [...this.watches.values()].filter((w) => w.op === op && w.target instanceof cls).map((w) => w.target as never);
    return {
      pid: this.pid,
      name: this.#name,
      application: this.application,
      behavior: this.behaviorName(),
      mailboxSize: this.#mailbox.size,
      mailboxQueues: this.#mailbox.lengths(),
      messagesIn: 0,
      messagesOut: 0,
      runningTime: 0,
      compression: this.compression(),
      messagePriority: this.#priority,
      uptime: this.uptime(),
      state: this.#state,
      parent: this.parent,
      leader: this.leader,
      fallback: { enable: false, name: '' as Atom, tag: '' } as ProcessFallback,
      env: this.envList(),
      aliases: this.aliases(),
      events: this.events(),
      metas: [],
      monitorsPID: watched('monitor', PID),
      monitorsProcessID: watched('monitor', ProcessID),
      monitorsAlias: watched('monitor', Alias),
      monitorsEvent: watched('monitor', Event),
      monitorsNode: [],
      linksPID: watched('link', PID),
      linksProcessID: watched('link', ProcessID),
      linksAlias: watched('link', Alias),
      linksEvent: watched('link', Event),
      linksNode: [],
      logLevel: this.log.level(),
      keepNetworkOrder: this.#keepOrder,
      importantDelivery: this.#important,
    };
  }

  // --- events ----------------------------------------------------------------------------------

  registerEvent<N extends Atom | string>(name: N, options?: EventOptions): Ref<PayloadOf<N>>;
  registerEvent(name: Atom | string, options?: EventOptions): Ref {
    this.#allow(MASK_IR, 'registerEvent');
    this.#fail('registerEvent', [name, options]);
    if (this.#events.has(name as Atom)) throw ErrTaken.with(`event '${name}'`);
    const token = this.node.makeRef();
    this.#events.set(name as Atom, token);
    this.history.push(new EventEvent('register', name as Atom, token, undefined, options));
    return token;
  }
  unregisterEvent(name: Atom | string): void {
    this.#allow(MASK_IR, 'unregisterEvent');
    this.#fail('unregisterEvent', [name]);
    if (!this.#events.delete(name as Atom)) throw ErrEventUnknown.with(`event '${name}'`);
    this.history.push(new EventEvent('unregister', name as Atom, undefined, undefined, undefined));
  }
  sendEvent<K extends Ref>(name: Atom | string, token: K, message: PayloadOf<K>, _options?: SendOptions): void;
  sendEvent(name: Atom | string, token: Ref, message: unknown, _options?: SendOptions): void {
    if (this.#droppedAsleep('sendEvent')) return;
    this.#allow(MASK_R, 'sendEvent');
    this.#fail('sendEvent', [name, message]);
    this.history.push(new EventEvent('send', name as Atom, token, message, undefined));
  }
  events(): Atom[] {
    return [...this.#events.keys()];
  }

  // --- links and monitors ----------------------------------------------------------------------

  #watch(op: 'link' | 'monitor', target: LinkTarget): void {
    this.#allow(MASK_IR, op);
    if (target === undefined || target === null || (target as unknown) === '')
      throw ErrIncorrect.with(`${op}: empty target`);
    this.#fail(op, [target]);
    this.watches.set(`${op}:${targetKey(target)}`, { op, target });
    this.history.push(new WatchEvent(this.pid, op, target));
  }
  #unwatch(op: 'link' | 'monitor', target: LinkTarget): void {
    const undo = op === 'link' ? 'unlink' : 'demonitor';
    this.#allow(MASK_IR, undo);
    this.#fail(undo, [target]);
    this.watches.delete(`${op}:${targetKey(target)}`);
    this.history.push(new WatchEvent(this.pid, undo, target));
  }
  link(target: LinkTarget): void {
    this.#watch('link', target);
  }
  unlink(target: LinkTarget): void {
    this.#unwatch('link', target);
  }
  linkPID(target: PID): void {
    this.#watch('link', target);
  }
  unlinkPID(target: PID): void {
    this.#unwatch('link', target);
  }
  linkProcessID(target: ProcessID): void {
    this.#watch('link', target);
  }
  unlinkProcessID(target: ProcessID): void {
    this.#unwatch('link', target);
  }
  linkAlias(target: Alias): void {
    this.#watch('link', target);
  }
  unlinkAlias(target: Alias): void {
    this.#unwatch('link', target);
  }
  /** Records the link and resolves with the buffered messages the test set (`node.setEventBuffer`). */
  linkEvent<V>(target: Event<V>): Promise<MessageEvent<V>[]>;
  linkEvent(target: Event): Promise<MessageEvent[]> {
    try {
      this.#watch('link', target);
      return Promise.resolve(this.node.bufferedEvents(target));
    } catch (e) {
      return rejected(e, undefined, 'a test-kit call');
    }
  }
  unlinkEvent(target: Event): void {
    this.#unwatch('link', target);
  }
  monitor(target: LinkTarget): void {
    this.#watch('monitor', target);
  }
  demonitor(target: LinkTarget): void {
    this.#unwatch('monitor', target);
  }
  monitorPID(target: PID): void {
    this.#watch('monitor', target);
  }
  demonitorPID(target: PID): void {
    this.#unwatch('monitor', target);
  }
  monitorProcessID(target: ProcessID): void {
    this.#watch('monitor', target);
  }
  demonitorProcessID(target: ProcessID): void {
    this.#unwatch('monitor', target);
  }
  monitorAlias(target: Alias): void {
    this.#watch('monitor', target);
  }
  demonitorAlias(target: Alias): void {
    this.#unwatch('monitor', target);
  }
  /** Records the monitor and resolves with the buffered messages the test set (`node.setEventBuffer`). */
  monitorEvent<V>(target: Event<V>): Promise<MessageEvent<V>[]>;
  monitorEvent(target: Event): Promise<MessageEvent[]> {
    try {
      this.#watch('monitor', target);
      return Promise.resolve(this.node.bufferedEvents(target));
    } catch (e) {
      return rejected(e, undefined, 'a test-kit call');
    }
  }
  demonitorEvent(target: Event): void {
    this.#unwatch('monitor', target);
  }

  // --- node links and monitors --------------------------------------------------------------

  #watchNode(op: 'link' | 'monitor', node: Atom | string): void {
    const name = op === 'link' ? 'linkNode' : 'monitorNode';
    this.#allow(MASK_IR, name);
    if (typeof node !== 'string' || node === '') throw ErrIncorrect.with(`${name}: empty node name`);
    if (node === this.node.name) throw ErrNotAllowed.with(`${name} to its own node`);
    this.#fail(name, [node]);
    this.node.network().node(node); // ErrNoConnection when not connected, as a real node
    const ops = this.nodeWatches.get(node as Atom) ?? new Set();
    ops.add(op);
    this.nodeWatches.set(node as Atom, ops);
    this.history.push(new WatchEvent(this.pid, name, node as Atom));
  }
  #unwatchNode(op: 'link' | 'monitor', node: Atom | string): void {
    const name = op === 'link' ? 'unlinkNode' : 'demonitorNode';
    this.#allow(MASK_IR, name);
    this.#fail(name, [node]);
    const ops = this.nodeWatches.get(node as Atom);
    if (ops === undefined || !ops.delete(op)) throw ErrTargetUnknown.with(`node '${node}'`);
    if (ops.size === 0) this.nodeWatches.delete(node as Atom);
    this.history.push(new WatchEvent(this.pid, name, node as Atom));
  }
  /** Relations are recorded at once in the test kit: resolves at once. */
  relationsConfirmed(): Promise<void> {
    return Promise.resolve();
  }
  /** Links to a simulated remote node (I/R): MessageExitNode when the test disconnects it. ErrNoConnection when not connected. */
  linkNode(node: Atom | string): void {
    this.#watchNode('link', node);
  }
  /** Drops a node link (I/R). ErrTargetUnknown when there is none. */
  unlinkNode(node: Atom | string): void {
    this.#unwatchNode('link', node);
  }
  /** Monitors a simulated remote node (I/R): MessageDownNode when the test disconnects it. */
  monitorNode(node: Atom | string): void {
    this.#watchNode('monitor', node);
  }
  /** Drops a node monitor (I/R). ErrTargetUnknown when there is none. */
  demonitorNode(node: Atom | string): void {
    this.#unwatchNode('monitor', node);
  }
  /** True after `monitorNodes()` until `demonitorNodes()` (the kit sends no node notices itself). */
  monitorsNodes = false;
  /** Records the node-notice subscription (I/R); returns the simulated nodes connected now. */
  monitorNodes(): Atom[] {
    this.#allow(MASK_IR, 'monitorNodes');
    this.#fail('monitorNodes', []);
    this.monitorsNodes = true;
    return this.node.network().nodes();
  }
  /** Ends the node-notice subscription (I/R). ErrTargetUnknown when there was none. */
  demonitorNodes(): void {
    this.#allow(MASK_IR, 'demonitorNodes');
    this.#fail('demonitorNodes', []);
    if (!this.monitorsNodes) throw ErrTargetUnknown.with(`${this.pid} has not asked for node notices`);
    this.monitorsNodes = false;
  }

  // --- meta processes ------------------------------------------------------------------------

  /**
   * Records a meta process spawn (I/R) and returns a fresh alias as its id; the meta's `init`
   * does not run. ErrIncorrect when `behavior` is not an object.
   */
  spawnMeta(behavior: object, options?: object): Alias {
    return this.#out.spawnMeta(behavior, options);
  }
  /** Records an exit signal to a meta process (I/R/T). ErrIncorrect without an Alias and an Error. */
  sendExitMeta(meta: Alias, reason: Error): void {
    this.#out.sendExitMeta(meta, reason);
  }
  /** Records a delayed exit to a meta (I/R); the exit itself is recorded when the test clock passes the delay. */
  sendExitMetaAfter(meta: Alias, reason: Error, delayMs: number): CancelFunc {
    return this.#out.sendExitMetaAfter(meta, reason, delayMs);
  }
  /** Records the request and resolves with an empty map (the meta does not run). */
  inspectMeta(meta: Alias, ...items: string[]): Promise<Record<string, string>> {
    return this.#out.inspectMeta(meta, ...items);
  }
  /** Meta processes do not run under the kit: always ErrMetaUnknown. */
  metaInfo(meta: Alias): never {
    throw ErrMetaUnknown.with(String(meta));
  }

  // --- low level -------------------------------------------------------------------------------

  mailbox(): TestMailbox {
    return this.#mailbox;
  }
  behavior(): ProcessBehavior {
    if (this.#behavior === undefined) throw ErrProcessUnknown.with('no behaviour bound');
    return this.#behavior;
  }
  /**
   * Records a forward to another process; a forward to itself (a supervisor replaying held
   * exits) goes into its own mailbox, as on a real node, and is handled on the next drive.
   */
  forward(to: PID, kind: MailboxKind, from: PID, message: unknown, extra: unknown, priority: MessagePriority): void {
    this.#fail('forward', [to, message]);
    if (to.equals(this.pid)) {
      const queue = priority === MessagePriority.Max ? 'urgent' : priority === MessagePriority.High ? 'system' : 'main';
      this.#mailbox.put(queue, kind, from, message, extra);
      return;
    }
    this.history.push(new ForwardEvent(to, kind, from, message, extra));
  }
}
installCallVariants(TestProcess.prototype);
