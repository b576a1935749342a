// The node's meta processes: the alias → meta table the router consults when an alias is not a
// process alias, the metas of each parent (terminated with it), spawning, exit signals,
// inspection and the node-level queries (metaInfo, log levels).

import { ErrAliasUnknown, ErrIncorrect, ErrMetaUnknown, ErrNotAllowed, toError } from '../gen/errors.js';
import type { LogLevel, LogLevelInput } from '../gen/log.js';
import { validateLogLevel, validateLogLevelOption, validateMailboxSize, validatePriority } from '../gen/validate.js';
import type { MetaBehavior, MetaInfo, MetaOptions } from '../gen/meta.js';
import type { CancelFunc } from '../gen/options.js';
import type { PID } from '../gen/pid.js';
import { MessagePriority, MetaState } from '../gen/priority.js';
import { MailboxKind } from '../gen/process.js';
import { Alias } from '../gen/ref.js';
import { rejected } from '../gen/ignorable.js';
import { MetaImpl } from './meta.js';
import type { NodeImpl } from './node.js';
import type { ProcessImpl } from './process.js';
import { MASK_IR, MASK_IRT, MASK_R, S_DETACHED, S_TERMINATED } from './process_state.js';
import { isThenable } from '../lib/thenable.js';

/** Meta processes of one node. */
export class MetaTable {
  private readonly byKey = new Map<string, MetaImpl>();
  private readonly byParent = new Map<ProcessImpl, Set<MetaImpl>>();

  constructor(private readonly node: NodeImpl) {}

  /** Number of live metas. */
  get size(): number {
    return this.byKey.size;
  }

  /** The live meta of `alias`, if any. */
  get(alias: Alias): MetaImpl | undefined {
    return this.byKey.get(alias.key);
  }

  /** The live meta of `alias`; ErrMetaUnknown otherwise (ErrNotAllowed for a remote alias). */
  require(alias: Alias): MetaImpl {
    if (!(alias instanceof Alias)) throw ErrIncorrect.with('a meta process is addressed by its Alias');
    const m = this.byKey.get(alias.key);
    if (m === undefined) throw ErrMetaUnknown.with(alias.toString());
    return m;
  }

  /**
   * Creates a meta owned by `owner`: validates the options, runs `init` (synchronously), registers
   * the alias and schedules `start`. Throws ErrIncorrect (bad behaviour/options, async init),
   * init's error, ErrNodeTerminated.
   */
  spawn(owner: ProcessImpl, behavior: MetaBehavior, options: MetaOptions): Alias {
    const node = this.node;
    node.checkRunning();
    // A meta still finishing its handler after its parent ended cannot add siblings to it.
    if ((owner.st & (S_TERMINATED | S_DETACHED)) !== 0)
      throw ErrNotAllowed.with(`spawnMeta: ${owner.pid} has terminated`);
    if (
      behavior === null ||
      typeof behavior !== 'object' ||
      typeof behavior.init !== 'function' ||
      typeof behavior.start !== 'function'
    ) {
      throw ErrIncorrect.with(
        'spawnMeta needs a MetaBehavior object (init, start, handleMessage, handleCall, handleInspect, terminate)',
      );
    }
    if (options === null || typeof options !== 'object') throw ErrIncorrect.with('meta options must be an object');
    if (options.mailboxSize !== undefined) validateMailboxSize(options.mailboxSize, 'meta mailboxSize');
    if (options.sendPriority !== undefined) validatePriority(options.sendPriority, 'meta sendPriority');
    if (options.logLevel !== undefined) validateLogLevelOption(options.logLevel, 'meta logLevel');
    if (options.compression !== undefined && typeof options.compression !== 'boolean')
      throw ErrIncorrect.with('meta compression must be a boolean');
    const ref = node.makeRef();
    const alias = new Alias(ref.node, ref.creation, ref.id);
    const m = new MetaImpl(node, owner, alias, behavior, options);
    let r: unknown;
    try {
      r = behavior.init(m);
    } catch (e) {
      throw toError(e);
    }
    if (isThenable(r)) {
      (r as Promise<unknown>).then(undefined, () => undefined);
      throw ErrIncorrect.with(
        'meta init must be synchronous (do async preparation before spawnMeta, e.g. await createTCPServer)',
      );
    }
    if (r instanceof Error) throw r;
    this.byKey.set(alias.key, m);
    let set = this.byParent.get(owner);
    if (set === undefined) this.byParent.set(owner, (set = new Set()));
    set.add(m);
    m.begin();
    return alias;
  }

  /** A meta ended: forget it. */
  remove(m: MetaImpl): void {
    this.byKey.delete(m.id.key);
    const set = this.byParent.get(m.owner);
    if (set !== undefined && set.delete(m) && set.size === 0) this.byParent.delete(m.owner);
  }

  /** The aliases of every live meta, oldest first. */
  list(): Alias[] {
    return [...this.byKey.values()].map((m) => m.id);
  }

  /** The aliases of the metas a process owns, oldest first. */
  aliasesOf(p: ProcessImpl): Alias[] {
    const set = this.byParent.get(p);
    return set === undefined ? [] : [...set].map((m) => m.id);
  }

  /**
   * The parent ended: each of its metas ends with the same reason — at once when idle, after its
   * running handler otherwise (a forced exit signal).
   */
  parentEnded(p: ProcessImpl, reason: Error): void {
    const set = this.byParent.get(p);
    if (set === undefined) return;
    this.byParent.delete(p);
    for (const m of set) {
      if (m.st === MetaState.Running) m.forceExit(p.pid, reason);
      else m.terminate(reason);
    }
  }

