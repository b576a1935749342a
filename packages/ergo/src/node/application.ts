// The node's applications: load (declare), start (dependencies first, members in order, all or
// nothing), watch members (mode rules), stop (graceful with a timeout, or forced), unload.

import type { Atom } from '../gen/atom.js';
import {
  ApplicationMode,
  ApplicationState,
  applicationModeString,
  type ApplicationBehavior,
  type ApplicationInfo,
  type ApplicationOptions,
  type ApplicationSpec,
} from '../gen/application.js';
import { envName } from '../gen/env.js';
import {
  ErrApplicationDepends,
  ErrApplicationEmpty,
  ErrApplicationLoadPanic,
  ErrApplicationName,
  ErrApplicationRunning,
  ErrApplicationState,
  ErrApplicationStopping,
  ErrApplicationUnknown,
  ErrIncorrect,
  ErrTaken,
  isNormalReason,
  TerminateReasonKill,
  TerminateReasonNormal,
  TerminateReasonShutdown,
  toError,
} from '../gen/errors.js';
import { LogLevel, toLogLevel } from '../gen/log.js';
import type { ApplicationRoute } from '../gen/network.js';
import type { Node } from '../gen/node.js';
import type { ProcessOptions } from '../gen/options.js';
import type { PID } from '../gen/pid.js';
import type { ProcessShortInfo } from '../gen/process.js';
import { processShortInfo } from './info.js';
import { SYSTEM_APP } from '../gen/inspect.js';
import {
  describeValue,
  validateArgs,
  validateAtomName,
  validateEnv,
  validateLogLevelOption,
  validateProcessOptions,
  validateTimeoutMs,
} from '../gen/validate.js';
import type { NodeImpl } from './node.js';
import type { ProcessImpl } from './process.js';
import { isThenable } from '../lib/thenable.js';
import { cappedInitTimeout, spawnLocal } from './spawn.js';
import { killProcess } from './termination.js';
import { DEFAULT_APPLICATION_STOP_TIMEOUT } from './application_api.js';

/** One loaded application. */
class Application {
  state: ApplicationState = ApplicationState.Loaded;
  mode: ApplicationMode;
  readonly group = new Map<number, PID>();
  startedAt = 0;
  /** The node that started it (this node, or the remote node that asked); read while running. */
  startedBy = '' as Atom;
  reason: Error | null = null;
  /** Counts starts: a start whose generation is no longer current was overtaken by a stop. */
  generation = 0;
  /** Generation of the start in progress (0 = none). */
  starting = 0;
  private stopWaiters: (() => void)[] = [];

  constructor(
    readonly spec: ApplicationSpec & { name: Atom },
    readonly env: Map<string, unknown>,
    readonly behavior: ApplicationBehavior,
  ) {
    this.mode = spec.mode ?? ApplicationMode.Temporary;
  }

  whenStopped(): Promise<void> {
    if (this.state === ApplicationState.Loaded) return Promise.resolve();
    return new Promise((resolve) => this.stopWaiters.push(resolve));
  }

  stopped(): void {
    for (const w of this.stopWaiters.splice(0)) w();
  }
}

/** Applications of one node. */
export class ApplicationManager {
  private readonly apps = new Map<Atom, Application>();

  constructor(private readonly node: NodeImpl) {}

  counts(): { total: number; running: number } {
    let running = 0;
    for (const a of this.apps.values()) if (a.state === ApplicationState.Running) running++;
    return { total: this.apps.size, running };
  }

  private get(name: Atom | string): Application {
    const a = this.apps.get(name as Atom);
    if (a === undefined) throw ErrApplicationUnknown.with(String(name));
    return a;
  }

