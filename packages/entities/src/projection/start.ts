// Projections (Akka Projections' anchor): a process that follows the journal of one event-sourced
// kind (optionally one tag) from the offset it stored and delivers its events in journal order.
// Three ways to run one:
// - on a store (`startProjection(node, { store, ... })`): it runs where it is started, delivers
//   each event at least once to a function or a process, and stores its offset in the entity
//   store after each batch, unfenced (one runner per name is the caller's to ensure);
// - on a cluster (`startProjection(node, { cluster, ... })`): every member may start it, and it
//   runs on one of them at a time — the holder of the projection's lease (singleton_lease.ts),
//   taken over when that member's node dies or leaves — at least once, its offset written under
//   the lease's fencing token (a runner that lost the lease writes nothing);
// - exactly once (`startExactlyOnceProjection`): a singleton as above whose handler gets each batch
//   with a transaction of the user's own PostgreSQL pool, the offset committed in that same
//   transaction (read_model_offsets.ts).
// runner.ts is the process; this file checks the options and hands out the Projection handle.

import { randomUUID } from 'node:crypto';

import { ignorable, rejected, TerminateReasonShutdown, type Node, type PID, type ProcessID } from 'ergo-ts';
import type { Pool, PoolClient } from 'pg';

import { ErrEntityIncorrect } from '../contract/errors.js';
import { checkKey, type EntityStore } from '../contract/store.js';
import { MAX_JOURNAL_BATCH } from '../contract/journal.js';
import type { EventSourcedKind } from '../kinds/event_sourced.js';
import { ownerNode } from '../runtime/manager_protocol.js';
import { ENTITIES_DEFAULTS } from '../runtime/options.js';
import {
  trackProjection,
  untrackProjection,
  type ProjectionMode,
  type ProjectionStats,
} from '../inspect/projections.js';
import type { Entities } from '../entities.js';
import { DEFAULT_READ_LIMIT, type JournalEvent, type KindEvent } from './journal_events.js';
import { checkTableName, DEFAULT_OFFSETS_TABLE, ReadModelOffsets } from './read_model_offsets.js';
import { ProjectionRunner, type Delivery, type RunnerSettings, type RunnerStatus } from './runner.js';
import { SingletonLease } from './singleton_lease.js';

export { readEvents, type JournalEvent, type KindEvent } from './journal_events.js';
export { PROJECTION_LEASE_KIND } from './singleton_lease.js';

/** Defaults of {@link ProjectionOptions} and {@link ExactlyOnceProjectionOptions}. */
export const PROJECTION_DEFAULTS = Object.freeze({
  batchSize: DEFAULT_READ_LIMIT,
  pollIntervalMs: 200,
  retryIntervalMs: 1000,
  callTimeoutMs: 5000,
  /** How often a member standing by tries to take a singleton projection's lease. */
  standbyIntervalMs: 500,
  /** The read-model table of exactly-once projections' offsets. */
  offsetsTable: DEFAULT_OFFSETS_TABLE,
});

/**
 * Where a projection runs: on a store (`store`: where it is started; one runner per name is yours
 * to ensure) or on a cluster (`cluster`: the entities runtime of this node; one runner across the
 * members that start it, taken over when its node dies or leaves). Exactly one of the two.
 */
export type ProjectionPlacement =
  | {
      /** The store the kind's entities write to (the projection's offset and lease are kept there too). */
      readonly store: EntityStore;
      readonly cluster?: never;
    }
  | {
      /** This node's entities runtime: its store, its members and their failure detection are used. */
      readonly cluster: Entities;
      readonly store?: never;
    };

/** The options every projection takes. */
export interface ProjectionBase<K extends EventSourcedKind<any, any, any>> {
  /** The projection's name: its offset and its lease are kept under it. A non-empty key (at most 512 bytes). */
  readonly name: string;
  /** The event-sourced kind whose events it follows. */
  readonly kind: K;
  /** Only events with this tag (the kind's `tagger`). */
  readonly tag?: string;
  /** Events read per store query (1..10 000). Default 100. */
  readonly batchSize?: number;
  /** The pause before reading again once it has caught up, in ms. Default 200. */
  readonly pollIntervalMs?: number;
  /** The pause before delivering a failed event (batch) again, in ms. Default 1000. */
  readonly retryIntervalMs?: number;
  /** Singleton: how often a member standing by tries to take the lease, in ms. Default 500. */
  readonly standbyIntervalMs?: number;
  /**
   * Singleton: how long the projection's lease lasts unless renewed (every third of it), in ms.
   * Default the cluster's `leaseTtlMs` (10 000 on a store). A runner paused longer loses it.
   */
  readonly leaseTtlMs?: number;
}

