// The entities test kit: a user's entity kinds run on the REAL runtime (startEntities, the real
// host and manager processes, on a real local node), with an in-memory store and the core kit's
// TestClock in place of a database and the wall clock. Nothing is re-implemented, so a test
// exercises the code production runs: activation, the save after each handler, durable messages
// through the inbox, passivation, fencing. What changes is only what makes tests deterministic:
// the store is a MemoryStore whose leases expire on the test clock, and the runtime's own timing
// (passivation, lease renewal) runs on that clock too (the runtime's internal clock seam), so
// nothing happens with time until the test moves it.
//
// Extension points, for the capabilities that grow the package:
// - time: `kit.clock` / `advanceTime(ms)` drive every timer the runtime schedules on its clock
//   seam (contract/clock.ts); reminders schedule there, so "fire a reminder" is `advanceTime` past it, or a
//   `TestEntity` method beside `passivate()` that moves the clock to the reminder's due time;
// - what the runtime did: `events()` records every EntityEvent the runtime publishes on
//   `ergo-ts:entities`, whatever its name (a reminder fired, events persisted), with no change
//   here; assertions about them are filters on that record;
// - per-kind handles: `entity(kind, key)` is the one factory of handles; a kind of another mode
//   (event-sourced, a durable state machine) gets a subclass of TestEntity there, with its own
//   reads of the store (the journal of a key, its pending reminders) through MemoryStore methods.

import { ErrTimeout, type AnyProtocol, type Node } from 'ergo-ts';
import { TestClock, startTestNode } from 'ergo-ts/testing';

import type { EntityKind } from '../kinds/entity.js';
import { ErrEntityIncorrect } from '../contract/errors.js';
import type { EventOf, EventSchemas, EventSourcedKind } from '../kinds/event_sourced.js';
import { fireId } from '../runtime/reminder_scheduler.js';
import type { EntityEvent } from '../runtime/host_runtime.js';
import { MemoryStore } from '../store/memory_store.js';
import { leaseIdOf } from '../runtime/leases.js';
import type { Entities } from '../entities.js';
import { startEntitiesWith, type EntitiesOptions } from '../entities.js';
import { ENTITIES_DEFAULTS } from '../runtime/options.js';
import type { WorkflowQueuesOptions } from '../workflow/scheduling/queues.js';
import type { RetentionSettings } from '../workflow/operator/retention.js';
import type { StoreCodec } from '../contract/store.js';
import { EventRecorder, type EntityEventMatch } from './event_recorder.js';
import { TestEntity, type TestKitContext, type TestableKind } from './test_entity.js';
import { TestWorkflows } from './test_workflows.js';

/** One reminder fire {@link TestEntities.fireDueReminders} found due and had delivered. */
export interface TestReminderFire {
  readonly kind: string;
  readonly key: string;
  /** The reminder's name. */
  readonly name: string;
  /** The fire's id (what the entity's `fire.fireId` was; the inbox de-duplicates by it). */
  readonly fireId: string;
  /** When it was due, epoch ms on the test clock. */
  readonly scheduledAt: number;
}

/** Defaults of {@link TestEntitiesOptions}. */
export const TEST_ENTITIES_DEFAULTS = Object.freeze({
  /** The test clock's start: 2025-01-01T00:00:00Z, as the core kit's. */
  time: Date.UTC(2025, 0, 1),
  /** The real-time bound of the kit's own waits, in ms (a hang guard, not a timing check). */
  timeoutMs: 5000,
});

