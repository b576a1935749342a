// Events: named pub/sub streams owned by a producer (a process or the node). Publishing is
// checked against the token the producer got at registration; anyone holding the token may
// publish. Subscribers are the links and monitors on the event; the producer hears (with
// `notify`) when the first subscriber arrives and when the last one leaves.

import type { Atom } from '../gen/atom.js';
import { ATOM_MAX_BYTES, utf8Length } from '../gen/atom.js';
import {
  ErrAtomTooLong,
  ErrEventOwner,
  ErrEventUnknown,
  ErrIncorrect,
  ErrTaken,
  ErrUnregistered,
} from '../gen/errors.js';
import { Event, type EventInfo, type EventOptions } from '../gen/event.js';
import { MessageEventStart, MessageEventStop, type MessageEvent } from '../gen/messages.js';
import { EventFanOut, type Connection } from '../gen/network.js';
import type { MessageOptions } from '../gen/options.js';
import type { PID } from '../gen/pid.js';
import { MailboxKind } from '../gen/process.js';
import { isMessagePriority, type MessagePriority } from '../gen/priority.js';
import type { Ref } from '../gen/ref.js';
import type { NodeImpl } from './node.js';
import type { ProcessImpl } from './process.js';
import { Q_SYSTEM } from './mailbox.js';

/** One registered event. */
export class EventEntry {
  /** Ring of the last `bufferSize` messages (oldest first once wrapped). */
  private buf: MessageEvent[] | null;
  private bufStart = 0;
  subscribers = 0;
  /** Messages published since registration. */
  published = 0;

  constructor(
    readonly event: Event,
    readonly producer: PID,
    readonly owner: ProcessImpl | null,
    readonly token: Ref,
    readonly notify: boolean,
    readonly bufferSize: number,
  ) {
    this.buf = bufferSize > 0 ? [] : null;
  }

  remember(m: MessageEvent): void {
    const b = this.buf;
    if (b === null) return;
    if (b.length < this.bufferSize) b.push(m);
    else {
      b[this.bufStart] = m;
      this.bufStart = (this.bufStart + 1) % this.bufferSize;
    }
  }

  /** Buffered messages, oldest first. */
  history(): MessageEvent[] {
    const b = this.buf;
    if (b === null || b.length === 0) return [];
    return b.slice(this.bufStart).concat(b.slice(0, this.bufStart));
  }
}

/** The event registry of a node. */
export class EventRegistry {
  private readonly byName = new Map<Atom, EventEntry>();

  constructor(private readonly node: NodeImpl) {}

  get size(): number {
    return this.byName.size;
  }

  get(name: Atom): EventEntry | undefined {
    return this.byName.get(name);
  }

  register(name: Atom, producer: PID, owner: ProcessImpl | null, options: EventOptions): Ref {
    this.node.checkAlive();
    if (typeof name !== 'string' || name === '') throw ErrIncorrect.with('event name must be a non-empty string');
    if (utf8Length(name) > ATOM_MAX_BYTES) throw ErrAtomTooLong.with(name);
    const buffer = options.buffer ?? 0;
    if (!Number.isInteger(buffer) || buffer < 0) throw ErrIncorrect.with(`event buffer ${buffer}`);
    if (this.byName.has(name)) throw ErrTaken.with(`event '${name}'`);
    const token = this.node.makeRef();
    this.byName.set(
      name,
      new EventEntry(new Event(name, this.node.name), producer, owner, token, options.notify === true, buffer),
    );
    return token;
  }

  /** Unregisters an event of `producer`; subscribers get ErrUnregistered. */
  unregister(name: Atom, producer: PID): void {
    this.node.checkAlive();
    const e = this.byName.get(name);
    if (e === undefined) throw ErrEventUnknown.with(`'${name}'`);
    if (!e.producer.equals(producer)) throw ErrEventOwner.with(`'${name}'`);
    this.byName.delete(name);
    this.node.relations.targetEnded(e.event, ErrUnregistered, this.node.pid);
  }

  /** Drops an event because its producer ended; subscribers get the producer's reason. */
  producerEnded(name: Atom, reason: Error): void {
    const e = this.byName.get(name);
    if (e === undefined) return;
    this.byName.delete(name);
    this.node.relations.targetEnded(e.event, reason, this.node.pid);
  }

