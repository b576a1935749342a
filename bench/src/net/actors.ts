// The actors on the receiving end of the network suites' peers (net/peer.ts, net/hosts_node.ts).

import { Actor, type PID, type Ref } from 'ergo-ts';

/** Messages per acknowledgement of a windowed send. */
export const CHUNK = 1000;

/** Counts windowed sends: "ack" every CHUNK, "done" after the total a negative number announced. */
export class Receiver extends Actor {
  total = 0;
  count = 0;
  override handleMessage(from: PID, message: unknown): void {
    // A negative number starts a round of that many messages.
    if (typeof message === 'number' && message < 0) {
      this.total = -message;
      this.count = 0;
      return;
    }
    this.count++;
    if (this.count % CHUNK === 0) this.send(from, 'ack');
    if (this.count === this.total) this.send(from, 'done');
  }
}

/** Answers every call with its request. */
export class Echo extends Actor {
  override handleCall(_from: PID, _ref: Ref, request: unknown): unknown {
    return request;
  }
}
