// The failure converter between Temporal's classes and ergo-ts's journal. The journal keeps an
// error's name, message, code, stack, `details` and cause chain (docs/workflows.md, "What a failure
// keeps"), not its class: on the way in, a Temporal failure's own fields (an ApplicationFailure's
// type and nonRetryable, a TimeoutFailure's timeoutType...) go into `details` under one key; on the
// way out — in the body after a replay, at a client on any node — the class is rebuilt by name.

import {
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  ChildWorkflowFailure,
  RetryState,
  ServerFailure,
  TemporalFailure,
  TerminatedFailure,
  TimeoutFailure,
  TimeoutType,
} from './failures.js';

/** The key under which a failure's Temporal fields travel in `details`. */
const KEY = '~temporal';

type Fields = Record<string, unknown>;

/** The Temporal fields of `f` besides name, message, stack and cause. */
function fieldsOf(f: TemporalFailure): Fields {
  if (f instanceof ApplicationFailure)
    return {
      type: f.type ?? null,
      nonRetryable: f.nonRetryable ?? false,
      details: f.details ?? null,
      ...(f.category == null ? {} : { category: f.category }),
    };
  if (f instanceof ActivityFailure)
    return {
      activityType: f.activityType,
      activityId: f.activityId ?? null,
      retryState: f.retryState,
      identity: f.identity ?? null,
    };
  if (f instanceof ChildWorkflowFailure)
    return {
      namespace: f.namespace ?? null,
      execution: { ...f.execution },
      workflowType: f.workflowType,
      retryState: f.retryState,
    };
  if (f instanceof CancelledFailure) return { details: f.details };
  if (f instanceof TimeoutFailure) return { timeoutType: f.timeoutType, lastHeartbeatDetails: f.lastHeartbeatDetails };
  if (f instanceof ServerFailure) return { nonRetryable: f.nonRetryable };
  return {};
}

/**
 * `err` (and its causes, 8 deep) as the journal keeps it: a Temporal failure becomes a plain Error
 * of the same name, message and stack whose `details` hold its fields; other errors pass as they
 * are (their code, name and details are kept by the journal itself).
 */
export function toStorable(err: unknown, depth = 0): unknown {
  if (!(err instanceof TemporalFailure) || depth > 8) return err;
  const cause = err.cause === undefined ? undefined : toStorable(err.cause, depth + 1);
  const out = new Error(err.message, cause === undefined ? undefined : { cause });
  out.name = err.name;
  if (err.stack !== undefined) out.stack = err.stack;
  (out as { details?: unknown }).details = { [KEY]: fieldsOf(err) };
  return out;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/**
 * `err` as Temporal's classes: a failure `toStorable` carried is rebuilt by name; ergo-ts's
 * cancel and timeout errors become CancelledFailure and TimeoutFailure; any other Error an
 * ApplicationFailure whose type is its name (Temporal's conversion of a thrown Error).
 */
export function fromStored(err: unknown, depth = 0): TemporalFailure {
  if (err instanceof TemporalFailure) return err;
  if (!(err instanceof Error)) return ApplicationFailure.create({ message: String(err), type: 'Error' });
  const rawCause = depth < 8 && err.cause instanceof Error ? err.cause : undefined;
  const cause = rawCause === undefined ? undefined : fromStored(rawCause, depth + 1);
  const details = (err as { details?: unknown }).details;
  const f =
    details !== null && typeof details === 'object' && KEY in details
      ? ((details as Record<string, unknown>)[KEY] as Fields)
      : undefined;
  const code = (err as { code?: unknown }).code;
  let out: TemporalFailure;
  if (f !== undefined) out = rebuilt(err.name, err.message, f, cause);
  else if (code === 'ERR_WORKFLOW_CANCELLED') out = new CancelledFailure(err.message, [], cause);
  else if (code === 'ERR_WORKFLOW_TIMEOUT')
    out = new TimeoutFailure(
      err.message,
      undefined,
      /heartbeat/i.test(err.message) ? TimeoutType.HEARTBEAT : TimeoutType.START_TO_CLOSE,
    );
  else out = new ApplicationFailure(err.message, err.name, false, details === undefined ? undefined : [details], cause);
  if (err.stack !== undefined) out.stack = err.stack;
  return out;
}

function rebuilt(name: string, message: string, f: Fields, cause: TemporalFailure | undefined): TemporalFailure {
  const retry = (str(f.retryState) ?? RetryState.UNSPECIFIED) as RetryState;
  switch (name) {
    case 'ApplicationFailure':
      return new ApplicationFailure(
        message,
        str(f.type),
        f.nonRetryable === true,
        Array.isArray(f.details) ? f.details : undefined,
        cause,
        undefined,
        str(f.category),
      );
    case 'ActivityFailure':
      return new ActivityFailure(message, str(f.activityType) ?? '', str(f.activityId), retry, str(f.identity), cause);
    case 'ChildWorkflowFailure':
      return new ChildWorkflowFailure(
        str(f.namespace),
        (f.execution ?? { workflowId: '' }) as { workflowId: string },
        str(f.workflowType) ?? '',
        retry,
        cause,
      );
    case 'CancelledFailure':
      return new CancelledFailure(message, Array.isArray(f.details) ? f.details : [], cause);
    case 'TimeoutFailure':
      return new TimeoutFailure(
        message,
        f.lastHeartbeatDetails,
        (str(f.timeoutType) ?? TimeoutType.START_TO_CLOSE) as TimeoutType,
      );
    case 'TerminatedFailure':
      return new TerminatedFailure(message, cause);
    case 'ServerFailure':
      return new ServerFailure(message, f.nonRetryable === true, cause);
    default:
      return new TemporalFailure(message, cause);
  }
}
