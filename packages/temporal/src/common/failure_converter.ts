// Temporal's failure converter (`@temporalio/common`'s `FailureConverter` and
// `DefaultFailureConverter`), written from its public types: an error becomes a Failure — the
// shape of Temporal's `temporal.api.failure.v1.Failure` message, with its message, stack trace,
// cause and one `…FailureInfo` saying which failure it is (details as payloads of the payload
// converter) — and a Failure becomes Temporal's failure classes again. With
// `encodeCommonAttributes`, each level's message and stack trace move into `encodedAttributes`
// (a payload of `{ message, stack_trace }`) and the level shows `Encoded failure` and an empty
// stack, so a codec can hide them. The journal keeps these failures (converter.ts); enum fields
// (timeout type, retry state) are kept by their names, as this package's enums are.

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
import { arrayFromPayloads, toPayloads, type Payload, type PayloadConverter } from './payload_converter.js';

/** Payloads in a message (Temporal's `Payloads`). */
export interface ProtoPayloads {
  payloads?: Payload[] | null;
}

/** A failure as Temporal's API carries it (the fields of `temporal.api.failure.v1.Failure` this package fills). */
export interface ProtoFailure {
  message?: string | null;
  source?: string | null;
  stackTrace?: string | null;
  encodedAttributes?: Payload | null;
  cause?: ProtoFailure | null;
  applicationFailureInfo?: {
    type?: string | null;
    nonRetryable?: boolean | null;
    details?: ProtoPayloads | null;
    nextRetryDelay?: number | string | null;
    category?: string | null;
  } | null;
  timeoutFailureInfo?: { timeoutType?: string | null; lastHeartbeatDetails?: ProtoPayloads | null } | null;
  canceledFailureInfo?: { details?: ProtoPayloads | null } | null;
  terminatedFailureInfo?: Record<string, never> | null;
  serverFailureInfo?: { nonRetryable?: boolean | null } | null;
  activityFailureInfo?: {
    activityType?: { name?: string | null } | null;
    activityId?: string | null;
    retryState?: string | null;
    identity?: string | null;
  } | null;
  childWorkflowExecutionFailureInfo?: {
    namespace?: string | null;
    workflowExecution?: { workflowId?: string | null; runId?: string | null } | null;
    workflowType?: { name?: string | null } | null;
    retryState?: string | null;
  } | null;
}

/** Converts errors to failures and back (Temporal's `FailureConverter`). */
export interface FailureConverter {
  /** `err` (whatever was thrown) as a failure, its causes too. */
  errorToFailure(err: unknown, payloadConverter: PayloadConverter): ProtoFailure;
  /** `failure` as an Error (Temporal's failure classes), its causes too. */
  failureToError(failure: ProtoFailure, payloadConverter: PayloadConverter): Error;
}

/** Options of {@link DefaultFailureConverter}. */
export interface DefaultFailureConverterOptions {
  /** Moves each level's message and stack trace into `encodedAttributes` (a payload), so codecs can encode them. */
  encodeCommonAttributes: boolean;
}

/** The source Temporal's TypeScript SDK writes in its failures. */
const SOURCE = 'TypeScriptSDK';
/** How many causes deep a failure is converted (a longer chain is cut there, as the journal cuts it). */
const MAX_DEPTH = 8;

function details(p: PayloadConverter, d: ProtoPayloads | null | undefined): unknown[] {
  return arrayFromPayloads(p, d?.payloads);
}

function payloads(p: PayloadConverter, values: unknown[] | null | undefined): ProtoPayloads | undefined {
  return values == null || values.length === 0 ? undefined : { payloads: toPayloads(p, ...values) ?? [] };
}

function str(v: string | null | undefined): string | undefined {
  return v == null ? undefined : v;
}

/** Temporal's default failure conversion: its classes to their `…FailureInfo`, any other Error an application failure of its name. */
export class DefaultFailureConverter implements FailureConverter {
  readonly options: DefaultFailureConverterOptions;

  constructor(options?: Partial<DefaultFailureConverterOptions>) {
    this.options = { encodeCommonAttributes: options?.encodeCommonAttributes ?? false };
  }

  errorToFailure(err: unknown, payloadConverter: PayloadConverter): ProtoFailure {
    return this.#toFailure(err, payloadConverter, 0);
  }

