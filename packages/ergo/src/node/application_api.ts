// The node's application API, as node handles delegate it: state checks and argument rules in
// front of the application manager (application.ts), which holds the applications and their
// lifecycle. Queries throw ErrNodeTerminated once the node has stopped; starts and loads reject
// with it once a stop has begun.

import type { Atom } from '../gen/atom.js';
import type { ApplicationBehavior, ApplicationInfo, ApplicationMode, ApplicationOptions } from '../gen/application.js';
import { ErrIncorrect, ErrNotAllowed } from '../gen/errors.js';
import { SYSTEM_APP } from '../gen/inspect.js';
import type { Node } from '../gen/node.js';
import type { PID } from '../gen/pid.js';
import type { ProcessShortInfo } from '../gen/process.js';
import type { NodeImpl } from './node.js';

/** Default graceful stop timeout of an application (Ergo: 5 s). */
export const DEFAULT_APPLICATION_STOP_TIMEOUT = 5000;

/** The largest timer delay Node honours (a longer one fires after 1 ms). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Loads (declares) an application: its `load` gets `handle` (the node handle it was loaded
 * through). Resolves with its name; rejects with ErrNodeTerminated (stopping), ErrTaken,
 * ErrApplicationEmpty, ErrApplicationName, ErrApplicationLoadPanic, ErrIncorrect.
 */
export function applicationLoad(
  node: NodeImpl,
  handle: Node,
  app: ApplicationBehavior,
  args: unknown[],
): Promise<Atom> {
  return node.apps.load(app, args, handle);
}

/** Snapshot of a loaded application. ErrApplicationUnknown. */
export function applicationInfo(node: NodeImpl, name: Atom | string): ApplicationInfo {
  node.checkAlive();
  return node.apps.info(name);
}

/** Forgets a loaded application. ErrApplicationRunning while it runs, ErrApplicationUnknown. */
export function applicationUnload(node: NodeImpl, name: Atom | string): void {
  node.checkAlive();
  node.apps.unload(name);
}

/** PIDs of the members plus up to `limit` other processes of a running application. */
export function applicationProcessList(node: NodeImpl, name: Atom | string, limit: number): PID[] {
  node.checkAlive();
  return node.apps.processList(name, limit).map((p) => p.pid);
}

/** Short snapshots of the processes applicationProcessList lists. */
export function applicationProcessListShortInfo(
  node: NodeImpl,
  name: Atom | string,
  limit: number,
): ProcessShortInfo[] {
  node.checkAlive();
  return node.apps.processListShortInfo(name, limit);
}

/**
 * Starts an application, in `mode` or (undefined) its spec's mode, dependencies first. Rejects
 * with ErrNodeTerminated, ErrApplicationUnknown, ErrApplicationRunning, ErrApplicationDepends, or
 * the error of the member that failed (the started ones are killed).
 */
export function applicationStart(
  node: NodeImpl,
  name: Atom | string,
  options: ApplicationOptions | undefined,
  mode?: ApplicationMode,
): Promise<void> {
  return node.apps.start(name, options ?? {}, mode);
}

/**
 * Stops an application: graceful (shutdown exits, waiting `timeoutMs`, ErrApplicationStopping
 * when it passes) or forced (kills the members, resolves at once). ErrIncorrect for a timeout
 * that is not a positive integer of milliseconds below 2^31.
 */
export function applicationStop(
  node: NodeImpl,
  name: Atom | string,
  force: boolean,
  timeoutMs = DEFAULT_APPLICATION_STOP_TIMEOUT,
): Promise<void> {
  if (!force && !(Number.isInteger(timeoutMs) && timeoutMs > 0 && timeoutMs <= MAX_TIMER_MS)) {
    return Promise.reject(
      ErrIncorrect.with(`application stop timeout ${String(timeoutMs)} (milliseconds, a positive integer)`),
    );
  }
  // As in Ergo: the system application runs as long as the node.
  if (name === SYSTEM_APP && node.apps.has(SYSTEM_APP))
    return Promise.reject(ErrNotAllowed.with('the system application cannot be stopped'));
  return node.apps.stop(name, force, force ? 0 : timeoutMs);
}

/** Names of the loaded applications (running or not). */
export function applications(node: NodeImpl): Atom[] {
  node.checkAlive();
  return node.apps.names();
}

/** Names of the running applications. */
export function applicationsRunning(node: NodeImpl): Atom[] {
  node.checkAlive();
  return node.apps.running();
}
