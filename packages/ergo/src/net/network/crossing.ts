// Two nodes that dial each other at once (a crossing dial): one connection per pair must come
// out of it, chosen the same way on both sides before either sends a byte on the other one.
//
// The rule (Erlang's, for its simultaneous connects): the connection the smaller node name
// dialled is kept. The acceptor decides, when the peer's Introduce has named it and before its
// own Accept goes out (so the initiator of a refused connection never completes it and never
// sends on it):
// - an inbound from a smaller name is admitted even while this node dials that peer: its own
//   dial is refused by the peer by the same rule and waits for this inbound instead;
// - an inbound from a larger name is refused while this node dials that peer (its dial wins),
//   or while a connection (or another inbound) with that peer is up or being set up.
// The refused initiator (the larger name) keeps its queued operations and waits for the inbound
// connection; when none is being set up yet (the peer's dial is still resolving), it dials again
// after a short pause, until the peer's connection arrives or the dial timeout passes.
//
// Go Ergo 3.2 has no such rule. It keeps whichever connection it registered first: as the
// acceptor it registers right after sending its Accept and closes a later inbound; as the
// initiator it registers on reading the Accept and, finding one registered, keeps using that one
// and leaves its own socket unread. A Go node also fails its dial for good when refused. So a
// peer that does not announce `ergoPool` (a Go node) gets a rule that follows Go's:
// - this node's dial gives up just before its Introduce while an inbound from that peer is
//   admitted or registered (the peer cannot have registered the dial yet; the dial waits for the
//   inbound as above). An ergo-ts peer refuses such a dial by name instead, cleanly;
// - an inbound from that peer arriving after this node's Introduce went out waits, its Accept
//   held back, until this node's dial settles. Dial up: the peer has registered it before it can
//   read the held Accept, so it keeps using that connection; the inbound gets its Accept and is
//   closed after the handshake (its sends, if any, went on the dial's connection). Dial failed:
//   the inbound is refused (the peer may hold what the dial left it).
// - otherwise the inbound is admitted as any other.
// Names decide nothing against a Go peer; no call either side makes is lost or failed by it.

import type { Socket } from 'node:net';
import type { Atom } from '../../gen/atom.js';
import { WireError } from '../error.js';
import type { EnpConnection } from '../proto/connection.js';

/** First pause before a refused crossing dial is tried again, in ms (doubling each time). */
export const CROSSING_RETRY_FIRST_MS = 10;
/** Longest pause between two tries of a refused crossing dial, in ms. */
export const CROSSING_RETRY_MAX_MS = 250;

/** True when the connection `from` dials to `to` is the one kept in a crossing dial. */
export function dialWins(from: string, to: string): boolean {
  return from < to;
}

/** What the acceptor knows about a peer when its Introduce arrives. */
export interface PeerState {
  /** A connection with the peer is registered. */
  connected: boolean;
  /** This node is dialling the peer (its own outbound connection is being set up). */
  dialling: boolean;
  /** Another inbound connection from the peer is being set up. */
  accepting: boolean;
}

/**
 * Why an inbound connection from `peer` is refused, or null to admit it. `self`: this node.
 * A refusal is a WireError `ERR_HANDSHAKE_REFUSED` (no failure: logged at debug level).
 */
export function refusal(self: string, peer: string, s: PeerState): WireError | null {
  let why: string | null = null;
  if (s.connected) why = 'already connected to it';
  else if (s.accepting) why = 'another connection from it is being set up';
  else if (s.dialling && dialWins(self, peer)) why = `${self} dials it too and the smaller name's connection is kept`;
  return why === null ? null : new WireError('ERR_HANDSHAKE_REFUSED', `connection from ${peer} refused: ${why}`);
}

/** True for a peer that follows Go's order in crossing dials: it does not announce `ergoPool`. */
export function followsGoOrder(peerFlags: { ergoPool?: boolean }): boolean {
  return peerFlags.ergoPool !== true;
}

/** One dial attempt of a peer, as {@link Introductions} tracks it. */
export interface DialAttempt {
  /** Its Introduce goes out now: from here until it settles, a Go peer's inbound waits for it. */
  introduce(): void;
  /** It settled, either way (nothing happens if it never introduced). */
  settle(): void;
}

/**
 * Dials of a peer whose Introduce went out and which have not settled (an attempt of one dial:
 * routes, handshake, pool joins). Lifecycle: {@link Introductions.attempt} when the attempt
 * starts, its `introduce` just before the Introduce, its `settle` when it ends, either way.
 */
