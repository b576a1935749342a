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
// - a handshake step that was late: the peer's kernel took the TCP connection, so a node
//   listens there, but it did not answer within `handshakeTimeout` — a host starting or
//   connecting many nodes at once, a GC pause, a peer paused for a moment. Failing the dial
//   would fail every call and watcher waiting for it at once with ERR_NO_CONNECTION, well
//   inside their own timeouts (issue 49: 77, then 41 calls of 9,900 at 100 nodes on 2 cores).
//   Giving the late socket up and dialling again threw away the peer's work on it (it had
//   queued the socket, perhaps read our Hello) and made it do that work again, on cores that
//   were already short (issue 64: 50 nodes meshing at once lost 66 of 2,450 calls so). So the
//   late attempt goes on waiting on its socket (handshake.ts, HANDSHAKE_PATIENCE) while another
//   one starts beside it, at most {@link HANDSHAKE_ATTEMPTS} in all, pausing
//   {@link HANDSHAKE_RETRY_FIRST_MS} before the second and twice as long before each later one:
//   the first that completes is the connection, the others are given up (the peer admits one
//   inbound connection per node at a time and refuses the others by name, crossing.ts). A
//   listener that never answers fails the dial with ERR_HANDSHAKE_TIMEOUT once every attempt
//   has run out of patience.
//   What waits for the dial keeps its own deadline: a call whose timeout passes first fails
//   with ERR_TIMEOUT, as it would against a slow peer on a live connection;
// - a registrar that did not answer in time (a RegistrarUnansweredError: ERR_REGISTRAR_UNAVAILABLE
//   with `unanswered`, after its bound, not a refusal), when the registrar says it may be asked
//   again (`Registrar.resolveRetryable`): the embedded registrar runs on the peer's own host, as
//   busy as its handshake would be; asked again while the dial's window lasts (each ask is bounded
//   by the registrar's own timeout). Any other registrar (etcd, Saturn, a custom one) that did not
//   answer, and a registrar that refuses (nothing listens there), fail the dial at once, so the
//   calls waiting on it get the registrar's error before their own timeouts.
//
// - a handshake the peer closed mid-way (ERR_HANDSHAKE_CLOSED), up to {@link HANDSHAKE_ATTEMPTS}
//   dials in all, pausing {@link HANDSHAKE_RETRY_FIRST_MS} and doubling, within the window: a Go
//   Ergo peer gives each handshake step 1 s and closes the socket when this side's answer was
//   later than that (a clean-clone CI run beside `npm run check`: 3 of 600 calls from ergo-ts
//   members to Go members of a 25-node mesh failed so). A wrong cookie closes it too, so the
//   tries are few: such a dial fails about a second later than it would at once.
//
// Anything else — a refused TCP connection (nothing listens there), an unknown node, a wrong
// cookie, a TCP connect that timed out — fails the dial at once: a retry would not change it.

import type { Atom } from '../../gen/atom.js';
import { ErrNetworkStopped } from '../../gen/errors.js';
import { WireError } from '../error.js';
import type { Log } from '../../gen/log.js';
import type { EnpConnection } from '../proto/connection.js';
import { isRegistrarUnanswered } from '../registrar/resolver.js';
import { CROSSING_RETRY_FIRST_MS, CROSSING_RETRY_MAX_MS, dialWins, isHandshakeClosed, isRefusal } from './crossing.js';

/** Attempts of one dial whose handshake steps time out (the first one included). */
export const HANDSHAKE_ATTEMPTS = 3;
/** Pause before the second attempt of a dial whose handshake step was late, in ms (doubling). */
export const HANDSHAKE_RETRY_FIRST_MS = 200;

/**
 * How long a dial may go on, in ms: `dialTimeout` plus the time the peer's own dial may take
 * ({@link HANDSHAKE_ATTEMPTS} handshake timeouts) — the refusals of a crossing wait that long for
 * the peer's connection, and a handshake that started waits that long for a slow peer
 * (HandshakeOptions.patience), on either side.
 */
export function dialWindow(dialTimeout: number, handshakeTimeout: number): number {
  return dialTimeout + HANDSHAKE_ATTEMPTS * handshakeTimeout;
}

