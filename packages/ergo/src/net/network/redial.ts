// Re-dialling the lost pool links of the connections this node dialled (Ergo: the initiator
// re-dials with a Join, WIRE §3.8).
//
// A peer that goes away (kill -9, a crash, a lost host) fails the re-dials of its links too,
// and sometimes before the last of its links is seen closed: its listener closes first, so a
// re-dial can be refused (or reset) while a link's end-of-stream is still on its way. A failed
// re-dial is therefore tried again after a pause, at debug; by then a dead peer's connection is
// down and the re-dial is dropped (its loss is told once, at warning, by the network's
// connectionDown). Only a connection that lives on without the link after REDIAL_ATTEMPTS
// attempts is worth a warning: the peer is there but its acceptor cannot be reached.

import type { Log } from '../../gen/log.js';
import { toError } from '../../gen/errors.js';
import type { EnpConnection } from '../proto/connection.js';

/** Dials pool link `i` of a connection again and joins it. */
export type JoinLink = (i: number) => Promise<void>;

/** Attempts at re-dialling one lost link before a live connection is warned of. */
export const REDIAL_ATTEMPTS = 3;
/** Pause before the second attempt; each later one waits this much longer. */
export const REDIAL_PAUSE_MS = 1000;

/** Re-dials the lost pool links of the connections a network dialled. */
export class Redialer {
  readonly #joins = new Map<EnpConnection, JoinLink>();
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();

  constructor(private readonly log: Log) {}

  /** `conn` was dialled by this node: its lost links are re-dialled with `join`. */
  add(conn: EnpConnection, join: JoinLink): void {
    this.#joins.set(conn, join);
  }

  /** `conn` is down: nothing of it is re-dialled any more. */
  forget(conn: EnpConnection): void {
    this.#joins.delete(conn);
  }

  /** One link of a live connection closed: re-dial it when this node dialled the connection. */
  linkLost(conn: EnpConnection): void {
    const join = this.#joins.get(conn);
    if (join !== undefined) this.#attempt(conn, join, 1);
  }

  /** Drops every connection and pending attempt (the network stops). */
  stop(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.#joins.clear();
  }

  #current(conn: EnpConnection, join: JoinLink): boolean {
    return this.#joins.get(conn) === join && conn.isAlive;
  }

  #attempt(conn: EnpConnection, join: JoinLink, attempt: number): void {
    join(conn.links.length).then(
      () => this.log.info('pool link to %s re-dialled', conn.peer),
      (e: unknown) => {
        const why = toError(e).message;
        if (!this.#current(conn, join)) {
          this.log.debug('re-dialling a pool link to %s failed (the connection is gone): %s', conn.peer, why);
          return;
        }
        if (attempt >= REDIAL_ATTEMPTS) {
          this.log.warning(
            'pool link to %s not re-dialled after %d attempts (the connection goes on with %d links): %s',
            conn.peer,
            attempt,
            conn.links.length,
            why,
          );
          return;
        }
        const pause = REDIAL_PAUSE_MS * attempt;
        this.log.debug('re-dialling a pool link to %s failed (again in %d ms): %s', conn.peer, pause, why);
        const timer = setTimeout(() => {
          this.#timers.delete(timer);
          if (this.#current(conn, join)) this.#attempt(conn, join, attempt + 1);
        }, pause);
        // A pending re-dial never keeps the OS process alive (stop() clears it anyway).
        timer.unref();
        this.#timers.add(timer);
      },
    );
  }
}
