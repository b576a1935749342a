// The compatibility package's own refusals, each with a stable `code` (ergo-ts's `defineError`):
// what a Temporal program asks that this package cannot do, or asks wrongly. Temporal's own error
// classes (failures.ts, the client's) keep Temporal's names and shapes.

import { defineError } from 'ergo-ts';

/** A Temporal API this package does not offer (yet): its message names what to do instead. */
export const ErrTemporalUnsupported = defineError('ERR_TEMPORAL_UNSUPPORTED', 'temporal: not supported on ergo-ts');

/** A bad argument: a duration that cannot be read, an activity without a timeout, a missing option. */
export const ErrTemporalIncorrect = defineError('ERR_TEMPORAL_INCORRECT', 'temporal: incorrect value or argument');

/**
 * A workflow API (`sleep`, `condition`, `proxyActivities`' functions, `workflowInfo`...) called
 * outside a workflow body run by a `Worker` of this package.
 */
export const ErrTemporalOutsideWorkflow = defineError(
  'ERR_TEMPORAL_OUTSIDE_WORKFLOW',
  'temporal: called outside a workflow',
);

/** `Context.current()` (or `heartbeat`, `sleep`) called outside an activity run by a `Worker`. */
export const ErrTemporalOutsideActivity = defineError(
  'ERR_TEMPORAL_OUTSIDE_ACTIVITY',
  'temporal: called outside an activity',
);

/** No connection: `Connection.connect` was given neither an ergo-ts node and store nor a known address. */
export const ErrTemporalNoConnection = defineError('ERR_TEMPORAL_NO_CONNECTION', 'temporal: no connection');
