// The part every behaviour shares: the process it is bound to, and the process operations
// exposed as `this.send`, `this.call`, `this.spawn`... (Ergo embeds gen.Process in its actors).
// Nothing here is usable before the engine binds the process (right before `init`).

import type { Atom } from '../gen/atom.js';
import type { Event, EventOptions } from '../gen/event.js';
import type { Log } from '../gen/log.js';
import type { MessageEvent } from '../gen/messages.js';
import type { Node } from '../gen/node.js';
import type { CallOptions, CancelFunc, Compression, ProcessOptions, SendOptions } from '../gen/options.js';
import type { PID } from '../gen/pid.js';
import type { MessageFor, PayloadOf, CheckHandlers, ProtocolOf, ReplyFor, RequestFor } from '../gen/protocol.js';
import type { MessagePriority, ProcessState } from '../gen/priority.js';
import type { ProcessID } from '../gen/processid.js';
import type {
  InitArgs,
  LinkTarget,
  Process,
  ProcessBehavior,
  ProcessFactory,
  ProcessInfo,
  SendTarget,
} from '../gen/process.js';
import type { Alias, Ref } from '../gen/ref.js';
import type { MetaBehavior, MetaInfo, MetaOptions } from '../gen/meta.js';

/**
 * Base of Actor, Supervisor and Pool: holds the bound {@link Process} and forwards the process
 * API to it. Subclasses implement the mailbox loop (`processRun`). Every method follows the state
 * rules documented on {@link Process}; calling them before the process is bound (in a
 * constructor) throws a TypeError.
 */
export abstract class BehaviorBase implements ProcessBehavior {
  /**
   * The bound process. A TypeScript-private property rather than a #private field: V8 compiles a
   * #private load as a keyed load, and once many behaviour classes run through `send` that load
   * goes megamorphic (a generic lookup on every send); a named load stays specialised to the
   * caller's class wherever `send` is inlined into a handler.
   */
  private ergoProcess!: Process;

  /** The process this behaviour runs in (bound right before init). */
  get process(): Process {
    return this.ergoProcess;
  }

  /** Binds the process. Called by the engine only. */
  protected bind(process: Process): void {
    this.ergoProcess = process;
  }

  abstract processInit(process: Process, args: unknown[]): unknown;
  abstract processRun(): unknown;
  abstract processTerminate(reason: Error): unknown;

  get node(): Node {
    return this.ergoProcess.node;
  }
  get pid(): PID {
    return this.ergoProcess.pid;
  }
  get name(): Atom {
    return this.ergoProcess.name;
  }
  get parent(): PID {
    return this.ergoProcess.parent;
  }
  get leader(): PID {
    return this.ergoProcess.leader;
  }
  get application(): Atom {
    return this.ergoProcess.application;
  }
  get log(): Log {
    return this.ergoProcess.log;
  }
  uptime(): number {
    return this.ergoProcess.uptime();
  }
  state(): ProcessState {
    return this.ergoProcess.state();
  }

  spawn<B extends ProcessBehavior>(
    factory: ProcessFactory<B> & NoInfer<CheckHandlers<B>>,
    options?: ProcessOptions,
    ...args: InitArgs<B>
  ): Promise<PID<ProtocolOf<B>>> {
    return this.ergoProcess.spawn(factory, options, ...args);
  }
  spawnRegister<B extends ProcessBehavior>(
    name: Atom | string,
    factory: ProcessFactory<B> & NoInfer<CheckHandlers<B>>,
    options?: ProcessOptions,
    ...args: InitArgs<B>
  ): Promise<PID<ProtocolOf<B>>> {
    return this.ergoProcess.spawnRegister(name, factory, options, ...args);
  }
  /** See {@link Process.remoteSpawn}. */
  remoteSpawn(node: Atom | string, name: Atom | string, options?: ProcessOptions, ...args: unknown[]): Promise<PID> {
    return this.ergoProcess.remoteSpawn(node, name, options, ...args);
  }
  /** See {@link Process.remoteSpawnRegister}. */
  remoteSpawnRegister(
    node: Atom | string,
    register: Atom | string,
    name: Atom | string,
    options?: ProcessOptions,
    ...args: unknown[]
  ): Promise<PID> {
    return this.ergoProcess.remoteSpawnRegister(node, register, name, options, ...args);
  }
  registerName(name: Atom | string): void {
    this.ergoProcess.registerName(name);
  }
  unregisterName(): void {
    this.ergoProcess.unregisterName();
  }

  env(name: string): unknown {
    return this.ergoProcess.env(name);
  }
  envDefault<T>(name: string, defaultValue: T): T {
    return this.ergoProcess.envDefault(name, defaultValue);
  }
  setEnv(name: string, value: unknown): void {
    this.ergoProcess.setEnv(name, value);
  }
  envList(): Record<string, unknown> {
    return this.ergoProcess.envList();
  }

