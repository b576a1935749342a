// Cron: the contract of the node's scheduler. A job pairs a crontab spec (evaluated once per
// wall-clock minute in the job's time zone) with an action; the two stock actions send a
// MessageCron to a process or spawn a fresh process. The engine lives in node/cron/.

import type { Atom } from './atom.js';
import { ErgoError, ErrIncorrect } from './errors.js';
import type { Log } from './log.js';
import type { ProcessFallback, ProcessOptions } from './options.js';
import type { PID } from './pid.js';
import type { InitArgs, ProcessBehavior, ProcessFactory } from './process.js';
import { MessagePriority, isMessagePriority, priorityString } from './priority.js';
import type { ProcessID } from './processid.js';
import type { Alias } from './ref.js';
import type { RemoteNode } from './network.js';

/** Env key set on processes spawned by {@link createCronActionSpawn}: the node's name. */
export const CronEnvNodeName = 'CRON_NODE_NAME';
/** Env key set on processes spawned by {@link createCronActionSpawn}: the job's name. */
export const CronEnvJobName = 'CRON_JOB_NAME';
/** Env key set on processes spawned by {@link createCronActionSpawn}: the run's minute (a Date). */
export const CronEnvJobActionTime = 'CRON_JOB_ACTION_TIME';

/** Where a cron message can be sent: a PID, a registered name (local or remote), an alias. */
export type CronMessageTarget = PID | ProcessID | Alias | Atom | string;

/**
 * The part of a node a cron action uses. The node satisfies it structurally; tests may pass a
 * double. Every method may throw (unknown target, node stopped...), which fails the run.
 */
export interface CronNode {
  readonly name: Atom;
  /** Sends `message`; throws when the target is unknown or its mailbox is full. */
  send(to: CronMessageTarget, message: unknown, options?: { priority?: MessagePriority }): void;
  /** Spawns a process; rejects with init's error. */
  spawn(factory: unknown, options?: ProcessOptions, ...args: unknown[]): Promise<PID>;
  /** Spawns a process registered under `name`; rejects with ErrTaken when the name is used. */
  spawnRegister(name: Atom | string, factory: unknown, options?: ProcessOptions, ...args: unknown[]): Promise<PID>;
  /** The network, for {@link createCronActionRemoteSpawn} (a run fails without one). */
  network?(): { getNode(name: Atom | string): Promise<RemoteNode> };
  readonly log: Log;
}

/**
 * What a job does when its minute comes. `do` runs in the node's event loop: return (or
 * resolve) to succeed, throw (or reject) to fail — a failure is recorded as the job's `lastErr`,
 * logged, and sent to the job's fallback process when one is enabled. Failures never escape the
 * scheduler. `do` must not block: runs of the same job may overlap when one takes longer than the
 * job's interval. `time` is the minute the run belongs to (an instant; seconds are zero).
 */
export interface CronAction {
  do(job: Atom, node: CronNode, time: Date): void | Promise<void>;
  /** A one-line description for info() ("send message to 'reporter' with normal priority"). */
  info(): string;
}

/** A scheduled job: add it with {@link Cron.addJob} or pass it in the node's `cron.jobs` option. */
export interface CronJob {
  /** Unique job name on the node. */
  name: Atom;
  /**
   * When to run: five fields `minute hour day-of-month month day-of-week`, or a macro
   * (`@hourly`, `@daily`, `@weekly`, `@monthly`). See docs/cron.md for the syntax.
   */
  spec: string;
  /**
   * IANA zone the spec is read in ("Europe/Berlin", "UTC"); default: the node's local zone,
   * resolved when the job is added. Names are canonicalised as Intl spells them ("utc" → "UTC").
   */
  location?: string;
  action: CronAction;
  /** Process (registered name) that receives a {@link MessageCronFallback} when a run fails. */
  fallback?: ProcessFallback;
}

/** The node's `cron` start option. */
export interface CronOptions {
  /** Jobs added when the node starts; an invalid one fails the start. */
  jobs?: CronJob[];
}

/** Snapshot of one job. */
export interface CronJobInfo {
  /** True while the job is disabled (it stays registered but does not run). */
  disabled: boolean;
  name: Atom;
  /** The spec as given (macros are not expanded). */
  spec: string;
  /** Canonical IANA zone name the spec is read in. */
  location: string;
  /** The action's own description. */
  actionInfo: string;
  /** Minute of the latest run, `null` before the first one. */
  lastRun: Date | null;
  /** Error message of the run at `lastRun`; `""` when it succeeded or is still running. */
  lastErr: string;
  /** The job's fallback (`{enable: false, name: ''}` when it has none). */
  fallback: ProcessFallback;
  /**
   * Port extension: the next minute the job will run (`null` when disabled, or when the spec has
   * no match within eight years — e.g. `0 0 30 2 *`).
   */
  nextRun: Date | null;
}