  /** Loads (declares) an application; resolves with its name. `load` gets the caller's node handle. */
  async load(behavior: ApplicationBehavior, args: unknown[], handle: Node): Promise<Atom> {
    this.node.checkRunning();
    if (behavior === null || typeof behavior !== 'object' || typeof behavior.load !== 'function') {
      throw ErrIncorrect.with('an application needs a load(node, ...args) method');
    }
    let spec: ApplicationSpec;
    try {
      spec = await behavior.load(handle, ...args);
    } catch (e) {
      const err = toError(e);
      this.node.log.panic('panic in application load: %s', err.stack ?? err.message);
      throw ErrApplicationLoadPanic.with(err.message, err);
    }
    if (spec === null || typeof spec !== 'object') throw ErrIncorrect.with('load must return an application spec');
    if (typeof spec.name !== 'string' || spec.name === '') throw ErrApplicationName.with();
    validateSpec(spec);
    if (spec.depends?.network) throw ErrApplicationDepends.with(`${spec.name} needs the network, which is not running`);
    if (this.apps.has(spec.name as Atom)) throw ErrTaken.with(`application ${spec.name}`);
    const env = new Map<string, unknown>();
    if (spec.env)
      for (const [k, v] of validateEnv(spec.env, 'application env'))
        if (v !== undefined && v !== null) env.set(envName(k), v);
    const a = new Application(spec as ApplicationSpec & { name: Atom }, env, behavior);
    this.apps.set(a.spec.name, a);
    this.publish(a);
    return a.spec.name;
  }

  /** True if application `name` is loaded. */
  has(name: Atom | string): boolean {
    return this.apps.has(name as Atom);
  }

  unload(name: Atom | string): void {
    const a = this.get(name);
    if (a.state !== ApplicationState.Loaded) throw ErrApplicationRunning.with(String(name));
    this.apps.delete(a.spec.name);
    this.node.net.publishApplication(a.spec.name);
  }

  /** The route registrars publish for `a` (`gen.ApplicationRoute`) in its current state. */
  private route(a: Application): ApplicationRoute {
    return { node: this.node.name, name: a.spec.name, weight: a.spec.weight ?? 0, mode: a.mode, state: a.state };
  }

  /** Tells the registrar the application's new state (load, start, stop, end), as Ergo does. */
  private publish(a: Application): void {
    this.node.net.publishApplication(this.route(a));
  }

  /** Routes of every loaded application (what the network registers when it starts). */
  routes(): ApplicationRoute[] {
    return [...this.apps.values()].map((a) => this.route(a));
  }

  /**
   * Starts an application (dependencies first). `mode` overrides the spec's; `corePID` is the core
   * PID of the node that asked (a remote node for a remote start; this node by default): its node
   * is reported as the application's `parent`, and it is every member's parent and leader (Ergo).
   */
  async start(
    name: Atom | string,
    options: ApplicationOptions,
    mode?: ApplicationMode,
    corePID: PID = this.node.pid,
    chain: Set<string> = new Set(),
  ): Promise<void> {
    const startedBy = corePID.node;
    this.node.checkRunning();
    validateStartOptions(options);
    const a = this.get(name);
    if (mode === undefined) {
      // `chain` is the path of applications being started above this one: only a name on the
      // path is a cycle (a dependency shared by two branches is started once, then Running).
      if (chain.has(a.spec.name)) throw ErrApplicationDepends.with(`dependency cycle through ${a.spec.name}`);
      chain.add(a.spec.name);
      try {
        for (const dep of a.spec.depends?.applications ?? []) {
          try {
            await this.start(dep, options, undefined, corePID, chain);
          } catch (e) {
            if (ErrApplicationRunning.is(e)) continue;
            this.node.log.error(
              'unable to start %s: dependency %s failed: %s',
              a.spec.name,
              String(dep),
              toError(e).message,
            );
            throw ErrApplicationDepends.with(`${a.spec.name} needs ${dep}: ${toError(e).message}`, e);
          }
        }
      } finally {
        chain.delete(a.spec.name);
      }
    }
    if (a.state === ApplicationState.Running) throw ErrApplicationRunning.with(a.spec.name);
    if (a.state !== ApplicationState.Loaded) throw ErrApplicationState.with(a.spec.name);
    a.state = ApplicationState.Running;
    a.startedBy = startedBy;
    a.reason = null;
    a.mode = mode ?? a.spec.mode ?? ApplicationMode.Temporary;
    const gen = ++a.generation;
    a.starting = gen;
    // Members start one by one (inits may be async): meanwhile the application can be stopped,
    // or ended by a member's exit under its mode. Then this start is over: it fails, and the stop
    // (which also stops the members that arrive late) finishes the application.
    const current = (): boolean => a.generation === gen && a.state === ApplicationState.Running;
    const env = new Map(a.env);
    if (options.env)
      for (const [k, v] of validateEnv(options.env, 'env')) if (v !== undefined && v !== null) env.set(envName(k), v);
    const level = toLogLevel(options.logLevel ?? a.spec.logLevel);
    try {
      for (const m of a.spec.group) {
        if (!current()) throw ErrApplicationState.with(`${a.spec.name} was stopped while starting`);
        const opts: ProcessOptions =
          level !== undefined && level !== LogLevel.Default && m.options?.logLevel === undefined
            ? { ...m.options, logLevel: level }
            : { ...m.options };
        // Ergo 3.2: a member's init may take at most 15 s, whatever its options say.
        opts.initTimeout = cappedInitTimeout(opts.initTimeout);
        await spawnLocal(this.node, {
          factory: m.factory,
          options: opts,
          args: m.args ?? [],
          register: m.name ?? '',
          application: a.spec.name,
          applicationEnv: env,
          parentPID: corePID,
          // Recorded as it enters the table, so its exit is always seen by memberTerminated.
          onSpawned: (p) => this.memberSpawned(a, gen, p),
        });
      }
      if (!current()) throw ErrApplicationState.with(`${a.spec.name} was stopped while starting`);
    } catch (e) {
      if (current()) {
        // A member failed to start: undo.
        const started = [...a.group.values()];
        a.group.clear();
        a.state = ApplicationState.Loaded;
        for (const pid of started) {
          const p = this.node.processes.get(pid.id);
          if (p !== undefined) killProcess(this.node, p);
        }
      }
      throw e;
    } finally {
      if (a.starting === gen) a.starting = 0;
    }
    a.startedAt = Date.now();
    this.publish(a);
    this.node.log.info('application %s (%s) started', a.spec.name, applicationModeString(a.mode));
    this.callback(a, 'start', () => a.behavior.start?.(a.mode));
    // Every member may have ended (cleanly) while the later ones started: the application is done.
    if (a.group.size === 0) this.finish(a);
  }