/** What {@link startProjection} takes. */
export type ProjectionOptions<K extends EventSourcedKind<any, any, any>> = ProjectionBase<K> &
  ProjectionPlacement & {
    /**
     * Who handles each event: a function (its returned Promise is awaited), or a process (a PID
     * or ProcessID) that is called with the {@link JournalEvent} and acknowledges it by replying.
     */
    readonly handler: ((event: JournalEvent<KindEvent<K>>) => unknown) | PID | ProcessID;
    /** How long a handler process has to reply, in ms. Default 5000. */
    readonly callTimeoutMs?: number;
  };

/** What {@link startExactlyOnceProjection} takes. */
export type ExactlyOnceProjectionOptions<K extends EventSourcedKind<any, any, any>> = ProjectionBase<K> &
  ProjectionPlacement & {
    /** Your PostgreSQL pool (`pg`) on the read model's database: batches and offsets are written through it. */
    readonly pool: Pool;
    /** The table of the offsets in the read model's database (`name` or `schema.name`), created if missing. Default `ergo_projection_offsets`. */
    readonly offsetsTable?: string;
    /**
     * Applies one batch (in journal order) to the read model through `tx`, a connection of `pool`
     * inside a transaction that also moves the projection's offset: both commit together, or
     * neither. Use only `tx` for the read model's writes, and leave BEGIN, COMMIT, ROLLBACK and
     * `release()` to the runner. A throw (or rejection) rolls the batch back; it is applied again
     * after `retryIntervalMs`. The transaction may sit idle between statements at most the
     * lease's ttl (the server then ends it, and the batch is applied again).
     */
    readonly handleBatch: (events: readonly JournalEvent<KindEvent<K>>[], tx: PoolClient) => Promise<unknown>;
  };

function positive(name: string, v: number | undefined, dflt: number, max = 2 ** 31 - 1): number {
  const n = v ?? dflt;
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw ErrEntityIncorrect.with(`${name} must be an integer in 1..${max}, got ${String(v)}`);
  return n;
}

/** The singleton projections started on each store, by `node name\nprojection name` (one per node and name). */
const startedHere = new WeakMap<EntityStore, Set<string>>();

/**
 * A running projection (from {@link startProjection} or {@link startExactlyOnceProjection}).
 * {@link stop} ends its process (an event or batch being handled finishes first) and gives a
 * singleton's lease back, so another member takes over at its next try; the offset stays stored,
 * and a projection started again with the same name resumes from it.
 */
export class Projection {
  readonly #node: Node;
  readonly #status: RunnerStatus;
  readonly #ended: Promise<void>;
  readonly #view: () => ProjectionStats;

  /** @internal */
  constructor(
    node: Node,
    /** The projection's process. */
    readonly pid: PID,
    status: RunnerStatus,
    ended: Promise<void>,
    view: () => ProjectionStats,
  ) {
    this.#node = node;
    this.#status = status;
    this.#ended = ended;
    this.#view = view;
  }

  /** Its figures now, as `Entities.stats().projections` lists them (still readable after it stopped). */
  stats(): ProjectionStats {
    return this.#view();
  }

  /** The offset of the last event handled here (for a singleton: since it last took the projection over). */
  offset(): number {
    return this.#status.offset;
  }

  /** How many events this process handled. */
  delivered(): number {
    return this.#status.delivered;
  }

  /** Whether the projection runs in this process now (always, on a store; a singleton: while it holds the lease). */
  running(): boolean {
    return this.#status.running;
  }

  /** The fencing token this process last ran the projection under (0: on a store, or never ran). */
  token(): number {
    return this.#status.token;
  }

  /** Stops the projection's process; resolves once it ended and its lease was given back. Idempotent. */
  stop(): Promise<void> {
    try {
      this.#node.sendExit(this.pid, TerminateReasonShutdown);
    } catch {
      // Already gone.
    }
    return this.#ended;
  }
}