  #toFailure(err: unknown, p: PayloadConverter, depth: number): ProtoFailure {
    const failure = this.#inner(err, p, depth);
    if (!this.options.encodeCommonAttributes) return failure;
    const { message, stackTrace } = failure;
    return {
      ...failure,
      message: 'Encoded failure',
      stackTrace: '',
      encodedAttributes: p.toPayload({ message: message ?? '', stack_trace: stackTrace ?? '' }),
    };
  }

  #inner(err: unknown, p: PayloadConverter, depth: number): ProtoFailure {
    if (!(err instanceof Error))
      return { message: String(err), source: SOURCE, applicationFailureInfo: { type: 'Error' } };
    const cause =
      depth < MAX_DEPTH && err.cause !== undefined && err.cause !== null
        ? { cause: this.#toFailure(err.cause, p, depth + 1) }
        : {};
    const base = { message: err.message, source: SOURCE, stackTrace: err.stack ?? '', ...cause };
    if (err instanceof ApplicationFailure) {
      const d = payloads(p, err.details);
      return {
        ...base,
        applicationFailureInfo: {
          type: err.type ?? null,
          nonRetryable: err.nonRetryable ?? false,
          ...(d === undefined ? {} : { details: d }),
          ...(err.nextRetryDelay == null ? {} : { nextRetryDelay: err.nextRetryDelay }),
          ...(err.category == null ? {} : { category: err.category }),
        },
      };
    }
    if (err instanceof ActivityFailure)
      return {
        ...base,
        activityFailureInfo: {
          activityType: { name: err.activityType },
          activityId: err.activityId ?? null,
          retryState: err.retryState,
          identity: err.identity ?? null,
        },
      };
    if (err instanceof ChildWorkflowFailure)
      return {
        ...base,
        childWorkflowExecutionFailureInfo: {
          namespace: err.namespace ?? null,
          workflowExecution: { workflowId: err.execution.workflowId, runId: err.execution.runId ?? null },
          workflowType: { name: err.workflowType },
          retryState: err.retryState,
        },
      };
    if (err instanceof CancelledFailure) {
      const d = payloads(p, err.details);
      return { ...base, canceledFailureInfo: d === undefined ? {} : { details: d } };
    }
    if (err instanceof TimeoutFailure) {
      const d = err.lastHeartbeatDetails === undefined ? undefined : payloads(p, [err.lastHeartbeatDetails]);
      return {
        ...base,
        timeoutFailureInfo: { timeoutType: err.timeoutType, ...(d === undefined ? {} : { lastHeartbeatDetails: d }) },
      };
    }
    if (err instanceof TerminatedFailure) return { ...base, terminatedFailureInfo: {} };
    if (err instanceof ServerFailure) return { ...base, serverFailureInfo: { nonRetryable: err.nonRetryable } };
    if (err instanceof TemporalFailure) return base;
    // Any other Error: an application failure whose type is its name (Temporal's conversion).
    return { ...base, applicationFailureInfo: { type: err.name, nonRetryable: false } };
  }

  failureToError(failure: ProtoFailure, payloadConverter: PayloadConverter): Error {
    return this.#toError(failure, payloadConverter, 0);
  }

  #toError(f: ProtoFailure, p: PayloadConverter, depth: number): Error {
    if (f.encodedAttributes != null) {
      const attrs = p.fromPayload<{ message?: unknown; stack_trace?: unknown }>(f.encodedAttributes);
      f = {
        ...f,
        message: typeof attrs?.message === 'string' ? attrs.message : f.message,
        stackTrace: typeof attrs?.stack_trace === 'string' ? attrs.stack_trace : f.stackTrace,
      };
    }
    const cause = depth < MAX_DEPTH && f.cause != null ? this.#toError(f.cause, p, depth + 1) : undefined;
    const message = f.message ?? '';
    let err: TemporalFailure;
    if (f.applicationFailureInfo != null) {
      const a = f.applicationFailureInfo;
      err = new ApplicationFailure(
        message,
        a.type,
        a.nonRetryable === true,
        details(p, a.details),
        cause,
        a.nextRetryDelay ?? undefined,
        a.category ?? undefined,
      );
    } else if (f.activityFailureInfo != null) {
      const a = f.activityFailureInfo;
      err = new ActivityFailure(
        message,
        a.activityType?.name ?? '',
        str(a.activityId),
        (a.retryState ?? RetryState.UNSPECIFIED) as RetryState,
        str(a.identity),
        cause,
      );
    } else if (f.childWorkflowExecutionFailureInfo != null) {
      const c = f.childWorkflowExecutionFailureInfo;
      const execution = {
        workflowId: c.workflowExecution?.workflowId ?? '',
        ...(c.workflowExecution?.runId == null ? {} : { runId: c.workflowExecution.runId }),
      };
      err = new ChildWorkflowFailure(
        str(c.namespace),
        execution,
        c.workflowType?.name ?? '',
        (c.retryState ?? RetryState.UNSPECIFIED) as RetryState,
        cause,
      );
    } else if (f.canceledFailureInfo != null) {
      err = new CancelledFailure(message, details(p, f.canceledFailureInfo.details), cause);
    } else if (f.timeoutFailureInfo != null) {
      const t = f.timeoutFailureInfo;
      err = new TimeoutFailure(
        message,
        details(p, t.lastHeartbeatDetails)[0],
        (t.timeoutType ?? TimeoutType.START_TO_CLOSE) as TimeoutType,
      );
    } else if (f.terminatedFailureInfo != null) {
      err = new TerminatedFailure(message, cause);
    } else if (f.serverFailureInfo != null) {
      err = new ServerFailure(message, f.serverFailureInfo.nonRetryable === true, cause);
    } else {
      err = new TemporalFailure(message, cause);
    }
    err.stack = f.stackTrace ?? '';
    err.failure = f;
    return err;
  }
}
