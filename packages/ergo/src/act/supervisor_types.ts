// Supervisor vocabulary: types, restart strategies, specs, errors and spec validation.

import type { Atom } from '../gen/atom.js';
import { defineError, ErrIncorrect } from '../gen/errors.js';
import type { ProcessOptions } from '../gen/options.js';
import type { PID } from '../gen/pid.js';
import type { ArgsWhenRequired, InitArgs, NoArgsBehavior, ProcessBehavior, ProcessFactory } from '../gen/process.js';
import type { CheckHandlers } from '../gen/protocol.js';
import { describeValue, validateArgs, validateAtomName, validateProcessOptions } from '../gen/validate.js';

/** How a supervisor reacts to a child's exit (Ergo's values). */
export const SupervisorType = {
  /** Restart only the child that ended. */
  OneForOne: 0,
  /** Stop all other children, then restart all in spec order. */
  AllForOne: 1,
  /** Stop the children after the one that ended (reverse order), then restart from it onward. */
  RestForOne: 2,
  /** No children at start; `startChild(spec, ...args)` starts any number of unnamed instances. */
  SimpleOneForOne: 3,
} as const;
/** @see SupervisorType */
export type SupervisorType = (typeof SupervisorType)[keyof typeof SupervisorType];

/** When a child is restarted (Ergo's values). */
export const SupervisorStrategy = {
  /** Restart unless the reason is normal or shutdown (default). */
  Transient: 0,
  /** Never restart. */
  Temporary: 1,
  /** Always restart. */
  Permanent: 2,
} as const;
/** @see SupervisorStrategy */
export type SupervisorStrategy = (typeof SupervisorStrategy)[keyof typeof SupervisorStrategy];

/** One child of a supervisor. */
export interface SupervisorChildSpec<B extends ProcessBehavior = ProcessBehavior> {
  /** Spec name; OFO/AFO/RFO children are registered under it. */
  name: Atom | string;
  /**
   * A significant child ends the supervisor: Temporary — any exit; Transient — a normal/shutdown
   * exit (a crash restarts it). Ignored for Permanent and SimpleOneForOne.
   */
  significant?: boolean;
  factory: ProcessFactory<B>;
  options?: ProcessOptions;
  /** Arguments for the child's init; restarts reuse the arguments it was last started with. */
  args?: InitArgs<B>;
}

declare const checkedByChildSpec: unique symbol;

/**
 * A child spec made by {@link childSpec}: its `args` were checked against the child's `init`. The
 * only form of a spec with `args` that a supervisor's `children` take (TypeScript cannot check a
 * plain object literal's `args` against the `factory` beside them).
 */
export interface CheckedChildSpec extends SupervisorChildSpec {
  readonly [checkedByChildSpec]: true;
}

/**
 * A child spec written as a plain object literal: no `args`, for a factory whose init needs none
 * (a factory whose init needs arguments is a compile error here, as in node.spawn). A child with
 * args is written with {@link childSpec}, which checks them against the child's `init`.
 */
export interface LiteralChildSpec extends SupervisorChildSpec<NoArgsBehavior> {
  /** None: a child with args is written with {@link childSpec}. */
  args?: [];
}

/**
 * A template of a SimpleOneForOne supervisor written as a plain object literal: any factory (its
 * args usually come with `startChild(name, ...args)`), no `args` of its own; default args for the
 * template are given with {@link childSpec}, which checks them against the child's `init`.
 */
export interface LiteralTemplateSpec extends SupervisorChildSpec {
  /** None: a template with default args is written with {@link childSpec}. */
  args?: [];
}

/**
 * A child spec as the `children` of a OneForOne/AllForOne/RestForOne supervisor take it: from
 * {@link childSpec} (args checked against the child's `init`), or a plain object literal without
 * `args` when the factory's init needs none. A literal with `args` is a compile error: its args
 * could not be checked against the factory.
 */
export type AnyChildSpec = LiteralChildSpec | CheckedChildSpec;

/**
 * A child spec whose `args` are checked against the child's `init`: required when init needs
 * arguments, of init's types. Returns `spec` as is, marked as checked ({@link CheckedChildSpec}).
 *
 * @example
 * children: [childSpec({ name: 'counter', factory: Counter, args: [5] })]
 */
