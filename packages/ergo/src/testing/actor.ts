// The harness: `spawnTest` runs one behaviour against the recording process and node. The test
// drives it (messages, calls, exits, events, down notices, time) and every handler runs at once
// in the test's own flow; what the actor did is then asserted on the recorded history.

import { rejected } from '../gen/ignorable.js';
import type { Atom } from '../gen/atom.js';
import {
  ErrIncorrect,
  ErrNoConnection,
  ErrProcessTerminated,
  TerminateReasonKill,
  TerminateReasonPanic,
  toError,
} from '../gen/errors.js';
import { Event } from '../gen/event.js';
import { LogLevel } from '../gen/log.js';
import {
  MessageDownAlias,
  MessageDownEvent,
  MessageDownNode,
  MessageDownPID,
  MessageDownProcessID,
  MessageEvent,
  MessageExitAlias,
  MessageExitEvent,
  MessageExitNode,
  MessageExitPID,
  MessageExitProcessID,
} from '../gen/messages.js';
import { PID } from '../gen/pid.js';
import { MessagePriority, ProcessState } from '../gen/priority.js';
import { MailboxKind, Stop, type InitArgs, type ProcessBehavior, type ProcessFactory } from '../gen/process.js';
import { ProcessID } from '../gen/processid.js';
import { Alias, type Ref } from '../gen/ref.js';
import {
  CallExpectation,
  ConnectionExpectation,
  CronExpectation,
  EventExpectation,
  ExitExpectation,
  ExitMetaExpectation,
  LogExpectation,
  NodeCallExpectation,
  RemoteApplicationStartExpectation,
  RemoteSpawnExpectation,
  SendAfterExpectation,
  SendExpectation,
  SendResponseErrorExpectation,
  SendResponseExpectation,
  SpawnExpectation,
  SpawnMetaExpectation,
  TerminateExpectation,
  WatchExpectation,
} from './assertions.js';
import { TestClock } from './clock.js';
import { EventLog, LogEvent, type SendEvent, TerminateEvent, type TestEvent } from './events.js';
import { TestNode } from './node.js';
import { TestProcess, targetNode, type CallResponder } from './process.js';
import type { TestRemoteNode } from './network.js';

/** Options of {@link spawnTest} (Ergo's WithArgs, WithLogLevel, WithEnv, WithParent, WithRegister, WithNodeName). */
export interface SpawnTestOptions<B extends ProcessBehavior = ProcessBehavior> {
  /** Arguments of `init`. */
  args?: InitArgs<B>;
  /** Level of the actor's log (default Info): records below it are not recorded. */
  logLevel?: LogLevel;
  /** Env of the process (names are case-insensitive). */
  env?: Record<string, unknown>;
  /** Node env (the layer under the process env). */
  nodeEnv?: Record<string, unknown>;
  /** Parent PID (default: a PID of the test node, id 100). */
  parent?: PID;
  /** Group leader (default: the parent). */
  leader?: PID;
  /** Registered name of the process. */
  register?: Atom | string;
  /** Application the process belongs to. */
  application?: Atom | string;
  /** Name of the test node (default 'test@localhost'). */
  nodeName?: Atom | string;
  /** Creation of the test node (default 1234567890). */
  creation?: number;
  /** Start of the test clock (default 2025-01-01T00:00:00Z). */
  time?: Date;
  /** How the actor's calls are answered (default: `undefined`). */
  callResponder?: CallResponder;
}

/**
 * A finished (or pending) call made by the test with {@link TestActor.call}. `response` and
 * `error` look the reply up each time they are read, so a reply sent later (`sendResponse` from
 * another handler) shows up (Ergo's GetAsyncResponse).
 */
