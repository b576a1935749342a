// Back-pressure towards a slow peer: the bound, in bytes, on what one connection holds in this
// process for its peer — packets encoded but not yet written, and bytes written that the socket
// (or the in-host ring) could not hand on because the peer does not read. Without it a peer that
// stalls (SIGSTOP, a blocked event loop, a slow link) lets a fast sender queue until it runs out
// of memory. At the bound, sends, calls and responses to that peer are refused synchronously with
// ErrPeerBusy — Ergo's rule for plain sends (they are dropped) with the refusal reported to the
// sender, as Go Ergo's `Send` returns an error — while protocol packets (exit signals,
// termination notices, acks, answers to the peer's requests, heartbeats) always go: they are
// small and dropping one would leave the two nodes disagreeing.

import { ErgoError, ErrIncorrect } from '../../gen/errors.js';

/** Default of NetworkOptions.peerBufferLimit: 8 MiB per connection. */
export const DEFAULT_PEER_BUFFER_LIMIT = 8 * 1024 * 1024;

/** Smallest accepted NetworkOptions.peerBufferLimit (Erlang's minimum busy limit, 1 KiB). */
export const MIN_PEER_BUFFER_LIMIT = 1024;

/** Code of the error a send to a peer over its buffer limit fails with. */
export const ERR_PEER_BUSY = 'ERR_PEER_BUSY';

/**
 * The error a send, call or response fails with when its connection holds `peerBufferLimit`
 * bytes the peer has not taken (`ERR_PEER_BUSY`; match with `ErrPeerBusy.is(err)` or the code).
 * Nothing was queued: a plain send is dropped, a call fails at once.
 */
export const ErrPeerBusy = new ErgoError(ERR_PEER_BUSY, 'peer busy');

/** The refusal of one packet: names the peer, what waits and the limit. */
export function peerBusy(peer: string, queued: number, limit: number): ErgoError {
  return ErrPeerBusy.with(
    `${peer} has not taken ${queued} bytes queued for it (peerBufferLimit ${limit}): the packet was not sent`,
  );
}

/** NetworkOptions.peerBufferLimit checked (ErrIncorrect), or the default. */
export function checkBufferLimit(value: number | undefined): number {
  const v = value ?? DEFAULT_PEER_BUFFER_LIMIT;
  if (!Number.isInteger(v) || v < MIN_PEER_BUFFER_LIMIT || v > Number.MAX_SAFE_INTEGER)
    throw ErrIncorrect.with(`peerBufferLimit ${String(v)} (bytes, an integer ≥ ${MIN_PEER_BUFFER_LIMIT})`);
  return v;
}

/**
 * Bytes to encode into one link before it is written at once instead of at the end of the task:
 * a burst to a fast peer goes into the kernel as it is made, so only a peer that does not read
 * fills the queue the bound counts.
 */
export function flushThreshold(limit: number): number {
  return Math.max(1024, Math.min(256 * 1024, limit >>> 2));
}

/** A count of user packets and their bytes. */
export interface PacketCount {
  packets: number;
  bytes: number;
}

/**
 * The user packets (sends, calls, responses, events) one connection admitted, and what a down
 * left undelivered. A connection declared down (a stall) is not carried over to the next one:
 * its sockets are reset, so the packets never written, and those written after the peer was last
 * heard (a stopped peer read none of them), are not delivered. The important sends and calls
 * among them fail with the connection (ERR_NO_CONNECTION, at once); the plain sends are lost, and
 * this count tells them. The heartbeat's checks that heard from the peer mark the counts; a down
 * takes the packets since the mark before last (one check of margin, so it is an upper bound).
 * Lifecycle: one per connection.
 */
export class UserPacketLedger {
  private packets = 0;
  private bytes = 0;
  private readonly older: PacketCount = { packets: 0, bytes: 0 };
  private readonly newer: PacketCount = { packets: 0, bytes: 0 };
  /** What the down left undelivered (0 after a graceful end, which writes everything). */
  readonly atDown: PacketCount = { packets: 0, bytes: 0 };

  /** One user packet of `bytes` went into a link. */
  admitted(bytes: number): void {
    this.packets++;
    this.bytes += bytes;
  }

  /** A heartbeat check heard from the peer: what was admitted until now may have reached it. */
  heard(): void {
    this.older.packets = this.newer.packets;
    this.older.bytes = this.newer.bytes;
    this.newer.packets = this.packets;
    this.newer.bytes = this.bytes;
  }

  /** The connection was declared down with `unwritten` user bytes still held: fills {@link atDown}. */
  down(unwritten: number): PacketCount {
    this.atDown.packets = this.packets - this.older.packets;
    this.atDown.bytes = Math.max(this.bytes - this.older.bytes, unwritten);
    return this.atDown;
  }
}

/** What user packets hold on `links` (EnpLink.userQueued): a packet being admitted is not in it yet. */
export function userBytesOn(links: readonly { readonly userQueued: number }[]): number {
  let q = 0;
  for (const l of links) q += l.userQueued;
  return q;
}