export function childSpec<B extends ProcessBehavior>(
  spec: SupervisorChildSpec<B> & ArgsWhenRequired<B> & { factory: ProcessFactory<B> & NoInfer<CheckHandlers<B>> },
): CheckedChildSpec {
  return spec as unknown as CheckedChildSpec;
}

/** Restart policy. */
export interface SupervisorRestart {
  strategy?: SupervisorStrategy;
  /** Restarts allowed within `period` (default 5). */
  intensity?: number;
  /** Window in seconds (default 5). */
  period?: number;
  /** AllForOne/RestForOne: stop children one at a time in reverse spec order, waiting for each. */
  keepOrder?: boolean;
}

/**
 * What `init` returns. The children of a OneForOne/AllForOne/RestForOne supervisor start at
 * once, so each names its init's args when init needs them ({@link AnyChildSpec}); those of a
 * SimpleOneForOne one are templates whose args usually come with `startChild(name, ...args)`, so
 * any factory passes there. Wherever a child spec has `args`, it is made with {@link childSpec},
 * which checks them against the child's `init`.
 */
export type SupervisorSpec = StartingSupervisorSpec | SimpleSupervisorSpec;

/** A SimpleOneForOne supervisor's spec: its children are templates started by `startChild`. */
export interface SimpleSupervisorSpec extends SupervisorSpecFields {
  type: typeof SupervisorType.SimpleOneForOne;
  children: (LiteralTemplateSpec | CheckedChildSpec)[];
}

/** A OneForOne (default), AllForOne or RestForOne supervisor's spec: its children start with it. */
export interface StartingSupervisorSpec extends SupervisorSpecFields {
  type?: Exclude<SupervisorType, typeof SupervisorType.SimpleOneForOne>;
  children: AnyChildSpec[];
}

/** The fields every supervisor spec has besides its type and children. */
export interface SupervisorSpecFields {
  restart?: SupervisorRestart;
  /** Deliver handleChildStart / handleChildTerminate callbacks. */
  enableHandleChild?: boolean;
  /** Keep running when no child is left after non-restarted exits. */
  disableAutoShutdown?: boolean;
}

/** A child as `children()` reports it. */
export interface SupervisorChild {
  /** Spec name. */
  spec: Atom;
  /** Registered name ('' for SimpleOneForOne instances). */
  name: Atom;
  /** Running PID, or null when not running. */
  pid: PID | null;
  significant: boolean;
  disabled: boolean;
}

/** Child management while a restart or shutdown sequence runs. */
export const ErrSupervisorStrategyActive = defineError(
  'ERR_SUPERVISOR_STRATEGY_ACTIVE',
  'supervisor strategy is active',
);
/** No child spec of that name. */
export const ErrSupervisorChildUnknown = defineError('ERR_SUPERVISOR_CHILD_UNKNOWN', 'unknown child');
/** startChild of a child that runs (OFO/AFO/RFO). */
export const ErrSupervisorChildRunning = defineError(
  'ERR_SUPERVISOR_CHILD_RUNNING',
  'child process is already running',
);
/** startChild of a disabled child. */
export const ErrSupervisorChildDisabled = defineError('ERR_SUPERVISOR_CHILD_DISABLED', 'child is disabled');
/** Restart intensity exceeded: the exit reason of children and supervisor. */
export const ErrSupervisorRestartsExceeded = defineError(
  'ERR_SUPERVISOR_RESTARTS_EXCEEDED',
  'restart intensity is exceeded',
);
/** Two child specs with the same name. */
export const ErrSupervisorChildDuplicate = defineError('ERR_SUPERVISOR_CHILD_DUPLICATE', 'duplicate child spec Name');

/** Defaults (Ergo's). */
export const DEFAULT_RESTART_INTENSITY = 5;
/** Default restart period in seconds. */
export const DEFAULT_RESTART_PERIOD = 5;

/**
 * Checks one child spec with the validators spawn uses (name as an Atom, options as spawn
 * options, args an array). @throws ErrIncorrect naming the problem, ErrAtomTooLong.
 */
