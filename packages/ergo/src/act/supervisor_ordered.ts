// One-for-one, all-for-one and rest-for-one: children with fixed names, started in spec order.
// They differ only in which siblings a restart takes along (none / all / those after the failed
// one); stopping follows spec order in reverse, one at a time with KeepOrder.

import type { Atom } from '../gen/atom.js';
import { isNormalReason, toError } from '../gen/errors.js';
import type { PID } from '../gen/pid.js';
import {
  ErrSupervisorChildDisabled,
  ErrSupervisorChildDuplicate,
  ErrSupervisorChildRunning,
  ErrSupervisorChildUnknown,
  ErrSupervisorRestartsExceeded,
  ErrSupervisorStrategyActive,
  RestartWindow,
  SupervisorStrategy,
  SupervisorType,
  validateChildSpec,
  type NormalizedSpec,
  type SupervisorChild,
  type SupervisorChildSpec,
} from './supervisor_types.js';
import type { ChildrenStrategy, SupervisorHost } from './supervisor_strategy.js';

interface Entry {
  spec: SupervisorChildSpec;
  name: Atom;
  index: number;
  args: unknown[];
  pid: PID | null;
  disabled: boolean;
}

const NORMAL = 0;
const STARTING = 1;
/** Stopping siblings before a restart. */
const STOPPING = 2;
const SHUTDOWN = 3;

/** Children of an OFO/AFO/RFO supervisor. */
export class OrderedChildren implements ChildrenStrategy {
  private readonly entries: Entry[] = [];
  private readonly byPid = new Map<number, Entry>();
  private mode = STARTING;
  private readonly waiting = new Set<number>();
  /** KeepOrder: children still to stop, next first. */
  private stopQueue: Entry[] = [];
  private stopReason: Error | null = null;
  private restartFrom = 0;
  private finalReason: Error | null = null;
  private readonly window: RestartWindow;

  constructor(
    private readonly host: SupervisorHost,
    private readonly cfg: NormalizedSpec,
  ) {
    this.window = new RestartWindow(cfg.intensity, cfg.periodMs);
    for (const c of cfg.children) this.addEntry(c);
  }

  private addEntry(c: SupervisorChildSpec): Entry {
    const e: Entry = {
      spec: c,
      name: c.name as Atom,
      index: this.entries.length,
      args: c.args ?? [],
      pid: null,
      disabled: false,
    };
    this.entries.push(e);
    return e;
  }

  busy(): boolean {
    return this.mode !== NORMAL;
  }

  restarts(): number {
    return this.window.count;
  }

  restartsTotal(): number {
    return this.window.total;
  }

  async start(): Promise<Error | undefined> {
    this.mode = STARTING;
    const err = await this.startFrom(0);
    this.mode = NORMAL;
    return err;
  }

  private async startFrom(from: number): Promise<Error | undefined> {
    for (let i = from; i < this.entries.length; i++) {
      const e = this.entries[i]!;
      if (e.disabled || e.pid !== null) continue;
      try {
        await this.spawn(e);
      } catch (err) {
        return toError(err);
      }
    }
    return undefined;
  }

  private async spawn(e: Entry): Promise<void> {
    const pid = await this.host.spawnChild(e.spec, e.args, true);
    e.pid = pid;
    this.byPid.set(pid.id, e);
    this.host.childStarted(e.name, pid);
  }

  nameOf(pid: PID): Atom | undefined {
    return this.byPid.get(pid.id)?.name;
  }

  exited(pid: PID, reason: Error): Promise<Error | undefined> | Error | undefined {
    const e = this.byPid.get(pid.id)!;
    this.byPid.delete(pid.id);
    e.pid = null;
    this.waiting.delete(pid.id);
    if (this.mode === SHUTDOWN) {
      return this.continueStopping() ? undefined : this.finalReason!;
    }
    if (this.mode === STOPPING) {
      if (e.index < this.restartFrom) this.restartFrom = e.index;
      if (this.continueStopping()) return undefined;
      return this.restartPhase();
    }
    return this.decide(e, reason);
  }

  private running(): Entry[] {
    return this.entries.filter((x) => x.pid !== null);
  }

