// The messages the Saturn registrar sends to the subscribers of its event (`registrar.event()`),
// with the meanings Saturn's protocol gives them. They go to local subscribers only (Saturn does
// not register them with EDF either), so they are plain classes.

import type { Atom } from 'ergo-ts';

/** A node registered in this cluster on the Saturn server. */
export class EventNodeJoined {
  constructor(readonly name: Atom) {}
}

/** A node's connection to the Saturn server ended (it stopped, or was cut off). */
export class EventNodeLeft {
  constructor(readonly name: Atom) {}
}

/** An application was loaded on `node` (its first route, in state Loaded). */
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

/** An application on `node` stopped: its known route went back to Loaded. */
export class EventApplicationStopped {
  constructor(
    readonly name: Atom,
    readonly node: Atom,
  ) {}
}

/** An application's route went away: unloaded on `node`, or `node` left the cluster. */
export class EventApplicationUnloaded {
  constructor(
    readonly name: Atom,
    readonly node: Atom,
  ) {}
}

/**
 * The effective value of config `item` for this node changed: an update arrived for the most
 * specific level that sets the item (`cluster:node:item` > `cluster:*:item` > `node:item` >
 * `*:item`). An update of a less specific level that a more specific one overrides sends none.
 */
export class EventConfigUpdate {
  constructor(
    readonly item: string,
    readonly value: unknown,
  ) {}
}

/** Any message of the Saturn registrar's event. */
export type SaturnRegistrarEvent =
  | EventNodeJoined
  | EventNodeLeft
  | EventApplicationLoaded
  | EventApplicationStarted
  | EventApplicationStopping
  | EventApplicationStopped
  | EventApplicationUnloaded
  | EventConfigUpdate;