export class Introductions {
  readonly #settled = new Map<Atom, Promise<void>>();

  /** A dial attempt of `peer`, not introduced yet. */
  attempt(peer: Atom): DialAttempt {
    let done: (() => void) | null = null;
    let settled: Promise<void> | null = null;
    return {
      introduce: () => {
        settled = new Promise<void>((resolve) => (done = resolve));
        this.#settled.set(peer, settled);
      },
      settle: () => {
        if (settled !== null && this.#settled.get(peer) === settled) this.#settled.delete(peer);
        done?.();
      },
    };
  }

  /** Settles when the dial of `peer` past its Introduce does; undefined when there is none. */
  settled(peer: Atom): Promise<void> | undefined {
    return this.#settled.get(peer);
  }
}

/** True when `err` or one of its causes carries `code`. */
function hasCode(err: unknown, code: string): boolean {
  for (let e = err; e instanceof Error; e = e.cause) {
    if ((e as { code?: unknown }).code === code) return true;
  }
  return false;
}

/** True for the error of a handshake the acceptor refused (either side's view). */
export function isRefusal(err: unknown): boolean {
  return hasCode(err, 'ERR_HANDSHAKE_REFUSED');
}

/**
 * True for a handshake step that took longer than the per-read timeout (Ergo's 1 s): on a
 * starved machine (a CPU hog, a GC pause, many processes starting at once) a peer may answer
 * late once, so the dial is tried again within its dialTimeout rather than failing what waits.
 */
export function isHandshakeTimeout(err: unknown): boolean {
  return hasCode(err, 'ERR_HANDSHAKE_TIMEOUT');
}

/**
 * True for a handshake whose socket the peer closed or that failed mid-way: a Go Ergo peer closes
 * it when one of its own 1 s steps ran out (this side answered late, on a starved host), and also
 * on a wrong cookie, which a retry does not change — so such a dial is tried again a bounded
 * number of times only (establish.ts).
 */
export function isHandshakeClosed(err: unknown): boolean {
  return hasCode(err, 'ERR_HANDSHAKE_CLOSED');
}

interface Inbound {
  socket: Socket;
  /** The peer follows Go's rule (it does not announce `ergoPool`). */
  go: boolean;
  waiters: ((conn: EnpConnection | null) => void)[];
}

/**
 * Inbound connections admitted and not yet registered, per peer: a dial of that peer waits for
 * one rather than cross it. Lifecycle: {@link Crossings.admitted} when the acceptor admits a
 * peer; {@link Crossings.settle} when the connection is registered, or by itself when its
 * socket closes first (a failed handshake); {@link Crossings.clear} when the network stops.
 */
export class Crossings {
  readonly #inbound = new Map<Atom, Inbound>();

  /** An inbound connection from `peer` is being set up. */
  accepting(peer: Atom): boolean {
    return this.#inbound.has(peer);
  }

  /** An inbound connection from `peer`, a peer that follows Go's rule, is being set up. */
  acceptingGo(peer: Atom): boolean {
    return this.#inbound.get(peer)?.go === true;
  }

  /**
   * The acceptor admitted `peer` on `socket` (`go`: the peer follows Go's rule): until it is
   * registered, dials of `peer` wait for it.
   */
  admitted(peer: Atom, socket: Socket, go = false): void {
    const entry: Inbound = { socket, go, waiters: [] };
    this.#inbound.set(peer, entry);
    socket.once('close', () => this.#settle(peer, entry, null));
  }

  /** The inbound connection on `socket` is registered as `conn` (or was dropped: null). */
  settle(peer: Atom, socket: Socket, conn: EnpConnection | null): void {
    const entry = this.#inbound.get(peer);
    if (entry !== undefined && entry.socket === socket) this.#settle(peer, entry, conn);
  }

  /**
   * The inbound connection from `peer` being set up, once it is registered (null: it failed),
   * or null at once when there is none.
   */
  wait(peer: Atom): Promise<EnpConnection | null> | null {
    const entry = this.#inbound.get(peer);
    if (entry === undefined) return null;
    return new Promise((resolve) => entry.waiters.push(resolve));
  }

  /** Every waiter gets null (the network stops). */
  clear(): void {
    for (const [peer, entry] of [...this.#inbound]) this.#settle(peer, entry, null);
  }

  #settle(peer: Atom, entry: Inbound, conn: EnpConnection | null): void {
    if (this.#inbound.get(peer) !== entry) return;
    this.#inbound.delete(peer);
    for (const w of entry.waiters) w(conn);
    entry.waiters.length = 0;
  }
}
