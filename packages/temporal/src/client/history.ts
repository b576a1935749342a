// A workflow's ergo-ts journal read as Temporal's history events, for code that waits for one (the
// feature suite's `waitForEvent`): the start, each step as an activity scheduled (completed or
// failed when its entry holds a value or an error), each sleep as a timer started, and the end.
// Payloads are JSON (`json/plain`): ergo-ts keeps values in the store's codec, not Temporal's
// payloads, so a test of Temporal's exact payload bytes does not apply.

import type { WorkflowDescription } from '@ergo-ts/entities';

/** A Temporal payload: metadata and data bytes. */
export interface Payload {
  readonly metadata: Record<string, Uint8Array>;
  readonly data: Uint8Array;
}

/** One history event (the attributes this mapping fills). */
export interface HistoryEvent {
  readonly eventId: number;
  readonly workflowExecutionStartedEventAttributes?: { readonly input: { readonly payloads: Payload[] } };
  readonly activityTaskScheduledEventAttributes?: { readonly activityType: { readonly name: string } };
  readonly activityTaskCompletedEventAttributes?: { readonly result: { readonly payloads: Payload[] } };
  readonly activityTaskFailedEventAttributes?: { readonly failure: { readonly message: string } };
  readonly timerStartedEventAttributes?: { readonly timerId: string };
  readonly workflowExecutionCompletedEventAttributes?: { readonly result: { readonly payloads: Payload[] } };
  readonly workflowExecutionFailedEventAttributes?: { readonly failure: { readonly message: string } };
  readonly workflowExecutionCanceledEventAttributes?: Record<string, never>;
}

const enc = new TextEncoder();

function payload(v: unknown): Payload {
  return { metadata: { encoding: enc.encode('json/plain') }, data: enc.encode(JSON.stringify(v) ?? 'null') };
}

/** The events of `d`'s journal. */
export function historyOf(d: WorkflowDescription): HistoryEvent[] {
  const out: HistoryEvent[] = [];
  let id = 1;
  const args = (d.input as { args?: unknown[] } | undefined)?.args ?? [];
  out.push({ eventId: id++, workflowExecutionStartedEventAttributes: { input: { payloads: args.map(payload) } } });
  for (const e of d.history) {
    if (e.t === 'step') {
      out.push({ eventId: id++, activityTaskScheduledEventAttributes: { activityType: { name: e.n } } });
      if (e.e !== undefined)
        out.push({ eventId: id++, activityTaskFailedEventAttributes: { failure: { message: e.e.message } } });
      else if ('v' in e)
        out.push({ eventId: id++, activityTaskCompletedEventAttributes: { result: { payloads: [payload(e.v)] } } });
    } else if (e.t === 'sleep') out.push({ eventId: id++, timerStartedEventAttributes: { timerId: String(e.s) } });
  }
  for (const r of d.running ?? [])
    if (r.t === 'step' && !d.history.some((e) => e.s === r.s))
      out.push({ eventId: id++, activityTaskScheduledEventAttributes: { activityType: { name: r.n } } });
  if (d.status === 'completed')
    out.push({
      eventId: id++,
      workflowExecutionCompletedEventAttributes: { result: { payloads: [payload(d.output)] } },
    });
  else if (d.status === 'failed')
    out.push({
      eventId: id++,
      workflowExecutionFailedEventAttributes: { failure: { message: d.error?.message ?? '' } },
    });
  else if (d.status === 'cancelled') out.push({ eventId: id++, workflowExecutionCanceledEventAttributes: {} });
  return out;
}
