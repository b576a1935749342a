// Projections (Akka Projections' anchor): a process that follows the journal of one event-sourced
// kind (optionally one tag) from the offset it stored, delivers each event to a handler — a
// function, or a process that is called with the event and acknowledges it by replying — in
// journal order, and stores the offset it reached in the same store. Delivery is at least once:
// the offset is stored after the events before it were handled (after each batch, and before
// each retry), so a projection stopped or killed between a delivery and the offset's write
// delivers those events again when it starts; it never skips one (contract/journal.ts says why the order
// holds with concurrent writers). A handler that fails (throws, rejects, the process does not
// answer) gets the same event again after `retryIntervalMs`, until it succeeds.

import { Actor, TerminateReasonShutdown, ignorable, rejected, type Node, type PID, type ProcessID } from 'ergo-ts';

import { ErrEntityIncorrect } from '../contract/errors.js';
import { upcastEvent, type EventOf, type EventSourcedKind } from './event_sourced.js';
import { errorCode } from '../contract/codes.js';
import { MAX_JOURNAL_BATCH } from '../contract/journal.js';
import type { EntityStore } from '../contract/store.js';

/** One event of an event-sourced kind as a projection receives it (upcast to its current schema). */
export interface JournalEvent<Ev = unknown> {
  /** Its global offset in the store. */
  readonly offset: number;
  /** The kind and key of the entity that persisted it. */
  readonly kind: string;
  readonly key: string;
  /** The entity's version after it (its sequence number within the key). */
  readonly version: number;
  /** Its type name (the key of the kind's `events`). */
  readonly type: string;
  /** The payload, upcast to its type's current schema. */
  readonly event: Ev;
}

/** The events union of an event-sourced kind. */
export type KindEvent<K> = K extends EventSourcedKind<any, any, infer E> ? EventOf<E> : never;

/**
 * Reads the journal of `kind` (optionally one tag) after offset `after`, at most `limit` events,
 * in offset order, each upcast to its type's current schema. Rejects with ERR_ENTITY_INCORRECT for
 * a bad query, ERR_ENTITY_EVENT_INVALID for a stored event the kind cannot read, or the store's error.
 */
export async function readEvents<K extends EventSourcedKind<any, any, any>>(
  store: EntityStore,
  kind: K,
  query: { readonly after: number; readonly limit?: number; readonly tag?: string },
): Promise<JournalEvent<KindEvent<K>>[]> {
  const rows = await store.readJournal({
    kind: kind.name,
    after: query.after,
    limit: query.limit ?? PROJECTION_DEFAULTS.batchSize,
    ...(query.tag === undefined ? {} : { tag: query.tag }),
  });
  return rows.map((r) => ({
    offset: r.offset,
    kind: r.kind,
    key: r.key,
    version: r.version,
    type: r.type,
    event: upcastEvent(kind.name, kind.journal, r) as KindEvent<K>,
  }));
}

/** Defaults of {@link ProjectionOptions}. */
export const PROJECTION_DEFAULTS = Object.freeze({
  batchSize: 100,
  pollIntervalMs: 200,
  retryIntervalMs: 1000,
  callTimeoutMs: 5000,
});

/** What {@link startProjection} takes. */
export interface ProjectionOptions<K extends EventSourcedKind<any, any, any>> {
  /** The projection's name: its offset is stored under it (one runner per name at a time). */
  readonly name: string;
  /** The store the kind's entities write to; the offset is stored there too. */
  readonly store: EntityStore;
  /** The event-sourced kind whose events it follows. */
  readonly kind: K;
  /** Only events with this tag (the kind's `tagger`). */
  readonly tag?: string;
  /**
   * Who handles each event: a function (its returned Promise is awaited), or a process (a PID
   * or ProcessID) that is called with the {@link JournalEvent} and acknowledges it by replying.
   */
  readonly handler: ((event: JournalEvent<KindEvent<K>>) => unknown) | PID | ProcessID;
  /** Events read per store query (1..10 000). Default 100. */
  readonly batchSize?: number;
  /** The pause before reading again once it has caught up, in ms. Default 200. */
  readonly pollIntervalMs?: number;
  /** The pause before delivering a failed event again, in ms. Default 1000. */
  readonly retryIntervalMs?: number;
  /** How long a handler process has to reply, in ms. Default 5000. */
  readonly callTimeoutMs?: number;
}

function positive(name: string, v: number | undefined, dflt: number, max = 2 ** 31 - 1): number {
  const n = v ?? dflt;
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw ErrEntityIncorrect.with(`${name} must be an integer in 1..${max}, got ${String(v)}`);
  return n;
}

interface Settings {
  readonly name: string;
  readonly store: EntityStore;
  readonly kind: EventSourcedKind;
  readonly tag: string | undefined;
  readonly handler: ((event: JournalEvent) => unknown) | PID | ProcessID;
  readonly batchSize: number;
  readonly pollMs: number;
  readonly retryMs: number;
  readonly callMs: number;
  /** Shared with the {@link Projection} handle. */
  readonly status: { offset: number; delivered: number; ended: () => void };
}

const POLL = Object.freeze({ '~projection': 'poll' });

/** The projection's process (internal). */
class ProjectionRunner extends Actor {
  #s!: Settings;

  override async init(s: Settings): Promise<void> {
    this.#s = s;
    s.status.offset = (await s.store.loadOffset(s.name)) ?? 0;
    this.send(this.pid, POLL);
  }