  /** Publishes to every subscriber. ErrEventUnknown / ErrEventOwner on a wrong name or token. */
  publish(name: Atom, token: Ref, message: unknown, priority: MessagePriority): void {
    this.node.checkAlive();
    if (!isMessagePriority(priority)) throw ErrIncorrect.with(`priority ${String(priority)}`);
    const e = this.byName.get(name);
    if (e === undefined) throw ErrEventUnknown.with(`'${name}'`);
    if (!e.token.equals(token)) throw ErrEventOwner.with(`wrong token for '${name}'`);
    e.published++;
    this.node.router.publishEvent(e, message, priority);
  }

  /** Every registered event, in registration order. */
  list(): EventInfo[] {
    const out: EventInfo[] = [];
    for (const e of this.byName.values()) {
      out.push({
        event: e.event,
        producer: e.producer,
        notify: e.notify,
        buffer: e.bufferSize,
        subscribers: e.subscribers,
        published: e.published,
      });
    }
    return out;
  }

  /** A subscriber arrived: count it and tell the producer about the first one. */
  subscribed(e: EventEntry): void {
    if (++e.subscribers === 1 && e.notify) this.tellProducer(e, new MessageEventStart(e.event.name));
  }

  /** A subscriber left: count it and tell the producer when it was the last. */
  unsubscribed(e: EventEntry): void {
    if (e.subscribers === 0) return;
    if (--e.subscribers === 0 && e.notify) this.tellProducer(e, new MessageEventStop(e.event.name));
  }

  private tellProducer(e: EventEntry, message: unknown): void {
    if (e.owner !== null) e.owner.notify(Q_SYSTEM, MailboxKind.Regular, this.node.pid, message);
  }

  /** Forgets the node's own events (node stop; every subscriber is gone by then). */
  dropNodeEvents(reason: Error): void {
    for (const e of [...this.byName.values()]) if (e.owner === null) this.producerEnded(e.event.name, reason);
  }

  /** Names of all events. */
  names(): Atom[] {
    return [...this.byName.keys()];
  }
}

/** The options of a node's event packets, by priority: made once (connections only read them). */
const EVENT_OPTIONS: readonly MessageOptions[] = [0, 1, 2].map((priority) =>
  Object.freeze({ priority: priority as MessagePriority, important: false, compression: null, keepNetworkOrder: true }),
);

/**
 * The fan-out record of a publish to several nodes, reused by every publish: it is valid only
 * during one synchronous fan-out (a new one while it is in use, should a send re-enter).
 */
const sharedFanOut = new EventFanOut();
let sharedBusy = false;

/** What {@link sendEventToNodes} asks of the router. */
export interface EventFanOutHost {
  connection(node: Atom): Connection;
}

/**
 * Sends one published event to each node of `nodes` once (that node fans it out to its
 * subscribers). With several nodes, one EventFanOut lets the first connection of each wire
 * format encode the event and the others reuse its bytes. A node that cannot take it (no
 * connection, its buffer limit reached) is logged and skipped: the others still get it.
 */
export function sendEventToNodes(
  host: EventFanOutHost,
  nodes: readonly Atom[],
  from: PID,
  m: MessageEvent,
  priority: MessagePriority,
  warn: (node: Atom, e: unknown) => void,
): void {
  const options = EVENT_OPTIONS[priority]!;
  let shared: EventFanOut | undefined;
  let own = false;
  if (nodes.length > 1) {
    if (sharedBusy) shared = new EventFanOut();
    else {
      shared = sharedFanOut;
      const p = shared.packets;
      for (let i = 0; i < p.length; i++) p[i] = undefined;
      shared.batch = null;
      shared.batchIndex = -1;
      sharedBusy = own = true;
    }
  }
  try {
    for (let i = 0; i < nodes.length; i++) {
      const node = nodes[i]!;
      try {
        host.connection(node).sendEvent(from, options, m, shared);
      } catch (e) {
        warn(node, e);
      }
    }
  } finally {
    if (own) {
      sharedBusy = false;
      // Drops the references to this publish's batch and packets (kept until the next one otherwise).
      shared!.batch = null;
    }
  }
}
