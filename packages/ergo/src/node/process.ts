// The engine's process: the operations a behaviour performs through it (spawn, names, env,
// settings, aliases, messaging, calls, events, links and monitors, meta processes). Its fields,
// state rules, run loop and delivery are in ProcessBase (process_base.ts). Routing, registries
// and termination live on the node; this class checks the state rules (Ergo's I/R/T masks, with
// Ergo 3.2's wider Init: names, aliases, events, links, monitors, calls, inspect and responses
// work in init too) and delegates.

import type { MessageFor, PayloadOf, ReplyFor, RequestFor } from '../gen/protocol.js';
import { type CallVariantName, installCallVariants, installSpawnForms, type SpawnFormName } from '../gen/variants.js';
import type { Atom } from '../gen/atom.js';
import { envName } from '../gen/env.js';
import {
  ErrIncorrect,
  ErrNameUnknown,
  ErrNotAllowed,
  ErrTaken,
  ErrAliasOwner,
  ErrAliasUnknown,
  ErrTargetUnknown,
  toError,
} from '../gen/errors.js';
import type { Event, EventOptions } from '../gen/event.js';
import type { MessageEvent } from '../gen/messages.js';
import type { CallOptions, CancelFunc, Compression, SendOptions } from '../gen/options.js';
import { PID } from '../gen/pid.js';
import { isMessagePriority, MessagePriority, processStateString, type ProcessState } from '../gen/priority.js';
import { type ProcessID } from '../gen/processid.js';
import {
  MailboxKind,
  type LinkTarget,
  type Process,
  type ProcessBehavior,
  type ProcessInfo,
  type ProcessMailbox,
  type SendTarget,
} from '../gen/process.js';
import type { ProcessOptions } from '../gen/options.js';
import {
  validateCompressionLevel,
  validateCompressionThreshold,
  validateCompressionType,
  validateTimeoutMs,
  sleepingRefusal,
} from '../gen/validate.js';
import { Alias, Ref } from '../gen/ref.js';
import type { CallHolder, CallOwner } from './calls.js';
import type { RemoteHolder } from './remote_requests.js';
import { registerNameOf, resolveLocal } from './names.js';
import type { Runnable } from './scheduler.js';
import type { ConsumerHost, TargetHost } from './targets.js';
import { spawnLocal } from './spawn.js';
import { ignorable, rejected, watchDelivery } from '../gen/ignorable.js';
import {
  processInspectMeta,
  processMetaInfo,
  processSendExitMeta,
  processSendExitMetaAfter,
  processSpawnMeta,
} from './meta_table.js';
import type { MetaBehavior, MetaInfo, MetaOptions } from '../gen/meta.js';
import { ProcessBase, tracedProcesses } from './process_base.js';
import { MASK_IR, MASK_IRT, MASK_R, S_INIT, S_SLEEP } from './process_state.js';

const DEFAULT_COMPRESSION: Compression = { enable: false, type: 'gzip', level: 0, threshold: 1024 };

// The call variants and spawn forms are defined once, on the prototype (gen/variants.ts).
export interface ProcessImpl extends Pick<Process, CallVariantName | SpawnFormName> {}
/**
 * A process of this node. Created by NodeImpl.spawnProcess. It is its own mailbox (extends
 * Mailbox; `mb` is itself): an idle process is three objects (this, its PID and its behaviour),
 * ~357 B of heap with a bare Actor (measured at 5·10^6), and keeps nothing more once its mail is
 * handled (the taken record and held calls are in a recycled holder: Mailbox `Taken`).
 */