  sendPriority(): MessagePriority {
    return this.ergoProcess.sendPriority();
  }
  setSendPriority(priority: MessagePriority): void {
    this.ergoProcess.setSendPriority(priority);
  }
  importantDelivery(): boolean {
    return this.ergoProcess.importantDelivery();
  }
  setImportantDelivery(important: boolean): void {
    this.ergoProcess.setImportantDelivery(important);
  }
  keepNetworkOrder(): boolean {
    return this.ergoProcess.keepNetworkOrder();
  }
  setKeepNetworkOrder(keep: boolean): void {
    this.ergoProcess.setKeepNetworkOrder(keep);
  }
  compression(): Compression {
    return this.ergoProcess.compression();
  }
  setCompression(enable: boolean): void {
    this.ergoProcess.setCompression(enable);
  }
  setCompressionType(type: 'gzip' | 'zlib' | 'lzw'): void {
    this.ergoProcess.setCompressionType(type);
  }
  setCompressionLevel(level: 0 | 1 | 2): void {
    this.ergoProcess.setCompressionLevel(level);
  }
  setCompressionThreshold(threshold: number): void {
    this.ergoProcess.setCompressionThreshold(threshold);
  }

  createAlias(): Alias {
    return this.ergoProcess.createAlias();
  }
  deleteAlias(alias: Alias): void {
    this.ergoProcess.deleteAlias(alias);
  }
  aliases(): Alias[] {
    return this.ergoProcess.aliases();
  }

  spawnMeta(behavior: MetaBehavior, options?: MetaOptions): Alias {
    return this.ergoProcess.spawnMeta(behavior, options);
  }
  sendExitMeta(meta: Alias, reason: Error): void {
    this.ergoProcess.sendExitMeta(meta, reason);
  }
  sendExitMetaAfter(meta: Alias, reason: Error, delayMs: number): CancelFunc {
    return this.ergoProcess.sendExitMetaAfter(meta, reason, delayMs);
  }
  inspectMeta(meta: Alias, ...items: string[]): Promise<Record<string, string>> {
    return this.ergoProcess.inspectMeta(meta, ...items);
  }
  metaInfo(meta: Alias): MetaInfo {
    return this.ergoProcess.metaInfo(meta);
  }

  send<T extends SendTarget>(to: T, message: MessageFor<T>, options?: SendOptions): void {
    this.ergoProcess.send(to, message, options);
  }
  sendWithPriority<T extends SendTarget>(to: T, message: MessageFor<T>, priority: MessagePriority): void {
    this.ergoProcess.sendWithPriority(to, message, priority);
  }
  sendImportant<T extends SendTarget>(to: T, message: MessageFor<T>): Promise<void> {
    return this.ergoProcess.sendImportant(to, message);
  }
  sendAfter<T extends SendTarget>(
    to: T,
    message: MessageFor<T>,
    delayMs: number,
    priority?: MessagePriority,
  ): CancelFunc {
    return this.ergoProcess.sendAfter(to, message, delayMs, priority);
  }
  sendWithPriorityAfter<T extends SendTarget>(
    to: T,
    message: MessageFor<T>,
    priority: MessagePriority,
    delayMs: number,
  ): CancelFunc {
    return this.ergoProcess.sendWithPriorityAfter(to, message, priority, delayMs);
  }
  sendExit(to: PID, reason: Error): void {
    this.ergoProcess.sendExit(to, reason);
  }
  sendExitAfter(to: PID, reason: Error, delayMs: number): CancelFunc {
    return this.ergoProcess.sendExitAfter(to, reason, delayMs);
  }
  sendResponse(to: PID, ref: Ref, value: unknown): void {
    this.ergoProcess.sendResponse(to, ref, value);
  }
  sendResponseError(to: PID, ref: Ref, error: Error): void {
    this.ergoProcess.sendResponseError(to, ref, error);
  }
  /** Answers a call and reports whether the caller got it (see Process.sendResponseImportant). */
  sendResponseImportant(to: PID, ref: Ref, value: unknown): Promise<void> {
    return this.ergoProcess.sendResponseImportant(to, ref, value);
  }
  /** Answers a call with an error and reports whether the caller got it. */
  sendResponseErrorImportant(to: PID, ref: Ref, error: Error): Promise<void> {
    return this.ergoProcess.sendResponseErrorImportant(to, ref, error);
  }
  call<T extends SendTarget, const R extends RequestFor<T>>(
    to: T,
    request: R,
    options?: CallOptions,
  ): Promise<ReplyFor<T, R>> {
    return this.ergoProcess.call(to, request, options);
  }
  callWithTimeout<T extends SendTarget, const R extends RequestFor<T>>(
    to: T,
    request: R,
    timeoutMs: number,
  ): Promise<ReplyFor<T, R>> {
    return this.ergoProcess.callWithTimeout(to, request, timeoutMs);
  }
  callWithPriority<T extends SendTarget, const R extends RequestFor<T>>(
    to: T,
    request: R,
    priority: MessagePriority,
  ): Promise<ReplyFor<T, R>> {
    return this.ergoProcess.callWithPriority(to, request, priority);
  }
  callImportant<T extends SendTarget, const R extends RequestFor<T>>(to: T, request: R): Promise<ReplyFor<T, R>> {
    return this.ergoProcess.callImportant(to, request);
  }
  callPID<T extends PID, const R extends RequestFor<T>>(
    to: T,
    request: R,
    timeoutMs?: number,
  ): Promise<ReplyFor<T, R>> {
    return this.ergoProcess.callPID(to, request, timeoutMs);
  }
  callProcessID<T extends ProcessID, const R extends RequestFor<T>>(
    to: T,
    request: R,
    timeoutMs?: number,
  ): Promise<ReplyFor<T, R>> {
    return this.ergoProcess.callProcessID(to, request, timeoutMs);
  }
  callAlias<T extends Alias, const R extends RequestFor<T>>(
    to: T,
    request: R,
    timeoutMs?: number,
  ): Promise<ReplyFor<T, R>> {
    return this.ergoProcess.callAlias(to, request, timeoutMs);
  }
  inspect(pid: PID, ...items: string[]): Promise<Record<string, string>> {
    return this.ergoProcess.inspect(pid, ...items);
  }
  info(): ProcessInfo {
    return this.ergoProcess.info();
  }