  /**
   * Stops an application: shutdown exits (or kill), then waits up to `timeoutMs`.
   * @throws ErrIncorrect (a timeout that is not 1..2^31-1 ms), ErrApplicationUnknown, ErrApplicationStopping.
   */
  async stop(name: Atom | string, force: boolean, timeoutMs: number): Promise<void> {
    if (!force) validateTimeoutMs(timeoutMs, 'application stop timeout', false);
    const a = this.get(name);
    if (a.state === ApplicationState.Loaded) return;
    if (a.state === ApplicationState.Stopping && !force) throw ErrApplicationStopping.with(a.spec.name);
    // The mode stays the one it was started with (its stop line names it); Stopping alone keeps
    // a member's exit from being taken for the application's failure (memberTerminated).
    a.state = ApplicationState.Stopping;
    a.reason = force ? TerminateReasonKill : TerminateReasonShutdown;
    this.publish(a);
    for (const pid of [...a.group.values()]) {
      const p = this.node.processes.get(pid.id);
      if (p === undefined) continue;
      if (force) killProcess(this.node, p);
      else this.node.shutdownExit(p, TerminateReasonShutdown);
    }
    const done = a.whenStopped();
    if (a.group.size === 0) this.finish(a);
    if (force) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<boolean>((resolve) => {
      // Not unref'd: an awaited stop must reach its deadline (ErrApplicationStopping) even when
      // a stuck member holds nothing that keeps the event loop alive (cleared once settled).
      timer = setTimeout(() => resolve(true), timeoutMs);
    });
    const timedOut = await Promise.race([done.then(() => false), expired]);
    clearTimeout(timer);
    if (timedOut) throw ErrApplicationStopping.with(`${a.spec.name} did not stop in ${timeoutMs} ms`);
  }

  /** A member of start `gen` entered the table: join the group, or stop at once if the application was stopped meanwhile. */
  private memberSpawned(a: Application, gen: number, p: ProcessImpl): void {
    if (a.generation === gen && a.state === ApplicationState.Running) {
      a.group.set(p.pid.id, p.pid);
      return;
    }
    // Stopped meanwhile: the stop in progress waits for this one too; a finished one does not.
    // Either way it just finished its init and is idle: a shutdown exit ends it at once.
    if (a.generation === gen && a.state === ApplicationState.Stopping) a.group.set(p.pid.id, p.pid);
    this.node.shutdownExit(p, TerminateReasonShutdown);
  }

