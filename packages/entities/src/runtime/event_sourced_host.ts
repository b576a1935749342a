// One activation of an event-sourced entity inside its host process (host.ts): it rebuilds the
// state (the latest snapshot, then the events after it, upcast to their current schema and
// folded), persists the events a handler gives (checked against their schemas, written with the
// activation's fencing token, several atomically, a snapshot with them every `snapshotEvery`
// events), records a durable message's id in the same transaction as its events, writes a
// snapshot when the activation passivates or hands off, and keeps the last events for inspection.

import type { Actor } from 'ergo-ts';

import {
  bindEventSourced,
  eventType,
  upcastEvent,
  type EventSourcedEntity,
  type EventSourcedKind,
} from '../kinds/event_sourced.js';
import { ErrEntityIncorrect, ErrEventInvalid, ErrEventPoison } from '../contract/errors.js';
import type { EventMeta } from '../contract/journal.js';
import { renderState } from '../inspect/inspector.js';
import type { EntityId, EntityStore, StoredState } from '../contract/store.js';

/** How many of the last persisted events an activation keeps for inspection. */
export const RECENT_EVENTS = 20;

/** What an activation needs from its host. */
export interface JournalHost {
  readonly store: EntityStore;
  readonly actor: Actor;
  readonly token: () => number;
  /** The lease the token belongs to when it is not the key's own (a shard lease). */
  readonly lease: EntityId | undefined;
  /** Marks a store operation's rejection as a store failure (host.ts's `fromStore`). */
  readonly fromStore: <T>(p: Promise<T>) => Promise<T>;
  /** A write was accepted: the key is at `version` now; it persisted `events` events, a snapshot or not. */
  readonly written: (version: number, events: number, snapshot: boolean) => void;
  /** A write was refused (stale token, store failure): the host ends the activation. */
  readonly refused: (err: Error) => void;
}

/** The journal side of one activation of an event-sourced kind. */
export class JournalActivation {
  readonly entity: EventSourcedEntity<unknown, unknown, unknown>;
  #state: unknown;
  #version = 0;
  #snapshotVersion = 0;
  /** The id of the durable message being handled, until a write recorded it. */
  #processing: string | undefined;
  /** A write failed: every later persist of this activation rejects with it. */
  #failure: Error | undefined;
  readonly #recent: { version: number; type: string; event: unknown }[] = [];
  readonly #id: EntityId;

  private constructor(
    readonly kind: EventSourcedKind,
    readonly key: string,
    readonly host: JournalHost,
  ) {
    this.#id = { kind: kind.name, key };
    this.entity = new (kind.entity as new () => EventSourcedEntity<unknown, unknown, unknown>)();
    bindEventSourced(this.entity, {
      key,
      actor: host.actor,
      state: () => this.#state,
      version: () => this.#version,
      token: host.token,
      persist: (events) => this.#persist(events),
    });
  }