  /**
   * Sends an exit signal to a meta (its system queue): the meta terminates with `reason`.
   * ErrIncorrect without an Error, ErrAliasUnknown for an unknown alias, ErrMetaUnknown for the
   * alias of a process, ErrMetaMailboxFull when its system queue is at its limit.
   */
  exit(from: PID, alias: Alias, reason: Error): void {
    if (!(reason instanceof Error)) throw ErrIncorrect.with('exit reason must be an Error');
    this.lookupForExit(alias).deliver(0, MailboxKind.Exit, from, reason, undefined);
  }

  private lookupForExit(alias: Alias): MetaImpl {
    if (!(alias instanceof Alias)) throw ErrIncorrect.with('a meta process is addressed by its Alias');
    const m = this.byKey.get(alias.key);
    if (m !== undefined) return m;
    if (this.node.aliasOwner(alias) !== undefined) throw ErrMetaUnknown.with(alias.toString());
    throw ErrAliasUnknown.with(alias.toString());
  }

  /** Inspects a meta (its system queue, like a call; 5 s default timeout). */
  inspect(owner: ProcessImpl | null, from: PID, alias: Alias, items: string[]): Promise<Record<string, string>> {
    try {
      if (!(alias instanceof Alias)) throw ErrIncorrect.with('a meta process is addressed by its Alias');
      if (alias.node !== this.node.name) throw ErrNotAllowed.with('inspect of a remote meta process');
      this.require(alias);
    } catch (e) {
      return rejected(e, owner !== null ? owner.log : this.node.log, 'inspectMeta');
    }
    return this.node.router.makeCall(
      owner,
      from,
      alias,
      items,
      { priority: MessagePriority.Max },
      MailboxKind.Inspect,
    ) as Promise<Record<string, string>>;
  }

  /** Snapshot of a meta. ErrMetaUnknown. */
  info(alias: Alias): MetaInfo {
    const m = this.require(alias);
    return {
      id: m.id,
      parent: m.owner.pid,
      application: m.owner.application,
      behavior: m.behaviorName,
      mailboxSize: m.mb.limit,
      mailboxQueues: m.mb.lengths(),
      messagePriority: m.priority,
      messagesIn: m.messagesIn,
      messagesOut: m.messagesOut,
      logLevel: m.log.level(),
      uptime: m.uptime(),
      state: m.st as MetaState,
    };
  }

  logLevel(alias: Alias): LogLevel {
    return this.require(alias).log.level();
  }

  /** ErrMetaUnknown, ErrIncorrect for a level outside Trace..Disabled (or Default). */
  setLogLevel(alias: Alias, level: LogLevelInput): void {
    const m = this.require(alias);
    m.log.setLevel(validateLogLevel(level));
  }
}

// --- the process side (Process.spawnMeta & co., called from ProcessImpl) --------------------------

/** `Process.spawnMeta` (Init/Running). */
export function processSpawnMeta(p: ProcessImpl, behavior: MetaBehavior, options: MetaOptions | undefined): Alias {
  try {
    p.allow(MASK_IR, 'spawnMeta');
    return p.nodeImpl.metas.spawn(p, behavior, options ?? {});
  } catch (e) {
    // Refused because its owner ended or the node stopped (an async init that outlived either):
    // nobody can spawn it any more, so it is terminated, and what it holds (a server listening
    // since before the refusal) is released instead of staying open with no meta to close it.
    if ((p.st & (S_TERMINATED | S_DETACHED)) !== 0 || p.nodeImpl.stopping) releaseRefused(behavior, toError(e));
    throw e;
  }
}

/** Runs a refused behaviour's `terminate` with the refusal; its own failure is not the caller's. */
function releaseRefused(behavior: MetaBehavior, reason: Error): void {
  if (behavior === null || typeof behavior !== 'object' || typeof behavior.terminate !== 'function') return;
  try {
    const r = behavior.terminate(reason);
    if (isThenable(r)) (r as Promise<unknown>).then(undefined, () => undefined);
  } catch {
    // the refusal is what the caller learns
  }
}

/** `Process.sendExitMeta` (Init/Running/Terminate). */
export function processSendExitMeta(p: ProcessImpl, alias: Alias, reason: Error): void {
  p.allow(MASK_IRT, 'sendExitMeta');
  p.nodeImpl.metas.exit(p.pid, alias, reason);
  p.messagesOut++;
}

/** `Process.sendExitMetaAfter` (Init/Running): checks the meta now, sends later (dropped if gone). */
export function processSendExitMetaAfter(p: ProcessImpl, alias: Alias, reason: Error, delayMs: number): CancelFunc {
  p.allow(MASK_IR, 'sendExitMetaAfter');
  if (!(reason instanceof Error)) throw ErrIncorrect.with('exit reason must be an Error');
  const table = p.nodeImpl.metas;
  table.require(alias);
  return p.addTimer(delayMs, () => {
    if (table.get(alias) === undefined) return;
    try {
      table.exit(p.pid, alias, reason);
      p.messagesOut++;
    } catch (e) {
      p.log.warning('sendExitMetaAfter to %s failed: %s', alias.toString(), toError(e).message);
    }
  });
}

/** `Process.inspectMeta` (Init, Running). */
export function processInspectMeta(p: ProcessImpl, alias: Alias, items: string[]): Promise<Record<string, string>> {
  // Init too (Ergo 3.2's wider ProcessInit state).
  if ((p.st & MASK_IR) === 0) return rejected(ErrNotAllowed.with('inspectMeta'), p.log, 'inspectMeta');
  return p.nodeImpl.metas.inspect(p, p.pid, alias, items);
}

/** `Process.metaInfo` (Running). */
export function processMetaInfo(p: ProcessImpl, alias: Alias): MetaInfo {
  p.allow(MASK_R, 'metaInfo');
  return p.nodeImpl.metas.info(alias);
}
