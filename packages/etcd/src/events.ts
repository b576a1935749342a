// The messages the etcd registrar sends to the subscribers of its event (`registrar.event()`), as
// Ergo's etcd registrar does. They go to local subscribers only. They are the core's
// registrar-client messages (ergo-ts/net, re-exported by index.ts), sent by etcd when:
// - EventNodeJoined: a node registered in the cluster (a put of its node key; also after it
//   re-registered);
// - EventNodeLeft: a node's key went away: it stopped, or its lease expired (killed, cut off for a TTL);
// - EventApplicationLoaded: an application was loaded on `node` (also after it stopped: the route
//   is back to Loaded);
// - EventApplicationStarted / EventApplicationStopping: its route on `node` says so;
// - EventApplicationStopped: an application's route went away: unloaded, or its node left the cluster;
// - EventConfigUpdate: the effective value of a config item changed (after the priority rules);
//   `value` is null when no level sets the item any more.

import type { RegistrarClientEvent } from 'ergo-ts/net';

/** Any message of the etcd registrar's event. */
export type EtcdRegistrarEvent = RegistrarClientEvent;
