// Request ids of starts and signals, as Temporal's: a client draws one per `start` or `signal`
// call and sends it with every attempt of the call (ride_through.ts asks again while the store is
// unreachable or the owner moved), so an attempt whose answer was lost after it landed is not
// done twice when the call asks again.
//
// - A start: the instance record keeps the request id of the start that made its current run
//   (`startRequest`, with what that start answered). A start arriving with the same request id is
//   answered as the first was — the same run, `created: true`, the same `reused` and `signal` — and
//   does nothing: no second run, no terminate of the run it made (`terminateIfRunning`), under
//   every `idReuse` policy. A start that made no run (the instance ran already: `created: false`)
//   keeps nothing; asked again, it is answered as any start is then.
// - A signal: the record keeps the request ids of its last {@link MAX_SIGNAL_CALLS} signals
//   (`signalCalls`). A signal arriving again with its call's request id is answered 'accepted', as
//   its first attempt was, and kept once. A signal's own `id` (the user's) stays what it was: a
//   repeat of it from another call is 'duplicate'.
//
// Both fields are optional: a record written before them reads as one with none kept.

import { firstRun } from '../model/continue_as_new.js';
import type { WorkflowEndStatus, WorkflowRecord, WorkflowStatus } from '../model/record.js';
import type { WorkflowTimeouts } from '../model/timeouts.js';
import { reusedRecord, terminatedRecord, type StartSignal } from '../client/start_policy.js';

/** How many signals' request ids a record keeps (the newest): a call asks again within its timeout. */
export const MAX_SIGNAL_CALLS = 128;

/** How many signal ids (the user's) a record keeps, the newest (record.ts `signalIds`). */
const MAX_SIGNAL_IDS = 256;

/** The longest request id taken (a client's is a UUID); a longer one, or not a string: none. */
const MAX_REQUEST_ID_LENGTH = 128;

/** What a start answers when it made a run. */
export interface StartAnswer {
  readonly created: true;
  readonly status: 'running';
  readonly reused?: WorkflowEndStatus;
  readonly signal?: 'accepted';
}

/** A request's id as sent: a non-empty string of at most 128 characters, else none. */
export function requestId(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' && v.length <= MAX_REQUEST_ID_LENGTH ? v : undefined;
}

/** The answer of a start that made a run, `reused` (how the instance whose id it took ended) and with a `signal` or not. */
export function startAnswer(reused: WorkflowStatus | undefined, signal: boolean): StartAnswer {
  return {
    created: true,
    status: 'running',
    ...(reused === undefined || reused === 'running' ? {} : { reused }),
    ...(signal ? { signal: 'accepted' as const } : {}),
  };
}

/** The first answer when `rid` is the request id of the start that made `rec`'s current run; else undefined. */
export function repeatedStart(rec: WorkflowRecord, rid: unknown): StartAnswer | undefined {
  const s = rec.startRequest;
  const id = requestId(rid);
  if (s === undefined || id === undefined || s.id !== id || rec.status === undefined) return undefined;
  return startAnswer(s.reused, s.signal === true);
}

/** `next`, the record of a run a start makes, with that start's request id and answer (none: without an id). */
export function withStartRequest(next: WorkflowRecord, rid: unknown, answer: StartAnswer): WorkflowRecord {
  const { startRequest: _old, ...rest } = next;
  const id = requestId(rid);
  if (id === undefined) return rest;
  return {
    ...rest,
    startRequest: {
      id,
      ...(answer.reused === undefined ? {} : { reused: answer.reused }),
      ...(answer.signal === undefined ? {} : { signal: true as const }),
    },
  };
}

/**
 * What a signal with the user's `id` and the call's request id `rid` is answered when `rec` kept
 * it already: 'accepted' when its call's earlier attempt landed, 'duplicate' for a repeat of its
 * `id` from another call; undefined when it is new.
 */
export function repeatedSignal(rec: WorkflowRecord, id: unknown, rid: unknown): 'accepted' | 'duplicate' | undefined {
  const r = requestId(rid);
  if (r !== undefined && (rec.signalCalls ?? []).includes(r)) return 'accepted';
  return typeof id === 'string' && rec.signalIds.includes(id) ? 'duplicate' : undefined;
}

/** `rec` with a new signal's `id` (the user's) and its call's request id `rid` kept, each when given. */
export function withSignalIds(rec: WorkflowRecord, id: unknown, rid: unknown): WorkflowRecord {
  const r = requestId(rid);
  return {
    ...rec,
    ...(typeof id === 'string' ? { signalIds: [...rec.signalIds, id].slice(-MAX_SIGNAL_IDS) } : {}),
    ...(r === undefined ? {} : { signalCalls: [...(rec.signalCalls ?? []), r].slice(-MAX_SIGNAL_CALLS) }),
  };
}

/** What a start that makes a run is given (engine.ts checked the input and the signal). */
export interface StartMaking {
  /** The id's instance ended (or runs, under `terminateIfRunning`) and the policy starts it anew. */
  readonly reuse: boolean;
  readonly input: unknown;
  readonly now: number;
  readonly signal: StartSignal | undefined;
  /** The call's request id. */
  readonly rid: unknown;
  /** The start's memo (absent: none, also for a run under an id used again). */
  readonly memo?: unknown;
  /** The start's execution and run timeouts (absent: none, also for a run under an id used again). */
  readonly timeouts?: WorkflowTimeouts;
}

/**
 * The record a start writes when it makes a run of `rec`'s id (start_policy.ts): a first run, or
 * a new run under the id of one that ended — or, under `terminateIfRunning`, of one it ends
 * (`ended`: that run terminated, in the same write) — with its signal kept, its request id and its
 * `answer`.
 */
export function startedRecord(
  rec: WorkflowRecord,
  o: StartMaking,
): { next: WorkflowRecord; ended: WorkflowRecord | undefined; answer: StartAnswer } {
  const ended = o.reuse && rec.status === 'running' ? terminatedRecord(rec, o.now) : undefined;
  let next: WorkflowRecord = o.reuse
    ? reusedRecord(ended ?? rec, o.input, o.now)
    : { ...firstRun(), status: 'running', input: o.input, startedAt: o.now, runs: 1 };
  const { memo: _old, ...rest } = next;
  // A plain object (the client checked it); anything else a raw call sent is left out.
  const memo = o.memo !== null && typeof o.memo === 'object' && !Array.isArray(o.memo) ? o.memo : undefined;
  next = memo === undefined ? rest : { ...rest, memo: memo as Readonly<Record<string, unknown>> };
  if (o.timeouts !== undefined) next = { ...next, timeouts: o.timeouts };
  const s = o.signal;
  if (s !== undefined)
    next = withSignalIds({ ...next, signals: [{ name: s.name, payload: s.payload }] }, s.id, undefined);
  const answer = startAnswer(o.reuse ? (ended?.status ?? rec.status) : undefined, s !== undefined);
  return { next: withStartRequest(next, o.rid, answer), ended, answer };
}