  override async handleMessage(_from: PID, message: unknown): Promise<void> {
    if (message !== POLL) return;
    const s = this.#s;
    const start = s.status.offset;
    let batch: JournalEvent[];
    try {
      batch = await readEvents(s.store, s.kind, {
        after: start,
        limit: s.batchSize,
        ...(s.tag === undefined ? {} : { tag: s.tag }),
      });
    } catch (err) {
      this.#failed('reading the journal', err);
      return;
    }
    for (const e of batch) {
      try {
        if (typeof s.handler === 'function') await s.handler(e);
        else await this.call(s.handler, e, { timeout: s.callMs });
      } catch (err) {
        await this.#save(start);
        this.#failed(`handling event ${e.offset} (${e.kind}/${e.key} v${e.version})`, err);
        return;
      }
      s.status.offset = e.offset;
      s.status.delivered++;
    }
    await this.#save(start);
    // A full batch: more may be waiting now; otherwise it has caught up and polls.
    if (batch.length === s.batchSize) this.send(this.pid, POLL);
    else this.sendAfter(this.pid, POLL, s.pollMs);
  }

  override terminate(): void {
    this.#s?.status.ended();
  }

  /** Stores the offset reached when it moved past `from` (a failed write is retried with the next one). */
  async #save(from: number): Promise<void> {
    const s = this.#s;
    if (s.status.offset === from) return;
    try {
      await s.store.saveOffset(s.name, s.status.offset);
    } catch (err) {
      this.log.warning('projection %s: storing offset %d failed (%s)', s.name, s.status.offset, errorCode(err));
    }
  }

  #failed(what: string, err: unknown): void {
    const s = this.#s;
    this.log.warning(
      'projection %s: %s failed (%s): %s; again in %d ms',
      s.name,
      what,
      errorCode(err),
      err instanceof Error ? err.message : String(err),
      s.retryMs,
    );
    this.sendAfter(this.pid, POLL, s.retryMs);
  }
}

/**
 * A running projection (from {@link startProjection}). {@link stop} ends its process (an event
 * being handled finishes first); the offset stays stored, and a projection started again with
 * the same name resumes from it.
 */
export class Projection {
  readonly #node: Node;
  readonly #status: Settings['status'];
  readonly #ended: Promise<void>;

  /** @internal */
  constructor(
    node: Node,
    /** The projection's process. */
    readonly pid: PID,
    status: Settings['status'],
    ended: Promise<void>,
  ) {
    this.#node = node;
    this.#status = status;
    this.#ended = ended;
  }

  /** The offset of the last event handled (stored after each batch). */
  offset(): number {
    return this.#status.offset;
  }

  /** How many events this run handled. */
  delivered(): number {
    return this.#status.delivered;
  }

  /** Stops the projection's process; resolves once it ended. Idempotent. */
  stop(): Promise<void> {
    try {
      this.#node.sendExit(this.pid, TerminateReasonShutdown);
    } catch {
      // Already gone.
    }
    return this.#ended;
  }
}

/**
 * Starts a projection on `node`: a process that follows `kind`'s journal from the offset stored
 * under `name` (the start when none) and delivers each event at least once, in journal order.
 * Rejects with ERR_ENTITY_INCORRECT for a bad option, or the store's error reading the offset.
 *
 * @example
 * const p = await startProjection(node, {
 *   name: 'cart-totals', store, kind: Cart,
 *   handler: async (e) => { if (e.event.type === 'added') totals.add(e.key, e.event.qty); },
 * });
 */
export function startProjection<K extends EventSourcedKind<any, any, any>>(
  node: Node,
  options: ProjectionOptions<K>,
): Promise<Projection> {
  let settings: Settings;
  let ended!: () => void;
  const endedP = new Promise<void>((resolve) => (ended = resolve));
  try {
    if (typeof options.name !== 'string' || options.name === '')
      throw ErrEntityIncorrect.with('a projection needs a non-empty name');
    if (typeof options.kind?.journal !== 'object')
      throw ErrEntityIncorrect.with('a projection follows an event-sourced kind (defineEventSourcedEntity)');
    const h = options.handler;
    if (typeof h !== 'function' && (typeof h !== 'object' || h === null))
      throw ErrEntityIncorrect.with('a projection handler is a function, a PID or a ProcessID');
    settings = {
      name: options.name,
      store: options.store,
      kind: options.kind,
      tag: options.tag,
      handler: h as Settings['handler'],
      batchSize: positive('batchSize', options.batchSize, PROJECTION_DEFAULTS.batchSize, MAX_JOURNAL_BATCH),
      pollMs: positive('pollIntervalMs', options.pollIntervalMs, PROJECTION_DEFAULTS.pollIntervalMs),
      retryMs: positive('retryIntervalMs', options.retryIntervalMs, PROJECTION_DEFAULTS.retryIntervalMs),
      callMs: positive('callTimeoutMs', options.callTimeoutMs, PROJECTION_DEFAULTS.callTimeoutMs),
      status: { offset: 0, delivered: 0, ended },
    };
  } catch (e) {
    return rejected(e, node.log, 'startProjection');
  }
  return ignorable(
    node.spawn(ProjectionRunner, {}, settings).then((pid) => new Projection(node, pid, settings.status, endedP)),
    node.log,
    'startProjection',
  );
}
