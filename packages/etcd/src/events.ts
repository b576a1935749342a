// The messages the etcd registrar sends to the subscribers of its event (`registrar.event()`),
// as Ergo's etcd registrar does. They are delivered to local subscribers only (Ergo does not
// register them with EDF either), so they are plain classes.

import type { Atom } from 'ergo-ts';

/** A node registered in the cluster (a put of its node key; also after it re-registered). */
export class EventNodeJoined {
  constructor(readonly name: Atom) {}
}

/** A node's key went away: it stopped, or its lease expired (killed, cut off for a TTL). */
export class EventNodeLeft {
  constructor(readonly name: Atom) {}
}

/** An application was loaded on `node` (also after it stopped: the route is back to Loaded). */
export class EventApplicationLoaded {
  constructor(
    readonly name: Atom,
    readonly node: Atom,
    readonly weight: number,
  ) {}
}

/** An application is running on `node` (`mode`: 1 temporary, 2 transient, 3 permanent). */
export class EventApplicationStarted {
  constructor(
    readonly name: Atom,
    readonly node: Atom,
    readonly weight: number,
    readonly mode: number,
  ) {}
}

/** An application on `node` is stopping. */
export class EventApplicationStopping {
  constructor(
    readonly name: Atom,
    readonly node: Atom,
  ) {}
}

/** An application's route went away: unloaded, or its node left the cluster. */
export class EventApplicationStopped {
  constructor(
    readonly name: Atom,
    readonly node: Atom,
  ) {}
}

/**
 * The effective value of a config item changed (after the priority rules); `value` is null when
 * no level sets the item any more.
 */
export class EventConfigUpdate {
  constructor(
    readonly item: string,
    readonly value: unknown,
  ) {}
}

/** Any message of the registrar's event. */
export type EtcdRegistrarEvent =
  | EventNodeJoined
  | EventNodeLeft
  | EventApplicationLoaded
  | EventApplicationStarted
  | EventApplicationStopping
  | EventApplicationStopped
  | EventConfigUpdate;
