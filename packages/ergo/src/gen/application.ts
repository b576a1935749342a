// Applications: a named group of processes started, watched and stopped together, with a mode
// that decides what a member's exit does to the rest.

import type { Atom } from './atom.js';
import type { LogLevelInput } from './log.js';
import type { Node, Version } from './node.js';
import type { ProcessOptions } from './options.js';
import type { PID } from './pid.js';
import type { ArgsWhenRequired, InitArgs, NoArgsBehavior, ProcessBehavior, ProcessFactory } from './process.js';
import type { CheckHandlers } from './protocol.js';

/** What a member's exit does (Ergo's values). */
export const ApplicationMode = {
  /** The application ends (reason normal) only when every member has ended. */
  Temporary: 1,
  /** An abnormal member exit stops the others with shutdown and becomes the application's reason. */
  Transient: 2,
  /** Any member exit stops the others; its reason becomes the application's reason. */
  Permanent: 3,
} as const;
/** @see ApplicationMode */
export type ApplicationMode = (typeof ApplicationMode)[keyof typeof ApplicationMode];

/** Application states (Ergo's values). */
export const ApplicationState = { Loaded: 1, Running: 2, Stopping: 3 } as const;
/** @see ApplicationState */
export type ApplicationState = (typeof ApplicationState)[keyof typeof ApplicationState];

/** Printed name of a mode. */
export function applicationModeString(m: ApplicationMode): string {
  return m === 3 ? 'permanent' : m === 2 ? 'transient' : 'temporary';
}

/** Printed name of a state. */
export function applicationStateString(s: ApplicationState): string {
  return s === 3 ? 'stopping' : s === 2 ? 'running' : 'loaded';
}

/** One member of an application's group, started in order. */
export interface ApplicationMemberSpec<B extends ProcessBehavior = ProcessBehavior> {
  /** Registered name of the member ('' = unnamed). */
  name?: Atom | string;
  factory: ProcessFactory<B>;
  /**
   * Spawn options of the member. Its init may take at most 15 s (Ergo 3.2): `initTimeout` is
   * lowered to 15000 ms, and an async init still pending then fails the start with ErrTimeout.
   */
  options?: ProcessOptions;
  /** Arguments of the member's init. */
  args?: InitArgs<B>;
}

declare const checkedByMemberSpec: unique symbol;

/**
 * An application member made by {@link memberSpec}: its `args` were checked against the member's
 * `init`. The only form of a member with `args` that an application's `group` takes (TypeScript
 * cannot check a plain object literal's `args` against the `factory` beside them).
 */
export interface CheckedMemberSpec extends ApplicationMemberSpec {
  readonly [checkedByMemberSpec]: true;
}

/**
 * An application member written as a plain object literal: no `args`, for a factory whose init
 * needs none (a factory whose init needs arguments is a compile error here, as in node.spawn). A
 * member with args is written with {@link memberSpec}, which checks them against its `init`.
 */
export interface LiteralMemberSpec extends ApplicationMemberSpec<NoArgsBehavior> {
  /** None: a member with args is written with {@link memberSpec}. */
  args?: [];
}

/**
 * A member as an application's `group` takes it: from {@link memberSpec} (args checked against the
 * member's `init`), or a plain object literal without `args` when the factory's init needs none.
 * A literal with `args` is a compile error: its args could not be checked against the factory.
 */
export type AnyMemberSpec = LiteralMemberSpec | CheckedMemberSpec;

/**
 * An application member whose `args` are checked against its `init`: required when init needs
 * arguments, of init's types. Returns `spec` as is, marked as checked ({@link CheckedMemberSpec}).
 *
 * @example
 * group: [memberSpec({ name: 'api', factory: Api, args: [8080] })]
 */
export function memberSpec<B extends ProcessBehavior>(
  spec: ApplicationMemberSpec<B> & ArgsWhenRequired<B> & { factory: ProcessFactory<B> & NoInfer<CheckHandlers<B>> },
): CheckedMemberSpec {
  return spec as unknown as CheckedMemberSpec;
}

/** What an application depends on. */
export interface ApplicationDepends {
  /** Applications started (recursively) before this one. */
  applications?: (Atom | string)[];
  /** Needs the network stack. */
  network?: boolean;
}

/** The declaration an application's `load` returns. */
export interface ApplicationSpec {
  name: Atom | string;
  description?: string;
  version?: Version;
  depends?: ApplicationDepends;
  /** Env layered over the node's for every member. */
  env?: Record<string, unknown> | Map<string, unknown>;
  group: AnyMemberSpec[];
  /** Default mode (Temporary). */
  mode?: ApplicationMode;
  /** Weight published to registrars that route by application. */
  weight?: number;
  /** Log level of members (Default = the node's). */
  logLevel?: LogLevelInput;
  /** Port extension: free-form labels (reported by info). */
  tags?: string[];
  /** Port extension: role → registered process name, so callers can find "the api" of an app. */
  map?: Record<string, Atom | string>;
}

/** Options of a start. */
export interface ApplicationOptions {
  env?: Record<string, unknown> | Map<string, unknown>;
  logLevel?: LogLevelInput;
}

/**
 * An application: `load` declares it (called by `node.applicationLoad`, may be async);
 * `start(mode)` runs after every member started; `terminate(reason)` after the last member
 * ended. Errors thrown from start/terminate are logged; the application keeps its state.
 */
export interface ApplicationBehavior {
  load(node: Node, ...args: unknown[]): ApplicationSpec | Promise<ApplicationSpec>;
  start?(mode: ApplicationMode): void;
  terminate?(reason: Error): void;
}

/** Snapshot of an application. */
export interface ApplicationInfo {
  name: Atom;
  weight: number;
  description: string;
  version: Version;
  env: Record<string, unknown>;
  depends: { applications: Atom[]; network: boolean };
  /** The mode of its latest start (kept through its stop); the spec's mode before any start. */
  mode: ApplicationMode;
  state: ApplicationState;
  /**
   * Node that started it: this node, or the remote node that asked for a remote start ('' when
   * not running). Go Ergo 3.2 records the starter too but never fills this field in.
   */
  parent: Atom;
  /** Seconds since start (0 when not running). */
  uptime: number;
  group: PID[];
  tags: string[];
  map: Record<string, Atom>;
}

/** Wraps a plain spec as an application (for specs that need no code of their own). */
export function createApplication(
  spec: ApplicationSpec | ((node: Node, ...args: unknown[]) => ApplicationSpec | Promise<ApplicationSpec>),
): ApplicationBehavior {
  return { load: typeof spec === 'function' ? spec : () => spec };
}
