// The `ergo_workflow_*` families of EntitiesCollector (entities.ts): the durable workflows of an
// @ergo-ts/entities runtime, read from `stats().workflows` (per workflow kind) at scrape time. Named
// as Prometheus' conventions have it (`_total` counters, `_seconds` histograms) and after what a
// Temporal user looks for (started, completed, failed, cancelled; step attempts, retries and
// failures; workflow and step latency), labelled `workflow` (the kind's name) and, per step, `step`.
// Every figure is this node's: a cluster's totals are the sum over its members.

/** A histogram as the runtime keeps it (cumulative bucket counts, seconds). */
export interface WorkflowHistogramLike {
  readonly buckets: readonly number[];
  readonly counts: readonly number[];
  readonly count: number;
  readonly sum: number;
}

/** One step's figures as the runtime keeps them (`WorkflowKindStats.steps` of `@ergo-ts/entities`). */
export interface WorkflowStepLike {
  readonly attempts: number;
  readonly retries: number;
  readonly failures: number;
  readonly duration: WorkflowHistogramLike;
}

/** One workflow kind's figures as the runtime keeps them (`EntitiesStats.workflows`). */
export interface WorkflowKindLike {
  readonly started: number;
  readonly completed: number;
  readonly failed: number;
  readonly cancelled: number;
  /** Instances that ran past their execution or run timeout (absent: a runtime from before timeouts). */
  readonly timedOut?: number;
  /** Runs that continued as new (absent: a runtime from before continue-as-new). */
  readonly continued?: number;
  readonly blockedTotal: number;
  readonly open: number;
  readonly blocked: number;
  /** Per end status (`completed`, `failed`, `cancelled`, `timedOut`). */
  readonly duration: Readonly<Record<string, WorkflowHistogramLike>>;
  readonly resumeLatency: WorkflowHistogramLike;
  readonly steps: Readonly<Record<string, WorkflowStepLike>>;
  readonly outboxPending: number;
  readonly outboxOldestPendingMs: number;
  readonly signals: Readonly<Record<string, number>>;
  readonly queries: Readonly<Record<string, number>>;
  /** Absent: a runtime from before updates. */
  readonly updates?: Readonly<Record<string, number>>;
}

/** The per-kind figures {@link WORKFLOW_FAMILIES} read (absent: the runtime keeps none). */
export type WorkflowsLike = Readonly<Record<string, WorkflowKindLike>> | undefined;