  /** Follows member exits: the mode decides whether the rest stops. */
  memberTerminated(p: ProcessImpl, reason: Error): void {
    const a = this.apps.get(p.application);
    if (a === undefined || !a.group.delete(p.pid.id)) return;
    const abnormal = !isNormalReason(reason);
    if (
      a.state === ApplicationState.Running &&
      (a.mode === ApplicationMode.Permanent || (a.mode === ApplicationMode.Transient && abnormal))
    ) {
      this.node.log.info(
        'application %s (%s) will be stopped due to termination of %s with reason: %s',
        a.spec.name,
        applicationModeString(a.mode),
        p.pid.toString(),
        reason.message,
      );
      a.state = ApplicationState.Stopping;
      a.reason = reason;
      this.publish(a);
      for (const pid of a.group.values()) {
        const q = this.node.processes.get(pid.id);
        if (q !== undefined) this.node.shutdownExit(q, TerminateReasonShutdown);
      }
    }
    // While a start is still adding members, an empty group does not mean the end.
    if (a.group.size === 0 && !(a.state === ApplicationState.Running && a.starting !== 0)) this.finish(a);
  }

  private finish(a: Application): void {
    if (a.state === ApplicationState.Loaded) return;
    const reason = a.reason ?? TerminateReasonNormal;
    a.state = ApplicationState.Loaded;
    a.startedAt = 0;
    this.publish(a);
    // The system application ends only with the node (its end is part of the node's stop).
    if (a.spec.name !== SYSTEM_APP)
      this.node.log.info(
        'application %s (%s) stopped with reason %s',
        a.spec.name,
        applicationModeString(a.mode),
        reason.message,
      );
    this.callback(a, 'terminate', () => a.behavior.terminate?.(reason));
    a.stopped();
  }

  /** Runs an application callback: a throw or a rejected promise (async callback) is logged. */
  private callback(a: Application, what: string, fn: () => unknown): void {
    const failed = (e: unknown): void => {
      const err = toError(e);
      this.node.log.panic('application %s %s handler failed: %s', a.spec.name, what, err.stack ?? err.message);
    };
    try {
      const r = fn();
      if (isThenable(r)) r.then(undefined, failed);
    } catch (e) {
      failed(e);
    }
  }

  info(name: Atom | string): ApplicationInfo {
    const a = this.get(name);
    const s = a.spec;
    return {
      name: s.name,
      weight: s.weight ?? 0,
      description: s.description ?? '',
      version: s.version ?? { name: s.name, release: '' },
      env: this.node.options.security?.exposeEnvInfo ? Object.fromEntries(a.env) : {},
      depends: { applications: (s.depends?.applications ?? []) as Atom[], network: s.depends?.network === true },
      mode: a.mode,
      state: a.state,
      parent: a.state === ApplicationState.Loaded ? ('' as Atom) : a.startedBy,
      uptime: a.startedAt === 0 ? 0 : Math.floor((Date.now() - a.startedAt) / 1000),
      group: [...a.group.values()],
      tags: s.tags?.slice() ?? [],
      map: { ...(s.map ?? {}) } as Record<string, Atom>,
    };
  }

  names(): Atom[] {
    return [...this.apps.keys()];
  }

  running(): Atom[] {
    return [...this.apps.values()].filter((a) => a.state === ApplicationState.Running).map((a) => a.spec.name);
  }

  /** Members plus up to `limit` other processes carrying the application's name. */
  processList(name: Atom | string, limit: number): ProcessImpl[] {
    const a = this.get(name);
    if (!Number.isInteger(limit) || limit < 0) throw ErrIncorrect.with(`limit ${limit}`);
    if (a.state !== ApplicationState.Running) throw ErrApplicationState.with(`${a.spec.name} is not running`);
    const out: ProcessImpl[] = [];
    for (const pid of a.group.values()) {
      const p = this.node.processes.get(pid.id);
      if (p !== undefined) out.push(p);
    }
    let extra = 0;
    for (const p of this.node.processes.values()) {
      if (extra >= limit) break;
      if (p.application === a.spec.name && !a.group.has(p.pid.id)) {
        out.push(p);
        extra++;
      }
    }
    return out;
  }