  private decide(e: Entry, reason: Error): Promise<Error | undefined> | Error | undefined {
    const cfg = this.cfg;
    const running = this.running();
    if (e.disabled) return running.length === 0 && cfg.autoShutdown ? reason : undefined;
    if (
      cfg.strategy === SupervisorStrategy.Temporary ||
      (cfg.strategy === SupervisorStrategy.Transient && isNormalReason(reason))
    ) {
      if (e.spec.significant) return this.shutdown(reason);
      return running.length === 0 && cfg.autoShutdown ? reason : undefined;
    }
    if (this.window.exceeded()) {
      return this.beginShutdown(ErrSupervisorRestartsExceeded, ErrSupervisorRestartsExceeded);
    }
    if (cfg.type === SupervisorType.OneForOne) {
      this.mode = STARTING;
      return this.spawn(e).then(
        () => {
          this.mode = NORMAL;
          return undefined;
        },
        (err: unknown) => {
          this.mode = NORMAL;
          return toError(err);
        },
      );
    }
    const rest = cfg.type === SupervisorType.RestForOne;
    this.restartFrom = rest ? e.index : 0;
    const stop = rest ? running.filter((x) => x.index > e.index) : running;
    if (stop.length === 0) return this.restartPhase();
    this.mode = STOPPING;
    this.stopAll(stop, reason);
    return undefined;
  }

  private async restartPhase(): Promise<Error | undefined> {
    this.mode = STARTING;
    const err = await this.startFrom(this.restartFrom);
    this.restartFrom = 0;
    this.mode = NORMAL;
    return err;
  }

  /** Sends exits (reverse spec order; one at a time with KeepOrder). */
  private stopAll(list: Entry[], reason: Error): void {
    const ordered = list.slice().sort((a, b) => b.index - a.index);
    this.stopReason = reason;
    if (this.cfg.keepOrder && this.cfg.type !== SupervisorType.OneForOne) {
      this.stopQueue = ordered;
      this.continueStopping();
      return;
    }
    for (const x of ordered) {
      this.waiting.add(x.pid!.id);
      this.host.stopChild(x.pid!, reason);
    }
  }

  /** True while children are still being stopped (stops the next one with KeepOrder). */
  private continueStopping(): boolean {
    if (this.waiting.size > 0) return true;
    while (this.stopQueue.length > 0) {
      const next = this.stopQueue.shift()!;
      if (next.pid === null) continue;
      this.waiting.add(next.pid.id);
      this.host.stopChild(next.pid, this.stopReason!);
      return true;
    }
    return false;
  }

  private beginShutdown(finalReason: Error, childReason: Error): Error | undefined {
    this.mode = SHUTDOWN;
    this.finalReason = finalReason;
    this.stopQueue = [];
    const running = this.running().filter((x) => !this.waiting.has(x.pid!.id));
    if (running.length === 0 && this.waiting.size === 0) return finalReason;
    this.stopAll(running, childReason);
    return undefined;
  }

  shutdown(reason: Error): Error | undefined {
    // Already shutting down (children still to stop): the first reason stands, as in Ergo.
    if (this.mode === SHUTDOWN) return undefined;
    return this.beginShutdown(reason, reason);
  }

  private find(name: Atom | string): Entry {
    const e = this.entries.find((x) => x.name === name);
    if (e === undefined) throw ErrSupervisorChildUnknown.with(String(name));
    return e;
  }

  private checkIdle(): void {
    if (this.mode !== NORMAL) throw ErrSupervisorStrategyActive.with('a restart sequence is running');
  }

  async startChild(name: Atom | string, args: unknown[]): Promise<void> {
    this.checkIdle();
    const e = this.find(name);
    if (e.disabled) throw ErrSupervisorChildDisabled.with(String(name));
    if (e.pid !== null) throw ErrSupervisorChildRunning.with(String(name));
    if (args.length > 0) e.args = args;
    await this.spawn(e);
  }

  async addChild(spec: SupervisorChildSpec): Promise<void> {
    this.checkIdle();
    validateChildSpec(spec);
    if (this.entries.some((x) => x.name === spec.name)) throw ErrSupervisorChildDuplicate.with(spec.name);
    await this.spawn(this.addEntry(spec));
  }

  async enableChild(name: Atom | string): Promise<void> {
    this.checkIdle();
    const e = this.find(name);
    if (!e.disabled) return;
    e.disabled = false;
    if (e.pid === null) await this.spawn(e);
  }

  async disableChild(name: Atom | string, shutdown: Error): Promise<void> {
    this.checkIdle();
    const e = this.find(name);
    if (e.disabled) return;
    e.disabled = true;
    if (e.pid !== null) this.host.stopChild(e.pid, shutdown);
  }

  children(): SupervisorChild[] {
    return this.entries.map((e) => ({
      spec: e.name,
      name: e.name,
      pid: e.pid,
      significant: e.spec.significant === true,
      disabled: e.disabled,
    }));
  }
}
