// Custom metrics an actor registers with the Metrics actor and updates by message (Ergo's
// actor/metrics custom-metric API). A metric belongs to the process that registered it and is
// removed when that process ends.

import { ErrIncorrect, ignorable, toError, type Log, type SendTarget } from 'ergo-ts';

/** Kinds of custom metric (Ergo's numbering). */
export const MetricType = { Gauge: 1, Counter: 2, Histogram: 3, TopN: 4 } as const;
/** @see MetricType */
export type MetricType = (typeof MetricType)[keyof typeof MetricType];

/** Order of a TopN metric: keep the largest (Max) or the smallest (Min) values. */
export const TopNOrder = { Max: 0, Min: 1 } as const;
/** @see TopNOrder */
export type TopNOrder = (typeof TopNOrder)[keyof typeof TopNOrder];

/** Default name the helpers address the Metrics actor by (spawnRegister it under this name). */
export const METRICS_NAME = 'metrics';

/**
 * Call request: registers a metric owned by the caller. The reply is a
 * {@link MetricRegisterResponse} (error '' on success). Names must be valid Prometheus names and
 * unused; `node` is not allowed as a label (every metric carries `node=<node name>`).
 */
export class MetricRegisterRequest {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: MetricType,
    readonly labels: readonly string[] = [],
    /** Histogram buckets (prom-client's defaults when empty); for TopN, `[topN]`. */
    readonly buckets: readonly number[] = [],
    /** TopN only. */
    readonly order: TopNOrder = TopNOrder.Max,
  ) {}
}

/** Reply to {@link MetricRegisterRequest}: `error` is '' on success. */
export class MetricRegisterResponse {
  constructor(readonly error: string) {}
}

/** Removes a metric (only its owner's request is honoured). */
export class MessageMetricUnregister {
  constructor(readonly name: string) {}
}

/**
 * The shape every update message shares: the metric's name, the value and the label values (in
 * the registered order). The Metrics actor tells the kinds apart by their class.
 */
export abstract class MetricUpdate {
  constructor(
    readonly name: string,
    readonly value: number,
    readonly labels: readonly string[] = [],
  ) {}
}

/** Sets a gauge. `labels` are the label values, in the registered order. */
export class MessageGaugeSet extends MetricUpdate {}

/** Adds to a gauge (a negative value subtracts). */
export class MessageGaugeAdd extends MetricUpdate {}

/** Adds to a counter (value ≥ 0). */
export class MessageCounterAdd extends MetricUpdate {}

/** Observes a value in a histogram. */
export class MessageHistogramObserve extends MetricUpdate {}

/** Offers a value to a TopN metric; each scrape shows the top entries since the previous one. */
export class MessageTopNObserve extends MetricUpdate {}

/**
 * What the helpers need: an actor (`this`), a `Process` or the node. With a `log`, a failed
 * request nobody awaited is logged there at debug level.
 */
export interface MetricsClient {
  call(to: SendTarget, request: unknown): Promise<unknown>;
  send(to: SendTarget, message: unknown): void;
  readonly log?: Log;
}

/**
 * Sends `message` to the Metrics (or Health) actor `to` like Go's helpers do: a failure is returned,
 * never thrown, so that a metric update cannot end the actor that emits it.
 */
export function sendMetric(c: MetricsClient, to: SendTarget, message: unknown): Error | undefined {
  try {
    c.send(to, message);
    return undefined;
  } catch (e) {
    return toError(e);
  }
}

async function registerAsync(c: MetricsClient, req: MetricRegisterRequest, to: SendTarget): Promise<void> {
  const r = await c.call(to, req);
  if (!(r instanceof MetricRegisterResponse)) throw ErrIncorrect.with(`metrics: unexpected reply ${String(r)}`);
  if (r.error !== '') throw ErrIncorrect.with(r.error);
}

// Every Promise a package returns is safe to ignore (docs/actors.md): marked handled with the
// core's helper, so an un-awaited register on an absent or restarting Metrics actor cannot end
// the OS process; whoever awaits it still gets the rejection.
function register(c: MetricsClient, req: MetricRegisterRequest, to: SendTarget): Promise<void> {
  return ignorable(registerAsync(c, req, to), c.log, `metric ${req.name} register`);
}

