// Prometheus families for a durable-entities runtime (@ergo-ts/entities): entities active, shards,
// activations, passivations, hand-offs, store latency, journal writes (events, snapshots, events
// since the latest snapshot), reminders (fired, failed, lateness) and the inbox sweeper (keys with
// accepted messages waiting, the oldest one's age) and the projections started on the node (running
// or standing by, offset, events, caught up, last handled, failures), and its durable workflows
// (the `ergo_workflow_*` families of workflows.ts), read from the runtime's `stats()` at scrape time. The source is typed structurally (EntitiesStatsSource): neither package depends on
// the other, and entities never loads prom-client. The families are prom-client metric objects of
// their own (a `get()` that reads the snapshot), so counters and the latency histogram are
// rendered with their true types from the runtime's totals instead of being re-counted here.

import type { Registry } from 'prom-client';

import { WORKFLOW_FAMILIES, type WorkflowKindLike } from './workflows.js';

/** One store operation's latency as the runtime keeps it (cumulative bucket counts, seconds). */
export interface EntitiesStoreOperationLike {
  readonly buckets: readonly number[];
  readonly counts: readonly number[];
  readonly count: number;
  readonly sum: number;
  readonly errors: number;
}

/** One entity kind's figures as the runtime keeps them. */
export interface EntitiesKindLike {
  readonly active: number;
  readonly activations: number;
  readonly passivations: number;
  readonly stopped: number;
  readonly refused: number;
  /** Activations that handed off (a drain, or their shard moved); 0 when the source has no such figure. */
  readonly handedOff?: number;
  /** Events an event-sourced kind persisted (absent: 0). */
  readonly eventsPersisted?: number;
  /** Snapshots an event-sourced kind wrote (absent: 0). */
  readonly snapshots?: number;
  /** The most events an active activation of the kind has after its latest snapshot (absent: 0). */
  readonly eventsSinceSnapshot?: number;
}

/** The reminder scheduler's figures as the runtime keeps them (`EntitiesStats.reminders`). */
export interface EntitiesRemindersLike {
  readonly fired: number;
  readonly failed: number;
  readonly inFlight: number;
  /** Lateness of accepted fires: cumulative bucket counts, seconds. */
  readonly lateness: {
    readonly buckets: readonly number[];
    readonly counts: readonly number[];
    readonly count: number;
    readonly sum: number;
  };
}

/** The inbox sweeper's figures as the runtime keeps them (`EntitiesStats.inbox`). */
export interface EntitiesInboxLike {
  /** Keys of this node's shards with unprocessed durable messages at the last scan. */
  readonly pendingKeys: number;
  /** Age of the oldest unprocessed message the last scan saw, in ms (0: none). */
  readonly oldestPendingAgeMs: number;
  /** Keys the sweeper activated since the start. */
  readonly activated: number;
  /** Sweeper activations that failed (tried again later). */
  readonly failed: number;
}

/** A member's workflow load bounds as the runtime keeps them (`EntitiesStats.workflowLoad`). */
export interface EntitiesWorkflowLoadLike {
  readonly activeRuns: number;
  readonly maxActiveRuns: number;
  readonly startsWaiting: number;
  readonly maxWaitingStarts: number;
  readonly startsAdmitted: number;
  readonly startsHeld: number;
  readonly startsRefused: number;
  readonly stepsRunning: number;
  readonly stepsWaiting: number;
  readonly maxConcurrentSteps: number;
}

/** One projection's figures as the runtime keeps them (`EntitiesStats.projections`). */
export interface EntitiesProjectionLike {
  readonly name: string;
  readonly running: boolean;
  readonly offset: number;
  readonly delivered: number;
  readonly caughtUp: boolean;
  /** Unix ms of the last event handled here (0: never). */
  readonly lastHandledAt: number;
  readonly failures: number;
}

/** The figures {@link EntitiesCollector} reads: `EntitiesStats` of `@ergo-ts/entities`. */
export interface EntitiesStatsLike {
  readonly members: readonly string[];
  readonly shards: number;
  readonly shardsOwned: number;
  readonly shardsGained: number;
  readonly shardsLost: number;
  /** Activations handed off, every kind (absent: 0). */
  readonly handOffs?: number;
  /** True once the runtime began to drain (absent: false). */
  readonly draining?: boolean;
  readonly kinds: Readonly<Record<string, EntitiesKindLike>>;
  readonly store: Readonly<Record<string, EntitiesStoreOperationLike>>;
  readonly storeInFlight: number;
  readonly storeOldestInFlightMs: number;
  /** The reminder scheduler's figures (absent: the store keeps no reminders; no samples then). */
  readonly reminders?: EntitiesRemindersLike;
  /** The inbox sweeper's figures (absent: the store cannot list pending inboxes; no samples then). */
  readonly inbox?: EntitiesInboxLike;
  /** The projections started on this node (absent: none; one sample per projection and family). */
  readonly projections?: readonly EntitiesProjectionLike[];
  /** Per workflow kind, its figures (absent: none; the `ergo_workflow_*` families, workflows.ts). */
  readonly workflows?: Readonly<Record<string, WorkflowKindLike>>;
  /** The member's workflow load bounds (absent: no workflow kinds, a client-only node, an older runtime). */
  readonly workflowLoad?: EntitiesWorkflowLoadLike;
}

