// The determinism guard's modes, named by a workflow's definition (define.ts: its
// `determinismGuard` option) and read by the guard itself (body/determinism.ts): kept here so the
// definition names them without importing the guard's machinery, which patches globals.

import { defineError } from 'ergo-ts';

/**
 * What the guard does when a body calls one of the guarded functions: `'throw'` throws
 * ERR_WORKFLOW_NONDETERMINISTIC at the call, `'warn'` logs a warning on the instance's log once
 * per workflow and call site, `'off'` installs nothing (the body runs as it is).
 */
export type DeterminismGuardMode = 'throw' | 'warn' | 'off';

/** The environment variable that sets the mode of workflows that do not set `determinismGuard`. */
export const DETERMINISM_GUARD_ENV = 'ERGO_WORKFLOW_DETERMINISM_GUARD';

/**
 * A workflow body called a function whose result differs on replay (`Date.now()`, `Math.random()`,
 * `crypto.randomUUID()`, a timer, `fetch`) while its determinism guard is `'throw'`: thrown at the
 * call, the message naming the call, the instance, the line and the `ctx` operation to use.
 */
export const ErrWorkflowNondeterministic = defineError(
  'ERR_WORKFLOW_NONDETERMINISTIC',
  'workflow: a call in the body gives another result on replay',
);

/** True when `v` is a {@link DeterminismGuardMode}. */
export function isDeterminismGuardMode(v: unknown): v is DeterminismGuardMode {
  return v === 'throw' || v === 'warn' || v === 'off';
}

/**
 * The mode a body runs under: the workflow's `determinismGuard` option; else the environment's
 * `ERGO_WORKFLOW_DETERMINISM_GUARD` (`throw`, `warn` or `off`); else `'off'` when
 * `NODE_ENV=production`, `'warn'` otherwise. Read each time a body starts.
 */
export function determinismGuardMode(option: DeterminismGuardMode | undefined): DeterminismGuardMode {
  if (option !== undefined) return option;
  const env = process.env[DETERMINISM_GUARD_ENV];
  if (isDeterminismGuardMode(env)) return env;
  return process.env['NODE_ENV'] === 'production' ? 'off' : 'warn';
}