/** One sample of a family. */
export interface WorkflowSample {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

type Family = readonly [
  name: string,
  type: 'counter' | 'gauge' | 'histogram',
  help: string,
  values: (w: WorkflowsLike, name: string) => WorkflowSample[],
];

/** The families, in the order they are registered (documented in docs/workflows.md, "Metrics"). */
export const WORKFLOW_FAMILIES: readonly Family[] = [
  ['ergo_workflow_started_total', 'counter', 'Workflow instances started', (w) => perKind(w, (k) => k.started)],
  [
    'ergo_workflow_completed_total',
    'counter',
    'Workflow instances that completed (the body returned)',
    (w) => perKind(w, (k) => k.completed),
  ],
  [
    'ergo_workflow_failed_total',
    'counter',
    'Workflow instances that failed (the body threw)',
    (w) => perKind(w, (k) => k.failed),
  ],
  ['ergo_workflow_cancelled_total', 'counter', 'Workflow instances cancelled', (w) => perKind(w, (k) => k.cancelled)],
  [
    'ergo_workflow_timed_out_total',
    'counter',
    'Workflow instances that ran past their execution or run timeout',
    (w) => perKind(w, (k) => k.timedOut ?? 0),
  ],
  [
    'ergo_workflow_continued_total',
    'counter',
    'Workflow runs that continued as new (the instance goes on in its next run)',
    (w) => perKind(w, (k) => k.continued ?? 0),
  ],
  [
    'ergo_workflow_blocked_total',
    'counter',
    'Workflow replays that diverged from the journal (nondeterminism): each halted its instance, blocked',
    (w) => perKind(w, (k) => k.blockedTotal),
  ],
  [
    'ergo_workflow_open',
    'gauge',
    'Workflow instances running in the activations this node holds (blocked ones included)',
    (w) => perKind(w, (k) => k.open),
  ],
  [
    'ergo_workflow_blocked',
    'gauge',
    'Workflow instances blocked (halted on a divergence) in the activations this node holds',
    (w) => perKind(w, (k) => k.blocked),
  ],
  [
    'ergo_workflow_duration_seconds',
    'histogram',
    'Workflow instances from start to end, by end status (the runtime clock)',
    (w, name) =>
      kinds(w).flatMap(([workflow, k]) =>
        Object.entries(k.duration).flatMap(([status, h]) => histogram(name, h, { workflow, status })),
      ),
  ],
  [
    'ergo_workflow_resume_latency_seconds',
    'histogram',
    'Workflow bodies resumed in a new activation (a move, an owner that died, a passivation): how long after they had work due',
    (w, name) => kinds(w).flatMap(([workflow, k]) => histogram(name, k.resumeLatency, { workflow })),
  ],
  [
    'ergo_workflow_step_attempts_total',
    'counter',
    'Workflow step attempts started',
    (w) => perStep(w, (s) => s.attempts),
  ],
  [
    'ergo_workflow_step_retries_total',
    'counter',
    'Workflow step attempts that failed and were retried',
    (w) => perStep(w, (s) => s.retries),
  ],
  [
    'ergo_workflow_step_failures_total',
    'counter',
    'Workflow steps that failed for good (retries exhausted or a terminal error)',
    (w) => perStep(w, (s) => s.failures),
  ],
  [
    'ergo_workflow_step_duration_seconds',
    'histogram',
    'Workflow step attempts: how long each ran',
    (w, name) =>
      kinds(w).flatMap(([workflow, k]) =>
        Object.entries(k.steps).flatMap(([step, s]) => histogram(name, s.duration, { workflow, step })),
      ),
  ],
  [
    'ergo_workflow_outbox_pending',
    'gauge',
    'Workflow outbox messages journaled and not delivered yet, delivered from this node',
    (w) => perKind(w, (k) => k.outboxPending),
  ],
  [
    'ergo_workflow_outbox_oldest_pending_seconds',
    'gauge',
    'Age of the oldest workflow outbox message not delivered yet (0: none)',
    (w) => perKind(w, (k) => k.outboxOldestPendingMs / 1000),
  ],
  [
    'ergo_workflow_signals_total',
    'counter',
    'Signals workflow instances accepted, by signal name',
    (w) => perName(w, 'signal', (k) => k.signals),
  ],
  [
    'ergo_workflow_queries_total',
    'counter',
    'Queries workflow instances were asked, by query name',
    (w) => perName(w, 'query', (k) => k.queries),
  ],
  [
    'ergo_workflow_updates_total',
    'counter',
    'Updates workflow instances accepted, by update name (a repeat of an accepted update id not counted)',
    (w) => perName(w, 'update', (k) => k.updates ?? {}),
  ],
];

function kinds(w: WorkflowsLike): [string, WorkflowKindLike][] {
  return Object.entries(w ?? {});
}

function perKind(w: WorkflowsLike, f: (k: WorkflowKindLike) => number): WorkflowSample[] {
  return kinds(w).map(([workflow, k]) => ({ value: f(k), labels: { workflow } }));
}

function perStep(w: WorkflowsLike, f: (s: WorkflowStepLike) => number): WorkflowSample[] {
  return kinds(w).flatMap(([workflow, k]) =>
    Object.entries(k.steps).map(([step, s]) => ({ value: f(s), labels: { workflow, step } })),
  );
}

function perName(
  w: WorkflowsLike,
  label: string,
  f: (k: WorkflowKindLike) => Readonly<Record<string, number>>,
): WorkflowSample[] {
  return kinds(w).flatMap(([workflow, k]) =>
    Object.entries(f(k)).map(([n, value]) => ({ value, labels: { workflow, [label]: n } })),
  );
}

function histogram(name: string, h: WorkflowHistogramLike, labels: Record<string, string | number>): WorkflowSample[] {
  const out: WorkflowSample[] = h.buckets.map((le, i) => ({
    metricName: `${name}_bucket`,
    value: h.counts[i] ?? 0,
    labels: { ...labels, le },
  }));
  out.push({ metricName: `${name}_bucket`, value: h.count, labels: { ...labels, le: '+Inf' } });
  out.push({ metricName: `${name}_sum`, value: h.sum, labels });
  out.push({ metricName: `${name}_count`, value: h.count, labels });
  return out;
}