/** Checks what every projection takes; throws ERR_ENTITY_INCORRECT. */
function checked(
  options: ProjectionBase<EventSourcedKind> & { store?: EntityStore; cluster?: Entities },
  delivery: () => Delivery,
  node: Node,
  singleton: boolean,
): { settings: RunnerSettings; ended: Promise<void>; view: () => ProjectionStats } {
  if (typeof options.name !== 'string' || options.name === '')
    throw ErrEntityIncorrect.with('a projection needs a non-empty name');
  if (typeof options.kind?.journal !== 'object')
    throw ErrEntityIncorrect.with('a projection follows an event-sourced kind (defineEventSourcedEntity)');
  const { cluster } = options;
  if ((cluster === undefined) === (options.store === undefined))
    throw ErrEntityIncorrect.with('a projection takes exactly one of `store` and `cluster`');
  if (cluster !== undefined && typeof cluster.holderDead !== 'function')
    throw ErrEntityIncorrect.with('`cluster` is the entities runtime startEntities resolved with');
  const store = cluster?.store ?? options.store!;
  const leased = singleton || cluster !== undefined;
  const ttlMs = positive('leaseTtlMs', options.leaseTtlMs, cluster?.leaseTtlMs ?? ENTITIES_DEFAULTS.leaseTtlMs);
  const batchSize = positive('batchSize', options.batchSize, PROJECTION_DEFAULTS.batchSize, MAX_JOURNAL_BATCH);
  const pollMs = positive('pollIntervalMs', options.pollIntervalMs, PROJECTION_DEFAULTS.pollIntervalMs);
  const retryMs = positive('retryIntervalMs', options.retryIntervalMs, PROJECTION_DEFAULTS.retryIntervalMs);
  const standbyMs = positive('standbyIntervalMs', options.standbyIntervalMs, PROJECTION_DEFAULTS.standbyIntervalMs);
  if (options.tag !== undefined && (typeof options.tag !== 'string' || options.tag === ''))
    throw ErrEntityIncorrect.with(`a projection's tag is a non-empty string, got ${JSON.stringify(options.tag)}`);
  const deliver = delivery();
  let lease: SingletonLease | undefined;
  let release = (): void => undefined;
  if (leased) {
    checkKey(options.name);
    const here = `${node.name}\n${options.name}`;
    let started = startedHere.get(store);
    if (started === undefined) startedHere.set(store, (started = new Set()));
    if (started.has(here))
      throw ErrEntityIncorrect.with(`projection ${options.name} is started on node ${node.name} already`);
    const owner = cluster?.owner ?? `${node.name}#${randomUUID()}`;
    lease = new SingletonLease({
      store,
      name: options.name,
      owner,
      ttlMs,
      // A member declared down, or an earlier run of this node (killed, started again).
      dead: cluster !== undefined ? (h) => cluster.holderDead(h) : (h) => ownerNode(h) === node.name,
      // A member's runtime holds a liveness claim the store answers for; an earlier run of this
      // node is gone (this node runs now under its name).
      gone: cluster !== undefined ? (h) => cluster.holderGone(h) : () => Promise.resolve(true),
      log: node.log,
    });
    started.add(here);
    release = () => void started.delete(here);
  }
  let ended!: () => void;
  const endedP = new Promise<void>((resolve) => (ended = resolve));
  const status: RunnerStatus = {
    offset: 0,
    delivered: 0,
    running: false,
    token: 0,
    caughtUp: false,
    lastHandledAt: 0,
    failures: 0,
    lastError: undefined,
    ended: (released) => {
      untrackProjection(node, view);
      void released.finally(() => {
        release();
        ended();
      });
    },
  };
  const mode: ProjectionMode = deliver.kind === 'batch' ? 'exactly-once' : deliver.kind;
  const view = (): ProjectionStats => ({
    name: options.name,
    kind: options.kind.name,
    ...(options.tag === undefined ? {} : { tag: options.tag }),
    mode,
    singleton: leased,
    running: status.running,
    token: status.token,
    offset: status.offset,
    delivered: status.delivered,
    caughtUp: status.caughtUp,
    lastHandledAt: status.lastHandledAt,
    failures: status.failures,
    ...(status.lastError === undefined ? {} : { lastError: status.lastError }),
  });
  trackProjection(node, view);
  const settings: RunnerSettings = {
    name: options.name,
    store,
    kind: options.kind,
    tag: options.tag,
    delivery: deliver,
    batchSize,
    pollMs,
    retryMs,
    standbyMs,
    lease,
    renewMs: Math.max(1, Math.floor(ttlMs / 3)),
    leaving: cluster !== undefined ? () => cluster.leaving : () => false,
    status,
  };
  return { settings, ended: endedP, view };
}

/** Spawns the runner; a failed spawn forgets the name started here. */
function spawnRunner(
  node: Node,
  what: string,
  c: { settings: RunnerSettings; ended: Promise<void>; view: () => ProjectionStats },
): Promise<Projection> {
  return ignorable(
    node.spawn(ProjectionRunner, {}, c.settings).then(
      (pid) => new Projection(node, pid, c.settings.status, c.ended, c.view),
      (err: unknown) => {
        c.settings.status.ended(Promise.resolve());
        throw err;
      },
    ),
    node.log,
    what,
  );
}

