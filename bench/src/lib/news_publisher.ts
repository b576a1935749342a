// The server process of the tab broadcast scenarios (tabs, tabs_cluster, tabs_fanout_cost): it
// registers the event `news` and publishes each message it is sent as one event, so a publish is
// one `sendEvent` whatever the number of gateways and tabs subscribed.

import { Actor, type PID, type Ref } from 'ergo-ts';

/** Registers `news` at init; each message sent to it is published as one `news` event. */
export class NewsPublisher extends Actor {
  token!: Ref;
  override init(): void {
    this.token = this.registerEvent('news');
  }
  override handleMessage(_from: PID, seq: unknown): void {
    this.sendEvent('news', this.token, seq);
  }
}