export function validateChildSpec(c: SupervisorChildSpec): void {
  if (c === null || typeof c !== 'object') throw ErrIncorrect.with('child spec must be an object');
  validateAtomName(c.name, 'child spec name');
  if (typeof c.factory !== 'function') throw ErrIncorrect.with(`child spec "${c.name}" has no factory`);
  if (c.args !== undefined) validateArgs(c.args, `child spec "${c.name}" args`);
  if (c.options !== undefined) validateProcessOptions(c.options, `child spec "${c.name}" options`);
  if (c.significant !== undefined && typeof c.significant !== 'boolean')
    throw ErrIncorrect.with(`child spec "${c.name}" significant ${describeValue(c.significant)} (expected a boolean)`);
}

/**
 * Checks `restart.intensity`: undefined or an integer ≥ 0 (0 and undefined mean the default, as in
 * Ergo). Returns the effective value. @throws ErrIncorrect (negative, fractional, NaN, Infinity).
 */
export function validateRestartIntensity(intensity: unknown): number {
  if (intensity === undefined || intensity === 0) return DEFAULT_RESTART_INTENSITY;
  if (typeof intensity !== 'number' || !Number.isSafeInteger(intensity) || intensity < 0) {
    throw ErrIncorrect.with(
      `restart intensity ${describeValue(intensity)} (expected an integer ≥ 0; 0 = ${DEFAULT_RESTART_INTENSITY})`,
    );
  }
  return intensity;
}

/**
 * Checks `restart.period` (seconds): undefined, 0 (both mean the default) or a finite number > 0.
 * Returns the effective value in seconds. @throws ErrIncorrect (negative, NaN, Infinity).
 */
export function validateRestartPeriod(period: unknown): number {
  if (period === undefined || period === 0) return DEFAULT_RESTART_PERIOD;
  if (typeof period !== 'number' || !Number.isFinite(period) || period < 0) {
    throw ErrIncorrect.with(
      `restart period ${describeValue(period)} (seconds, a finite number above 0; 0 = ${DEFAULT_RESTART_PERIOD})`,
    );
  }
  return period;
}

/** The spec with defaults applied; throws on anything invalid. */
export interface NormalizedSpec {
  children: SupervisorChildSpec[];
  type: SupervisorType;
  strategy: SupervisorStrategy;
  intensity: number;
  periodMs: number;
  keepOrder: boolean;
  handleChild: boolean;
  autoShutdown: boolean;
}

/** Validates a supervisor spec and fills in Ergo's defaults. */
export function normalizeSpec(spec: SupervisorSpec): NormalizedSpec {
  if (spec === null || typeof spec !== 'object') throw ErrIncorrect.with('init must return a supervisor spec');
  const type = spec.type ?? SupervisorType.OneForOne;
  if (type !== 0 && type !== 1 && type !== 2 && type !== 3)
    throw ErrIncorrect.with(`unknown supervisor type ${String(type)}`);
  const r = spec.restart ?? {};
  const strategy = r.strategy ?? SupervisorStrategy.Transient;
  if (strategy !== 0 && strategy !== 1 && strategy !== 2)
    throw ErrIncorrect.with(`unknown supervisor restart strategy ${String(strategy)}`);
  const intensity = validateRestartIntensity(r.intensity);
  const period = validateRestartPeriod(r.period);
  if (!Array.isArray(spec.children) || spec.children.length === 0)
    throw ErrIncorrect.with('children list can not be empty');
  const seen = new Set<string>();
  for (const c of spec.children) {
    validateChildSpec(c);
    if (seen.has(c.name)) throw ErrSupervisorChildDuplicate.with(c.name);
    seen.add(c.name);
  }
  return {
    children: spec.children,
    type,
    strategy,
    intensity,
    periodMs: period * 1000,
    keepOrder: r.keepOrder === true,
    handleChild: spec.enableHandleChild === true,
    autoShutdown: spec.disableAutoShutdown !== true,
  };
}

/** Restart intensity bookkeeping: more than `intensity` restarts within `periodMs` is too many. */
export class RestartWindow {
  private times: number[] = [];
  /** Restarts counted since the supervisor started (the window forgets, this does not). */
  total = 0;
  constructor(
    private readonly intensity: number,
    private readonly periodMs: number,
  ) {}

  /** Records a restart; true when the limit is exceeded. */
  exceeded(now = Date.now()): boolean {
    this.total++;
    this.times.push(now);
    while (this.times.length > 0 && now - this.times[0]! > this.periodMs) this.times.shift();
    return this.times.length > this.intensity;
  }

  /** Restarts counted in the current window. */
  get count(): number {
    return this.times.length;
  }
}