/**
 * Starts a projection on `node`, delivering each event of `kind` (of `tag`) at least once, in
 * journal order, to `handler`. With `store`, it runs here from the offset stored under `name`.
 * With `cluster` (this node's entities runtime), it runs on one member at a time: start it on every
 * member; the one that takes the projection's lease runs it, the others stand by and take it over
 * (within `standbyIntervalMs` of the runner's node being declared down, its drain, its stop, or
 * its lease running out) from the offset the last runner stored. A runner that lost the lease
 * writes no offset, and checks the lease by its own clock before each event (a runner resumed
 * after a pause stops before it handles one); a handler's own writes are not fenced — use
 * {@link startExactlyOnceProjection} for that. Rejects with ERR_ENTITY_INCORRECT for a bad option
 * (also: the same name started twice on one node with `cluster`), or the store's error reading the
 * offset.
 *
 * @example
 * const p = await startProjection(node, {
 *   name: 'cart-totals', cluster: entities, kind: Cart,
 *   handler: async (e) => { if (e.event.type === 'added') await totals.add(e.key, e.event.qty); },
 * });
 */
export function startProjection<K extends EventSourcedKind<any, any, any>>(
  node: Node,
  options: ProjectionOptions<K>,
): Promise<Projection> {
  let c: ReturnType<typeof checked>;
  try {
    const h = options.handler;
    if (typeof h !== 'function' && (typeof h !== 'object' || h === null))
      throw ErrEntityIncorrect.with('a projection handler is a function, a PID or a ProcessID');
    const callMs = positive('callTimeoutMs', options.callTimeoutMs, PROJECTION_DEFAULTS.callTimeoutMs);
    c = checked(
      options as ProjectionBase<EventSourcedKind> & { store?: EntityStore; cluster?: Entities },
      () =>
        typeof h === 'function'
          ? { kind: 'each', handler: h as (event: JournalEvent) => unknown }
          : { kind: 'process', to: h, callMs },
      node,
      false,
    );
  } catch (e) {
    return rejected(e, node.log, 'startProjection');
  }
  return spawnRunner(node, 'startProjection', c);
}

/**
 * Starts an exactly-once projection on `node`: a singleton (as {@link startProjection} with
 * `cluster`; with `store`, one runner among the processes sharing that store, taken over when its
 * lease expires) whose `handleBatch` gets each batch of events with a transaction of `pool`, in
 * which the runner also writes the projection's offset (table `offsetsTable`, created if missing):
 * a batch and its offset commit together or not at all, so a kill -9 anywhere applies no event
 * twice and loses none. A runner that lost the lease applies nothing: its transaction checks the
 * runner's fencing token in the offsets row, which the new runner claimed first. Start it on
 * every member with the same name, pool database and table. Rejects with ERR_ENTITY_INCORRECT for a
 * bad option (a missing pool or handleBatch, a bad table name, the same name started twice on one
 * node).
 *
 * @example
 * const p = await startExactlyOnceProjection(node, {
 *   name: 'balances', cluster: entities, kind: Account, pool,
 *   handleBatch: async (events, tx) => {
 *     for (const e of events)
 *       await tx.query('UPDATE balances SET amount = amount + $2 WHERE id = $1', [e.key, e.event.amount]);
 *   },
 * });
 */
export function startExactlyOnceProjection<K extends EventSourcedKind<any, any, any>>(
  node: Node,
  options: ExactlyOnceProjectionOptions<K>,
): Promise<Projection> {
  let c: ReturnType<typeof checked>;
  try {
    if (typeof options.handleBatch !== 'function')
      throw ErrEntityIncorrect.with('an exactly-once projection needs handleBatch(events, tx)');
    const pool = options.pool;
    if (typeof pool?.connect !== 'function' || typeof pool.query !== 'function')
      throw ErrEntityIncorrect.with("an exactly-once projection needs `pool`, a pg Pool on the read model's database");
    const table = checkTableName(options.offsetsTable ?? PROJECTION_DEFAULTS.offsetsTable);
    const base = options as ProjectionBase<EventSourcedKind> & { store?: EntityStore; cluster?: Entities };
    const ttlMs = options.leaseTtlMs ?? options.cluster?.leaseTtlMs ?? ENTITIES_DEFAULTS.leaseTtlMs;
    c = checked(
      base,
      () => ({
        kind: 'batch',
        handler: options.handleBatch as (events: readonly JournalEvent[], tx: PoolClient) => Promise<unknown>,
        offsets: new ReadModelOffsets(pool, table, options.name, ttlMs),
      }),
      node,
      true,
    );
  } catch (e) {
    return rejected(e, node.log, 'startExactlyOnceProjection');
  }
  return spawnRunner(node, 'startExactlyOnceProjection', c);
}
