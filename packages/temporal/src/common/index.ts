// `@ergo-ts/temporal/common`: the shapes of `@temporalio/common` a Temporal program imports —
// failures, durations, retry policies — and this package's own error codes.

export * from './failures.js';
export { msToNumber, msOptionalToNumber, type Duration, type StringValue } from './duration.js';
export {
  ErrTemporalIncorrect,
  ErrTemporalNoConnection,
  ErrTemporalOutsideActivity,
  ErrTemporalOutsideWorkflow,
  ErrTemporalUnsupported,
} from './errors.js';
export { fromStored, toStorable } from './converter.js';
export type { RetryPolicy, ActivityOptions } from './options.js';
export { ActivityCancellationType } from './options.js';
