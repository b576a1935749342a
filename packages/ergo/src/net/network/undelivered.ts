// What this node accepted for a peer and then could not deliver. Plain sends queued while the
// peer was being dialled when the dial failed, or refused when that queue was replayed on a
// reconnected but busy connection: Ergo's rule drops a plain send that cannot go (nobody waits
// for it), but nothing accepted disappears without a word — each drop is counted here, reported
// in `NetworkInfo.undelivered`, and logged as one summary warning per peer per interval, never a
// line per message (a paused peer behind a fast sender would otherwise write thousands). And the
// user packets a connection declared down had not delivered (UserPacketLedger, proto/flow.ts),
// counted here and told in the line that declares it down. Important sends and calls are never
// dropped silently: they fail to their sender with a code at once.

import type { Atom } from '../../gen/atom.js';
import type { Log } from '../../gen/log.js';
import type { UndeliveredInfo } from '../../gen/network.js';

/** Shortest time between two drop warnings about one peer (milliseconds). */
export const UNDELIVERED_WARNING_INTERVAL_MS = 10_000;

interface PeerDrops {
  /** Totals since the network started. */
  sends: number;
  bytes: number;
  downPackets: number;
  downBytes: number;
  /** Counted since the last warning, told at the end of the interval. */
  sendsUntold: number;
  bytesUntold: number;
  lastReason: string;
  timer: ReturnType<typeof setTimeout> | null;
}

/**
 * The drop counts of one network. Lifecycle: lives as long as the network; {@link stop} clears
 * the interval timers (untold counts are logged at once).
 */
export class Undelivered {
  private readonly peers = new Map<Atom, PeerDrops>();

  constructor(
    private readonly log: Log,
    private readonly intervalMs = UNDELIVERED_WARNING_INTERVAL_MS,
  ) {}

  /**
   * `sends` plain sends (and/or `bytes` unwritten bytes of user packets) for `peer` were
   * dropped because of `reason`. The first drop after a quiet interval is warned of at once; the
   * ones that follow within the interval in one summary line at its end.
   */
  dropped(peer: Atom, sends: number, bytes: number, reason: string): void {
    if (sends <= 0 && bytes <= 0) return;
    let d = this.peers.get(peer);
    if (d === undefined) {
      d = this.entry(peer);
    }
    d.sends += sends;
    d.bytes += bytes;
    d.sendsUntold += sends;
    d.bytesUntold += bytes;
    d.lastReason = reason;
    if (d.timer !== null) return;
    this.tell(peer, d);
    this.arm(peer, d);
  }

  private entry(peer: Atom): PeerDrops {
    let d = this.peers.get(peer);
    if (d === undefined) {
      d = {
        sends: 0,
        bytes: 0,
        downPackets: 0,
        downBytes: 0,
        sendsUntold: 0,
        bytesUntold: 0,
        lastReason: '',
        timer: null,
      };
      this.peers.set(peer, d);
    }
    return d;
  }

  /** A connection to `peer` went down with `packets` user packets (`bytes`) not delivered (told by its own line). */
  lostAtDown(peer: Atom, packets: number, bytes: number): void {
    const d = this.entry(peer);
    d.downPackets += packets;
    d.downBytes += bytes;
  }

  private arm(peer: Atom, d: PeerDrops): void {
    d.timer = setTimeout(() => {
      d.timer = null;
      if (d.sendsUntold === 0 && d.bytesUntold === 0) return;
      this.tell(peer, d);
      this.arm(peer, d);
    }, this.intervalMs);
    // Never keeps the OS process alive by itself.
    d.timer.unref();
  }

  private tell(peer: Atom, d: PeerDrops): void {
    const what: string[] = [];
    if (d.sendsUntold > 0) what.push(`${d.sendsUntold} plain sends`);
    if (d.bytesUntold > 0) what.push(`${d.bytesUntold} unwritten bytes of user packets`);
    this.log.warning(
      'undelivered to %s: %s dropped (%s; %d sends, %d bytes since start; further drops are summed every %d ms)',
      peer,
      what.join(' and '),
      d.lastReason,
      d.sends,
      d.bytes,
      this.intervalMs,
    );
    d.sendsUntold = 0;
    d.bytesUntold = 0;
  }

  /** The counts per peer since the network started (NetworkInfo.undelivered). */
  info(): UndeliveredInfo[] {
    const out: UndeliveredInfo[] = [];
    for (const [node, d] of this.peers)
      out.push({ node, plainSends: d.sends, downPackets: d.downPackets, downBytes: d.downBytes });
    return out;
  }

  /** Plain sends dropped for `peer` since the network started. */
  sendsTo(peer: Atom): number {
    return this.peers.get(peer)?.sends ?? 0;
  }

  /** Tells what is untold and clears the timers. */
  stop(): void {
    for (const [peer, d] of this.peers) {
      if (d.timer === null) continue;
      clearTimeout(d.timer);
      d.timer = null;
      if (d.sendsUntold > 0 || d.bytesUntold > 0) this.tell(peer, d);
    }
  }
}