export class CallResult {
  constructor(
    readonly history: EventLog,
    readonly from: PID,
    readonly ref: Ref,
    readonly request: unknown,
    /** The reason the actor terminated with while handling this call, if it did. */
    readonly terminatedWith: Error | undefined,
  ) {}
  /** True once a reply (value or error) was sent for this call. */
  get responded(): boolean {
    return this.history.replyFor(this.ref) !== undefined;
  }
  /** The reply value, or undefined (no reply yet, or an error reply). */
  get response(): unknown {
    const r = this.history.replyFor(this.ref);
    return r?.kind === 'sendResponse' ? r.response : undefined;
  }
  /** The error reply, else the termination reason during the call, else undefined. */
  get error(): Error | undefined {
    const r = this.history.replyFor(this.ref);
    if (r?.kind === 'sendResponseError') return r.error;
    return r === undefined ? this.terminatedWith : undefined;
  }
  /** `{response, error}` as of now (Ergo's GetAsyncResponse). */
  asyncResponse(): { response: unknown; error: Error | undefined } {
    return { response: this.response, error: this.error };
  }
}

const DEFAULT_NODE = 'test@localhost';
const DEFAULT_CREATION = 1234567890;

/**
 * One actor under test (Ergo's TestActor). Driving methods deliver one mailbox record and run
 * the behaviour until its mailbox is empty; handlers that are synchronous have run (and their
 * effects are recorded) before the method returns, async ones when its promise resolves — await
 * it. Once the actor terminated, driving methods reject with ErrProcessTerminated.
 */
export class TestActor<B extends ProcessBehavior = ProcessBehavior> {
  /** The shared history. */
  readonly history: EventLog;
  /** The test clock (sendAfter timers, cron). */
  readonly clock: TestClock;
  /** The recording node: `this.node` for the actor; its `network()`, `cron()` and `failures`. */
  readonly node: TestNode;
  /** The recording process the behaviour is bound to; its `failures`, state and watches. */
  readonly process: TestProcess;
  /** The behaviour object under test (read its fields to check its state). */
  readonly behavior: B;
  #terminated: Error | undefined;
  readonly #captures = new Map<string, unknown>();
  readonly #delivered = new WeakSet<TestEvent>();
  /** True while processRun runs synchronously (mail delivered meanwhile waits for this run). */
  #inHandler = false;
  /** The run in progress while an async handler is suspended. */
  #running: Promise<void> | undefined;

  /** @internal use {@link spawnTest}. */
  constructor(behavior: B, options: SpawnTestOptions<B>) {
    this.history = new EventLog();
    this.clock = new TestClock(options.time);
    const nodeName = (options.nodeName ?? DEFAULT_NODE) as Atom;
    const creation = options.creation ?? DEFAULT_CREATION;
    this.node = new TestNode(nodeName, creation, this.history, this.clock);
    for (const [k, v] of Object.entries(options.nodeEnv ?? {})) this.node.setEnv(k, v);
    const parent = options.parent ?? new PID(nodeName, 100, creation);
    this.process = new TestProcess(this.node, this.history, this.clock, {
      pid: this.node.nextPID(),
      parent,
      leader: options.leader ?? parent,
      name: (options.register ?? '') as Atom,
      application: (options.application ?? '') as Atom,
      env: options.env ?? {},
      logLevel: options.logLevel ?? LogLevel.Info,
    });
    if (options.callResponder) this.process.callResponder = options.callResponder;
    this.behavior = behavior;
    this.process.setBehavior(behavior);
    this.node.attach(this.process);
    this.node.network().onNodeDown = (name) => void this.#nodeDown(name).catch(() => undefined);
  }

  /** The actor's PID. */
  get pid(): PID {
    return this.process.pid;
  }

  // --- lifecycle -----------------------------------------------------------------------------

