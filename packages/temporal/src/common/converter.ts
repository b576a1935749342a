// Failures between Temporal's classes and ergo-ts's journal. The journal keeps an error's name,
// message, code, stack, `details` and cause chain (docs/workflows.md, "What a failure keeps"), not
// its class. On the way in, the data converter's failure converter makes a Temporal failure of
// what was thrown (failure_converter.ts), its codecs encode its payloads, and each level of it
// becomes one error of the chain the journal keeps: its message and stack trace as the error's,
// its other fields in `details` under one key. On the way out — in the body after a replay, at a
// client on any node — the levels are put together again, decoded, and the failure converter
// rebuilds the classes. The engine's own errors (a string `code`: a timeout, a cancel) are kept as
// they are, so the engine still reads them; on the way out they become CancelledFailure and
// TimeoutFailure.

import { decodeFailure, defaultDataConverter, encodeFailure, type LoadedDataConverter } from './data_converter.js';
import type { ProtoFailure } from './failure_converter.js';
import type { Payload } from './payload_converter.js';
import { ApplicationFailure, TemporalFailure, TimeoutType } from './failures.js';

/** The key under which a level's Temporal fields travel in `details`. */
const KEY = '~temporal.failure';
/** How many causes deep a chain is carried (the journal keeps 8). */
const MAX_DEPTH = 8;

/** Whether `err` is one of the engine's own errors (a string code, not a Temporal failure): kept as it is. */
function engineError(err: unknown): boolean {
  return (
    err instanceof Error && !(err instanceof TemporalFailure) && typeof (err as { code?: unknown }).code === 'string'
  );
}

/** The class name a level is kept under (what a listing or `describe()` shows). */
function nameOf(f: ProtoFailure): string {
  if (f.applicationFailureInfo != null) return 'ApplicationFailure';
  if (f.activityFailureInfo != null) return 'ActivityFailure';
  if (f.childWorkflowExecutionFailureInfo != null) return 'ChildWorkflowFailure';
  if (f.canceledFailureInfo != null) return 'CancelledFailure';
  if (f.timeoutFailureInfo != null) return 'TimeoutFailure';
  if (f.terminatedFailureInfo != null) return 'TerminatedFailure';
  if (f.serverFailureInfo != null) return 'ServerFailure';
  return 'TemporalFailure';
}

/** One level of `f` and its causes as the chain of errors the journal keeps. */
function chainOf(f: ProtoFailure, depth: number): Error {
  const { cause, ...own } = f;
  const below = cause != null && depth < MAX_DEPTH ? chainOf(cause, depth + 1) : undefined;
  const out = new Error(f.message ?? '', below === undefined ? undefined : { cause: below });
  out.name = nameOf(f);
  out.stack = f.stackTrace ?? '';
  (out as { details?: unknown }).details = { [KEY]: own };
  return out;
}

/**
 * `err` as the journal keeps it: the failure `dc`'s converter makes of it, its payloads encoded, as
 * a chain of Errors (one per level, 8 causes deep); the engine's own errors as they are.
 */
export async function toStorable(err: unknown, dc: LoadedDataConverter = defaultDataConverter): Promise<unknown> {
  // The engine's own, or a chain made here already (an error passed on again): as it is.
  if (engineError(err) || (isKept(err) && levelOf(err) !== undefined)) return err;
  const failure = await encodeFailure(dc, dc.failureConverter.errorToFailure(err, dc.payloadConverter));
  return chainOf(failure, 0);
}

/** An error as kept: an Error, or the journal's stored form of one (`describe()`'s `error`). */
interface Kept {
  readonly name: string;
  readonly message: string;
  readonly stack?: string | undefined;
  readonly code?: unknown;
  readonly details?: unknown;
  readonly cause?: unknown;
}

function isKept(v: unknown): v is Kept {
  return (
    v !== null &&
    typeof v === 'object' &&
    typeof (v as Kept).name === 'string' &&
    typeof (v as Kept).message === 'string'
  );
}

function levelOf(err: Kept): Omit<ProtoFailure, 'cause'> | undefined {
  const d = err.details;
  if (d === null || typeof d !== 'object' || !(KEY in d)) return undefined;
  const own = (d as Record<string, unknown>)[KEY];
  return own !== null && typeof own === 'object' ? (own as ProtoFailure) : undefined;
}

/** An error kept without a failure (the engine's, or one whose details were over the journal's budget) as a Temporal failure. */
function plainFailure(err: Kept, dc: LoadedDataConverter, depth: number): ProtoFailure {
  const code = err.code;
  const cause = depth < MAX_DEPTH && isKept(err.cause) ? { cause: failureOf(err.cause, dc, depth + 1) } : {};
  const base = { message: err.message, stackTrace: err.stack ?? '', ...cause };
  if (code === 'ERR_WORKFLOW_CANCELLED') return { ...base, canceledFailureInfo: {} };
  if (code === 'ERR_WORKFLOW_TIMEOUT')
    return {
      ...base,
      timeoutFailureInfo: {
        timeoutType: /heartbeat/i.test(err.message) ? TimeoutType.HEARTBEAT : TimeoutType.START_TO_CLOSE,
      },
    };
  let details: { payloads: Payload[] } | undefined;
  try {
    details = err.details === undefined ? undefined : { payloads: [dc.payloadConverter.toPayload(err.details)] };
  } catch {
    details = undefined; // details the payload converter cannot write: the failure goes without them
  }
  return {
    ...base,
    applicationFailureInfo: { type: err.name, nonRetryable: false, ...(details === undefined ? {} : { details }) },
  };
}

/** The failure a kept chain holds, levels put together again (not yet decoded). */
function failureOf(err: Kept, dc: LoadedDataConverter, depth: number): ProtoFailure {
  const own = levelOf(err);
  if (own === undefined) return plainFailure(err, dc, depth);
  const below = depth < MAX_DEPTH && isKept(err.cause) ? failureOf(err.cause, dc, depth + 1) : undefined;
  return { ...own, ...(below === undefined ? {} : { cause: below }) };
}

/**
 * `err` as Temporal's classes: a chain `toStorable` kept is decoded and rebuilt by `dc`'s failure
 * converter; ergo-ts's cancel and timeout errors become CancelledFailure and TimeoutFailure; any
 * other Error an ApplicationFailure whose type is its name (Temporal's conversion of a thrown Error).
 */
export async function fromStored(
  err: unknown,
  dc: LoadedDataConverter = defaultDataConverter,
): Promise<TemporalFailure> {
  if (err instanceof TemporalFailure) return err;
  if (!(err instanceof Error)) return ApplicationFailure.create({ message: String(err), type: 'Error' });
  const failure = await decodeFailure(dc, failureOf(err, dc, 0));
  const out = dc.failureConverter.failureToError(failure, dc.payloadConverter);
  if (out instanceof TemporalFailure) return out;
  // A failure converter of the user's that gives other errors: Temporal's classes around them.
  return new ApplicationFailure(out.message, out.name, false, undefined, out);
}

/**
 * The failure a kept chain holds — an Error or the journal's stored form of one — as Temporal's
 * history shows it (its payloads still encoded).
 */
export function storedFailure(err: unknown, dc: LoadedDataConverter = defaultDataConverter): ProtoFailure | undefined {
  return isKept(err) ? failureOf(err, dc, 0) : undefined;
}
