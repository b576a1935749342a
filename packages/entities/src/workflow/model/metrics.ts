// The workflow figures of one runtime (`Entities.stats().workflows`), counted where things happen:
// the engine (engine.ts) counts starts, ends with their duration, halts on a divergence, signals,
// queries and bodies resumed in a new activation; a run (context.ts) counts step attempts with
// their duration, retries and steps failed for good, and keeps the outbox deliveries under way.
// Each hook is a map lookup and an increment: nothing here reads the store. At a scrape the open
// and blocked instances are read from the activations this node holds (inspect/inspector.ts), so
// every figure is per node: a cluster's totals are the sum over its members. @ergo-ts/metrics'
// EntitiesCollector renders them as the `ergo_workflow_*` families.

import type { WorkflowHistogram, WorkflowKindStats, WorkflowStepStats } from '../../inspect/stats.js';
import type { JournalOp, WorkflowRecord } from './record.js';

/** Upper bounds, in seconds, of the workflow-duration histogram's buckets (start to end; +Inf last). */
export const WORKFLOW_DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.01,
  0.05,
  0.1,
  0.5,
  1,
  5,
  10,
  30,
  60,
  300,
  900,
  3600,
  4 * 3600,
  86400,
  7 * 86400,
]);

/** Upper bounds, in seconds, of the step-attempt duration histogram's buckets (+Inf last). */
export const STEP_DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
]);

/** Upper bounds, in seconds, of the resume-latency histogram's buckets (+Inf last). */
export const RESUME_LATENCY_BUCKETS: readonly number[] = Object.freeze([
  0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900,
]);

/**
 * The most step labels one workflow kind keeps; later names count under `~other`. A step named
 * after the instance (`charge ${orderId}`) would otherwise grow a series per instance.
 */
export const MAX_STEP_LABELS = 500;

// Their shape is the stats' (inspect/stats.ts: `EntitiesStats.workflows`, a lower layer than this).
export type { WorkflowHistogram, WorkflowKindStats, WorkflowStepStats } from '../../inspect/stats.js';

class Histogram {
  readonly #counts: number[];
  #count = 0;
  #sum = 0;

  constructor(readonly buckets: readonly number[]) {
    this.#counts = new Array<number>(buckets.length).fill(0);
  }