/** Options of {@link startTestEntities}. */
export interface TestEntitiesOptions {
  /** The entity kinds under test: state-mode (durable state machines included) and event-sourced. */
  readonly kinds: readonly (EntityKind<any, any> | EventSourcedKind<any, any, any>)[];
  /** The test clock's start (default {@link TEST_ENTITIES_DEFAULTS}.time); ignored with `clock`. */
  readonly time?: Date | number;
  /** A test clock of your own (shared with other code under test); default a new one at `time`. */
  readonly clock?: TestClock;
  /**
   * The store: default a new `MemoryStore` on the kit's clock (with `codec`). Give one to start
   * from data prepared before (`new MemoryStore({ clock })`, written through its methods); the
   * kit leaves a store it did not make open.
   */
  readonly store?: MemoryStore;
  /**
   * How the default store encodes values (default `structuredCodec`): a state your codec cannot keep
   * fails as in production.
   */
  readonly codec?: StoreCodec;
  /** Run on this node (the kit leaves it running); default a fresh `startTestNode()`, stopped by the kit. */
  readonly node?: Node;
  /** The runtime's lease time, in ms of the test clock. Default the runtime's (10 000). */
  readonly leaseTtlMs?: number;
  /** How often leases are renewed, in ms of the test clock. Default a third of `leaseTtlMs`. */
  readonly renewIntervalMs?: number;
  /** What one lease covers, as the runtime's option: default the runtime's ('shard'). */
  readonly leaseScope?: 'key' | 'shard';
  /**
   * How long a hand-off (a `restart()`, the stop) waits for effects in flight (a workflow's step
   * running), in ms of real time, as the runtime's option: default the runtime's (10 000).
   */
  readonly handOffTimeoutMs?: number;
  /** The real-time bound of the kit's waits, in ms (default 5000): a hang guard, never a timing check. */
  readonly timeoutMs?: number;
  /** The workflow queues served and their limits, as the runtime's option (default: all served, none limited). */
  readonly workflowQueues?: WorkflowQueuesOptions;
  /** The workflow retention sweeper's settings, as the runtime's option (default: `RETENTION_DEFAULTS`). */
  readonly workflowRetention?: Partial<RetentionSettings>;
}

/**
 * A user's entity kinds under test, on the real entities runtime of a local node, with no
 * database and a test clock (from {@link startTestEntities}). `entity(kind, key)` gives a typed
 * handle to drive one entity (send, call, sendDurable, passivate, restart, takeOver) and read what
 * it stored; `events()` what the runtime published; `advanceTime(ms)` moves the test clock.
 *
 * Lifecycle: `stop()` (idempotent; `await using` calls it) stops the runtime (every activation
 * hands off: handles what it was sent and releases its lease), then the node and the store if the
 * kit made them. After it, the handles' methods reject.
 */
export class TestEntities implements AsyncDisposable {
  /** The node the runtime runs on. */
  readonly node: Node;
  /** The in-memory store every activation writes to. */
  readonly store: MemoryStore;
  /** The test clock of passivation, lease renewal and lease expiry. */
  readonly clock: TestClock;
  readonly #options: TestEntitiesOptions;
  readonly #kinds: readonly TestableKind<any, any>[];
  readonly #recorder: EventRecorder;
  readonly #ownNode: boolean;
  readonly #ownStore: boolean;
  readonly #timeoutMs: number;
  readonly #context: TestKitContext;
  #entities: Entities;
  #stopping: Promise<void> | undefined;
  #workflows: TestWorkflows | undefined;