/** What an attempt of a dial is given (dialler.ts passes them to the handshake). */
export interface AttemptHooks {
  /** Aborted when another attempt of the same dial won (or the dial ended). */
  signal: AbortSignal;
  /** A handshake step passed its timeout: the dial may start another attempt meanwhile. */
  late: (step: string) => void;
  /** When the dial ends (`Date.now()` ms): a late step waits no longer. */
  until: number;
}

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
  connectTo(name: Atom, hooks: AttemptHooks): Promise<EnpConnection>;
  /**
   * True when the network's registrar may be asked again after a resolve it did not answer in
   * time (`Registrar.resolveRetryable`: the embedded one); asked only when that happened.
   */
  registrarAsksAgain(): boolean;
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
  const deadline = Date.now() + dialWindow(dialTimeout, handshakeTimeout);
  let pause = CROSSING_RETRY_FIRST_MS;
  let closed = 0;
  for (;;) {
    const inbound = await host.inbound(name);
    if (inbound !== null && inbound.isAlive) return inbound;
    const up = host.connected(name);
    if (up !== undefined) return up;
    if (!host.isRunning()) throw ErrNetworkStopped.with(`network of ${host.localName()} is stopped`);
    try {
      return await attempts(host, name, handshakeTimeout, deadline);
    } catch (e) {
      const after = host.connected(name) ?? (await host.inbound(name));
      if (after !== null && after !== undefined && after.isAlive) return after;
      let wait: number;
      if (isRegistrarUnanswered(e) && Date.now() < deadline && host.registrarAsksAgain()) {
        host.log.debug('dial of %s: %s; asking again', name, (e as Error).message);
        wait = 0;
      } else if (isRefusal(e) && Date.now() + pause <= deadline) {
        if (!dialWins(host.localName(), name))
          host.log.debug('dial of %s refused (it dials us too): waiting for its connection', name);
        else host.log.debug('dial of %s refused (it holds a connection with us): dialling again', name);
        wait = pause;
        pause = Math.min(pause * 2, CROSSING_RETRY_MAX_MS);
      } else if (isHandshakeClosed(e) && ++closed < HANDSHAKE_ATTEMPTS && host.isRunning()) {
        wait = HANDSHAKE_RETRY_FIRST_MS * 2 ** (closed - 1);
        if (Date.now() + wait > deadline) throw e;
        host.log.debug('dial of %s: %s; dialling again in %d ms', name, (e as Error).message, wait);
      } else throw e;
      // Unref'd: a stop meanwhile must not wait for it (the loop ends at its next check).
      if (wait > 0) await new Promise((r) => setTimeout(r, wait).unref());
    }
  }
}

/**
 * One try of the dial: an attempt, and another beside it each time the latest one is late in its
 * handshake (at most {@link HANDSHAKE_ATTEMPTS} in all); resolves with the first connection one
 * of them makes (the others are given up), rejects with the last error once every one failed.
 */
function attempts(host: EstablishHost, name: Atom, handshakeTimeout: number, until: number): Promise<EnpConnection> {
  return new Promise<EnpConnection>((resolve, reject) => {
    const live = new Set<AbortController>();
    let started = 0;
    let done = false;
    /** A next attempt is due after a pause. */
    let due: ReturnType<typeof setTimeout> | null = null;
    const finish = (): void => {
      done = true;
      if (due !== null) clearTimeout(due);
      // Most dials have no other attempt: no error (and its stack) is made for them.
      if (live.size === 0) return;
      const why = new WireError('ERR_HANDSHAKE_CLOSED', `another attempt of the dial of ${name} came first`);
      for (const ac of live) ac.abort(why);
      live.clear();
    };
    const start = (): void => {
      due = null;
      if (done) return;
      const n = ++started;
      const ac = new AbortController();
      live.add(ac);
      let late = false;
      const onLate = (step: string): void => {
        if (late || done || n !== started || started >= HANDSHAKE_ATTEMPTS || !host.isRunning()) return;
        late = true;
        const wait = HANDSHAKE_RETRY_FIRST_MS * 2 ** (n - 1);
        host.log.debug(
          'dial of %s: a handshake step was late (no %s within %d ms); attempt %d of %d starts beside it in %d ms',
          name,
          step,
          handshakeTimeout,
          n + 1,
          HANDSHAKE_ATTEMPTS,
          wait,
        );
        due = setTimeout(start, wait);
        due.unref();
      };
      host.connectTo(name, { signal: ac.signal, late: onLate, until }).then(
        (conn) => {
          live.delete(ac);
          if (done) return;
          finish();
          resolve(conn);
        },
        (err: unknown) => {
          live.delete(ac);
          if (done) return;
          // A late attempt that fails makes way for the next one now rather than after its pause.
          if (due !== null && live.size === 0) {
            clearTimeout(due);
            start();
            return;
          }
          if (live.size > 0 || due !== null) return;
          done = true;
          reject(err);
        },
      );
    };
    start();
  });
}
