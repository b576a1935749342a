// The link from a server node to a tab (the gateway's session, another node's route through the
// gateway): a frame connection that encodes a publish once for every tab it reaches.

import type { EventFanOut, MessageEvent, MessageOptions, PID } from 'ergo-ts';
import { encodeEventFrame, encodeEventTail, TAB_FANOUT_FORMAT } from './frame.js';
import { FrameConnection } from './frame_connection.js';

/**
 * A server node's link to a tab (the gateway's session, another node's route through it): a
 * publish the engine sends to many nodes at once is encoded once for all of them. The first link
 * encodes what every tab gets alike into the publish's EventFanOut (slot TAB_FANOUT_FORMAT, valid
 * for that one synchronous fan-out); each link writes its own head (op, source, destination)
 * before those bytes, per publish: a head kept per link would cost every subscribed tab ~300 bytes
 * of typed-array objects for a few dozen bytes.
 */
export class TabLink extends FrameConnection {
  override sendEvent(from: PID, o: MessageOptions, m: MessageEvent, shared?: EventFanOut): void {
    if (shared === undefined) return super.sendEvent(from, o, m);
    let tail = shared.packets[TAB_FANOUT_FORMAT];
    if (tail === undefined)
      shared.packets[TAB_FANOUT_FORMAT] = tail = encodeEventTail(from, m.event, m.timestamp, m.message);
    this.fanOutEvent(from, m, tail);
  }

  /**
   * Posts the Event frame of a publish to many peers (`tail`: what they all get, encoded): its
   * head and the tail, as any encoded frame here; a gateway's session writes it in the gateway's
   * broadcast slices instead, encoded as its slice comes (session.ts, slices.ts).
   * @throws ErrNoConnection once terminated; whatever `post` throws.
   */
  protected fanOutEvent(from: PID, m: MessageEvent, tail: Uint8Array): void {
    this.postEncoded(this.eventFrame(from, m), this.eventBytes(tail));
  }

  /** The bytes of an Event frame to the tab with `tail` (a session writes a slab's view: see there). */
  protected eventBytes(tail: Uint8Array): Uint8Array {
    return encodeEventFrame(this.local, this.peer, tail);
  }
}
