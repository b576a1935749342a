// Messages the framework delivers to processes: exit signals (urgent queue), down notifications
// (system queue), events, overflow fallbacks. Classes, so handlers can tell them apart with
// `instanceof`, exactly like a Go type switch.

import type { Atom } from './atom.js';
import type { Event } from './event.js';
import type { PID } from './pid.js';
import type { ProcessID } from './processid.js';
import type { Alias } from './ref.js';
import { installEventStamps, nsOfHalves } from './event_stamps.js';

/** A linked process ended (or sent you an exit signal). Delivered urgent; trapped → handleMessage. */
export class MessageExitPID {
  constructor(
    readonly pid: PID,
    readonly reason: Error,
  ) {}
}

/** The process behind a linked name ended, or the name was unregistered (`ErrUnregistered`). */
export class MessageExitProcessID {
  constructor(
    readonly processID: ProcessID,
    readonly reason: Error,
  ) {}
}

/** The owner of a linked alias ended, or the alias was deleted (`ErrUnregistered`). */
export class MessageExitAlias {
  constructor(
    readonly alias: Alias,
    readonly reason: Error,
  ) {}
}

/** A linked event ended: its producer terminated or unregistered it (`ErrUnregistered`). */
export class MessageExitEvent {
  constructor(
    readonly event: Event,
    readonly reason: Error,
  ) {}
}

/** The connection to a linked node was lost. */
export class MessageExitNode {
  constructor(readonly name: Atom) {}
}

/** A monitored process ended. Delivered in the system queue to handleMessage. */
export class MessageDownPID {
  constructor(
    readonly pid: PID,
    readonly reason: Error,
  ) {}
}

/** The process behind a monitored name ended, or the name was unregistered. */
export class MessageDownProcessID {
  constructor(
    readonly processID: ProcessID,
    readonly reason: Error,
  ) {}
}

/** A monitored alias is gone (owner ended or alias deleted). */
export class MessageDownAlias {
  constructor(
    readonly alias: Alias,
    readonly reason: Error,
  ) {}
}

/** A monitored event ended. */
export class MessageDownEvent {
  constructor(
    readonly event: Event,
    readonly reason: Error,
  ) {}
}

/** The connection to a monitored node was lost. */
export class MessageDownNode {
  constructor(readonly name: Atom) {}
}

/**
 * A connection to a remote node is up (port extension, as Erlang's `{nodeup, Node}`): sent in the
 * system queue to processes that called `monitorNodes()`.
 */
export class MessageNodeUp {
  constructor(readonly name: Atom) {}
}

/**
 * The connection to a remote node is lost (port extension, as Erlang's `{nodedown, Node}`): sent
 * in the system queue to processes that called `monitorNodes()`. `reason` is why it ended.
 */
export class MessageNodeDown {
  constructor(
    readonly name: Atom,
    readonly reason: Error,
  ) {}
}

/** Node's `util.inspect`, as it passes itself to a custom inspector. */
type InspectFn = (value: unknown, options: object) => string;

/** The constructor's "stamped by the engine" mark: an object, so no bigint a user passes is it. */
const STAMPED = Object.freeze({}) as unknown as bigint;
// The halves EventStamps.make passes to the constructor.
let nextHi = 0;
let nextLo = 0;

/**
 * One published event. Subscribers receive it in `handleEvent`; `linkEvent`/`monitorEvent`
 * return the buffered ones. `timestamp` is Unix time in nanoseconds (a bigint, as on the wire).
 */
export class MessageEvent<T = unknown> {
  readonly event: Event<T>;
  readonly message: T;
  // The timestamp as the wire holds it, two 32-bit halves (hi signed): the engine stamps and
  // carries events in these, and the bigint is made on the first read of `timestamp`.
  #hi: number;
  #lo: number;
  #ns: bigint | undefined;

  constructor(event: Event<T>, timestamp: bigint, message: T) {
    this.event = event;
    this.message = message;
    if (timestamp === STAMPED) {
      this.#hi = nextHi;
      this.#lo = nextLo;
      this.#ns = undefined;
    } else {
      this.#hi = Number(BigInt.asIntN(32, timestamp >> 32n));
      this.#lo = Number(BigInt.asUintN(32, timestamp));
      this.#ns = timestamp;
    }
  }

  /** Unix time in nanoseconds when the event was published. */
  get timestamp(): bigint {
    return (this.#ns ??= nsOfHalves(this.#hi, this.#lo));
  }

  /** What `console.log` / `util.inspect` show: the three fields (the timestamp is a getter). */
  [Symbol.for('nodejs.util.inspect.custom')](depth: number, options: object, inspect: InspectFn): string {
    const fields = { event: this.event, timestamp: this.timestamp, message: this.message };
    return `MessageEvent ${inspect(fields, { ...options, depth: depth < 0 ? null : depth })}`;
  }

  static {
    installEventStamps({
      make<T>(event: Event<T>, hi: number, lo: number, message: T): MessageEvent<T> {
        nextHi = hi;
        nextLo = lo;
        return new MessageEvent(event, STAMPED, message);
      },
      hi: (m) => m.#hi,
      lo: (m) => m.#lo,
    });
  }
}

/** Sent to an event's producer (with `notify`) when its first subscriber arrives. */
export class MessageEventStart {
  constructor(readonly name: Atom) {}
}

/** Sent to an event's producer (with `notify`) when its last subscriber leaves. */
export class MessageEventStop {
  constructor(readonly name: Atom) {}
}

/**
 * A message that did not fit in a bounded mailbox, re-sent to the target's fallback process.
 * `pid` is the process whose mailbox was full.
 */
export class MessageFallback {
  constructor(
    readonly pid: PID,
    readonly tag: string,
    readonly message: unknown,
  ) {}
}