  registerEvent<N extends Atom | string>(name: N, options?: EventOptions): Ref<PayloadOf<N>> {
    return this.ergoProcess.registerEvent(name, options);
  }
  unregisterEvent(name: Atom | string): void {
    this.ergoProcess.unregisterEvent(name);
  }
  sendEvent<K extends Ref>(name: Atom | string, token: K, message: PayloadOf<K>, options?: SendOptions): void {
    this.ergoProcess.sendEvent(name, token, message, options);
  }
  events(): Atom[] {
    return this.ergoProcess.events();
  }

  link(target: LinkTarget): void {
    this.ergoProcess.link(target);
  }
  unlink(target: LinkTarget): void {
    this.ergoProcess.unlink(target);
  }
  linkPID(target: PID): void {
    this.ergoProcess.linkPID(target);
  }
  unlinkPID(target: PID): void {
    this.ergoProcess.unlinkPID(target);
  }
  linkProcessID(target: ProcessID): void {
    this.ergoProcess.linkProcessID(target);
  }
  unlinkProcessID(target: ProcessID): void {
    this.ergoProcess.unlinkProcessID(target);
  }
  linkAlias(target: Alias): void {
    this.ergoProcess.linkAlias(target);
  }
  unlinkAlias(target: Alias): void {
    this.ergoProcess.unlinkAlias(target);
  }
  /** Links to an event; resolves to its buffered messages (see Process.linkEvent). */
  linkEvent<V>(target: Event<V>): Promise<MessageEvent<V>[]> {
    return this.ergoProcess.linkEvent(target);
  }
  unlinkEvent(target: Event): void {
    this.ergoProcess.unlinkEvent(target);
  }
  monitor(target: LinkTarget): void {
    this.ergoProcess.monitor(target);
  }
  demonitor(target: LinkTarget): void {
    this.ergoProcess.demonitor(target);
  }
  monitorPID(target: PID): void {
    this.ergoProcess.monitorPID(target);
  }
  demonitorPID(target: PID): void {
    this.ergoProcess.demonitorPID(target);
  }
  monitorProcessID(target: ProcessID): void {
    this.ergoProcess.monitorProcessID(target);
  }
  demonitorProcessID(target: ProcessID): void {
    this.ergoProcess.demonitorProcessID(target);
  }
  monitorAlias(target: Alias): void {
    this.ergoProcess.monitorAlias(target);
  }
  demonitorAlias(target: Alias): void {
    this.ergoProcess.demonitorAlias(target);
  }
  /** Monitors an event; resolves to its buffered messages (see Process.monitorEvent). */
  monitorEvent<V>(target: Event<V>): Promise<MessageEvent<V>[]> {
    return this.ergoProcess.monitorEvent(target);
  }
  demonitorEvent(target: Event): void {
    this.ergoProcess.demonitorEvent(target);
  }
  /**
   * Resolves once the remote side has answered every remote link/monitor this actor asked for
   * so far (see Process.relationsConfirmed). Never rejects.
   */
  relationsConfirmed(): Promise<void> {
    return this.ergoProcess.relationsConfirmed();
  }
  /** Links to a remote node: MessageExitNode when the connection to it is lost. */
  linkNode(node: Atom | string): void {
    this.ergoProcess.linkNode(node);
  }
  unlinkNode(node: Atom | string): void {
    this.ergoProcess.unlinkNode(node);
  }
  /** Monitors a remote node: MessageDownNode when the connection to it is lost. */
  monitorNode(node: Atom | string): void {
    this.ergoProcess.monitorNode(node);
  }
  demonitorNode(node: Atom | string): void {
    this.ergoProcess.demonitorNode(node);
  }
  /**
   * Hears about every remote node: MessageNodeUp / MessageNodeDown in handleMessage until
   * {@link demonitorNodes} or the end of this actor. Returns the nodes connected now.
   */
  monitorNodes(): Atom[] {
    return this.ergoProcess.monitorNodes();
  }
  /** Ends the node notices. ErrTargetUnknown when they were not asked for. */
  demonitorNodes(): void {
    this.ergoProcess.demonitorNodes();
  }
}
