// The messages the Saturn registrar sends to the subscribers of its event (`registrar.event()`),
// with the meanings Saturn's protocol gives them. They go to local subscribers only. All but one
// are the core's registrar-client messages (ergo-ts/net, re-exported by index.ts), which Saturn
// sends when:
// - EventNodeJoined: a node registered in this cluster on the Saturn server;
// - EventNodeLeft: a node's connection to the Saturn server ended (it stopped, or was cut off);
// - EventApplicationLoaded: an application was loaded on `node` (its first route, in state Loaded);
// - EventApplicationStarted / EventApplicationStopping: its route on `node` says so;
// - EventApplicationStopped: an application on `node` stopped: its known route went back to Loaded;
// - EventConfigUpdate: the effective value of config `item` for this node changed: an update
//   arrived for the most specific level that sets the item (`cluster:node:item` > `cluster:*:item`
//   > `node:item` > `*:item`). An update of a less specific level that a more specific one
//   overrides sends none.
// Saturn's own is EventApplicationUnloaded.

import type { Atom } from 'ergo-ts';
import type { RegistrarClientEvent } from 'ergo-ts/net';

/** An application's route went away: unloaded on `node`, or `node` left the cluster. */
export class EventApplicationUnloaded {
  constructor(
    readonly name: Atom,
    readonly node: Atom,
  ) {}
}

/** Any message of the Saturn registrar's event. */
export type SaturnRegistrarEvent = RegistrarClientEvent | EventApplicationUnloaded;