/** Anything with the figures: the `Entities` runtime of `@ergo-ts/entities` (`startEntities`). */
export interface EntitiesStatsSource {
  stats(): EntitiesStatsLike;
}

type Labels = Record<string, string | number>;
interface Value {
  value: number;
  labels: Labels;
  metricName?: string;
}
type Kind = 'counter' | 'gauge' | 'histogram';

/** The families, in the order they are registered. */
const FAMILIES: readonly [string, Kind, string, (s: EntitiesStatsLike, name: string) => Value[]][] = [
  ['ergo_entities_active', 'gauge', 'Entities active on this node', (s) => perKind(s, (k) => k.active)],
  ['ergo_entities_activations_total', 'counter', 'Entity activations started', (s) => perKind(s, (k) => k.activations)],
  ['ergo_entities_passivations_total', 'counter', 'Entities stopped idle', (s) => perKind(s, (k) => k.passivations)],
  [
    'ergo_entities_stopped_total',
    'counter',
    'Entity activations ended otherwise (lease lost, runtime stopped, failure)',
    (s) => perKind(s, (k) => k.stopped),
  ],
  [
    'ergo_entities_refused_writes_total',
    'counter',
    'Entity writes refused as stale (a newer activation held the key)',
    (s) => perKind(s, (k) => k.refused),
  ],
  [
    'ergo_entities_handed_off_total',
    'counter',
    'Entity activations handed off to another member (a drain, or their shard moved)',
    (s) => perKind(s, (k) => k.handedOff ?? 0),
  ],
  [
    'ergo_entities_activation_handoffs_total',
    'counter',
    'Entity activations handed off to another member, every kind',
    (s) => one(s.handOffs ?? 0),
  ],
  [
    'ergo_entities_draining',
    'gauge',
    '1 once this node drains (takes no activation, hands its entities off), else 0',
    (s) => one(s.draining === true ? 1 : 0),
  ],
  ['ergo_entities_members', 'gauge', 'Live entity members seen by this node', (s) => one(s.members.length)],
  ['ergo_entities_shards', 'gauge', 'Shards keys map to', (s) => one(s.shards)],
  ['ergo_entities_shards_owned', 'gauge', 'Shards this node owns', (s) => one(s.shardsOwned)],
  [
    'ergo_entities_handoffs_total',
    'counter',
    'Shards moved to (in) or away from (out) this node when the members changed',
    (s) => [
      { value: s.shardsGained, labels: { direction: 'in' } },
      { value: s.shardsLost, labels: { direction: 'out' } },
    ],
  ],
  ['ergo_entities_store_seconds', 'histogram', 'Entity store operation latency', (s, name) => histograms(s, name)],
  [
    'ergo_entities_store_errors_total',
    'counter',
    'Entity store operations that failed',
    (s) => Object.entries(s.store).map(([operation, o]) => ({ value: o.errors, labels: { operation } })),
  ],
  ['ergo_entities_store_in_flight', 'gauge', 'Entity store operations not finished yet', (s) => one(s.storeInFlight)],
  [
    'ergo_entities_store_oldest_in_flight_seconds',
    'gauge',
    'Age of the oldest entity store operation not finished yet',
    (s) => one(s.storeOldestInFlightMs / 1000),
  ],
  [
    'ergo_entities_events_persisted_total',
    'counter',
    'Events persisted by event-sourced entities',
    (s) => perKind(s, (k) => k.eventsPersisted ?? 0),
  ],
  [
    'ergo_entities_snapshots_total',
    'counter',
    'Snapshots written by event-sourced entities',
    (s) => perKind(s, (k) => k.snapshots ?? 0),
  ],
  [
    'ergo_entities_events_since_snapshot',
    'gauge',
    'Most events an active event-sourced entity has after its latest snapshot (replayed if it crashed)',
    (s) => perKind(s, (k) => k.eventsSinceSnapshot ?? 0),
  ],
  [
    'ergo_entities_reminders_fired_total',
    'counter',
    'Reminder fires the entities accepted',
    (s) => (s.reminders === undefined ? [] : one(s.reminders.fired)),
  ],
  [
    'ergo_entities_reminders_failed_total',
    'counter',
    'Reminder deliveries that failed (retried later)',
    (s) => (s.reminders === undefined ? [] : one(s.reminders.failed)),
  ],
  [
    'ergo_entities_reminders_in_flight',
    'gauge',
    'Reminder fires being delivered now',
    (s) => (s.reminders === undefined ? [] : one(s.reminders.inFlight)),
  ],
  [
    'ergo_entities_inbox_pending_keys',
    'gauge',
    'Keys of this node with accepted durable messages not processed yet (at the last inbox scan)',
    (s) => (s.inbox === undefined ? [] : one(s.inbox.pendingKeys)),
  ],
  [
    'ergo_entities_inbox_oldest_pending_seconds',
    'gauge',
    'Age of the oldest accepted durable message not processed yet on this node (seen by the last inbox scan)',
    (s) => (s.inbox === undefined ? [] : one(s.inbox.oldestPendingAgeMs / 1000)),
  ],
  [
    'ergo_entities_inbox_activations_total',
    'counter',
    'Keys the inbox sweeper activated to handle messages waiting in their inbox',
    (s) => (s.inbox === undefined ? [] : one(s.inbox.activated)),
  ],
  [
    'ergo_entities_inbox_activation_failures_total',
    'counter',
    'Inbox sweeper activations that failed or found the lease held (tried again later)',
    (s) => (s.inbox === undefined ? [] : one(s.inbox.failed)),
  ],
  [
    'ergo_workflow_active_runs',
    'gauge',
    'Workflow runs with work to do on this member now (bounded by maxActiveRuns; runs waiting on a sleep, signal, update or child not counted)',
    (s) => (s.workflowLoad === undefined ? [] : one(s.workflowLoad.activeRuns)),
  ],
  [
    'ergo_workflow_active_runs_limit',
    'gauge',
    'The bound on workflow runs with work to do on this member (maxActiveRuns)',
    (s) => (s.workflowLoad === undefined ? [] : one(s.workflowLoad.maxActiveRuns)),
  ],
  [
    'ergo_workflow_starts_waiting',
    'gauge',
    'New workflow starts held waiting for room on this member now (bounded by maxWaitingStarts)',
    (s) => (s.workflowLoad === undefined ? [] : one(s.workflowLoad.startsWaiting)),
  ],
  [
    'ergo_workflow_start_admissions_total',
    'counter',
    'New workflow starts by admission: given room at once, after waiting in line, or refused with ERR_ENTITY_OVERLOADED',
    (s) =>
      s.workflowLoad === undefined
        ? []
        : [
            { value: s.workflowLoad.startsAdmitted, labels: { decision: 'admitted' } },
            { value: s.workflowLoad.startsHeld, labels: { decision: 'held' } },
            { value: s.workflowLoad.startsRefused, labels: { decision: 'refused' } },
          ],
  ],
  [
    'ergo_workflow_steps_running',
    'gauge',
    'Workflow step attempts running with a permit on this member now (bounded by maxConcurrentSteps)',
    (s) => (s.workflowLoad === undefined ? [] : one(s.workflowLoad.stepsRunning)),
  ],
  [
    'ergo_workflow_steps_waiting',
    'gauge',
    'Workflow step attempts waiting for a permit on this member now',
    (s) => (s.workflowLoad === undefined ? [] : one(s.workflowLoad.stepsWaiting)),
  ],
  [
    'ergo_workflow_steps_limit',
    'gauge',
    'The bound on workflow step attempts run at once on this member (maxConcurrentSteps)',
    (s) => (s.workflowLoad === undefined ? [] : one(s.workflowLoad.maxConcurrentSteps)),
  ],
  [
    'ergo_entities_projection_running',
    'gauge',
    'Projections: 1 while this node runs it, 0 while it stands by (another member runs it)',
    (s) => perProjection(s, (p) => (p.running ? 1 : 0)),
  ],
  [
    'ergo_entities_projection_offset',
    'gauge',
    'Projections: the journal offset of the last event handled on this node',
    (s) => perProjection(s, (p) => p.offset),
  ],
  [
    'ergo_entities_projection_events_total',
    'counter',
    'Projections: events handled on this node',
    (s) => perProjection(s, (p) => p.delivered),
  ],
  [
    'ergo_entities_projection_caught_up',
    'gauge',
    'Projections: 1 when the last read of the journal found less than a batch (nothing waits behind), else 0',
    (s) => perProjection(s, (p) => (p.caughtUp ? 1 : 0)),
  ],
  [
    'ergo_entities_projection_last_handled_timestamp_seconds',
    'gauge',
    'Projections: when this node last handled an event (Unix seconds; 0: never)',
    (s) => perProjection(s, (p) => p.lastHandledAt / 1000),
  ],
  [
    'ergo_entities_projection_failures_total',
    'counter',
    'Projections: journal reads and deliveries that failed on this node (each tried again)',
    (s) => perProjection(s, (p) => p.failures),
  ],
  [
    'ergo_entities_reminder_lateness_seconds',
    'histogram',
    'How late accepted reminder fires were (accepted time minus due time)',
    (s, name) => lateness(s, name),
  ],
  ...WORKFLOW_FAMILIES.map(
    ([name, type, help, values]) =>
      [name, type, help, (s: EntitiesStatsLike, n: string): Value[] => values(s.workflows, n)] as [
        string,
        Kind,
        string,
        (s: EntitiesStatsLike, name: string) => Value[],
      ],
  ),
];

