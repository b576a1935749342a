// The events an entities runtime published, as the test kit records them: every EntityEvent of one
// node on the diagnostics channel `ergo-ts:entities`, in order, and waits for the next one that
// matches (woken by the event itself, never by polling). The channel is the runtime's own
// observability seam, so the kit sees what a metrics collector or a log subscriber would; event
// names a later capability publishes (a reminder fired, events persisted) are recorded with no
// change here.

import diagnostics from 'node:diagnostics_channel';

import { ErrTimeout } from 'ergo-ts';

import type { EntityEvent } from '../runtime/host_runtime.js';
import { ENTITIES_CHANNEL } from '../runtime/host_runtime.js';

/** What an event is matched against: the fields given must be equal (the others are free). */
export type EntityEventMatch = Partial<EntityEvent> | ((event: EntityEvent) => boolean);

/** True when `event` matches `match`. */
export function eventMatches(event: EntityEvent, match: EntityEventMatch): boolean {
  if (typeof match === 'function') return match(event);
  for (const [k, v] of Object.entries(match) as [keyof EntityEvent, unknown][])
    if (v !== undefined && event[k] !== v) return false;
  return true;
}

/** One event as a line of text, for failure messages. */
export function showEvent(e: EntityEvent): string {
  const reason = e.reason === undefined ? '' : ` (${e.reason})`;
  return `${e.event} ${e.kind}/${e.key} token ${e.token} version ${e.version}${reason}`;
}

interface Waiter {
  readonly match: EntityEventMatch;
  readonly resolve: (e: EntityEvent) => void;
}

/**
 * @internal Records the events of the runtime on node `node` from its construction until
 * {@link close}; the test kit owns one per {@link TestEntities}.
 */
export class EventRecorder {
  readonly #node: string;
  readonly #events: EntityEvent[] = [];
  readonly #waiters = new Set<Waiter>();
  readonly #listener = (message: unknown): void => {
    const e = message as EntityEvent;
    if (e.node !== this.#node) return;
    this.#events.push(e);
    for (const w of [...this.#waiters])
      if (eventMatches(e, w.match)) {
        this.#waiters.delete(w);
        w.resolve(e);
      }
  };

  constructor(node: string) {
    this.#node = node;
    diagnostics.subscribe(ENTITIES_CHANNEL, this.#listener);
  }

  /** How many events were recorded: a mark for {@link since} and {@link next}. */
  get length(): number {
    return this.#events.length;
  }

  /** The events recorded from index `from` on that match (every one without `match`), oldest first. */
  since(from: number, match?: EntityEventMatch): EntityEvent[] {
    const out = this.#events.slice(from);
    return match === undefined ? out : out.filter((e) => eventMatches(e, match));
  }

  /**
   * Resolves with the first event from index `from` on that matches, recorded already or the next
   * one; rejects with ERR_TIMEOUT after `timeoutMs` of real time (a hang guard), naming `what`
   * and listing the events recorded since `from`.
   */
  next(from: number, match: EntityEventMatch, what: string, timeoutMs: number): Promise<EntityEvent> {
    const seen = this.since(from).find((e) => eventMatches(e, match));
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise<EntityEvent>((resolve, reject) => {
      const waiter: Waiter = {
        match,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e);
        },
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        const got = this.since(from).map(showEvent);
        reject(
          ErrTimeout.with(
            `${what}: no such entity event within ${timeoutMs} ms; recorded since: ${got.length === 0 ? 'none' : got.join('; ')}`,
          ),
        );
      }, timeoutMs);
      this.#waiters.add(waiter);
    });
  }

  /** Stops recording (idempotent); waits still pending keep their timeouts. */
  close(): void {
    diagnostics.unsubscribe(ENTITIES_CHANNEL, this.#listener);
  }
}
