// The contract between the Supervisor behaviour (mailbox loop, callbacks, API) and the child
// strategies (ordered: OFO/AFO/RFO; simple: SOFO).

import type { Atom } from '../gen/atom.js';
import type { PID } from '../gen/pid.js';
import type { SupervisorChild, SupervisorChildSpec } from './supervisor_types.js';

/** What a strategy needs from its supervisor process. */
export interface SupervisorHost {
  /** Spawns a child linked both ways (registered under the spec name when `register`). */
  spawnChild(spec: SupervisorChildSpec, args: unknown[], register: boolean): Promise<PID>;
  /** Sends an exit signal to a child. */
  stopChild(pid: PID, reason: Error): void;
  /** A child (re)started: schedules handleChildStart when enabled. */
  childStarted(name: Atom, pid: PID): void;
}

/**
 * A supervisor's children. Methods returning `Error` ask the supervisor to terminate with it;
 * `undefined` means carry on; a promise resolves to either once children were (re)started.
 */
export interface ChildrenStrategy {
  /** Starts the initial children. */
  start(): Promise<Error | undefined>;
  /** Spec name of a running child, or undefined when `pid` is not a child. */
  nameOf(pid: PID): Atom | undefined;
  /** A child exited with `reason` (already unwrapped). */
  exited(pid: PID, reason: Error): Promise<Error | undefined> | Error | undefined;
  /** Stop every child with `reason`, then terminate with it (returned at once if none runs). */
  shutdown(reason: Error): Error | undefined;
  /** True during a restart or shutdown sequence (only urgent mail is read then). */
  busy(): boolean;
  /** Restarts counted in the current intensity window. */
  restarts(): number;
  /** Restarts counted since the supervisor started (tells whether an exit was counted as one). */
  restartsTotal(): number;
  startChild(name: Atom | string, args: unknown[]): Promise<void>;
  addChild(spec: SupervisorChildSpec): Promise<void>;
  enableChild(name: Atom | string): Promise<void>;
  disableChild(name: Atom | string, shutdown: Error): Promise<void>;
  children(): SupervisorChild[];
}