function one(value: number): Value[] {
  return [{ value, labels: {} }];
}

function perKind(s: EntitiesStatsLike, f: (k: EntitiesKindLike) => number): Value[] {
  return Object.entries(s.kinds).map(([kind, k]) => ({ value: f(k), labels: { kind } }));
}

function perProjection(s: EntitiesStatsLike, f: (p: EntitiesProjectionLike) => number): Value[] {
  return (s.projections ?? []).map((p) => ({ value: f(p), labels: { projection: p.name } }));
}

function histograms(s: EntitiesStatsLike, name: string): Value[] {
  const out: Value[] = [];
  for (const [operation, o] of Object.entries(s.store)) {
    o.buckets.forEach((le, i) =>
      out.push({ metricName: `${name}_bucket`, value: o.counts[i] ?? 0, labels: { le, operation } }),
    );
    out.push({ metricName: `${name}_bucket`, value: o.count, labels: { le: '+Inf', operation } });
    out.push({ metricName: `${name}_sum`, value: o.sum, labels: { operation } });
    out.push({ metricName: `${name}_count`, value: o.count, labels: { operation } });
  }
  return out;
}

function lateness(s: EntitiesStatsLike, name: string): Value[] {
  const l = s.reminders?.lateness;
  if (l === undefined) return [];
  const out: Value[] = l.buckets.map((le, i) => ({
    metricName: `${name}_bucket`,
    value: l.counts[i] ?? 0,
    labels: { le },
  }));
  out.push({ metricName: `${name}_bucket`, value: l.count, labels: { le: '+Inf' } });
  out.push({ metricName: `${name}_sum`, value: l.sum, labels: {} });
  out.push({ metricName: `${name}_count`, value: l.count, labels: {} });
  return out;
}

