// Simple-one-for-one: specs are templates; startChild(spec, ...args) starts any number of unnamed
// instances, each restarted with the arguments it was started with. Significant children and
// auto-shutdown do not apply.

import type { Atom } from '../gen/atom.js';
import { isNormalReason, toError } from '../gen/errors.js';
import type { PID } from '../gen/pid.js';
import {
  ErrSupervisorChildDisabled,
  ErrSupervisorChildDuplicate,
  ErrSupervisorChildUnknown,
  ErrSupervisorRestartsExceeded,
  ErrSupervisorStrategyActive,
  RestartWindow,
  SupervisorStrategy,
  validateChildSpec,
  type NormalizedSpec,
  type SupervisorChild,
  type SupervisorChildSpec,
} from './supervisor_types.js';
import type { ChildrenStrategy, SupervisorHost } from './supervisor_strategy.js';

interface Template {
  spec: SupervisorChildSpec;
  index: number;
  disabled: boolean;
}

interface Instance {
  template: Template;
  pid: PID;
  args: unknown[];
}

/** Children of a SOFO supervisor. */
export class SimpleChildren implements ChildrenStrategy {
  private readonly templates = new Map<string, Template>();
  private readonly instances = new Map<number, Instance>();
  private readonly waiting = new Set<number>();
  private finalReason: Error | null = null;
  private restarting = 0;
  private readonly window: RestartWindow;

  constructor(
    private readonly host: SupervisorHost,
    private readonly cfg: NormalizedSpec,
  ) {
    this.window = new RestartWindow(cfg.intensity, cfg.periodMs);
    for (const c of cfg.children) this.templates.set(c.name, { spec: c, index: this.templates.size, disabled: false });
  }

  async start(): Promise<Error | undefined> {
    return undefined;
  }

  busy(): boolean {
    return this.finalReason !== null || this.restarting > 0;
  }

  restarts(): number {
    return this.window.count;
  }

  restartsTotal(): number {
    return this.window.total;
  }

  nameOf(pid: PID): Atom | undefined {
    return this.instances.get(pid.id)?.template.spec.name as Atom | undefined;
  }

  private async spawn(t: Template, args: unknown[]): Promise<PID> {
    const pid = await this.host.spawnChild(t.spec, args, false);
    this.instances.set(pid.id, { template: t, pid, args });
    this.host.childStarted(t.spec.name as Atom, pid);
    return pid;
  }

  exited(pid: PID, reason: Error): Promise<Error | undefined> | Error | undefined {
    const inst = this.instances.get(pid.id)!;
    this.instances.delete(pid.id);
    if (this.finalReason !== null) {
      this.waiting.delete(pid.id);
      return this.waiting.size === 0 ? this.finalReason : undefined;
    }
    const t = inst.template;
    if (this.cfg.strategy === SupervisorStrategy.Temporary) return undefined;
    if (this.cfg.strategy === SupervisorStrategy.Transient && isNormalReason(reason)) return undefined;
    if (t.disabled) return undefined;
    if (this.window.exceeded()) return this.shutdown(ErrSupervisorRestartsExceeded);
    this.restarting++;
    return this.spawn(t, inst.args).then(
      () => {
        this.restarting--;
        return undefined;
      },
      (err: unknown) => {
        this.restarting--;
        return toError(err);
      },
    );
  }

  shutdown(reason: Error): Error | undefined {
    // Already shutting down (instances still to stop): the first reason stands, as in Ergo.
    if (this.finalReason !== null) return undefined;
    this.finalReason = reason;
    for (const inst of this.instances.values()) {
      this.waiting.add(inst.pid.id);
      this.host.stopChild(inst.pid, reason);
    }
    return this.waiting.size === 0 ? reason : undefined;
  }

  private template(name: Atom | string): Template {
    const t = this.templates.get(name);
    if (t === undefined) throw ErrSupervisorChildUnknown.with(String(name));
    return t;
  }

  async startChild(name: Atom | string, args: unknown[]): Promise<void> {
    if (this.finalReason !== null) throw ErrSupervisorStrategyActive.with('the supervisor is shutting down');
    const t = this.template(name);
    if (t.disabled) throw ErrSupervisorChildDisabled.with(String(name));
    await this.spawn(t, args.length > 0 ? args : (t.spec.args ?? []));
  }

  async addChild(spec: SupervisorChildSpec): Promise<void> {
    if (this.finalReason !== null) throw ErrSupervisorStrategyActive.with('the supervisor is shutting down');
    validateChildSpec(spec);
    if (this.templates.has(spec.name)) throw ErrSupervisorChildDuplicate.with(spec.name);
    this.templates.set(spec.name, { spec, index: this.templates.size, disabled: false });
  }

  async enableChild(name: Atom | string): Promise<void> {
    if (this.finalReason !== null) throw ErrSupervisorStrategyActive.with('the supervisor is shutting down');
    this.template(name).disabled = false;
  }

  async disableChild(name: Atom | string, shutdown: Error): Promise<void> {
    if (this.finalReason !== null) throw ErrSupervisorStrategyActive.with('the supervisor is shutting down');
    const t = this.template(name);
    t.disabled = true;
    for (const inst of this.instances.values()) if (inst.template === t) this.host.stopChild(inst.pid, shutdown);
  }

  children(): SupervisorChild[] {
    return [...this.instances.values()]
      .sort((a, b) => a.template.index - b.template.index || a.pid.id - b.pid.id)
      .map((i) => ({
        spec: i.template.spec.name as Atom,
        name: '' as Atom,
        pid: i.pid,
        significant: i.template.spec.significant === true,
        disabled: i.template.disabled,
      }));
  }
}
