// How a dial of one node is tried, and tried again: the loop around one attempt (routes, TCP,
// handshake, pool joins) that decides which failures are worth another attempt.
//
// Two failures are tried again, each for its own reason:
//
// - a refusal by name (ERR_HANDSHAKE_REFUSED), within `dialTimeout` plus the time the peer's own
//   dial may take ({@link HANDSHAKE_ATTEMPTS} handshake steps), dialling again after a short
//   pause while no connection has arrived: either the crossing rule at work (crossing.ts:
//   the peer dials this node too and its connection is the one kept, so this side waits for it;
//   the peer's dial may still be resolving), or the peer still holds a connection with this node
//   that this side no longer has — the one an earlier attempt completed on the peer's side only
//   before this side's step timed out, which the peer drops when it reads the close. Before,
//   the node whose connection wins a crossing failed the dial at once on such a refusal, and the
//   other waited `dialTimeout` only (7–14 of 90 calls failed so at 10 nodes meshing at once on a
//   host at load 35–58, with the retries below);
// - a handshake step that was late (ERR_HANDSHAKE_TIMEOUT): the peer's kernel took the TCP
//   connection, so a node listens there, but it did not answer within `handshakeTimeout` — a
//   host starting or connecting many nodes at once, a GC pause, a peer paused for a moment.
//   Failing the dial would fail every call and watcher waiting for it at once with
//   ERR_NO_CONNECTION, well inside their own timeouts (issue 49: 77, then 41 calls of 9,900 at
//   100 nodes on 2 cores). So the dial is tried again, at most {@link HANDSHAKE_ATTEMPTS} times in
//   all, pausing {@link HANDSHAKE_RETRY_FIRST_MS} and then twice as long each time. This bound
//   is a number of attempts, not `dialTimeout`: one attempt may take a few handshake steps.
//   What waits for the dial keeps its own deadline: a call whose timeout passes first fails
//   with ERR_TIMEOUT, as it would against a slow peer on a live connection.
//
// Anything else — a refused TCP connection (nothing listens there), an unknown node, a wrong
// cookie, a TCP connect that timed out — fails the dial at once: a retry would not change it.

import type { Atom } from '../../gen/atom.js';
import { ErrNetworkStopped } from '../../gen/errors.js';
import type { Log } from '../../gen/log.js';
import type { EnpConnection } from '../proto/connection.js';
import { CROSSING_RETRY_FIRST_MS, CROSSING_RETRY_MAX_MS, dialWins, isHandshakeTimeout, isRefusal } from './crossing.js';

/** Attempts of one dial whose handshake steps time out (the first one included). */
export const HANDSHAKE_ATTEMPTS = 3;
/** Pause before the second attempt of a dial whose handshake step was late, in ms (doubling). */
export const HANDSHAKE_RETRY_FIRST_MS = 200;

/** What the dial loop needs from the network. */
export interface EstablishHost {
  readonly log: Log;
  /** This node's name (the crossing rule compares names). */
  localName(): Atom;
  /** False once the network stopped. */
  isRunning(): boolean;
  /** The registered connection to `name`, if any. */
  connected(name: Atom): EnpConnection | undefined;
  /**
   * An inbound connection from `name` being set up (crossing.ts), once it settles (null: it
   * failed); null at once when there is none.
   */
  inbound(name: Atom): Promise<EnpConnection | null> | null;
  /** One attempt: every route of `name`, the handshake and the pool joins. */
  connectTo(name: Atom): Promise<EnpConnection>;
}

/**
 * The connection to `name` for a dial: an inbound one being set up, else this node's own, tried
 * again as the file's header says.
 * @throws the last attempt's error (ErrNoConnection with its cause, ErrNetworkStopped...).
 */
export async function establish(
  host: EstablishHost,
  name: Atom,
  dialTimeout: number,
  handshakeTimeout: number,
): Promise<EnpConnection> {
  // The peer's own dial, which a refusal waits for, may take its handshake attempts too.
  const window = dialTimeout + HANDSHAKE_ATTEMPTS * handshakeTimeout;
  let deadline = Date.now() + window;
  let pause = CROSSING_RETRY_FIRST_MS;
  /** Attempts so far whose handshake step was late. */
  let late = 0;
  for (;;) {
    const inbound = await host.inbound(name);
    if (inbound !== null && inbound.isAlive) return inbound;
    const up = host.connected(name);
    if (up !== undefined) return up;
    if (!host.isRunning()) throw ErrNetworkStopped.with(`network of ${host.localName()} is stopped`);
    try {
      return await host.connectTo(name);
    } catch (e) {
      const after = host.connected(name) ?? (await host.inbound(name));
      if (after !== null && after !== undefined && after.isAlive) return after;
      let wait: number;
      if (isHandshakeTimeout(e)) {
        if (++late >= HANDSHAKE_ATTEMPTS) throw e;
        wait = HANDSHAKE_RETRY_FIRST_MS * 2 ** (late - 1);
        host.log.debug(
          'dial of %s: a handshake step was late (%s); dialling again (attempt %d of %d)',
          name,
          (e as Error).message,
          late + 1,
          HANDSHAKE_ATTEMPTS,
        );
        // What follows may be refused while the peer still holds what this attempt left it.
        deadline = Math.max(deadline, Date.now() + wait + window);
      } else if (isRefusal(e) && Date.now() + pause <= deadline) {
        if (!dialWins(host.localName(), name))
          host.log.debug('dial of %s refused (it dials us too): waiting for its connection', name);
        else host.log.debug('dial of %s refused (it holds a connection with us): dialling again', name);
        wait = pause;
        pause = Math.min(pause * 2, CROSSING_RETRY_MAX_MS);
      } else throw e;
      // Unref'd: a stop meanwhile must not wait for it (the loop ends at its next check).
      await new Promise((r) => setTimeout(r, wait).unref());
    }
  }
}