/**
 * Adds the `ergo_entities_*` families to `registry`, read from `source.stats()` at every scrape
 * (one snapshot per scrape). Use the registry of the node's Metrics actor (its `registry` option,
 * or `Metrics.registry()`), so the families share its `node` label; one runtime per registry.
 * Throws when a family of the same name is registered already.
 *
 * @example
 * const registry = new Registry();
 * await node.spawnRegister(METRICS_NAME, Metrics, {}, { port: 9090, registry });
 * const entities = await startEntities(node, { store, kinds: [Counter] });
 * const collector = new EntitiesCollector(entities, registry);
 * // ... collector.close() before the runtime stops
 */
export class EntitiesCollector {
  readonly #registry: Registry;
  readonly #source: EntitiesStatsSource;
  #snapshot: EntitiesStatsLike | undefined;
  #closed = false;

  constructor(source: EntitiesStatsSource, registry: Registry) {
    if (typeof source?.stats !== 'function')
      throw Object.assign(new TypeError('EntitiesCollector: source must have a stats() method'), {
        code: 'ERR_METRICS_BAD_SOURCE',
      });
    this.#source = source;
    this.#registry = registry;
    for (const [name] of FAMILIES)
      if (registry.getSingleMetric(name) !== undefined)
        throw Object.assign(new Error(`EntitiesCollector: ${name} is registered already`), {
          code: 'ERR_METRICS_DUPLICATE',
        });
    for (const [name, type, help, values] of FAMILIES) {
      const metric = {
        name,
        help,
        type,
        aggregator: 'sum' as const,
        get: () => ({ name, help, type, aggregator: 'sum' as const, values: values(this.#read(), name) }),
        reset: () => undefined,
      };
      registry.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0]);
    }
  }

  /** Removes the families from the registry. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const [name] of FAMILIES) this.#registry.removeSingleMetric(name);
  }

  /** One snapshot for all families of a scrape: the registry reads them in one synchronous pass. */
  #read(): EntitiesStatsLike {
    if (this.#snapshot === undefined) {
      this.#snapshot = this.#source.stats();
      queueMicrotask(() => (this.#snapshot = undefined));
    }
    return this.#snapshot;
  }
}
