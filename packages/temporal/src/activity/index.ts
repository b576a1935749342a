// `@ergo-ts/temporal/activity`: the shapes of `@temporalio/activity` — `Context.current()`, its
// `info`, `heartbeat`, `sleep`, `cancelled`, `cancellationSignal`, and the module-level helpers.

import { Context, type Info } from './context.js';
import type { Duration } from '../common/duration.js';

export { Context, type Info };
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
