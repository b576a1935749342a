// Event: a named pub/sub stream, unique per node.

import { crc32Hex } from '../lib/crc32.js';
import type { Atom } from './atom.js';
import type { PID } from './pid.js';
import type { EventName } from './protocol.js';

/** `{name, node}` of an event, printed `Event#<CRC32(node):name>`. */
export class Event<T = unknown> {
  /** Phantom: the payload type of this event (`unknown`: untyped). Never set at run time. */
  declare readonly '~payload'?: T;
  #key: string | undefined;
  constructor(
    readonly name: EventName<T>,
    readonly node: Atom,
  ) {}

  /** True if `other` is an Event with the same name and node. */
  equals(other: unknown): boolean {
    return other instanceof Event && other.name === this.name && other.node === this.node;
  }

  /**
   * A string unique to this value, suitable as a Map key (cached: a publish looks it up per
   * message, a subscriber node per event it receives). V8's internalized copy: the Event a node
   * decodes and the one its subscription stored are distinct objects, and with both keys
   * internalized the map's key compare is a pointer compare instead of reading the characters.
   */
  get key(): string {
    return (this.#key ??= internalized(`E${this.node}\u0000${this.name}`));
  }

  toString(): string {
    return `Event#<${crc32Hex(this.node)}:${this.name}>`;
  }

  toJSON(): string {
    return this.toString();
  }
}

/**
 * A registered event as `node.eventList()` reports it: its producer, options, how many
 * subscribers it has now and how many messages it published since it was registered.
 */
export interface EventInfo {
  event: Event;
  producer: PID;
  notify: boolean;
  buffer: number;
  subscribers: number;
  published: number;
}

/** Options of {@link Event} registration. */
export interface EventOptions {
  /** Send MessageEventStart/MessageEventStop to the producer when the first subscriber comes / the last goes. */
  notify?: boolean;
  /** Keep the last N published messages and hand them to new subscribers (0 = none). */
  buffer?: number;
}

/** `s` as V8's internalized copy (property keys are internalized). */
function internalized(s: string): string {
  const o: Record<string, 0> = { [s]: 0 };
  for (const k in o) return k;
  return s;
}
