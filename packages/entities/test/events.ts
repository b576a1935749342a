// Collects the runtime's diagnostics events (ENTITIES_CHANNEL) and waits for one, without sleeps.

import diagnostics from 'node:diagnostics_channel';

import { eventually } from '@ergo-ts/test-support';

import { ENTITIES_CHANNEL, type EntityEvent } from '../src/index.js';

/** Every event published in this process since `new EventLog()`, until `close()`. */
export class EventLog {
  readonly events: EntityEvent[] = [];
  readonly #fn = (m: unknown): void => void this.events.push(m as EntityEvent);
  constructor() {
    diagnostics.subscribe(ENTITIES_CHANNEL, this.#fn);
  }
  /** Resolves with the first event (from index `from` on) that matches. */
  wait(pred: (e: EntityEvent) => boolean, what: string, from = 0): Promise<EntityEvent> {
    return eventually(() => this.events.slice(from).find(pred), what, { timeoutMs: 20_000 });
  }
  close(): void {
    diagnostics.unsubscribe(ENTITIES_CHANNEL, this.#fn);
  }
}