  /** @internal use {@link startTestEntities}. */
  constructor(
    parts: {
      node: Node;
      ownNode: boolean;
      store: MemoryStore;
      ownStore: boolean;
      clock: TestClock;
      recorder: EventRecorder;
      entities: Entities;
      timeoutMs: number;
    },
    options: TestEntitiesOptions,
  ) {
    this.node = parts.node;
    this.store = parts.store;
    this.clock = parts.clock;
    this.#options = options;
    this.#kinds = options.kinds;
    this.#recorder = parts.recorder;
    this.#ownNode = parts.ownNode;
    this.#ownStore = parts.ownStore;
    this.#timeoutMs = parts.timeoutMs;
    this.#entities = parts.entities;
    const kit = this;
    this.#context = {
      node: this.node,
      store: this.store,
      clock: this.clock,
      recorder: this.#recorder,
      timeoutMs: this.#timeoutMs,
      leaseId: (kind, key) =>
        leaseIdOf(
          (options.leaseScope ?? ENTITIES_DEFAULTS.leaseScope) === 'shard',
          ENTITIES_DEFAULTS.shards,
          kind,
          key,
        ),
      get entities(): Entities {
        return kit.#entities;
      },
    };
  }

  /**
   * The kit's workflows (`defineWorkflow` kinds among `kinds`): start instances, wait until they
   * only wait (`runUntilIdle`), skip the test clock until one ended (`advanceUntilDone`).
   */
  get workflows(): TestWorkflows {
    const kit = this;
    this.#workflows ??= new TestWorkflows(
      Object.assign(Object.create(this.#context) as TestKitContext, {
        kinds: this.#kinds,
        fireDueReminders: () => kit.fireDueReminders(),
      }),
    );
    return this.#workflows;
  }

  /** The entities runtime under test (the one `startEntities` returns; a new one after {@link restart}). */
  get entities(): Entities {
    return this.#entities;
  }

  /**
   * A typed handle on the entity of `kind` with `key`. Throws ERR_ENTITY_INCORRECT for a kind the
   * kit was not started with, or a bad key.
   */
  entity<P extends AnyProtocol, S, E extends EventSchemas>(
    kind: EventSourcedKind<P, S, E>,
    key: string,
  ): TestEntity<P, S, EventOf<E>>;
  entity<P extends AnyProtocol, S>(kind: EntityKind<P, S>, key: string): TestEntity<P, S>;
  entity<P extends AnyProtocol, S>(kind: TestableKind<P, S>, key: string): TestEntity<P, S> {
    if (!this.#kinds.includes(kind))
      throw ErrEntityIncorrect.with(`kind ${String(kind?.name)} is not one of the kinds this kit was started with`);
    return new TestEntity(this.#context, kind, key);
  }

  /**
   * Fires the durable reminders due at the test clock's now (move it first with
   * {@link advanceTime}): the runtime's reminder scheduler scans at once, as its timer on the test
   * clock would, delivers each due fire to its entity (activating it) as production does, and this
   * resolves once every one was handled by its entity and saved, and its row was moved on (a
   * periodic reminder: one fire, then its next time after now) or removed (a one-shot). Resolves
   * with the reminders that were due, oldest first (none: nothing was due); one whose delivery
   * failed (its handler threw) stays due and is retried by a later scan, as in production. A durable state machine's
   * timeouts are reminders too. Rejects with ERR_TIMEOUT after the kit's `timeoutMs` of real time
   * (a handler that never returns).
   */
  async fireDueReminders(): Promise<TestReminderFire[]> {
    const scheduler = this.#entities.reminders;
    if (scheduler === undefined) throw ErrEntityIncorrect.with('the store keeps no reminders');
    const shards = Array.from({ length: this.#entities.stats().shards }, (_, i) => i);
    const due = await this.store.dueReminders(shards, this.clock.now(), 1_000_000);
    scheduler.kick();
    await this.#bounded(scheduler.idle(), 'the due reminders are delivered');
    const keys = new Map<string, TestableKind<any, any>>();
    for (const r of due) {
      const kind = this.#kinds.find((k) => k.name === r.kind);
      if (kind !== undefined) keys.set(JSON.stringify([r.kind, r.key]), kind);
    }
    // Delivered means accepted by the inbox: wait for each entity to have handled and saved it.
    for (const [id, kind] of keys)
      await new TestEntity(this.#context, kind, (JSON.parse(id) as string[])[1]!).activation();
    return due.map((r) => ({ kind: r.kind, key: r.key, name: r.name, fireId: fireId(r), scheduledAt: r.dueAt }));
  }

  /** `p`, or ERR_TIMEOUT after the kit's real-time bound. */
  #bounded<T>(p: Promise<T>, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(ErrTimeout.with(`test kit: ${what} (${this.#timeoutMs} ms)`)), this.#timeoutMs);
      timer.unref();
    });
    return Promise.race([p, limit]).finally(() => clearTimeout(timer));
  }

  /**
   * Moves the test clock forward by `ms`: the runtime's timers due meanwhile fire in time order
   * (passivation of idle entities, lease renewals, the reminder scheduler's scan), and leases not
   * renewed expire. To have the reminders now due fired and handled before the next step, await
   * {@link fireDueReminders} after it. What the timers
   * sent is handled after this returns; wait with a handle's `activation()` or {@link waitForEvent}.
   * Throws ERR_INCORRECT for a negative or non-finite `ms`.
   */
  advanceTime(ms: number): void {
    this.clock.advance(ms);
  }

  /** The events the runtime published on this node since the kit started, oldest first (those matching `match`). */
  events(match?: EntityEventMatch): EntityEvent[] {
    return this.#recorder.since(0, match);
  }

  /**
   * Resolves with the first event matching `match` published from now on (or, with `since`, from
   * that index of {@link events} on); rejects with ERR_TIMEOUT after the kit's `timeoutMs` of real
   * time, listing what was published meanwhile.
   */
  waitForEvent(match: EntityEventMatch, options: { readonly since?: number } = {}): Promise<EntityEvent> {
    return this.#recorder.next(options.since ?? this.#recorder.length, match, 'waitForEvent', this.#timeoutMs);
  }

  /**
   * Restarts the runtime as a node restart would: the runtime stops (each activation handles what
   * it was sent, stops and releases its lease; what an entity held only in memory is lost) and a
   * new one starts on the same node and store, under a new owner. The next message to a key
   * activates it from what the store holds.
   */
  async restart(): Promise<void> {
    if (this.#stopping !== undefined) throw ErrEntityIncorrect.with('the test kit was stopped');
    await this.#entities.stop();
    this.#entities = await startEntitiesWith(this.node, runtimeOptions(this.store, this.#options), {
      clock: this.clock,
    });
  }

  /** Stops the runtime, then the node and the store if the kit made them. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    try {
      await this.#entities.stop();
    } finally {
      this.#recorder.close();
      if (this.#ownNode) await this.node.stop();
      if (this.#ownStore) await this.store.close();
    }
  }

  /** `await using kit = await startTestEntities(...)` stops it when the block ends. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

function runtimeOptions(store: MemoryStore, options: TestEntitiesOptions): EntitiesOptions {
  return {
    store,
    kinds: options.kinds,
    // No poll on the test clock: the scheduler's timer is armed at the next due time only, so
    // time moved by a test fires a reminder at its due time, never at a poll boundary before it.
    reminders: { pollMs: 2 ** 31 - 1 },
    ...(options.leaseTtlMs === undefined ? {} : { leaseTtlMs: options.leaseTtlMs }),
    ...(options.renewIntervalMs === undefined ? {} : { renewIntervalMs: options.renewIntervalMs }),
    ...(options.leaseScope === undefined ? {} : { leaseScope: options.leaseScope }),
    ...(options.handOffTimeoutMs === undefined ? {} : { handOffTimeoutMs: options.handOffTimeoutMs }),
    ...(options.workflowQueues === undefined ? {} : { workflowQueues: options.workflowQueues }),
    ...(options.workflowRetention === undefined ? {} : { workflowRetention: options.workflowRetention }),
  };
}

/**
 * Starts the entities test kit: a test node (unless `options.node`), a MemoryStore on a test
 * clock (unless `options.store`), and the real entities runtime hosting `options.kinds` on them.
 * Rejects with ERR_ENTITY_INCORRECT for a bad option (a kind given twice, a bad lease time...),
 * and then leaves nothing running.
 *
 * @example
 * await using kit = await startTestEntities({ kinds: [Counter] });
 * const c = kit.entity(Counter, 'c1');
 * await c.send({ add: 2 });
 * assert.deepEqual(await c.stored(), { state: 2, version: 1 });
 */
export async function startTestEntities(options: TestEntitiesOptions): Promise<TestEntities> {
  if (typeof options !== 'object' || options === null || !Array.isArray(options.kinds))
    throw ErrEntityIncorrect.with('startTestEntities needs { kinds: [...] }');
  const timeoutMs = options.timeoutMs ?? TEST_ENTITIES_DEFAULTS.timeoutMs;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 2 ** 31 - 1)
    throw ErrEntityIncorrect.with(`timeoutMs must be an integer in 1..2^31-1, got ${String(options.timeoutMs)}`);
  const clock = options.clock ?? new TestClock(options.time ?? TEST_ENTITIES_DEFAULTS.time);
  const ownStore = options.store === undefined;
  const store =
    options.store ?? new MemoryStore({ clock, ...(options.codec === undefined ? {} : { codec: options.codec }) });
  if (!(store instanceof MemoryStore)) throw ErrEntityIncorrect.with('store must be a MemoryStore');
  const ownNode = options.node === undefined;
  const node = options.node ?? (await startTestNode());
  const recorder = new EventRecorder(node.name);
  try {
    const entities = await startEntitiesWith(node, runtimeOptions(store, options), { clock });
    return new TestEntities({ node, ownNode, store, ownStore, clock, recorder, entities, timeoutMs }, options);
  } catch (e) {
    recorder.close();
    if (ownNode) await node.stop();
    if (ownStore) await store.close();
    throw e;
  }
}