export class ProcessImpl
  extends ProcessBase
  implements Process, Runnable, CallOwner, CallHolder, RemoteHolder, TargetHost, ConsumerHost
{
  // --- spawning -------------------------------------------------------------------------------

  // spawn and spawnRegister are defined once, on the prototype (gen/variants.ts), as forms of
  // this spawn (I/R): a child registered under `name` unless it is ''.
  static {
    installSpawnForms(ProcessImpl.prototype, (p, op, name, factory, options, args) => {
      try {
        p.allow(MASK_IR, op);
        if (op === 'spawnRegister' && (typeof name !== 'string' || name === ''))
          throw ErrIncorrect.with('spawnRegister: name must be a non-empty string');
      } catch (e) {
        return rejected(e, p.log, op);
      }
      return spawnLocal(p.nodeImpl, { factory, options, args, parent: p, register: name }, p.log, op);
    });
  }

  remoteSpawn(
    node: Atom | string,
    name: Atom | string,
    options: ProcessOptions = {},
    ...args: unknown[]
  ): Promise<PID> {
    return this.remoteSpawnRegister(node, '', name, options, ...args);
  }

  remoteSpawnRegister(
    node: Atom | string,
    register: Atom | string,
    name: Atom | string,
    options: ProcessOptions = {},
    ...args: unknown[]
  ): Promise<PID> {
    return ignorable(this.remoteSpawnAsync(node, register, name, options, args), this.log, `remoteSpawn on ${node}`);
  }

  private async remoteSpawnAsync(
    node: Atom | string,
    register: Atom | string,
    name: Atom | string,
    options: ProcessOptions,
    args: unknown[],
  ): Promise<PID> {
    this.allow(MASK_IR, 'remoteSpawn');
    if (typeof node !== 'string' || node === '')
      throw ErrIncorrect.with('remoteSpawn: node must be a non-empty string');
    if (typeof name !== 'string' || name === '')
      throw ErrIncorrect.with('remoteSpawn: name must be a non-empty string');
    if (typeof register !== 'string') throw ErrIncorrect.with('remoteSpawnRegister: register must be a string');
    const n = this.nodeImpl;
    if (n.router.isLocal(node)) throw ErrNotAllowed.with(`remoteSpawn: ${node} is this node; use spawn`);
    const security = n.options.security ?? {};
    const pid = await n.router.connection(node as Atom).remoteSpawn(name as Atom, {
      // linkChild is the requester's business (below); the remote side must not act on it.
      processOptions: options.linkChild ? { ...options, linkChild: false } : options,
      parentPID: this.pid,
      parentLeader: this.leader,
      parentEnv: security.exposeEnvRemoteSpawn && this.envMap !== null ? new Map(this.envMap) : null,
      parentLogLevel: this.logLevel,
      register: register as Atom,
      application: this.application,
      args,
    });
    // linkChild is honoured here, on the requesting side (Ergo does the same).
    if (options.linkChild && (this.st & MASK_IR) !== 0) this.nodeImpl.relations.link(this, pid);
    return pid;
  }

  // --- names ----------------------------------------------------------------------------------

  registerName(name: Atom | string): void {
    this.allow(MASK_IR, 'registerName');
    if (this.name !== '') throw ErrTaken.with(`${this.pid} is registered as '${this.name}'`);
    // By the process itself: it may still be in init, outside the table (Ergo 3.2).
    registerNameOf(this.nodeImpl, name, this);
  }

  unregisterName(): void {
    this.allow(MASK_IR, 'unregisterName');
    if (this.name === '') throw ErrNameUnknown.with(`${this.pid} has no name`);
    this.nodeImpl.unregisterName(this.name);
  }

  // --- env ------------------------------------------------------------------------------------

  env(name: string): unknown {
    return this.envMap?.get(envName(name));
  }

  envDefault<T>(name: string, defaultValue: T): T {
    const v = this.envMap?.get(envName(name));
    return v === undefined ? defaultValue : (v as T);
  }

  setEnv(name: string, value: unknown): void {
    const k = envName(name); // validates first: a bad name is an error in every state
    if ((this.st & MASK_IR) === 0) return;
    if (value === undefined || value === null) {
      this.envMap?.delete(k);
      return;
    }
    (this.envMap ??= new Map()).set(k, value);
  }

  envList(): Record<string, unknown> {
    return this.envMap === null ? {} : Object.fromEntries(this.envMap);
  }

  // --- delivery settings ----------------------------------------------------------------------

  sendPriority(): MessagePriority {
    return this.priority;
  }

  setSendPriority(priority: MessagePriority): void {
    this.allow(MASK_IR, 'setSendPriority');
    if (!isMessagePriority(priority)) throw ErrIncorrect.with(`priority ${String(priority)}`);
    this.priority = priority;
  }

  importantDelivery(): boolean {
    return this.important;
  }

  setImportantDelivery(important: boolean): void {
    this.allow(MASK_IR, 'setImportantDelivery');
    this.important = important;
  }

  keepNetworkOrder(): boolean {
    return this.keepOrder;
  }

  setKeepNetworkOrder(keep: boolean): void {
    this.allow(MASK_IR, 'setKeepNetworkOrder');
    this.keepOrder = keep;
  }

  compression(): Compression {
    return { ...DEFAULT_COMPRESSION, ...this.compressionCfg };
  }

  private editCompression(op: string, patch: Partial<Compression>): void {
    this.allow(MASK_IR, op);
    this.compressionCfg = { ...this.compression(), ...patch };
  }

  setCompression(enable: boolean): void {
    this.editCompression('setCompression', { enable });
  }

  setCompressionType(type: 'gzip' | 'zlib' | 'lzw'): void {
    validateCompressionType(type);
    this.editCompression('setCompressionType', { type });
  }

  setCompressionLevel(level: 0 | 1 | 2): void {
    validateCompressionLevel(level);
    this.editCompression('setCompressionLevel', { level });
  }

  setCompressionThreshold(threshold: number): void {
    validateCompressionThreshold(threshold);
    this.editCompression('setCompressionThreshold', { threshold });
  }

  // --- aliases --------------------------------------------------------------------------------

  createAlias(): Alias {
    this.allow(MASK_IR, 'createAlias');
    const ref = this.nodeImpl.makeRef();
    const alias = new Alias(ref.node, ref.creation, ref.id);
    this.nodeImpl.registerAlias(alias, this);
    (this.aliasList ??= []).push(alias);
    return alias;
  }

  deleteAlias(alias: Alias): void {
    this.allow(MASK_IR, 'deleteAlias');
    const owner = this.nodeImpl.aliasOwner(alias);
    if (owner === undefined) throw ErrAliasUnknown.with(alias.toString());
    if (owner !== this) throw ErrAliasOwner.with(alias.toString());
    this.aliasList!.splice(
      this.aliasList!.findIndex((a) => a.equals(alias)),
      1,
    );
    this.nodeImpl.unregisterAlias(alias);
  }

  aliases(): Alias[] {
    return this.aliasList === null ? [] : this.aliasList.slice();
  }

  // --- messaging ------------------------------------------------------------------------------

  send<T extends SendTarget>(to: T, message: MessageFor<T>, options?: SendOptions): void;
  send(to: SendTarget, message: unknown, options?: SendOptions): void {
    // Kept small so the JIT inlines it into the handler's loop: a running process sending with
    // its own defaults; options, other states and the init self-send go through sendWith.
    if (options === undefined && (this.st & MASK_R) !== 0) {
      const ack = this.nodeImpl.router.routeSend(this.pid, to, message, this.priority, this.important, this);
      this.messagesOut++;
      if (tracedProcesses !== 0) this.traceOut('send', to, message);
      // An important remote send: its delivery ack has nobody to await it.
      if (ack !== undefined) watchDelivery(ack, this.log, 'send', to);
      return;
    }
    this.sendWith(to, message, options);
  }

  /** send() with options, or from a process in init or terminated (after its state check). */
  private sendWith(to: SendTarget, message: unknown, options: SendOptions | undefined): void {
    if ((this.st & MASK_IRT) === 0) {
      if (this.droppedAsleep('send')) return;
      this.allow(MASK_IRT, 'send');
    }
    const prio = options?.priority ?? this.priority;
    if (prio !== this.priority && !isMessagePriority(prio)) throw ErrIncorrect.with(`priority ${String(prio)}`);
    if (this.st === S_INIT && (to === this.pid || (to instanceof PID && to.equals(this.pid)))) {
      // Not in the process table yet: route a self-send straight into the mailbox.
      this.nodeImpl.router.routeSelf(this, 2 - prio, message);
    } else {
      const important = options?.important ?? this.important;
      watchDelivery(this.nodeImpl.router.routeSend(this.pid, to, message, prio, important, this), this.log, 'send', to);
    }
    this.messagesOut++;
    if (tracedProcesses !== 0) this.traceOut('send', to, message);
  }

  sendWithPriority(to: SendTarget, message: unknown, priority: MessagePriority): void {
    if (!isMessagePriority(priority)) throw ErrIncorrect.with(`priority ${String(priority)}`);
    this.send(to, message, { priority });
  }

  sendImportant<T extends SendTarget>(to: T, message: MessageFor<T>): Promise<void>;
  sendImportant(to: SendTarget, message: unknown): Promise<void> {
    try {
      this.allow(MASK_R, 'sendImportant');
      // Local: delivered (or thrown) now. Remote: the promise of the peer's delivery ack.
      const ack = this.nodeImpl.router.routeSend(this.pid, to, message, this.priority, true, this);
      this.messagesOut++;
      if (tracedProcesses !== 0) this.traceOut('send', to, message);
      return ack === undefined ? Promise.resolve() : ignorable(ack, this.log, `sendImportant to ${String(to)}`);
    } catch (e) {
      return rejected(e, this.log, `sendImportant to ${String(to)}`);
    }
  }

  /** A timer owned by this process (cancelled when it terminates). */
  addTimer(delayMs: number, fire: () => void): CancelFunc {
    // Node fires a timer longer than 2^31-1 ms after 1 ms: refuse it (as call timeouts do).
    validateTimeoutMs(delayMs, 'delay', true);
    const timers = (this.timers ??= new Set());
    let fired = false;
    const h = setTimeout(() => {
      fired = true;
      timers.delete(h);
      fire();
    }, delayMs);
    timers.add(h);
    return () => {
      if (fired || !timers.has(h)) return false;
      clearTimeout(h);
      timers.delete(h);
      return true;
    };
  }

  sendAfter<T extends SendTarget>(
    to: T,
    message: MessageFor<T>,
    delayMs: number,
    priority?: MessagePriority,
  ): CancelFunc;
  sendAfter(to: SendTarget, message: unknown, delayMs: number, priority?: MessagePriority): CancelFunc {
    this.allow(MASK_IR, 'sendAfter');
    const prio = priority ?? this.priority;
    if (!isMessagePriority(prio)) throw ErrIncorrect.with(`priority ${String(prio)}`);
    return this.addTimer(delayMs, () => {
      try {
        const ack = this.nodeImpl.router.routeSend(this.pid, to, message, prio, this.important, this);
        this.messagesOut++;
        if (tracedProcesses !== 0) this.traceOut('send', to, message);
        watchDelivery(ack, this.log, 'sendAfter', to);
      } catch (e) {
        this.log.warning('sendAfter to %s failed: %s', String(to), toError(e).message);
      }
    });
  }

  sendWithPriorityAfter(to: SendTarget, message: unknown, priority: MessagePriority, delayMs: number): CancelFunc {
    this.allow(MASK_IR, 'sendWithPriorityAfter');
    if (!isMessagePriority(priority)) throw ErrIncorrect.with(`priority ${String(priority)}`);
    return this.sendAfter(to, message, delayMs, priority);
  }

  sendExit(to: PID, reason: Error): void {
    if (this.droppedAsleep('sendExit')) return;
    this.allow(MASK_IRT, 'sendExit');
    if (!(reason instanceof Error)) throw ErrIncorrect.with('exit reason must be an Error');
    if (!(to instanceof PID)) throw ErrIncorrect.with('exit target must be a PID');
    if (to.equals(this.pid) || to.equals(this.parent) || to.equals(this.leader)) {
      this.log.warning('sending exit to itself, its parent or its leader is not allowed');
      throw ErrNotAllowed.with(`exit to ${to}`);
    }
    this.nodeImpl.router.routeExit(this.pid, to, reason);
    this.messagesOut++;
  }

  sendExitAfter(to: PID, reason: Error, delayMs: number): CancelFunc {
    this.allow(MASK_IR, 'sendExitAfter');
    if (!(reason instanceof Error)) throw ErrIncorrect.with('exit reason must be an Error');
    if (to.equals(this.pid) || to.equals(this.parent) || to.equals(this.leader))
      throw ErrNotAllowed.with(`exit to ${to}`);
    return this.addTimer(delayMs, () => {
      try {
        this.nodeImpl.router.routeExit(this.pid, to, reason);
      } catch (e) {
        this.log.warning('sendExitAfter to %s failed: %s', to.toString(), toError(e).message);
      }
    });
  }

  sendResponse(to: PID, ref: Ref, value: unknown): void {
    if (this.droppedAsleep('sendResponse')) return;
    this.allow(MASK_IR, 'sendResponse');
    this.nodeImpl.router.routeResponse(this.pid, to, ref, true, value, this);
    this.messagesOut++;
    if (tracedProcesses !== 0) this.traceOut('response', to, value);
  }

  sendResponseError(to: PID, ref: Ref, error: Error): void {
    if (this.droppedAsleep('sendResponseError')) return;
    this.allow(MASK_IR, 'sendResponseError');
    this.nodeImpl.router.routeResponse(this.pid, to, ref, false, error, this);
    this.messagesOut++;
    if (tracedProcesses !== 0) this.traceOut('response', to, error);
  }

  sendResponseImportant(to: PID, ref: Ref, value: unknown): Promise<void> {
    return this.respondImportant('sendResponseImportant', to, ref, true, value);
  }

  sendResponseErrorImportant(to: PID, ref: Ref, error: Error): Promise<void> {
    if (!(error instanceof Error))
      return rejected(
        ErrIncorrect.with('sendResponseErrorImportant: the error must be an Error'),
        this.log,
        'sendResponseErrorImportant',
      );
    return this.respondImportant('sendResponseErrorImportant', to, ref, false, error);
  }

  private respondImportant(op: string, to: PID, ref: Ref, ok: boolean, value: unknown): Promise<void> {
    try {
      this.allow(MASK_IR, op);
      if (!(to instanceof PID)) throw ErrIncorrect.with(`${op}: the caller must be a PID`);
      if (!(ref instanceof Ref)) throw ErrIncorrect.with(`${op}: the call's ref must be a Ref`);
      const ack = this.nodeImpl.router.routeResponseImportant(this.pid, to, ref, ok, value, this);
      this.messagesOut++;
      if (tracedProcesses !== 0) this.traceOut('response', to, value);
      return ignorable(ack, this.log, `${op} to ${String(to)}`);
    } catch (e) {
      return rejected(e, this.log, `${op} to ${String(to)}`);
    }
  }

  call<T extends SendTarget, const R extends RequestFor<T>>(
    to: T,
    request: R,
    options?: CallOptions,
  ): Promise<ReplyFor<T, R>>;
  call(to: SendTarget, request: unknown, options?: CallOptions): Promise<unknown> {
    if ((this.st & MASK_IR) === 0) {
      const err =
        this.st === S_SLEEP
          ? sleepingRefusal('call', this.pid)
          : ErrNotAllowed.with(`call is not allowed in state ${processStateString(this.st as ProcessState)}`);
      return rejected(err, this.log, 'call');
    }
    if (to instanceof PID && to.equals(this.pid))
      return rejected(ErrNotAllowed.with('call to itself'), this.log, 'call');
    this.messagesOut++;
    if (tracedProcesses !== 0) this.traceOut('call', to, request);
    return this.nodeImpl.router.makeCall(this, this.pid, to, request, options, MailboxKind.Request);
  }

  /**
   * Inspects a local process (its behaviour's handleInspect), by PID or registered name. Init and
   * running states. Rejects with ErrIncorrect (neither a PID nor a name), ErrProcessUnknown (naming
   * the target), ErrNotAllowed (a remote process, or itself: it could only time out).
   */
  inspect(pid: PID | Atom | string, ...items: string[]): Promise<Record<string, string>> {
    let target: ProcessImpl;
    try {
      this.allow(MASK_IR, 'inspect');
      const n = this.nodeImpl;
      if (pid instanceof PID && pid.node !== n.name)
        throw ErrNotAllowed.with(`inspect of ${pid}: a process of another node`);
      target = resolveLocal(n, pid, 'inspect');
    } catch (e) {
      return rejected(e, this.log, 'inspect');
    }
    // Like a call to its own PID: it could only wait for its own timeout.
    if (target === this) return rejected(ErrNotAllowed.with('inspect of itself'), this.log, 'inspect');
    return this.nodeImpl.router.makeCall(
      this,
      this.pid,
      target.pid,
      items,
      { priority: MessagePriority.Max },
      MailboxKind.Inspect,
    ) as Promise<Record<string, string>>;
  }

  info(): ProcessInfo {
    this.allow(MASK_R, 'info');
    return this.nodeImpl.processInfoOf(this);
  }

  // --- events ---------------------------------------------------------------------------------

  registerEvent<N extends Atom | string>(name: N, options?: EventOptions): Ref<PayloadOf<N>>;
  registerEvent(name: Atom | string, options?: EventOptions): Ref {
    this.allow(MASK_IR, 'registerEvent');
    const token = this.nodeImpl.events.register(name as Atom, this.pid, this, options ?? {});
    (this.eventNames ??= []).push(name as Atom);
    return token;
  }

  unregisterEvent(name: Atom | string): void {
    this.allow(MASK_IR, 'unregisterEvent');
    this.nodeImpl.events.unregister(name as Atom, this.pid);
    const i = this.eventNames?.indexOf(name as Atom) ?? -1;
    if (i >= 0) this.eventNames!.splice(i, 1);
  }

  sendEvent<K extends Ref>(name: Atom | string, token: K, message: PayloadOf<K>, options?: SendOptions): void;
  sendEvent(name: Atom | string, token: Ref, message: unknown, options?: SendOptions): void {
    if (this.droppedAsleep('sendEvent')) return;
    this.allow(MASK_R, 'sendEvent');
    this.nodeImpl.events.publish(name as Atom, token, message, options?.priority ?? this.priority);
    this.messagesOut++;
  }

  events(): Atom[] {
    return this.eventNames === null ? [] : this.eventNames.slice();
  }

  // --- links and monitors ---------------------------------------------------------------------

  link(target: LinkTarget): void {
    this.allow(MASK_IR, 'link');
    this.nodeImpl.relations.link(this, target);
  }
  unlink(target: LinkTarget): void {
    this.allow(MASK_IR, 'unlink');
    this.nodeImpl.relations.unlink(this, target);
  }
  linkPID(target: PID): void {
    this.link(target);
  }
  unlinkPID(target: PID): void {
    this.unlink(target);
  }
  linkProcessID(target: ProcessID): void {
    this.link(target);
  }
  unlinkProcessID(target: ProcessID): void {
    this.unlink(target);
  }
  linkAlias(target: Alias): void {
    this.link(target);
  }
  unlinkAlias(target: Alias): void {
    this.unlink(target);
  }
  relationsConfirmed(): Promise<void> {
    return this.nodeImpl.router.remote.relationsConfirmed(this);
  }
  linkEvent<V>(target: Event<V>): Promise<MessageEvent<V>[]>;
  linkEvent(target: Event): Promise<MessageEvent[]> {
    try {
      this.allow(MASK_IR, 'linkEvent');
      return ignorable(this.nodeImpl.relations.linkEvent(this, target), this.log, 'linkEvent');
    } catch (e) {
      return rejected(e, this.log, 'linkEvent');
    }
  }
  unlinkEvent(target: Event): void {
    this.unlink(target);
  }
  monitor(target: LinkTarget): void {
    this.allow(MASK_IR, 'monitor');
    this.nodeImpl.relations.monitor(this, target);
  }
  demonitor(target: LinkTarget): void {
    this.allow(MASK_IR, 'demonitor');
    this.nodeImpl.relations.demonitor(this, target);
  }
  monitorPID(target: PID): void {
    this.monitor(target);
  }
  demonitorPID(target: PID): void {
    this.demonitor(target);
  }
  monitorProcessID(target: ProcessID): void {
    this.monitor(target);
  }
  demonitorProcessID(target: ProcessID): void {
    this.demonitor(target);
  }
  monitorAlias(target: Alias): void {
    this.monitor(target);
  }
  demonitorAlias(target: Alias): void {
    this.demonitor(target);
  }
  monitorEvent<V>(target: Event<V>): Promise<MessageEvent<V>[]>;
  monitorEvent(target: Event): Promise<MessageEvent[]> {
    try {
      this.allow(MASK_IR, 'monitorEvent');
      return ignorable(this.nodeImpl.relations.monitorEvent(this, target), this.log, 'monitorEvent');
    } catch (e) {
      return rejected(e, this.log, 'monitorEvent');
    }
  }
  demonitorEvent(target: Event): void {
    this.demonitor(target);
  }
  linkNode(node: Atom | string): void {
    this.allow(MASK_IR, 'linkNode');
    this.nodeImpl.relations.linkNode(this, node as Atom, true);
  }
  unlinkNode(node: Atom | string): void {
    this.allow(MASK_IR, 'unlinkNode');
    this.nodeImpl.relations.unlinkNode(this, node as Atom, true);
  }
  monitorNode(node: Atom | string): void {
    this.allow(MASK_IR, 'monitorNode');
    this.nodeImpl.relations.linkNode(this, node as Atom, false);
  }
  demonitorNode(node: Atom | string): void {
    this.allow(MASK_IR, 'demonitorNode');
    this.nodeImpl.relations.unlinkNode(this, node as Atom, false);
  }
  monitorNodes(): Atom[] {
    this.allow(MASK_IR, 'monitorNodes');
    return this.nodeImpl.nodeNotices.subscribe(this);
  }
  demonitorNodes(): void {
    this.allow(MASK_IR, 'demonitorNodes');
    if (!this.nodeImpl.nodeNotices.unsubscribe(this))
      throw ErrTargetUnknown.with(`${this.pid} has not asked for node notices`);
  }

  // --- meta processes (meta_table.ts) ---------------------------------------------------------

  spawnMeta(behavior: MetaBehavior, options?: MetaOptions): Alias {
    return processSpawnMeta(this, behavior, options);
  }
  sendExitMeta(meta: Alias, reason: Error): void {
    processSendExitMeta(this, meta, reason);
  }
  sendExitMetaAfter(meta: Alias, reason: Error, delayMs: number): CancelFunc {
    return processSendExitMetaAfter(this, meta, reason, delayMs);
  }
  inspectMeta(meta: Alias, ...items: string[]): Promise<Record<string, string>> {
    return processInspectMeta(this, meta, items);
  }
  metaInfo(meta: Alias): MetaInfo {
    return processMetaInfo(this, meta);
  }

  // --- low level ------------------------------------------------------------------------------

  mailbox(): ProcessMailbox {
    return this.mb;
  }

  behavior(): ProcessBehavior {
    return this.behaviorObj;
  }

  forward(to: PID, kind: MailboxKind, from: PID, message: unknown, extra: unknown, priority: MessagePriority): void {
    if (to.node !== this.nodeImpl.name) {
      this.nodeImpl.router.forwardRemote(this, to, kind, from, message, extra, priority);
      return;
    }
    const n = this.nodeImpl;
    const p = n.localProcess(to);
    // Mail of another node handed on (a Pool's): the receiver's protocol applies, whoever forwards.
    if ((from.node !== n.name || n.checkLocal) && p !== this && kind <= MailboxKind.Request)
      message = n.guard.check(p, message, kind === MailboxKind.Request, from.node);
    p.deliver(2 - priority, kind, from, message, extra);
    if (kind === MailboxKind.Request || kind === MailboxKind.Inspect) this.nodeImpl.router.transferCall(extra, p);
  }

  /** Queue index of a priority (Normal → main, High → system, Max → urgent). */
  static queueOf(priority: MessagePriority): number {
    return 2 - priority;
  }
}
installCallVariants(ProcessImpl.prototype);

export { Q_URGENT } from './mailbox.js';