/** Snapshot of the scheduler. */
export interface CronInfo {
  /** The next minute the scheduler evaluates jobs at. */
  next: Date;
  /** Enabled jobs due at `next`. */
  spool: Atom[];
  jobs: CronJobInfo[];
}

/** One minute of a preview: the jobs that run at `time`. */
export interface CronSchedule {
  time: Date;
  jobs: Atom[];
}

/**
 * The node's scheduler (`node.cron()`). Jobs are evaluated at every wall-clock minute boundary;
 * the jobs due at a minute start together (their actions overlap freely). A job added during a
 * minute first runs at a later minute. Management methods are synchronous and take effect at once.
 */
export interface Cron {
  /**
   * Registers and enables a job.
   * @throws ErrTaken when a job with this name exists; CronSpecError (code ERR_INCORRECT) for a
   * bad spec; ErrIncorrect for an empty name, a missing action, an unknown time zone or an
   * enabled fallback without a name.
   */
  addJob(job: CronJob): void;
  /** Removes a job; a run already started finishes. @throws ErrUnknown. */
  removeJob(name: Atom): void;
  /** Resumes a disabled job (no-op when enabled). @throws ErrUnknown. */
  enableJob(name: Atom): void;
  /** Keeps the job registered but stops its runs until enabled. @throws ErrUnknown. */
  disableJob(name: Atom): void;
  info(): CronInfo;
  /** @throws ErrUnknown. */
  jobInfo(name: Atom): CronJobInfo;
  /**
   * Minutes in `[since (floored to the minute), + durationMs)` at which enabled jobs run, with
   * the jobs of each minute. Applies the same time-zone and DST rules as the live scheduler.
   * @throws ErrIncorrect for an invalid date or duration; ErrTooLarge beyond ten years.
   */
  schedule(since: Date, durationMs: number): CronSchedule[];
  /**
   * Minutes in the window at which `job` runs (disabled or not).
   * @throws ErrUnknown; ErrIncorrect / ErrTooLarge as {@link Cron.schedule}.
   */
  jobSchedule(job: Atom, since: Date, durationMs: number): Date[];
}

/** Sent by {@link createCronActionMessage} actions. `time` is the run's minute. */
export class MessageCron {
  constructor(
    readonly node: Atom,
    readonly job: Atom,
    readonly time: Date,
  ) {}
}

/** Sent to a job's fallback process when a run fails. `tag` is the fallback's tag ('' if unset). */
export class MessageCronFallback {
  constructor(
    readonly job: Atom,
    readonly tag: string,
    readonly time: Date,
    readonly err: Error,
  ) {}
}

/** A field of a cron spec, as named in errors. */
export type CronSpecField = 'minute' | 'hour' | 'day-of-month' | 'month' | 'day-of-week';

/**
 * A spec that does not parse. `code` is `ERR_INCORRECT` (so `isError(e, ErrIncorrect)` holds);
 * `field` and `token` point at the offending part (both undefined for whole-spec problems such as
 * a wrong number of fields), `reason` says what is wrong with it.
 */
export class CronSpecError extends ErgoError {
  constructor(
    readonly spec: string,
    readonly field: CronSpecField | undefined,
    readonly token: string | undefined,
    readonly reason: string,
  ) {
    super(
      ErrIncorrect.code,
      `${ErrIncorrect.message}: cron spec ${JSON.stringify(spec)}: ${field === undefined ? '' : `${field} field: `}${reason}`,
    );
  }
}
CronSpecError.prototype.name = 'CronSpecError';

function targetString(to: CronMessageTarget): string {
  return typeof to === 'string' ? `'${to}'` : to.toString();
}

/**
 * An action that sends `MessageCron {node, job, time}` to `to` with `priority` (default
 * Normal). The run fails when the send throws (unknown target, full mailbox).
 * @throws ErrIncorrect for a missing target or an invalid priority.
 */
export function createCronActionMessage(
  to: CronMessageTarget,
  priority: MessagePriority = MessagePriority.Normal,
): CronAction {
  if (to === undefined || to === null || to === '') throw ErrIncorrect.with('cron message action: empty target');
  if (!isMessagePriority(priority))
    throw ErrIncorrect.with(`cron message action: invalid priority ${String(priority)}`);
  const description = `send message to ${targetString(to)} with ${priorityString(priority)} priority`;
  const options = { priority };
  return {
    do(job: Atom, node: CronNode, time: Date): void {
      node.send(to, new MessageCron(node.name, job, time), options);
    },
    info(): string {
      return description;
    },
  };
}

/**
 * Options of {@link createCronActionSpawn} (B: the spawned behaviour, whose `init` types `args`)
 * and of {@link createCronActionRemoteSpawn} (B left out: the remote factory's args are not known
 * here).
 */
