// The figures an operator watches on an entities runtime (`Entities.stats()`): entities active
// per kind, activations, passivations and other ends, stale writes refused, shards owned and the
// shards that moved in or out with membership changes, and the latency of every store operation
// as a histogram with fixed buckets. Plain numbers, no metrics library: `@ergo-ts/metrics`
// (EntitiesCollector) turns them into Prometheus families at scrape time, and anything else can
// read them the same way. The store is measured by a thin wrapper that times each operation and
// keeps the ones in flight (how many, and since when the oldest: a store that stopped answering
// shows there first). Event-sourced kinds add their journal writes (events persisted, snapshots)
// and how far their activations are behind their latest snapshot; the reminder scheduler its fires
// and their lateness (runtime/reminder_scheduler.ts counts them; their shape is here); the inbox
// sweeper the keys with messages waiting and the age of the oldest (runtime/inbox_sweeper.ts).

import { storeUnreachable } from '../contract/codes.js';
import type { EntityStore, StoreCloseOptions } from '../contract/store.js';
import type { ProjectionStats } from './projections.js';

/** Upper bounds, in seconds, of the store-latency histogram's buckets (the last bucket is +Inf). */
export const STORE_LATENCY_BUCKETS: readonly number[] = Object.freeze([
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);

/** The latency of one store operation since the runtime started, as a Prometheus histogram has it. */
export interface StoreOperationStats {
  /** Upper bounds in seconds ({@link STORE_LATENCY_BUCKETS}). */
  readonly buckets: readonly number[];
  /** Cumulative: `counts[i]` operations took at most `buckets[i]` seconds. */
  readonly counts: readonly number[];
  /** Operations finished (resolved or rejected). */
  readonly count: number;
  /** Their total duration in seconds. */
  readonly sum: number;
  /** How many of them rejected. */
  readonly errors: number;
}

/** One entity kind's figures on this node. Counters run from the runtime's start. */
export interface KindStats {
  /** Activations running on this node now. */
  readonly active: number;
  /** Activations started (lease taken, state loaded). */
  readonly activations: number;
  /** Activations that stopped idle. */
  readonly passivations: number;
  /** Activations that ended otherwise (lease lost, runtime stopped, a failure). */
  readonly stopped: number;
  /** Writes the store refused as stale (another activation held a newer token). */
  readonly refused: number;
  /** Activations that handed off (a drain, or their shard moved): counted in `passivations` too. */
  readonly handedOff: number;
  /** Events an event-sourced kind's activations persisted (0 for a plain kind). */
  readonly eventsPersisted: number;
  /** Snapshots they wrote (every `snapshotEvery` events, and on passivation or hand-off). */
  readonly snapshots: number;
  /**
   * The most events any active activation of the kind has after its latest snapshot: what an
   * activation would replay if that one ended without its passivation snapshot (a crash). It stays
   * below `snapshotEvery` while snapshots are written; above it, snapshots fail or are off. A count
   * rather than an age: replay cost grows with events, and a quiet entity with an old snapshot costs
   * nothing to rebuild.
   */
  readonly eventsSinceSnapshot: number;
}

/** A snapshot of a runtime's figures (see {@link Entities.stats}). */
export interface EntitiesStats {
  /** The node the runtime runs on. */
  readonly node: string;
  /** The live members as this node sees them (itself included). */
  readonly members: readonly string[];
  /** The number of shards keys map to. */
  readonly shards: number;
  /** The shards this node owns by its view of the live members. */
  readonly shardsOwned: number;
  /** Shards that moved to this node when the members changed (hand-offs in). */
  readonly shardsGained: number;
  /** Shards that moved away from this node when the members changed (hand-offs out). */
  readonly shardsLost: number;
  /** Activations that handed off to another member (a drain, or a shard that moved), every kind. */
  readonly handOffs: number;
  /** True once the runtime began to drain (`drain()` or `stop()`): this node takes no activation. */
  readonly draining: boolean;
  /** Figures per entity kind this node hosts. */
  readonly kinds: Readonly<Record<string, KindStats>>;
  /** Store latency per operation (`acquire`, `load`, `write`, `enqueue`, ...). */
  readonly store: Readonly<Record<string, StoreOperationStats>>;
  /** Store operations started and not finished yet. */
  readonly storeInFlight: number;
  /** How long the oldest of them has run, in ms (0 when none). */
  readonly storeOldestInFlightMs: number;
  /**
   * Activations that failed because the store could not be reached (a failover) and wait on this
   * member for it to answer again, within their callers' time (runtime/store_health.ts).
   */
  readonly activationsWaitingForStore: number;
  /** The reminder scheduler's figures (absent when the store keeps no reminders). */
  readonly reminders?: ReminderStats;
  /** The inbox sweeper's figures (absent when the store cannot list pending inboxes). */
  readonly inbox?: InboxStats;
  /** The projections started on this node and not stopped, by name (inspect/projections.ts). */
  readonly projections: readonly ProjectionStats[];
  /**
   * Per workflow kind this node hosts (`defineWorkflow` kinds; none: empty), the workflow figures
   * counted on this node (workflow/model/metrics.ts): instances started and ended by status, blocked,
   * open now, durations, step attempts, retries and failures, resume latency, outbox, signals, queries.
   */
  readonly workflows: Readonly<Record<string, WorkflowKindStats>>;
  /**
   * This member's load bounds for workflows (absent without workflow kinds or on a client-only
   * node): the runs it carries at once (`maxActiveRuns`), the new starts held waiting for room
   * (`maxWaitingStarts`) and the step attempts it runs at once (`maxConcurrentSteps`). Read it
   * to see why starts are held or refused with `ERR_ENTITY_OVERLOADED`.
   */
  readonly workflowLoad?: WorkflowLoadStats;
}

/**
 * A member's workflow load now and its admission decisions since the start
 * (`EntitiesStats.workflowLoad`, workflow/body/run_load.ts and step_permits.ts). A new instance's
 * start is given room at once while `activeRuns` + `roomKept` < `maxActiveRuns` and nobody waits,
 * else it waits in a line of at most `maxWaitingStarts` within its caller's time, else it is
 * refused with `retryAfterMs`.
 */
export interface WorkflowLoadStats {
  /** Runs with work to do now (a run waiting on a sleep, signal, update, select or child is not counted). */
  readonly activeRuns: number;
  /** The bound on them (`maxActiveRuns`). */
  readonly maxActiveRuns: number;
  /** New starts waiting in line for room now. */
  readonly startsWaiting: number;
  /** The bound on that line (`maxWaitingStarts`). */
  readonly maxWaitingStarts: number;
  /** Room given to admitted starts whose run has not begun yet. */
  readonly roomKept: number;
  /** Starts given room at once, since the runtime started. */
  readonly startsAdmitted: number;
  /** Starts given room after waiting in line, since the runtime started. */
  readonly startsHeld: number;
  /** Starts refused (`ERR_ENTITY_OVERLOADED`: line full, or no room within the caller's time), since the start. */
  readonly startsRefused: number;
  /** The retry-after a new start refused now would be given, in ms (0: there is room). */
  readonly retryAfterMs: number;
  /** The pace runs leave the count at lately (ends and waits per second): what the line moves by. */
  readonly endsPerSecond: number;
  /** Step attempts running with a permit now. */
  readonly stepsRunning: number;
  /** Step attempts waiting for a permit now. */
  readonly stepsWaiting: number;
  /** The bound on step attempts run at once (`maxConcurrentSteps`). */
  readonly maxConcurrentSteps: number;
}

/**
 * The inbox sweeper's figures (`EntitiesStats.inbox`, runtime/inbox_sweeper.ts): what its last
 * scan saw of the keys of this node's shards with accepted, unprocessed durable messages, and
 * what it did since the start.
 */
export interface InboxStats {
  /** Keys of this node's shards with unprocessed inbox messages at the last scan (at most its batch). */
  readonly pendingKeys: number;
  /**
   * How long ago the oldest unprocessed message the last scan saw was accepted, in ms now (0 when
   * none): it grows while a message waits. Under normal load it stays below a handler's time plus
   * one scan interval; higher, keys are failing to activate or the node is behind.
   */
  readonly oldestPendingAgeMs: number;
  /** Keys the sweeper activated (their inbox replayed) since the start. */
  readonly activated: number;
  /** Activations of the sweeper that failed or found the lease held (each tried again later). */
  readonly failed: number;
  /** Activations of the sweeper under way now. */
  readonly inFlight: number;
}

/** Upper bounds, in seconds, of the reminder-lateness histogram's buckets (the last bucket is +Inf). */
export const REMINDER_LATENESS_BUCKETS: readonly number[] = Object.freeze([
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
]);

/** The reminder figures of a runtime (`EntitiesStats.reminders`). */
export interface ReminderStats {
  /** Fires the entities' inboxes accepted (or already had) since the start. */
  readonly fired: number;
  /** Delivery attempts that failed (retried later). */
  readonly failed: number;
  /** Fires being delivered now. */
  readonly inFlight: number;
  /**
   * Due reminders the last scan left standing by (their keys active here only wait for their end:
   * a workflow's keep-alive wake while its body runs), and those left so by every scan since the
   * start, summed (a row left by several scans counts in each).
   */
  readonly standingBy: number;
  readonly stoodBy: number;
  /** How late each accepted fire was (accepted time − due time), as a Prometheus histogram has it. */
  readonly lateness: {
    readonly buckets: readonly number[];
    /** Cumulative: `counts[i]` fires were at most `buckets[i]` seconds late. */
    readonly counts: readonly number[];
    readonly count: number;
    /** Total lateness in seconds. */
    readonly sum: number;
  };
}

/** @internal counters of one kind. */
export class KindCounters {
  activations = 0;
  passivations = 0;
  stopped = 0;
  refused = 0;
  handedOff = 0;
  eventsPersisted = 0;
  snapshots = 0;

  /** Counts one runtime event of the kind: its name, and whether it is a passivation by hand-off. */
  count(event: string, handOff: boolean): void {
    if (event === 'activated') this.activations++;
    else if (event === 'passivated') {
      this.passivations++;
      if (handOff) this.handedOff++;
    } else if (event === 'stopped') this.stopped++;
    else if (event === 'refused') this.refused++;
  }
}

/**
 * @internal The figures of each kind from its counters and its activations now (`active`: kind →
 * key → activation, with an event-sourced one's events after its latest snapshot).
 */
export function kindStatsOf(
  counters: ReadonlyMap<string, KindCounters>,
  active: ReadonlyMap<string, ReadonlyMap<string, { readonly eventsSinceSnapshot: (() => number) | undefined }>>,
): Record<string, KindStats> {
  const kinds: Record<string, KindStats> = {};
  for (const [name, c] of counters) {
    const keys = active.get(name);
    let behind = 0;
    if (keys !== undefined)
      for (const a of keys.values())
        if (a.eventsSinceSnapshot !== undefined) behind = Math.max(behind, a.eventsSinceSnapshot());
    kinds[name] = {
      active: keys?.size ?? 0,
      activations: c.activations,
      passivations: c.passivations,
      stopped: c.stopped,
      refused: c.refused,
      handedOff: c.handedOff,
      eventsPersisted: c.eventsPersisted,
      snapshots: c.snapshots,
      eventsSinceSnapshot: behind,
    };
  }
  return kinds;
}

class Histogram {
  readonly counts = new Array<number>(STORE_LATENCY_BUCKETS.length).fill(0);
  count = 0;
  sum = 0;
  errors = 0;

  observe(seconds: number, failed: boolean): void {
    // Non-cumulative here (one increment); made cumulative when read.
    let i = 0;
    while (i < STORE_LATENCY_BUCKETS.length && seconds > STORE_LATENCY_BUCKETS[i]!) i++;
    if (i < this.counts.length) this.counts[i]!++;
    this.count++;
    this.sum += seconds;
    if (failed) this.errors++;
  }

  read(): StoreOperationStats {
    let acc = 0;
    const counts = this.counts.map((c) => (acc += c));
    return { buckets: STORE_LATENCY_BUCKETS, counts, count: this.count, sum: this.sum, errors: this.errors };
  }
}

const STORE_OPERATIONS = [
  'acquire',
  'renew',
  'release',
  'load',
  'events',
  'write',
  'enqueue',
  'inbox',
  'processed',
  'lease',
] as const;

/** The optional fast paths of a store ({@link EntityStore}): wrapped only when the store has them. */
const OPTIONAL_OPERATIONS = ['acquireAndLoad', 'loadActivation', 'pendingInbox'] as const;

/**
 * @internal Times the operations of a store. {@link wrap} gives the store the runtime and its
 * activations use: the same methods, each timed; the Promise returned is the store's own (so it
 * stays safe to leave un-awaited).
 */
export class StoreMeter {
  /** Told each operation's outcome (`unreachable`: it failed because the store could not be reached). */
  readonly #outcome: ((ok: boolean, unreachable: boolean) => void) | undefined;
  readonly #ops = new Map<string, Histogram>();
  readonly #inFlight = new Map<number, number>();
  #seq = 0;

  constructor(outcome?: (ok: boolean, unreachable: boolean) => void) {
    this.#outcome = outcome;
  }

  wrap(store: EntityStore): EntityStore {
    const measured: Record<string, unknown> = {
      name: store.name,
      close: (options?: StoreCloseOptions): Promise<void> => store.close(options),
    };
    for (const op of [...STORE_OPERATIONS, ...OPTIONAL_OPERATIONS]) {
      if (typeof store[op] !== 'function') continue;
      const fn = (store[op] as (...a: unknown[]) => Promise<unknown>).bind(store);
      measured[op] = (...args: unknown[]): Promise<unknown> => {
        const p = fn(...args);
        return p instanceof Promise ? this.#time(op, p) : p;
      };
    }
    return measured as unknown as EntityStore;
  }

  #time<T>(op: string, p: Promise<T>): Promise<T> {
    const n = ++this.#seq;
    const t0 = performance.now();
    this.#inFlight.set(n, t0);
    const done = (failed: boolean): void => {
      this.#inFlight.delete(n);
      let h = this.#ops.get(op);
      if (h === undefined) this.#ops.set(op, (h = new Histogram()));
      h.observe((performance.now() - t0) / 1000, failed);
    };
    p.then(
      () => {
        done(false);
        this.#outcome?.(true, false);
      },
      (err: unknown) => {
        done(true);
        const away = unreachable(err);
        if (away) this.#unreachableAt = performance.now();
        this.#outcome?.(false, away);
      },
    );
    return p;
  }

  /** When an operation last failed because the store could not be reached (performance.now()). */
  #unreachableAt = -Infinity;

  /**
   * Whether an operation failed within the last `ms` because the store could not be reached (a
   * failover, a cut): its operations then wait on an outage, not on an overload.
   */
  unreachableWithin(ms: number): boolean {
    return performance.now() - this.#unreachableAt < ms;
  }

  /**
   * How long the `count`th oldest store operation in flight has waited, in ms (0 when fewer are in
   * flight): the store's pressure as new work sees it, robust to one operation stuck alone (a key
   * locked by a stalled member). Cheap: the in-flight map keeps its start order.
   */
  waitedByOldest(count: number): number {
    if (this.#inFlight.size < count) return 0;
    let i = 0;
    for (const t0 of this.#inFlight.values()) if (++i === count) return Math.round(performance.now() - t0);
    return 0;
  }

  read(): { store: Record<string, StoreOperationStats>; inFlight: number; oldestMs: number } {
    const store: Record<string, StoreOperationStats> = {};
    for (const [op, h] of this.#ops) store[op] = h.read();
    let oldest = Infinity;
    for (const t0 of this.#inFlight.values()) if (t0 < oldest) oldest = t0;
    return {
      store,
      inFlight: this.#inFlight.size,
      oldestMs: this.#inFlight.size === 0 ? 0 : Math.round(performance.now() - oldest),
    };
  }
}

/** A store that cannot be reached for now (a failover, a cut), along the `cause` chain. */
function unreachable(err: unknown): boolean {
  return storeUnreachable(err);
}

// --- workflow figures (workflow/model/metrics.ts counts them; their shape is here) ---------------------

/** A histogram as Prometheus has it: cumulative bucket counts, seconds. */
export interface WorkflowHistogram {
  /** Upper bounds in seconds. */
  readonly buckets: readonly number[];
  /** Cumulative: `counts[i]` observations were at most `buckets[i]` seconds. */
  readonly counts: readonly number[];
  readonly count: number;
  /** Their total, seconds. */
  readonly sum: number;
}

/** One step's figures in one workflow kind (`WorkflowKindStats.steps`). */
export interface WorkflowStepStats {
  /** Attempts started on this node (a replayed, journaled step runs none). */
  readonly attempts: number;
  /** Attempts that failed and were followed by another (a retry entry journaled). */
  readonly retries: number;
  /** Steps that failed for good here: retries exhausted or a terminal error (not those a cancel ended). */
  readonly failures: number;
  /** How long each attempt ran, on the wall clock. */
  readonly duration: WorkflowHistogram;
}

/**
 * One workflow kind's figures on this node (`EntitiesStats.workflows`; workflow/model/metrics.ts counts
 * them). Counters run from the runtime's start.
 */
export interface WorkflowKindStats {
  /** Instances started (their start handled by an activation on this node). */
  readonly started: number;
  /** Instances that ended here, by status. */
  readonly completed: number;
  readonly failed: number;
  readonly cancelled: number;
  /** Instances that ran past their execution or run timeout here (status `timedOut`). */
  readonly timedOut: number;
  /** Runs that ended by continuing as new here (`ctx.continueAsNew`): the instance goes on in its next run. */
  readonly continued: number;
  /** Replays that diverged from the journal here: each halted its instance (blocked) until a resume. */
  readonly blockedTotal: number;
  /** Instances running (blocked ones included) in the activations this node holds now. */
  readonly open: number;
  /** Of those, the ones blocked (halted on a divergence). */
  readonly blocked: number;
  /** Start to end of the instances that ended here, on the runtime clock, per end status. */
  readonly duration: Readonly<Record<'completed' | 'failed' | 'cancelled' | 'timedOut', WorkflowHistogram>>;
  /**
   * Bodies resumed in a new activation here (after a move, a crash of the owner, a passivation):
   * from when they had work to do (their last journal write, or their sleep's or retry's due time)
   * to when they went on with it, their journal replayed. Not observed for a body that resumed
   * into a wait (a signal, a child's result).
   */
  readonly resumeLatency: WorkflowHistogram;
  /** Per step label (a step's name; `send <kind>`, `child start <kind>`, `call <kind>` for those). */
  readonly steps: Readonly<Record<string, WorkflowStepStats>>;
  /** Outbox messages journaled and not delivered yet, whose delivery runs on this node. */
  readonly outboxPending: number;
  /** How long ago the oldest of them was journaled, in ms on the runtime clock (0: none). */
  readonly outboxOldestPendingMs: number;
  /** Signals accepted, per declared signal name (duplicates of a kept id not counted). */
  readonly signals: Readonly<Record<string, number>>;
  /** Queries asked, per declared query name. */
  readonly queries: Readonly<Record<string, number>>;
  /** Updates accepted, per declared update name (a repeat of a kept update id not counted). */
  readonly updates: Readonly<Record<string, number>>;
}
