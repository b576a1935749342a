// Custom metrics an actor registers with the Metrics actor and updates by message (Ergo's
// actor/metrics custom-metric API). A metric belongs to the process that registered it and is
// removed when that process ends.

import { ErrIncorrect, type SendTarget } from 'ergo-ts';

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

/** Sets a gauge. `labels` are the label values, in the registered order. */
export class MessageGaugeSet {
  constructor(
    readonly name: string,
    readonly value: number,
    readonly labels: readonly string[] = [],
  ) {}
}

/** Adds to a gauge (a negative value subtracts). */
export class MessageGaugeAdd {
  constructor(
    readonly name: string,
    readonly value: number,
    readonly labels: readonly string[] = [],
  ) {}
}

/** Adds to a counter (value ≥ 0). */
export class MessageCounterAdd {
  constructor(
    readonly name: string,
    readonly value: number,
    readonly labels: readonly string[] = [],
  ) {}
}

/** Observes a value in a histogram. */
export class MessageHistogramObserve {
  constructor(
    readonly name: string,
    readonly value: number,
    readonly labels: readonly string[] = [],
  ) {}
}

/** Offers a value to a TopN metric; each scrape shows the top entries since the previous one. */
export class MessageTopNObserve {
  constructor(
    readonly name: string,
    readonly value: number,
    readonly labels: readonly string[] = [],
  ) {}
}

/** What the helpers need: an actor (`this`) or a `Process`. */
export interface MetricsClient {
  call(to: SendTarget, request: unknown): Promise<unknown>;
  send(to: SendTarget, message: unknown): void;
}

async function register(c: MetricsClient, req: MetricRegisterRequest, to: SendTarget): Promise<void> {
  const r = await c.call(to, req);
  if (!(r instanceof MetricRegisterResponse)) throw ErrIncorrect.with(`metrics: unexpected reply ${String(r)}`);
  if (r.error !== '') throw ErrIncorrect.with(r.error);
}

/** Registers a gauge owned by the calling process. Rejects with ErrIncorrect (bad or taken name/labels) or the call's error. */
export function registerGauge(
  c: MetricsClient,
  name: string,
  help: string,
  labels: readonly string[] = [],
  to: SendTarget = METRICS_NAME,
): Promise<void> {
  return register(c, new MetricRegisterRequest(name, help, MetricType.Gauge, labels), to);
}

/** Registers a counter owned by the calling process (see {@link registerGauge}). */
export function registerCounter(
  c: MetricsClient,
  name: string,
  help: string,
  labels: readonly string[] = [],
  to: SendTarget = METRICS_NAME,
): Promise<void> {
  return register(c, new MetricRegisterRequest(name, help, MetricType.Counter, labels), to);
}

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

/** Removes a metric the calling process registered. */
export function unregisterMetric(c: MetricsClient, name: string, to: SendTarget = METRICS_NAME): void {
  c.send(to, new MessageMetricUnregister(name));
}
/** Sets a gauge. */
export function gaugeSet(
  c: MetricsClient,
  name: string,
  value: number,
  labels: readonly string[] = [],
  to: SendTarget = METRICS_NAME,
): void {
  c.send(to, new MessageGaugeSet(name, value, labels));
}
/** Adds to a gauge. */
export function gaugeAdd(
  c: MetricsClient,
  name: string,
  value: number,
  labels: readonly string[] = [],
  to: SendTarget = METRICS_NAME,
): void {
  c.send(to, new MessageGaugeAdd(name, value, labels));
}
/** Adds to a counter. */
export function counterAdd(
  c: MetricsClient,
  name: string,
  value: number,
  labels: readonly string[] = [],
  to: SendTarget = METRICS_NAME,
): void {
  c.send(to, new MessageCounterAdd(name, value, labels));
}
/** Observes a histogram value. */
export function histogramObserve(
  c: MetricsClient,
  name: string,
  value: number,
  labels: readonly string[] = [],
  to: SendTarget = METRICS_NAME,
): void {
  c.send(to, new MessageHistogramObserve(name, value, labels));
}
/** Offers a value to a TopN metric. */
export function topNObserve(
  c: MetricsClient,
  name: string,
  value: number,
  labels: readonly string[] = [],
  to: SendTarget = METRICS_NAME,
): void {
  c.send(to, new MessageTopNObserve(name, value, labels));
}
