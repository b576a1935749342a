// Durable messages an ended activation accepted into its entity's inbox but did not handle (its
// write was refused as stale, or the store failed): the runtime sends them again, each with its
// id, to the key's owner now (runtime.ts's `redeliver`, which the host calls as it ends). The
// enqueue answers 'duplicate' (the message is in the inbox), and an activation told 'duplicate' of
// an id still in its inbox handles it (host.ts). Retried on the runtime's clock until it reaches
// an activation, with capped exponential backoff (1 s, 2 s, 4 s ... at most 30 s apart: a key
// whose activation keeps failing, as a poison message makes it, is not hammered), for up to 5
// minutes; the message stays in the inbox anyway, for the key's next activation (the inbox
// sweeper's, which backs off the same way). A try that failed because the store could not be
// reached (a failover) does not double the wait: the message goes again within the first wait of
// the store's return, not after a wait grown through its outage.

import type { Log } from 'ergo-ts';

import type { EntitiesClock } from '../contract/clock.js';
import { errorCode, storeUnreachable } from '../contract/codes.js';
import type { EntityCallOptions } from './options.js';

/** The first wait before a message accepted by an ended activation is sent again to its key, in ms. */
const REDELIVER_FIRST_MS = 1000;
/** The longest wait between two tries (the wait doubles up to it), in ms. */
const REDELIVER_CAP_MS = 30_000;
/** How long, from the first try, a message is sent again (then it waits in the inbox), in ms. */
const REDELIVER_FOR_MS = 300_000;

/** The wait after the `attempt`-th failed try (1-based): doubling from the first, capped. */
export function redeliveryDelay(attempt: number): number {
  return Math.min(REDELIVER_FIRST_MS * 2 ** Math.min(attempt - 1, 30), REDELIVER_CAP_MS);
}

/** What redelivery works with: the runtime's log, clock, state and durable send. */
export interface RedeliverySettings {
  readonly log: Log;
  /** The runtime's clock: the retries wait on it. */
  readonly clock: EntitiesClock;
  /** Whether the runtime has stopped (then nothing is sent again). */
  stopped(): boolean;
  /** The runtime's `sendDurable` to (kind, key). */
  send(kind: string, key: string, id: string, message: unknown, options: EntityCallOptions): Promise<unknown>;
}

/** The redelivery of one runtime (see the top of this file). */
export class Redelivery {
  readonly #s: RedeliverySettings;
  /** Cancels the retries waiting on the clock. */
  readonly #timers: (() => void)[] = [];

  constructor(settings: RedeliverySettings) {
    this.#s = settings;
  }

  /** Sends `pending` (id → message, accepted by an ended activation of (kind, key)) to the key again. */
  redeliver(kind: string, key: string, pending: ReadonlyMap<string, unknown>): void {
    const since = this.#s.clock.now();
    for (const [id, message] of pending) this.#redeliverOne(kind, key, id, message, 1, since);
  }

  /** Cancels the retries still waiting (the runtime stops). */
  cancel(): void {
    for (const cancel of this.#timers) cancel();
  }

  #redeliverOne(kind: string, key: string, id: string, message: unknown, attempt: number, since: number): void {
    if (this.#s.stopped()) return;
    this.#s.send(kind, key, id, message, { timeout: 5000 }).then(
      () => undefined,
      (e: unknown) => {
        if (this.#s.stopped()) return;
        const wait = redeliveryDelay(attempt);
        if (this.#s.clock.now() + wait - since > REDELIVER_FOR_MS) {
          this.#s.log.warning(
            'entities: message %s of %s/%s accepted by an ended activation could not be handed to the key again (%s); it stays in the inbox for its next activation',
            id,
            kind,
            key,
            errorCode(e),
          );
          return;
        }
        const cancel = (): void => void this.#s.clock.clearTimeout(handle);
        const handle = this.#s.clock.setTimeout(() => {
          const i = this.#timers.indexOf(cancel);
          if (i >= 0) this.#timers.splice(i, 1);
          this.#redeliverOne(kind, key, id, message, storeUnreachable(e) ? attempt : attempt + 1, since);
        }, wait);
        this.#timers.push(cancel);
      },
    );
  }
}