/** A register helper without buckets: the signature of {@link registerGauge} and {@link registerCounter}. */
export type RegisterPlain = (
  c: MetricsClient,
  name: string,
  help: string,
  labels?: readonly string[],
  to?: SendTarget,
) => Promise<void>;

function registerPlain(type: MetricType): RegisterPlain {
  return (c, name, help, labels = [], to = METRICS_NAME) =>
    register(c, new MetricRegisterRequest(name, help, type, labels), to);
}

/**
 * Registers a gauge owned by the calling process (removed when it ends). Rejects with
 * ErrIncorrect (bad or taken name/labels) or the call's error: `ERR_PROCESS_UNKNOWN` when no
 * Metrics actor is registered under `to`, `ERR_PROCESS_TERMINATED` when it ends (a restart)
 * before answering, `ERR_TIMEOUT`. The Promise is safe to leave un-awaited (the failure is then
 * logged at debug on the caller's log); every register helper below behaves the same.
 */
export const registerGauge: RegisterPlain = registerPlain(MetricType.Gauge);

/** Registers a counter owned by the calling process (see {@link registerGauge}). */
export const registerCounter: RegisterPlain = registerPlain(MetricType.Counter);

/** Registers a histogram owned by the calling process; empty `buckets` take prom-client's defaults. */
export function registerHistogram(
  c: MetricsClient,
  name: string,
  help: string,
  labels: readonly string[] = [],
  buckets: readonly number[] = [],
  to: SendTarget = METRICS_NAME,
): Promise<void> {
  return register(c, new MetricRegisterRequest(name, help, MetricType.Histogram, labels, buckets), to);
}

/** Registers a TopN metric (a gauge family of the `topN` largest or smallest values seen between scrapes). */
export function registerTopN(
  c: MetricsClient,
  name: string,
  help: string,
  topN: number,
  order: TopNOrder = TopNOrder.Max,
  labels: readonly string[] = [],
  to: SendTarget = METRICS_NAME,
): Promise<void> {
  return register(c, new MetricRegisterRequest(name, help, MetricType.TopN, labels, [topN], order), to);
}

/**
 * Removes a metric the calling process registered. Returns the send's error instead of throwing
 * it (see {@link MetricUpdater}).
 */
export function unregisterMetric(c: MetricsClient, name: string, to: SendTarget = METRICS_NAME): Error | undefined {
  return sendMetric(c, to, new MessageMetricUnregister(name));
}
/**
 * An update helper: sends `new Kind(name, value, labels)` to the Metrics actor (`to`, default
 * {@link METRICS_NAME}). Asynchronous: a wrong name, kind or label count is logged by the Metrics
 * actor, not thrown. Like Go's helpers it returns the send's error — `ERR_PROCESS_UNKNOWN` when
 * the Metrics actor is absent or between a crash and its restart, `ERR_PROCESS_MAILBOX_FULL`, ... —
 * or `undefined` once sent, and never throws: a metric cannot end the actor that emits it.
 */
export type MetricUpdater = (
  c: MetricsClient,
  name: string,
  value: number,
  labels?: readonly string[],
  to?: SendTarget,
) => Error | undefined;

function updater(Kind: new (name: string, value: number, labels: readonly string[]) => MetricUpdate): MetricUpdater {
  return (c, name, value, labels = [], to = METRICS_NAME) => sendMetric(c, to, new Kind(name, value, labels));
}

/** Sets a gauge (see {@link MetricUpdater}). */
export const gaugeSet: MetricUpdater = updater(MessageGaugeSet);
/** Adds to a gauge (see {@link MetricUpdater}). */
export const gaugeAdd: MetricUpdater = updater(MessageGaugeAdd);
/** Adds to a counter (see {@link MetricUpdater}). */
export const counterAdd: MetricUpdater = updater(MessageCounterAdd);
/** Observes a histogram value (see {@link MetricUpdater}). */
export const histogramObserve: MetricUpdater = updater(MessageHistogramObserve);
/** Offers a value to a TopN metric (see {@link MetricUpdater}). */
export const topNObserve: MetricUpdater = updater(MessageTopNObserve);