export interface CronActionSpawnOptions<B = unknown> {
  /** Register each spawned process under this name (a run fails with ErrTaken while it lives). */
  register?: Atom | string;
  /** Spawn options; `env` is copied per run and gets the CRON_* keys. */
  processOptions?: ProcessOptions;
  /** Arguments passed to the process' init, as `node.spawn` takes them after the options. */
  args?: unknown extends B ? unknown[] : InitArgs<B>;
}

/**
 * The options parameter of {@link createCronActionSpawn}: optional while B's `init` needs no
 * arguments, required with `args` when it does (as `node.spawn(Factory)` without them fails to
 * compile).
 */
export type CronSpawnOptionsParam<B> =
  [] extends InitArgs<B>
    ? [options?: CronActionSpawnOptions<B>]
    : [options: CronActionSpawnOptions<B> & { args: InitArgs<B> }];

function withCronEnv(
  env: ProcessOptions['env'],
  node: Atom,
  job: Atom,
  time: Date,
): Record<string, unknown> | Map<string, unknown> {
  if (env instanceof Map) {
    const copy = new Map(env);
    copy.set(CronEnvNodeName, node);
    copy.set(CronEnvJobName, job);
    copy.set(CronEnvJobActionTime, time);
    return copy;
  }
  return { ...env, [CronEnvNodeName]: node, [CronEnvJobName]: job, [CronEnvJobActionTime]: time };
}

/**
 * An action that spawns a fresh process per run (registered under `options.register` when
 * given), with env CRON_NODE_NAME, CRON_JOB_NAME and CRON_JOB_ACTION_TIME added to a copy of
 * `processOptions.env`. The run fails when the spawn rejects.
 * @param factory a behaviour class or a factory function, as `node.spawn` takes it.
 * @param options `args` are typed by the factory's `init` and required when it needs them.
 * @throws ErrIncorrect when `factory` is not a function (a JavaScript caller).
 */
export function createCronActionSpawn<B extends ProcessBehavior>(
  factory: ProcessFactory<B>,
  ...[options = {}]: CronSpawnOptionsParam<B>
): CronAction {
  if (typeof factory !== 'function')
    throw ErrIncorrect.with('cron spawn action: factory must be a behaviour class or a factory function');
  const behavior = (factory as { name?: string }).name || 'anonymous';
  const register = options.register;
  const processOptions = options.processOptions ?? {};
  const args: readonly unknown[] = options.args ?? [];
  const description =
    register === undefined || register === ''
      ? `spawn process using behavior ${behavior}`
      : `spawn process with registered name ${register} using behavior ${behavior}`;
  return {
    do(job: Atom, node: CronNode, time: Date): Promise<void> {
      const opts: ProcessOptions = { ...processOptions, env: withCronEnv(processOptions.env, node.name, job, time) };
      const spawned =
        register === undefined || register === ''
          ? node.spawn(factory, opts, ...args)
          : node.spawnRegister(register, factory, opts, ...args);
      return spawned.then(() => undefined);
    },
    info(): string {
      return description;
    },
  };
}

/**
 * An action that spawns a process on `node` per run through remote spawn (`RemoteNode.spawn`,
 * or `spawnRegister` with `options.register`): `name` is the factory name the remote node
 * enabled with `Network.enableSpawn`. The CRON_* env keys travel in `processOptions.env`. The
 * run fails when the node cannot be reached or refuses (ErrNoRoute, ErrNotAllowed,
 * ErrNameUnknown, ErrTaken...).
 * @throws ErrIncorrect for an empty node or factory name.
 */
export function createCronActionRemoteSpawn(
  node: Atom | string,
  name: Atom | string,
  options: CronActionSpawnOptions = {},
): CronAction {
  if (typeof node !== 'string' || node === '') throw ErrIncorrect.with('cron remote spawn action: empty node name');
  if (typeof name !== 'string' || name === '') throw ErrIncorrect.with('cron remote spawn action: empty spawn name');
  const register = options.register;
  const processOptions = options.processOptions ?? {};
  const args: readonly unknown[] = options.args ?? [];
  const description =
    register === undefined || register === ''
      ? `remote spawn ${name} at ${node}`
      : `remote spawn ${name} with registered name ${register} at ${node}`;
  return {
    async do(job: Atom, local: CronNode, time: Date): Promise<void> {
      if (local.network === undefined) throw ErrIncorrect.with('cron remote spawn action: the node has no network');
      const remote = await local.network().getNode(node);
      const opts: ProcessOptions = { ...processOptions, env: withCronEnv(processOptions.env, local.name, job, time) };
      if (register === undefined || register === '') await remote.spawn(name, opts, ...args);
      else await remote.spawnRegister(register, name, opts, ...args);
    },
    info(): string {
      return description;
    },
  };
}