  observe(seconds: number): void {
    // Non-cumulative here (one increment); made cumulative when read.
    let i = 0;
    while (i < this.buckets.length && seconds > this.buckets[i]!) i++;
    if (i < this.#counts.length) this.#counts[i]!++;
    this.#count++;
    this.#sum += seconds;
  }

  read(): WorkflowHistogram {
    let acc = 0;
    const counts = this.#counts.map((c) => (acc += c));
    return { buckets: this.buckets, counts, count: this.#count, sum: this.#sum };
  }
}

/** What {@link WorkflowFigures.resumed} reads of a run (context.ts's Run). */
interface ResumedRun {
  readonly caughtUp: Promise<void>;
  readonly ended: boolean;
  readonly diverged: Error | undefined;
  parking(): { readonly parked: boolean };
}

class StepFigures {
  attempts = 0;
  retries = 0;
  failures = 0;
  readonly duration = new Histogram(STEP_DURATION_BUCKETS);
}

/** The counters of one workflow kind on one runtime: the engine's and the runs' hooks call these. */
export class WorkflowFigures {
  /** Instances started here (engine.ts counts a start once it is saved). */
  started = 0;
  /** Replays that diverged here (each halted its instance). */
  blockedTotal = 0;
  /** Runs that continued as new here (engine.ts counts one once its write is saved). */
  continued = 0;
  readonly #ended = { completed: 0, failed: 0, cancelled: 0, timedOut: 0 };
  readonly #duration = {
    completed: new Histogram(WORKFLOW_DURATION_BUCKETS),
    failed: new Histogram(WORKFLOW_DURATION_BUCKETS),
    cancelled: new Histogram(WORKFLOW_DURATION_BUCKETS),
    timedOut: new Histogram(WORKFLOW_DURATION_BUCKETS),
  };
  readonly #resume = new Histogram(RESUME_LATENCY_BUCKETS);
  readonly #steps = new Map<string, StepFigures>();
  readonly #signals = new Map<string, number>();
  readonly #updates = new Map<string, number>();
  readonly #queries = new Map<string, number>();
  /** Outbox deliveries under way: each one's journal time. */
  readonly #outbox = new Set<{ readonly at: number }>();

  /** The instance ended (its end saved): counted by status, its duration observed. */
  ended(rec: WorkflowRecord): void {
    const status = rec.status;
    if (status === undefined || status === 'running') return;
    this.#ended[status]++;
    if (rec.startedAt !== undefined && rec.endedAt !== undefined)
      this.#duration[status].observe(Math.max(0, rec.endedAt - rec.startedAt) / 1000);
  }

  /**
   * `run` started on `rec` in a new activation: once it replayed its journal, how late it went on
   * with work that was due (see {@link resumeDue}). Not observed when it only waits then (a signal:
   * the body had nothing to do), when its work was not due yet, or when it ended or diverged.
   */
  resumed(rec: WorkflowRecord, run: ResumedRun | undefined, clock: { now(): number }): void {
    const due = resumeDue(rec);
    if (run === undefined || due === undefined) return;
    void run.caughtUp.then(() => {
      const now = clock.now();
      if (run.ended || run.diverged !== undefined || run.parking().parked || due > now) return;
      this.#resume.observe((now - due) / 1000);
    });
  }

  /** An attempt of step `name` (journal op `t`) runs as `attempt`: counted, and timed until it settles. */
  attempt<T>(t: JournalOp, name: string, attempt: () => Promise<T>): Promise<T> {
    const s = this.step(t, name);
    s.attempts++;
    const t0 = performance.now();
    const p = attempt();
    const done = (): void => s.duration.observe((performance.now() - t0) / 1000);
    p.then(done, done);
    return p;
  }

  /** The figures of step `name` (journal op `t`), by its label. */
  step(t: JournalOp, name: string): StepFigures {
    let label = stepLabel(t, name);
    let s = this.#steps.get(label);
    if (s !== undefined) return s;
    if (this.#steps.size >= MAX_STEP_LABELS) label = '~other';
    s = this.#steps.get(label);
    if (s === undefined) this.#steps.set(label, (s = new StepFigures()));
    return s;
  }

  /** Signal `name` was accepted. */
  signal(name: string): void {
    this.#signals.set(name, (this.#signals.get(name) ?? 0) + 1);
  }

  /** Update `name` was accepted. */
  update(name: string): void {
    this.#updates.set(name, (this.#updates.get(name) ?? 0) + 1);
  }

  /** Query `name` was asked. */
  query(name: string): void {
    this.#queries.set(name, (this.#queries.get(name) ?? 0) + 1);
  }

  /** An outbox delivery journaled at `at` runs until `delivery` settles (its result is returned as is). */
  outbox(at: number, delivery: Promise<void>): Promise<void> {
    const pending = { at };
    this.#outbox.add(pending);
    const done = (): void => void this.#outbox.delete(pending);
    delivery.then(done, done);
    return delivery;
  }

  /** The figures now, with the gauges read from the activations (`open`, `blocked`). */
  read(
    open: number,
    blocked: number,
    now: number,
    declared: { readonly signals: object; readonly queries: object; readonly updates?: object },
  ): WorkflowKindStats {
    let oldest = Infinity;
    for (const p of this.#outbox) oldest = Math.min(oldest, p.at);
    const steps: Record<string, WorkflowStepStats> = {};
    for (const [label, s] of this.#steps)
      steps[label] = { attempts: s.attempts, retries: s.retries, failures: s.failures, duration: s.duration.read() };
    return {
      started: this.started,
      ...this.#ended,
      continued: this.continued,
      blockedTotal: this.blockedTotal,
      open,
      blocked,
      duration: {
        completed: this.#duration.completed.read(),
        failed: this.#duration.failed.read(),
        cancelled: this.#duration.cancelled.read(),
        timedOut: this.#duration.timedOut.read(),
      },
      resumeLatency: this.#resume.read(),
      steps,
      outboxPending: this.#outbox.size,
      outboxOldestPendingMs: this.#outbox.size === 0 ? 0 : Math.max(0, now - oldest),
      // Every declared name, counted or not: a series exists before its first increment.
      signals: perName(this.#signals, declared.signals),
      queries: perName(this.#queries, declared.queries),
      updates: perName(this.#updates, declared.updates ?? {}),
    };
  }
}

function perName(counts: ReadonlyMap<string, number>, declared: object): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of Object.keys(declared)) out[name] = 0;
  for (const [name, n] of counts) out[name] = n;
  return out;
}

/**
 * A step's label: its name, less the entity key or child id the default names of `send`, `child`
 * and `call` carry (one series per kind, not per instance).
 */
function stepLabel(t: JournalOp, name: string): string {
  const slash = name.indexOf('/');
  if (slash < 0) return name;
  if (t === 'send') return `send ${name.slice(0, slash)}`; // `<kind>/<key>`
  if (t === 'child') return `child ${name.slice(0, slash)}`; // `start <kind>/<id>`, `result …`, `cancel …`
  if (name.startsWith('call ')) return name.slice(0, slash); // ctx.call's default `call <kind>/<key>`
  return name;
}

/**
 * When a body resumed on `rec` had work to do: the latest of its last journal write (or reset) and
 * the earliest due time of its open waits (a sleep, a signal's deadline, a retry's backoff).
 * Undefined when it waits for something that has no time (a signal without a deadline, a child).
 */
export function resumeDue(rec: WorkflowRecord): number | undefined {
  let last = rec.startedAt ?? 0;
  for (const r of rec.resets ?? []) last = Math.max(last, r.at);
  let deadline: number | undefined;
  let waitsForEvent = false;
  const started = new Set<string>();
  const resulted = new Set<string>();
  for (const e of rec.journal) {
    last = Math.max(last, e.at);
    if (e.t === 'child' && e.n.startsWith('start ')) started.add(e.n.slice('start '.length));
    if (e.t === 'child' && e.n.startsWith('result ')) resulted.add(e.n.slice('result '.length));
    if (e.done === true) continue;
    const until = e.t === 'retry' ? e.r : e.until;
    if (until !== undefined) deadline = deadline === undefined ? until : Math.min(deadline, until);
    else if (e.t === 'signal') waitsForEvent = true;
  }
  if (deadline !== undefined) return Math.max(last, deadline);
  for (const c of started) if (!resulted.has(c)) waitsForEvent = true;
  return waitsForEvent ? undefined : last;
}

/** The figures of each workflow kind, per runtime. */
const registries = new WeakMap<object, Map<string, WorkflowFigures>>();

/** The counters of workflow kind `kind` on runtime `rt` (the engine's `this.entities`, a run's host's). */
export function figuresOf(rt: object, kind: string): WorkflowFigures {
  let kinds = registries.get(rt);
  if (kinds === undefined) registries.set(rt, (kinds = new Map()));
  let f = kinds.get(kind);
  if (f === undefined) kinds.set(kind, (f = new WorkflowFigures()));
  return f;
}

/**
 * The figures of every workflow kind `rt` hosts (`kinds`: its entity kinds; those with a workflow
 * spec count), each series there from the start. Reads `views`, the activations this node holds
 * (inspect/inspector.ts's hostViews), for the open and blocked gauges: no store access.
 */
export function workflowStatsOf(
  rt: object,
  views: Iterable<{ readonly kind: string; state(): unknown }>,
  kinds: Iterable<{ readonly name: string }>,
  now: number,
): Record<string, WorkflowKindStats> {
  const gauges = new Map<string, { open: number; blocked: number }>();
  const out: Record<string, WorkflowKindStats> = {};
  type Declared = { readonly signals: object; readonly queries: object; readonly updates?: object };
  const specs: [string, Declared][] = [];
  for (const k of kinds) {
    const spec = (k as { workflow?: Declared }).workflow;
    if (typeof spec !== 'object' || spec === null) continue;
    specs.push([k.name, spec]);
    gauges.set(k.name, { open: 0, blocked: 0 });
  }
  if (specs.length === 0) return out;
  for (const v of views) {
    const g = gauges.get(v.kind);
    if (g === undefined) continue;
    const rec = v.state() as WorkflowRecord | undefined;
    if (rec?.status !== 'running') continue;
    g.open++;
    if (rec.blocked !== undefined) g.blocked++;
  }
  for (const [name, spec] of specs) {
    const g = gauges.get(name)!;
    out[name] = figuresOf(rt, name).read(g.open, g.blocked, now, spec);
  }
  return out;
}