  /** Runs init; rejects (after recording) when it fails. @internal called by spawnTest. */
  async init(args: unknown[]): Promise<void> {
    this.process.setState(ProcessState.Init);
    let r: unknown;
    try {
      r = this.behavior.processInit(this.process, args);
      if (r !== null && typeof r === 'object' && typeof (r as { then?: unknown }).then === 'function')
        r = await (r as PromiseLike<unknown>);
    } catch (e) {
      this.#initFailed(toError(e));
      throw e;
    }
    if (r instanceof Error) {
      this.#initFailed(r);
      throw r;
    }
    this.process.setState(ProcessState.Sleep);
    // mail that reached the mailbox during init (a forward to itself) is handled now, as on a node
    if (this.process.testMailbox.size > 0) {
      const p = this.#pump();
      if (p !== undefined) {
        this.#running = p;
        await p;
      }
    }
  }
  #initFailed(err: Error): void {
    this.history.push(
      new LogEvent(
        LogLevel.Panic,
        'init of %s failed: %s',
        [this.pid.toString(), err.message],
        `init of ${this.pid} failed: ${err.message}`,
        [],
      ),
    );
    this.process.setState(ProcessState.Terminated);
    this.#terminated = err;
  }

  /** True once the actor terminated. */
  isTerminated(): boolean {
    return this.#terminated !== undefined;
  }
  /** The reason it terminated with, or undefined while alive. */
  terminationReason(): Error | undefined {
    return this.#terminated;
  }

  // --- driving -------------------------------------------------------------------------------

  /**
   * Delivers a regular message from `from` and runs the handler. `via` addresses it by name or
   * alias (for split handling); `priority` picks the queue (Max → urgent, High → system).
   */
  sendMessage(
    from: PID,
    message: unknown,
    options: { via?: Atom | Alias; priority?: MessagePriority } = {},
  ): Promise<void> {
    return this.#deliver(queueOf(options.priority), MailboxKind.Regular, from, message, options.via);
  }

  /**
   * Makes a call from `from` and runs `handleCall`. Resolves with a {@link CallResult}: the
   * reply if the handler returned one (or sent one) at once; a reply sent later is found by the
   * same result object.
   */
  async call(
    from: PID,
    request: unknown,
    options: { via?: Atom | Alias; priority?: MessagePriority } = {},
  ): Promise<CallResult> {
    const ref = this.node.makeRef();
    const extra = options.via === undefined ? ref : [ref, options.via];
    const before = this.#terminated;
    await this.#deliver(queueOf(options.priority), MailboxKind.Request, from, request, extra);
    return new CallResult(this.history, from, ref, request, before === undefined ? this.#terminated : undefined);
  }

  /** Delivers an exit signal from `from` (a MessageExitPID): terminates the actor unless it traps exits. */
  sendExit(from: PID, reason: Error): Promise<void> {
    if (!(reason instanceof Error))
      return rejected(ErrIncorrect.with('sendExit: reason must be an Error'), undefined, 'a test-kit call');
    return this.#deliver('urgent', MailboxKind.Exit, from, new MessageExitPID(from, reason), undefined);
  }

  /** Delivers a published event message to `handleEvent` (the actor must have subscribed for it to make sense). */
  sendEvent(event: Event | Atom | string, message: unknown, from: PID = this.node.pid): Promise<void> {
    const ev = event instanceof Event ? event : new Event(event as Atom, this.node.name);
    return this.#deliver(
      'main',
      MailboxKind.Event,
      from,
      new MessageEvent(ev, BigInt(this.clock.now()) * 1_000_000n, message),
      undefined,
    );
  }

  /**
   * Delivers a down or exit notice as the node would: MessageDown* as a message in the system
   * queue, MessageExit* as an exit signal in the urgent queue.
   */
  deliver(notice: object): Promise<void> {
    if (notice instanceof MessageExitPID)
      return this.#deliver('urgent', MailboxKind.Exit, notice.pid, notice, undefined);
    if (
      notice instanceof MessageExitProcessID ||
      notice instanceof MessageExitAlias ||
      notice instanceof MessageExitEvent ||
      notice instanceof MessageExitNode
    ) {
      return this.#deliver('urgent', MailboxKind.Exit, this.node.pid, notice, undefined);
    }
    if (notice instanceof MessageDownPID)
      return this.#deliver('system', MailboxKind.Regular, notice.pid, notice, undefined);
    if (
      notice instanceof MessageDownProcessID ||
      notice instanceof MessageDownAlias ||
      notice instanceof MessageDownEvent ||
      notice instanceof MessageDownNode
    ) {
      return this.#deliver('system', MailboxKind.Regular, this.node.pid, notice, undefined);
    }
    return rejected(
      ErrIncorrect.with('deliver: expected a MessageDown* or MessageExit* notice'),
      undefined,
      'a test-kit call',
    );
  }

  /**
   * Delivers, in order, the messages the actor sent to itself (its PID or its name) that were
   * not delivered yet — the way an actor's `send(this.pid, ...)` or a fired `sendAfter` to
   * itself would arrive on a real node.
   */
  async deliverSelfMessages(): Promise<number> {
    let n = 0;
    for (;;) {
      const next = this.history.ofKind('send').find((e) => !this.#delivered.has(e) && this.#isSelf(e));
      if (next === undefined) return n;
      this.#delivered.add(next);
      n++;
      await this.#deliver(queueOf(next.priority), MailboxKind.Regular, this.pid, next.message, undefined);
    }
  }
  #isSelf(e: SendEvent): boolean {
    const to = e.to;
    if (to instanceof PID) return to.equals(this.pid);
    if (typeof to === 'string') return to !== '' && to === this.process.name;
    if (to instanceof ProcessID) return to.name === this.process.name && (to.node === '' || to.node === this.node.name);
    return false;
  }

  /**
   * Kills the actor: it terminates at once with TerminateReasonKill (its `terminate` runs); no
   * further handler runs, and whatever a suspended async handler returns later is ignored.
   * Rejects with ErrProcessTerminated when it already ended.
   */
  async kill(): Promise<void> {
    if (this.#terminated !== undefined) throw ErrProcessTerminated.with(String(this.pid));
    await this.#terminate(TerminateReasonKill);
  }

  /**
   * Moves the test clock forward: sendAfter timers and cron jobs due meanwhile fire (their
   * sends are recorded; use {@link deliverSelfMessages} for the ones addressed to the actor).
   */
  advanceTime(ms: number): void {
    this.clock.advance(ms);
  }

  /** Sets how the actor's own calls are answered (see {@link CallResponder}). */
  respondToCalls(responder: CallResponder): this {
    this.process.callResponder = responder;
    return this;
  }

  /**
   * Queues one record and runs the behaviour. One record at a time, as on a node: mail that
   * arrives while a handler runs (from the handler itself, or from the test while an async
   * handler is suspended) waits in the mailbox and is handled by the run in progress, whose
   * promise is returned.
   */
  #deliver(
    queue: 'urgent' | 'system' | 'main',
    kind: MailboxKind,
    from: PID,
    message: unknown,
    extra: unknown,
  ): Promise<void> {
    if (this.#terminated !== undefined)
      return rejected(
        ErrProcessTerminated.with(`${this.pid} terminated: ${this.#terminated.message}`),
        undefined,
        'a test-kit call',
      );
    this.process.testMailbox.put(queue, kind, from, message, extra);
    if (this.#inHandler) return Promise.resolve();
    if (this.#running !== undefined) return this.#running;
    const p = this.#pump();
    if (p === undefined) return Promise.resolve();
    this.#running = p;
    return p;
  }

  /** Runs the behaviour until its mailbox is empty; returns a promise only when a handler went async. */
  #pump(): Promise<void> | undefined {
    const mb = this.process.testMailbox;
    while (mb.size > 0 && this.#terminated === undefined) {
      this.process.setState(ProcessState.Running);
      let r: unknown;
      this.#inHandler = true;
      try {
        r = this.behavior.processRun();
      } catch (e) {
        this.#inHandler = false;
        this.#running = undefined;
        return this.#panic(e);
      }
      this.#inHandler = false;
      if (r !== null && typeof r === 'object' && typeof (r as { then?: unknown }).then === 'function') {
        return Promise.resolve(r).then(
          (v) => this.#after(v) ?? this.#pump(),
          (e: unknown) => this.#panic(e),
        );
      }
      const t = this.#after(r);
      if (t !== undefined) return t;
    }
    this.#running = undefined;
    if (this.#terminated === undefined) this.process.setState(ProcessState.Sleep);
    return undefined;
  }

  #after(r: unknown): Promise<void> | undefined {
    if (r instanceof Stop) return this.#terminate(r.reason);
    if (r instanceof Error) return this.#terminate(r);
    return undefined;
  }

  #panic(e: unknown): Promise<void> | undefined {
    if (this.#terminated !== undefined) return undefined; // killed while suspended: the kill stands
    const err = toError(e);
    this.process.log.panic(
      'process %s terminated: panic in a handler: %s',
      this.pid.toString(),
      err.stack ?? err.message,
    );
    return this.#terminate(TerminateReasonPanic);
  }

  #terminate(reason: Error): Promise<void> | undefined {
    if (this.#terminated !== undefined) return undefined; // already ended (a kill during an async handler)
    this.#terminated = reason;
    this.#running = undefined;
    this.process.setState(ProcessState.Terminated);
    this.history.push(new TerminateEvent(this.pid, reason));
    let r: unknown;
    try {
      r = this.behavior.processTerminate(reason);
    } catch (e) {
      this.#terminatePanic(e);
      return undefined;
    }
    if (r !== null && typeof r === 'object' && typeof (r as { then?: unknown }).then === 'function') {
      return Promise.resolve(r).then(
        () => undefined,
        (e: unknown) => this.#terminatePanic(e),
      );
    }
    return undefined;
  }
  #terminatePanic(e: unknown): void {
    const err = toError(e);
    this.node.log.panic('panic in terminate of %s: %s', this.pid.toString(), err.stack ?? err.message);
  }

  /** The simulated network told us a node went down: notify the actor's watchers of it. */
  async #nodeDown(name: Atom): Promise<void> {
    const hit = [...this.process.watches.entries()].filter(([, w]) => targetNode(w.target) === name);
    for (const [key] of hit) this.process.watches.delete(key);
    const nodeOps = this.process.nodeWatches.get(name);
    this.process.nodeWatches.delete(name);
    if (nodeOps?.has('monitor')) await this.deliver(new MessageDownNode(name));
    if (nodeOps?.has('link') && this.#terminated === undefined) await this.deliver(new MessageExitNode(name));
    for (const [, w] of hit) {
      if (this.#terminated !== undefined) return;
      const notice = noticeFor(w.op, w.target as PID | ProcessID | Alias | Event);
      if (notice !== undefined) await this.deliver(notice);
    }
  }

  // --- simulated network ---------------------------------------------------------------------

  /** Adds a remote node (Ergo's CreateRemoteNode). */
  createRemoteNode(name: Atom | string, connected = true): TestRemoteNode {
    return this.node.network().addRemoteNode(name, connected);
  }
  /** Connects a remote node, creating it when unknown (Ergo's ConnectRemoteNode). */
  connectRemoteNode(name: Atom | string): TestRemoteNode {
    return this.node.network().connectNode(name);
  }
  /**
   * Disconnects a remote node (Ergo's DisconnectRemoteNode): the actor's links and monitors of
   * targets on it get exit / down notices with ErrNoConnection, delivered before this resolves.
   */
  async disconnectRemoteNode(name: Atom | string): Promise<void> {
    const pending: Promise<void>[] = [];
    const net = this.node.network();
    const prev = net.onNodeDown;
    net.onNodeDown = (n) => pending.push(this.#nodeDown(n));
    try {
      net.disconnectNode(name);
    } finally {
      net.onNodeDown = prev;
    }
    await Promise.all(pending);
  }
  /** Names of the connected remote nodes (Ergo's ListConnectedNodes). */
  listConnectedNodes(): Atom[] {
    return this.node.network().nodes();
  }

  // --- cron ----------------------------------------------------------------------------------

  /** Runs a cron job's action now (Ergo's TriggerCronJob). */
  triggerCronJob(name: Atom | string): Promise<void> {
    return this.node.cron().trigger(name);
  }
  /** Sets the test clock (Ergo's SetCronMockTime); jobs due at the minutes passed run. */
  setCronTime(time: Date): void {
    this.clock.set(time);
  }

  // --- history -------------------------------------------------------------------------------

  /** Every recorded event, oldest first. */
  events(): TestEvent[] {
    return this.history.all();
  }
  /** The newest event. */
  lastEvent(): TestEvent | undefined {
    return this.history.last();
  }
  /** Forgets the history (replies to calls stay findable by their CallResult). */
  clearEvents(): this {
    this.history.clear();
    return this;
  }
  /** Number of recorded events. */
  eventCount(): number {
    return this.history.length;
  }
  /** Stores a value under a name, for later steps (Ergo's Capture). */
  capture(name: string, value: unknown): this {
    this.#captures.set(name, value);
    return this;
  }
  /** A value stored with {@link capture} (Ergo's Retrieved). */
  retrieved<T = unknown>(name: string): T | undefined {
    return this.#captures.get(name) as T | undefined;
  }

  // --- assertions ----------------------------------------------------------------------------

  /** Sends made (including cron message actions and fired timers). */
  shouldSend(): SendExpectation {
    return new SendExpectation(this.history, 'send', 'send');
  }
  /** No send matched (finish with `assert()`). */
  shouldNotSend(): SendExpectation {
    return new SendExpectation(this.history, 'send', 'send', true);
  }
  /** sendAfter timers scheduled. */
  shouldSendAfter(): SendAfterExpectation {
    return new SendAfterExpectation(this.history, 'sendAfter', 'sendAfter');
  }
  /** Children spawned by the actor (`spawn`, `spawnRegister`). */
  shouldSpawn(): SpawnExpectation {
    return new SpawnExpectation(this.history, 'spawn', 'spawn');
  }
  /** No matching spawn. */
  shouldNotSpawn(): SpawnExpectation {
    return new SpawnExpectation(this.history, 'spawn', 'spawn', true);
  }
  /** Log records the actor wrote at or above its level. */
  shouldLog(): LogExpectation {
    return new LogExpectation(this.history, 'log', 'log');
  }
  /** No matching log record. */
  shouldNotLog(): LogExpectation {
    return new LogExpectation(this.history, 'log', 'log', true);
  }
  /** Calls the actor made. */
  shouldCall(): CallExpectation {
    return new CallExpectation(this.history, 'call', 'call');
  }
  /** No matching call. */
  shouldNotCall(): CallExpectation {
    return new CallExpectation(this.history, 'call', 'call', true);
  }
  /** Replies the actor sent (returned from handleCall or with sendResponse). */
  shouldSendResponse(): SendResponseExpectation {
    return new SendResponseExpectation(this.history, 'sendResponse', 'sendResponse');
  }
  /** No matching reply. */
  shouldNotSendResponse(): SendResponseExpectation {
    return new SendResponseExpectation(this.history, 'sendResponse', 'sendResponse', true);
  }
  /** Error replies the actor sent (sendResponseError). */
  shouldSendResponseError(): SendResponseErrorExpectation {
    return new SendResponseErrorExpectation(this.history, 'sendResponseError', 'sendResponseError');
  }
  /** No matching error reply. */
  shouldNotSendResponseError(): SendResponseErrorExpectation {
    return new SendResponseErrorExpectation(this.history, 'sendResponseError', 'sendResponseError', true);
  }
  /** Exit signals the actor sent (sendExit, fired sendExitAfter). */
  shouldSendExit(): ExitExpectation {
    return new ExitExpectation(this.history, 'sendExit', 'sendExit');
  }
  /** No matching exit signal. */
  shouldNotSendExit(): ExitExpectation {
    return new ExitExpectation(this.history, 'sendExit', 'sendExit', true);
  }
  /** Node-level operations the actor made through `this.node` (`applicationStart`, `kill`, loggers...). */
  shouldCallNode(): NodeCallExpectation {
    return new NodeCallExpectation(this.history, 'node', 'node call');
  }
  /** No matching node-level operation. */
  shouldNotCallNode(): NodeCallExpectation {
    return new NodeCallExpectation(this.history, 'node', 'node call', true);
  }
  /** Meta processes spawned by the actor (`spawnMeta`). */
  shouldSpawnMeta(): SpawnMetaExpectation {
    return new SpawnMetaExpectation(this.history, 'spawnMeta', 'spawnMeta');
  }
  /** Exit signals the actor sent to meta processes (`sendExitMeta`). */
  shouldSendExitMeta(): ExitMetaExpectation {
    return new ExitMetaExpectation(this.history, 'sendExitMeta', 'sendExitMeta');
  }
  /** No matching exit to a meta process. */
  shouldNotSendExitMeta(): ExitMetaExpectation {
    return new ExitMetaExpectation(this.history, 'sendExitMeta', 'sendExitMeta', true);
  }
  /** Links the actor made to whole remote nodes (`linkNode`). */
  shouldLinkNode(): WatchExpectation {
    return new WatchExpectation(this.history, 'watch', 'linkNode').where('', (e) => e.op === 'linkNode');
  }
  /** Monitors the actor made of whole remote nodes (`monitorNode`). */
  shouldMonitorNode(): WatchExpectation {
    return new WatchExpectation(this.history, 'watch', 'monitorNode').where('', (e) => e.op === 'monitorNode');
  }
  /** The actor terminated. */
  shouldTerminate(): TerminateExpectation {
    return new TerminateExpectation(this.history, 'terminate', 'terminate');
  }
  /** The actor did not terminate (finish with `assert()`). */
  shouldNotTerminate(): TerminateExpectation {
    return new TerminateExpectation(this.history, 'terminate', 'terminate', true);
  }
  /** Spawns on simulated remote nodes. */
  shouldRemoteSpawn(): RemoteSpawnExpectation {
    return new RemoteSpawnExpectation(this.history, 'remoteSpawn', 'remoteSpawn');
  }
  /** No matching remote spawn. */
  shouldNotRemoteSpawn(): RemoteSpawnExpectation {
    return new RemoteSpawnExpectation(this.history, 'remoteSpawn', 'remoteSpawn', true);
  }
  /** Application starts on simulated remote nodes. */
  shouldRemoteApplicationStart(): RemoteApplicationStartExpectation {
    return new RemoteApplicationStartExpectation(this.history, 'remoteApplicationStart', 'remoteApplicationStart');
  }
  /** Remote nodes connected (by the actor's getNode or the test). */
  shouldConnect(): ConnectionExpectation {
    return new ConnectionExpectation(this.history, 'connection', 'connect').where('', (e) => e.op === 'connect');
  }
  /** Remote nodes disconnected. */
  shouldDisconnect(): ConnectionExpectation {
    return new ConnectionExpectation(this.history, 'connection', 'disconnect').where('', (e) => e.op === 'disconnect');
  }
  /** Links the actor made. */
  shouldLink(): WatchExpectation {
    return new WatchExpectation(this.history, 'watch', 'link').where('', (e) => e.op === 'link');
  }
  /** Monitors the actor made. */
  shouldMonitor(): WatchExpectation {
    return new WatchExpectation(this.history, 'watch', 'monitor').where('', (e) => e.op === 'monitor');
  }
  /** Events the actor registered. */
  shouldRegisterEvent(): EventExpectation {
    return new EventExpectation(this.history, 'event', 'registerEvent').where('', (e) => e.op === 'register');
  }
  /** Event messages the actor published. */
  shouldSendEvent(): EventExpectation {
    return new EventExpectation(this.history, 'event', 'sendEvent').where('', (e) => e.op === 'send');
  }
  /** Cron jobs added. */
  shouldAddCronJob(): CronExpectation {
    return new CronExpectation(this.history, 'cron', 'cron add').where('', (e) => e.op === 'add');
  }
  /** Cron jobs removed. */
  shouldRemoveCronJob(): CronExpectation {
    return new CronExpectation(this.history, 'cron', 'cron remove').where('', (e) => e.op === 'remove');
  }
  /** Cron jobs enabled. */
  shouldEnableCronJob(): CronExpectation {
    return new CronExpectation(this.history, 'cron', 'cron enable').where('', (e) => e.op === 'enable');
  }
  /** Cron jobs disabled. */
  shouldDisableCronJob(): CronExpectation {
    return new CronExpectation(this.history, 'cron', 'cron disable').where('', (e) => e.op === 'disable');
  }
  /** Cron job runs (the clock passed their minute, or triggerCronJob). */
  shouldExecuteCronJob(): CronExpectation {
    return new CronExpectation(this.history, 'cron', 'cron execute').where('', (e) => e.op === 'execute');
  }
  /** No matching cron run. */
  shouldNotExecuteCronJob(): CronExpectation {
    return new CronExpectation(this.history, 'cron', 'cron execute', true).where('', (e) => e.op === 'execute');
  }
}

function queueOf(priority: MessagePriority | undefined): 'urgent' | 'system' | 'main' {
  return priority === MessagePriority.Max ? 'urgent' : priority === MessagePriority.High ? 'system' : 'main';
}

/** The notice a lost connection produces for one watch. */
function noticeFor(op: 'link' | 'monitor', target: PID | ProcessID | Alias | Event): object | undefined {
  const reason = ErrNoConnection;
  if (op === 'link') {
    if (target instanceof PID) return new MessageExitPID(target, reason);
    if (target instanceof ProcessID) return new MessageExitProcessID(target, reason);
    if (target instanceof Alias) return new MessageExitAlias(target, reason);
    if (target instanceof Event) return new MessageExitEvent(target, reason);
    return undefined;
  }
  if (target instanceof PID) return new MessageDownPID(target, reason);
  if (target instanceof ProcessID) return new MessageDownProcessID(target, reason);
  if (target instanceof Alias) return new MessageDownAlias(target, reason);
  if (target instanceof Event) return new MessageDownEvent(target, reason);
  return undefined;
}

/**
 * The options argument of {@link spawnTest}: optional when the behaviour's `init` needs no
 * arguments, else required with its `args` (as node.spawn requires init's arguments).
 */
export type SpawnTestArgs<B extends ProcessBehavior> =
  [] extends InitArgs<B> ? [options?: SpawnTestOptions<B>] : [options: SpawnTestOptions<B> & { args: InitArgs<B> }];

/**
 * Spawns `factory` as the actor under test (Ergo's unit.Spawn): builds a recording node and
 * process, binds the behaviour and runs `init` with `options.args` (required, of init's types,
 * when init needs arguments: a compile error otherwise). Resolves with the harness; rejects with
 * init's error (returned or thrown) when init fails.
 */
export async function spawnTest<B extends ProcessBehavior>(
  factory: ProcessFactory<B>,
  ...rest: SpawnTestArgs<NoInfer<B>>
): Promise<TestActor<B>> {
  const options: SpawnTestOptions<B> = rest[0] ?? {};
  if (typeof factory !== 'function')
    throw ErrIncorrect.with('spawnTest: factory must be a behaviour class or a function returning one');
  const proto = (factory as { prototype?: { processInit?: unknown } }).prototype;
  const behavior: B =
    proto !== undefined && typeof proto.processInit === 'function'
      ? new (factory as new () => B)()
      : (factory as () => B)();
  if (behavior === null || typeof behavior !== 'object' || typeof behavior.processInit !== 'function') {
    throw ErrIncorrect.with('spawnTest: the factory did not produce a ProcessBehavior');
  }
  const actor = new TestActor<B>(behavior, options);
  await actor.init((options.args ?? []) as unknown[]);
  return actor;
}