  /** Rebuilds an activation's state from its latest snapshot (read by the caller) and the events after it. */
  static async restore(
    kind: EventSourcedKind,
    key: string,
    snap: StoredState,
    host: JournalHost,
  ): Promise<JournalActivation> {
    const a = new JournalActivation(kind, key, host);
    a.#state = snap.state === undefined ? kind.initialState(key) : snap.state;
    a.#version = a.#snapshotVersion = snap.version;
    for (const e of await host.fromStore(host.store.events(a.#id, snap.version))) {
      let event: unknown;
      try {
        event = upcastEvent(kind.name, kind.journal, e);
        a.#state = kind.journal.applyEvent(a.#state, event);
      } catch (err) {
        // A stored event that no longer matches its schema keeps its own code.
        if (ErrEventInvalid.is(err)) throw err;
        throw ErrEventPoison.with(
          `entity ${kind.name}/${key}: an upcaster or applyEvent threw on the stored event at version ${e.version} (type ${e.type}): ${String(err)}`,
          err,
        );
      }
      a.#version = e.version;
      a.#remember(e.version, e.type, event);
    }
    return a;
  }

  /** The key's version (its event count). */
  get version(): number {
    return this.#version;
  }

  /**
   * Events persisted after the latest snapshot: what an activation of the key would replay if this
   * one ended without its passivation snapshot (a crash, a kill -9).
   */
  get eventsSinceSnapshot(): number {
    return this.#version - this.#snapshotVersion;
  }

  /** The state now. */
  get state(): unknown {
    return this.#state;
  }

  /** The last persisted (or replayed) events, oldest first, for inspection. */
  recent(): readonly { version: number; type: string; event: unknown }[] {
    return this.#recent;
  }

  /** A durable message's handler runs now: its id goes with the first events it persists. */
  beginDurable(id: string): void {
    this.#processing = id;
  }

  /** After a durable message's handler: records its id alone if the handler persisted nothing. */
  async endDurable(): Promise<void> {
    this.afterHandler();
    const id = this.#processing;
    if (id === undefined) return;
    await this.#write([], [], undefined, id);
    this.#processing = undefined;
  }

  /** After any handler: a write refused during it ends the activation (rethrown to the host). */
  afterHandler(): void {
    if (this.#failure !== undefined) throw this.#failure;
  }

  /** Before the activation stops normally (passivation, hand-off): a snapshot if events came after the last. */
  async snapshotIfBehind(): Promise<void> {
    if (this.#failure !== undefined || this.#version === this.#snapshotVersion) return;
    await this.#write([], [], this.#state, undefined);
  }

  async #persist(events: readonly unknown[]): Promise<void> {
    if (this.#failure !== undefined) throw this.#failure;
    const { journal, name } = this.kind;
    if (events.length === 0) return;
    // Checked and folded before anything is written: a bad event or a throwing fold writes nothing.
    const meta: EventMeta[] = [];
    let next = this.#state;
    for (const e of events) {
      const type = eventType(name, journal, e);
      const tags = journal.tagger?.(e) ?? [];
      meta.push({ type, schemaVersion: journal.versions.get(type)!, tags });
      next = journal.applyEvent(next, e);
    }
    const snapshot =
      journal.snapshotEvery > 0 && this.#version + events.length - this.#snapshotVersion >= journal.snapshotEvery
        ? next
        : undefined;
    const id = this.#processing;
    if (id !== undefined) this.#processing = undefined;
    else if (this.#durableDone)
      throw ErrEntityIncorrect.with(
        `entity ${name}/${this.key}: a durable message's handler persists once (give every event of the message to one persist call)`,
      );
    await this.#write(events, meta, snapshot, id);
    if (id !== undefined) this.#durableDone = true;
    this.#state = next;
    events.forEach((e, i) => this.#remember(this.#version - events.length + 1 + i, meta[i]!.type, e));
  }

  /** Set once a durable message's events were written, until its handler ends. */
  #durableDone = false;

  /** Marks the end of a durable message's handler (see {@link endDurable}). */
  resetDurable(): void {
    this.#durableDone = false;
    this.#processing = undefined;
  }

  async #write(
    events: readonly unknown[],
    meta: readonly EventMeta[],
    snapshot: unknown,
    processed: string | undefined,
  ): Promise<void> {
    try {
      this.#version = await this.host.fromStore(
        this.host.store.write({
          ...this.#id,
          token: this.host.token(),
          expectedVersion: this.#version,
          events,
          eventMeta: meta,
          ...(snapshot === undefined ? {} : { state: snapshot }),
          ...(this.host.lease === undefined ? {} : { lease: this.host.lease }),
          ...(processed === undefined ? {} : { processed }),
        }),
      );
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      // A value the store's codec refused changed nothing and leaves the activation sound.
      const code = (e as { code?: unknown }).code;
      if (code !== 'ERR_ENTITY_STORE_CODEC' && code !== 'ERR_ENTITY_UNSTORABLE') {
        this.#failure = e;
        this.host.refused(e);
      }
      throw e;
    }
    if (snapshot !== undefined) this.#snapshotVersion = this.#version;
    this.host.written(this.#version, events.length, snapshot !== undefined);
  }

  #remember(version: number, type: string, event: unknown): void {
    this.#recent.push({ version, type, event });
    if (this.#recent.length > RECENT_EVENTS) this.#recent.shift();
  }
}

/** The `recent_events` item of an event-sourced host's inspection: its last events as JSON text. */
export function journalInspect(j: JournalActivation): string {
  return renderState(j.recent()).text;
}
