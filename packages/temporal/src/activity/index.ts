// `@ergo-ts/temporal/activity`: the shapes of `@temporalio/activity` — `Context.current()`, its
// `info`, `heartbeat`, `sleep`, `cancelled`, `cancellationSignal`, `log`, and the module-level helpers.

import { Context, type ActivityLogger, type Info } from './context.js';
import type { Duration } from '../common/duration.js';

export { Context, type ActivityLogger, type Info };
export { CancelledFailure, ApplicationFailure } from '../common/failures.js';

/** The running activity's info (`Context.current().info`). */
export function activityInfo(): Info {
  return Context.current().info;
}

/** Heartbeats the running activity (`Context.current().heartbeat(details)`). */
export function heartbeat(details?: unknown): void {
  Context.current().heartbeat(details);
}

/** Sleeps in the running activity, cancelled with it (`Context.current().sleep(ms)`). */
export function sleep(ms: Duration): Promise<void> {
  return Context.current().sleep(ms);
}

/** The running activity's cancellation signal. */
export function cancellationSignal(): AbortSignal {
  return Context.current().cancellationSignal;
}

/** Rejects once the running activity is cancelled. */
export function cancelled(): Promise<never> {
  return Context.current().cancelled;
}

/**
 * The running activity's logger (Temporal's `log` of `@temporalio/activity`): each call writes
 * through `Context.current().log`; outside an activity it throws ERR_TEMPORAL_OUTSIDE_ACTIVITY.
 */
export const log: ActivityLogger = {
  trace: (message, attrs) => Context.current().log.trace(message, attrs),
  debug: (message, attrs) => Context.current().log.debug(message, attrs),
  info: (message, attrs) => Context.current().log.info(message, attrs),
  warn: (message, attrs) => Context.current().log.warn(message, attrs),
  error: (message, attrs) => Context.current().log.error(message, attrs),
};