  processListShortInfo(name: Atom | string, limit: number): ProcessShortInfo[] {
    // Not `.map(processShortInfo)`: map's index would be taken for `now` (uptime ≈ −epoch).
    const now = Date.now();
    return this.processList(name, limit).map((p) => processShortInfo(p, now));
  }

  /** Stops every running application (node stop), latest loaded first, each with the default timeout. */
  async stopAll(force: boolean): Promise<void> {
    for (const a of [...this.apps.values()].reverse()) {
      if (a.state === ApplicationState.Loaded) continue;
      if (a.spec.name === SYSTEM_APP) {
        // Skipped, as in Ergo: its processes end with the rest (the node's exit signals), and
        // no member exit of a permanent application is taken for a failure then.
        a.state = ApplicationState.Stopping;
        a.mode = ApplicationMode.Temporary;
        a.reason = TerminateReasonShutdown;
        continue;
      }
      try {
        await this.stop(a.spec.name, force, DEFAULT_APPLICATION_STOP_TIMEOUT);
      } catch (e) {
        this.node.log.warning('application %s: %s', a.spec.name, toError(e).message);
      }
    }
  }
}

/**
 * Checks an application spec returned by load (its name is checked before): members, mode, env,
 * log level, weight and depends, with the validators spawn and the setters use.
 * @throws ErrApplicationEmpty, ErrIncorrect, ErrAtomTooLong.
 */
function validateSpec(spec: ApplicationSpec): void {
  validateAtomName(spec.name, 'application name');
  if (!Array.isArray(spec.group) || spec.group.length === 0) throw ErrApplicationEmpty.with(spec.name);
  for (const m of spec.group) {
    if (m === null || typeof m !== 'object' || typeof m.factory !== 'function')
      throw ErrIncorrect.with(`member of ${spec.name} without a factory`);
    if (m.name !== undefined && m.name !== '') validateAtomName(m.name, `member name of ${spec.name}`);
    if (m.options !== undefined) validateProcessOptions(m.options, `member options of ${spec.name}`);
    if (m.args !== undefined) validateArgs(m.args, `member args of ${spec.name}`);
  }
  if (spec.mode !== undefined && spec.mode !== 1 && spec.mode !== 2 && spec.mode !== 3)
    throw ErrIncorrect.with(`application mode ${describeValue(spec.mode)}`);
  if (spec.logLevel !== undefined) validateLogLevelOption(spec.logLevel, 'application logLevel');
  if (spec.weight !== undefined && (typeof spec.weight !== 'number' || !Number.isFinite(spec.weight)))
    throw ErrIncorrect.with(`application weight ${describeValue(spec.weight)} (expected a number)`);
  const d = spec.depends;
  if (d === undefined) return;
  if (d === null || typeof d !== 'object' || Array.isArray(d))
    throw ErrIncorrect.with(`depends of ${spec.name} ${describeValue(d)} (expected { applications?, network? })`);
  if (d.applications !== undefined) {
    // A string here would be read one character at a time: refuse anything but an array.
    if (!Array.isArray(d.applications))
      throw ErrIncorrect.with(
        `depends.applications of ${spec.name} ${describeValue(d.applications)} (expected an array of application names)`,
      );
    for (const dep of d.applications) validateAtomName(dep, `depends.applications entry of ${spec.name}`);
  }
  if (d.network !== undefined && typeof d.network !== 'boolean')
    throw ErrIncorrect.with(`depends.network of ${spec.name} ${describeValue(d.network)} (expected a boolean)`);
}

/** Checks the options of applicationStart*: env and logLevel. @throws ErrIncorrect. */
function validateStartOptions(options: ApplicationOptions): void {
  if (options === null || typeof options !== 'object')
    throw ErrIncorrect.with(`application start options ${describeValue(options)} (expected an object)`);
  if (options.env !== undefined) validateEnv(options.env, 'env');
  if (options.logLevel !== undefined) validateLogLevelOption(options.logLevel, 'logLevel');
}
