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
  #process!: Process;

  /** The process this behaviour runs in (bound right before init). */
  get process(): Process {
    return this.#process;
  }

  /** Binds the process. Called by the engine only. */
  protected bind(process: Process): void {
    this.#process = process;
  }

  abstract processInit(process: Process, args: unknown[]): unknown;
  abstract processRun(): unknown;
  abstract processTerminate(reason: Error): unknown;

  get node(): Node {
    return this.#process.node;
  }
  get pid(): PID {
    return this.#process.pid;
  }
  get name(): Atom {
    return this.#process.name;
  }
  get parent(): PID {
    return this.#process.parent;
  }
  get leader(): PID {
    return this.#process.leader;
  }
  get application(): Atom {
    return this.#process.application;
  }
  get log(): Log {
    return this.#process.log;
  }
  uptime(): number {
    return this.#process.uptime();
  }
  state(): ProcessState {
    return this.#process.state();
  }

  spawn<B extends ProcessBehavior>(factory: ProcessFactory<B>, options?: ProcessOptions, ...args: InitArgs<B>): Promise<PID> {
    return this.#process.spawn(factory, options, ...args);
  }
  spawnRegister<B extends ProcessBehavior>(name: Atom | string, factory: ProcessFactory<B>, options?: ProcessOptions, ...args: InitArgs<B>): Promise<PID> {
    return this.#process.spawnRegister(name, factory, options, ...args);
  }
  /** See {@link Process.remoteSpawn}. */
  remoteSpawn(node: Atom | string, name: Atom | string, options?: ProcessOptions, ...args: unknown[]): Promise<PID> {
    return this.#process.remoteSpawn(node, name, options, ...args);
  }
  /** See {@link Process.remoteSpawnRegister}. */
  remoteSpawnRegister(node: Atom | string, register: Atom | string, name: Atom | string, options?: ProcessOptions, ...args: unknown[]): Promise<PID> {
    return this.#process.remoteSpawnRegister(node, register, name, options, ...args);
  }
  registerName(name: Atom | string): void {
    this.#process.registerName(name);
  }
  unregisterName(): void {
    this.#process.unregisterName();
  }

  env(name: string): unknown {
    return this.#process.env(name);
  }
  envDefault<T>(name: string, defaultValue: T): T {
    return this.#process.envDefault(name, defaultValue);
  }
  setEnv(name: string, value: unknown): void {
    this.#process.setEnv(name, value);
  }
  envList(): Record<string, unknown> {
    return this.#process.envList();
  }

  sendPriority(): MessagePriority {
    return this.#process.sendPriority();
  }
  setSendPriority(priority: MessagePriority): void {
    this.#process.setSendPriority(priority);
  }
  importantDelivery(): boolean {
    return this.#process.importantDelivery();
  }
  setImportantDelivery(important: boolean): void {
    this.#process.setImportantDelivery(important);
  }
  keepNetworkOrder(): boolean {
    return this.#process.keepNetworkOrder();
  }
  setKeepNetworkOrder(keep: boolean): void {
    this.#process.setKeepNetworkOrder(keep);
  }
  compression(): Compression {
    return this.#process.compression();
  }
  setCompression(enable: boolean): void {
    this.#process.setCompression(enable);
  }
  setCompressionType(type: 'gzip' | 'zlib' | 'lzw'): void {
    this.#process.setCompressionType(type);
  }
  setCompressionLevel(level: 0 | 1 | 2): void {
    this.#process.setCompressionLevel(level);
  }
  setCompressionThreshold(threshold: number): void {
    this.#process.setCompressionThreshold(threshold);
  }

  createAlias(): Alias {
    return this.#process.createAlias();
  }
  deleteAlias(alias: Alias): void {
    this.#process.deleteAlias(alias);
  }
  aliases(): Alias[] {
    return this.#process.aliases();
  }

  spawnMeta(behavior: MetaBehavior, options?: MetaOptions): Alias {
    return this.#process.spawnMeta(behavior, options);
  }
  sendExitMeta(meta: Alias, reason: Error): void {
    this.#process.sendExitMeta(meta, reason);
  }
  sendExitMetaAfter(meta: Alias, reason: Error, delayMs: number): CancelFunc {
    return this.#process.sendExitMetaAfter(meta, reason, delayMs);
  }
  inspectMeta(meta: Alias, ...items: string[]): Promise<Record<string, string>> {
    return this.#process.inspectMeta(meta, ...items);
  }
  metaInfo(meta: Alias): MetaInfo {
    return this.#process.metaInfo(meta);
  }

  send(to: SendTarget, message: unknown, options?: SendOptions): void {
    this.#process.send(to, message, options);
  }
  sendWithPriority(to: SendTarget, message: unknown, priority: MessagePriority): void {
    this.#process.sendWithPriority(to, message, priority);
  }
  sendImportant(to: SendTarget, message: unknown): Promise<void> {
    return this.#process.sendImportant(to, message);
  }
  sendAfter(to: SendTarget, message: unknown, delayMs: number, priority?: MessagePriority): CancelFunc {
    return this.#process.sendAfter(to, message, delayMs, priority);
  }
  sendWithPriorityAfter(to: SendTarget, message: unknown, priority: MessagePriority, delayMs: number): CancelFunc {
    return this.#process.sendWithPriorityAfter(to, message, priority, delayMs);
  }
  sendExit(to: PID, reason: Error): void {
    this.#process.sendExit(to, reason);
  }
  sendExitAfter(to: PID, reason: Error, delayMs: number): CancelFunc {
    return this.#process.sendExitAfter(to, reason, delayMs);
  }
  sendResponse(to: PID, ref: Ref, value: unknown): void {
    this.#process.sendResponse(to, ref, value);
  }
  sendResponseError(to: PID, ref: Ref, error: Error): void {
    this.#process.sendResponseError(to, ref, error);
  }
  /** Answers a call and reports whether the caller got it (see Process.sendResponseImportant). */
  sendResponseImportant(to: PID, ref: Ref, value: unknown): Promise<void> {
    return this.#process.sendResponseImportant(to, ref, value);
  }
  /** Answers a call with an error and reports whether the caller got it. */
  sendResponseErrorImportant(to: PID, ref: Ref, error: Error): Promise<void> {
    return this.#process.sendResponseErrorImportant(to, ref, error);
  }
  call(to: SendTarget, request: unknown, options?: CallOptions): Promise<unknown> {
    return this.#process.call(to, request, options);
  }
  callWithTimeout(to: SendTarget, request: unknown, timeoutMs: number): Promise<unknown> {
    return this.#process.callWithTimeout(to, request, timeoutMs);
  }
  callWithPriority(to: SendTarget, request: unknown, priority: MessagePriority): Promise<unknown> {
    return this.#process.callWithPriority(to, request, priority);
  }
  callImportant(to: SendTarget, request: unknown): Promise<unknown> {
    return this.#process.callImportant(to, request);
  }
  callPID(to: PID, request: unknown, timeoutMs?: number): Promise<unknown> {
    return this.#process.callPID(to, request, timeoutMs);
  }
  callProcessID(to: ProcessID, request: unknown, timeoutMs?: number): Promise<unknown> {
    return this.#process.callProcessID(to, request, timeoutMs);
  }
  callAlias(to: Alias, request: unknown, timeoutMs?: number): Promise<unknown> {
    return this.#process.callAlias(to, request, timeoutMs);
  }
  inspect(pid: PID, ...items: string[]): Promise<Record<string, string>> {
    return this.#process.inspect(pid, ...items);
  }
  info(): ProcessInfo {
    return this.#process.info();
  }

  registerEvent(name: Atom | string, options?: EventOptions): Ref {
    return this.#process.registerEvent(name, options);
  }
  unregisterEvent(name: Atom | string): void {
    this.#process.unregisterEvent(name);
  }
  sendEvent(name: Atom | string, token: Ref, message: unknown, options?: SendOptions): void {
    this.#process.sendEvent(name, token, message, options);
  }
  events(): Atom[] {
    return this.#process.events();
  }

  link(target: LinkTarget): void {
    this.#process.link(target);
  }
  unlink(target: LinkTarget): void {
    this.#process.unlink(target);
  }
  linkPID(target: PID): void {
    this.#process.linkPID(target);
  }
  unlinkPID(target: PID): void {
    this.#process.unlinkPID(target);
  }
  linkProcessID(target: ProcessID): void {
    this.#process.linkProcessID(target);
  }
  unlinkProcessID(target: ProcessID): void {
    this.#process.unlinkProcessID(target);
  }
  linkAlias(target: Alias): void {
    this.#process.linkAlias(target);
  }
  unlinkAlias(target: Alias): void {
    this.#process.unlinkAlias(target);
  }
  /** Links to an event; resolves to its buffered messages (see Process.linkEvent). */
  linkEvent(target: Event): Promise<MessageEvent[]> {
    return this.#process.linkEvent(target);
  }
  unlinkEvent(target: Event): void {
    this.#process.unlinkEvent(target);
  }
  monitor(target: LinkTarget): void {
    this.#process.monitor(target);
  }
  demonitor(target: LinkTarget): void {
    this.#process.demonitor(target);
  }
  monitorPID(target: PID): void {
    this.#process.monitorPID(target);
  }
  demonitorPID(target: PID): void {
    this.#process.demonitorPID(target);
  }
  monitorProcessID(target: ProcessID): void {
    this.#process.monitorProcessID(target);
  }
  demonitorProcessID(target: ProcessID): void {
    this.#process.demonitorProcessID(target);
  }
  monitorAlias(target: Alias): void {
    this.#process.monitorAlias(target);
  }
  demonitorAlias(target: Alias): void {
    this.#process.demonitorAlias(target);
  }
  /** Monitors an event; resolves to its buffered messages (see Process.monitorEvent). */
  monitorEvent(target: Event): Promise<MessageEvent[]> {
    return this.#process.monitorEvent(target);
  }
  demonitorEvent(target: Event): void {
    this.#process.demonitorEvent(target);
  }
  /** Links to a remote node: MessageExitNode when the connection to it is lost. */
  linkNode(node: Atom | string): void {
    this.#process.linkNode(node);
  }
  unlinkNode(node: Atom | string): void {
    this.#process.unlinkNode(node);
  }
  /** Monitors a remote node: MessageDownNode when the connection to it is lost. */
  monitorNode(node: Atom | string): void {
    this.#process.monitorNode(node);
  }
  demonitorNode(node: Atom | string): void {
    this.#process.demonitorNode(node);
  }
}
