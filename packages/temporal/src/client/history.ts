// A workflow's ergo-ts journal read as Temporal's history events (`fetchHistory()`, the feature
// suite's `waitForEvent`): the start with its input payloads, each step as an activity scheduled
// (with its input payloads) and completed with its result payload or failed with its failure,
// each sleep as a timer started, and the end — completed with the result payload, failed with the
// failure, cancelled, timed out. The payloads are the ones the journal keeps, as the data converter encoded
// them (data_converter.ts); bytes are Buffers, as Temporal's client gives them. Values of records
// written before payloads were kept come as `json/plain`.

import type { WorkflowDescription } from '@ergo-ts/entities';

import { storedFailure } from '../common/converter.js';
import type { LoadedDataConverter } from '../common/data_converter.js';
import type { ProtoFailure } from '../common/failure_converter.js';
import { encode, isPayload, type Payload } from '../common/payload_converter.js';
import { activityRecord } from '../workflow/activities.js';

export type { Payload } from '../common/payload_converter.js';

/** One history event (the attributes this mapping fills). */
export interface HistoryEvent {
  readonly eventId: number;
  readonly workflowExecutionStartedEventAttributes?: { readonly input: { readonly payloads: Payload[] } };
  readonly activityTaskScheduledEventAttributes?: {
    readonly activityType: { readonly name: string };
    readonly input?: { readonly payloads: Payload[] };
  };
  readonly activityTaskCompletedEventAttributes?: { readonly result: { readonly payloads: Payload[] } };
  readonly activityTaskFailedEventAttributes?: { readonly failure: ProtoFailure };
  readonly timerStartedEventAttributes?: { readonly timerId: string };
  readonly workflowExecutionCompletedEventAttributes?: { readonly result: { readonly payloads: Payload[] } };
  readonly workflowExecutionFailedEventAttributes?: { readonly failure: ProtoFailure };
  readonly workflowExecutionCanceledEventAttributes?: Record<string, never>;
  /** The workflow ran past its execution or run timeout. */
  readonly workflowExecutionTimedOutEventAttributes?: { readonly retryState: string };
}

function buffer(a: Uint8Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** `p` with Buffers for bytes (what Temporal's client decodes from its history). */
function buffers(p: Payload): Payload {
  const metadata: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries(p.metadata ?? {})) metadata[k] = buffer(v);
  return p.data == null ? { metadata } : { metadata, data: buffer(p.data) };
}

/** A kept value as a payload: itself when it is one, else (a record of before) as JSON. */
function payloadOf(v: unknown): Payload {
  if (isPayload(v)) return buffers(v);
  return buffers({ metadata: { encoding: encode('json/plain') }, data: encode(JSON.stringify(v) ?? 'null') });
}

/** `f` and its causes with Buffers for the payload bytes. */
function failureBuffers(f: ProtoFailure): ProtoFailure {
  const out: ProtoFailure = { ...f };
  if (f.encodedAttributes != null) out.encodedAttributes = buffers(f.encodedAttributes);
  const d = f.applicationFailureInfo?.details?.payloads;
  if (d != null) out.applicationFailureInfo = { ...f.applicationFailureInfo, details: { payloads: d.map(buffers) } };
  const c = f.canceledFailureInfo?.details?.payloads;
  if (c != null) out.canceledFailureInfo = { details: { payloads: c.map(buffers) } };
  const t = f.timeoutFailureInfo?.lastHeartbeatDetails?.payloads;
  if (t != null)
    out.timeoutFailureInfo = { ...f.timeoutFailureInfo, lastHeartbeatDetails: { payloads: t.map(buffers) } };
  if (f.cause != null) out.cause = failureBuffers(f.cause);
  return out;
}

function failureOf(e: unknown, dc: LoadedDataConverter): ProtoFailure {
  const f = storedFailure(e, dc);
  return f === undefined ? { message: '' } : failureBuffers(f);
}

/** The events of `d`'s journal. */
export function historyOf(d: WorkflowDescription, dc: LoadedDataConverter): HistoryEvent[] {
  const out: HistoryEvent[] = [];
  let id = 1;
  const input = d.input as { payloads?: unknown[]; args?: unknown[] } | undefined;
  const args = input?.payloads ?? input?.args ?? [];
  out.push({ eventId: id++, workflowExecutionStartedEventAttributes: { input: { payloads: args.map(payloadOf) } } });
  for (const e of d.history) {
    if (e.t === 'step') {
      const rec = 'v' in e ? activityRecord(e.v) : undefined;
      out.push({
        eventId: id++,
        activityTaskScheduledEventAttributes: {
          activityType: { name: e.n },
          ...(rec === undefined ? {} : { input: { payloads: rec.input.map(payloadOf) } }),
        },
      });
      if (e.e !== undefined)
        out.push({ eventId: id++, activityTaskFailedEventAttributes: { failure: failureOf(e.e, dc) } });
      else if ('v' in e)
        out.push({
          eventId: id++,
          activityTaskCompletedEventAttributes: {
            result: { payloads: [payloadOf(rec === undefined ? e.v : rec.result)] },
          },
        });
    } else if (e.t === 'sleep') out.push({ eventId: id++, timerStartedEventAttributes: { timerId: String(e.s) } });
  }
  for (const r of d.running ?? [])
    if (r.t === 'step' && !d.history.some((e) => e.s === r.s))
      out.push({ eventId: id++, activityTaskScheduledEventAttributes: { activityType: { name: r.n } } });
  if (d.status === 'completed')
    out.push({
      eventId: id++,
      workflowExecutionCompletedEventAttributes: { result: { payloads: [payloadOf(d.output)] } },
    });
  else if (d.status === 'failed')
    out.push({
      eventId: id++,
      workflowExecutionFailedEventAttributes: { failure: failureOf(d.error, dc) },
    });
  else if (d.status === 'cancelled') out.push({ eventId: id++, workflowExecutionCanceledEventAttributes: {} });
  else if (d.status === 'timedOut')
    out.push({ eventId: id++, workflowExecutionTimedOutEventAttributes: { retryState: 'RETRY_STATE_TIMEOUT' } });
  return out;
}
