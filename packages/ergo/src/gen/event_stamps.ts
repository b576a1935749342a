// Engine access to a MessageEvent's timestamp without a bigint (not exported from the package):
// a publish stamps its event from the clock as two 32-bit halves of Unix nanoseconds, the wire
// writes and reads those halves, and `MessageEvent.timestamp` makes the bigint only when read.
// A stream of events (the broker row) then allocates no bigint per publish on the publisher and
// none per event on each subscriber node. MessageEvent installs the accessors (they need its
// private fields); this module stays out of gen/index.ts so they are no public API.

import type { Event } from './event.js';
import type { MessageEvent } from './messages.js';

/** The accessors MessageEvent installs. */
export interface EventStamps {
  /** An event stamped with Unix ns `hi * 2^32 + lo` (hi a signed 32-bit value, lo unsigned). */
  make<T>(event: Event<T>, hi: number, lo: number, message: T): MessageEvent<T>;
  /** The signed high 32 bits of the event's Unix-ns timestamp. */
  hi(m: MessageEvent): number;
  /** The unsigned low 32 bits of the event's Unix-ns timestamp. */
  lo(m: MessageEvent): number;
}

/** Set by messages.ts when it loads (before any engine code runs). */
export let eventStamps!: EventStamps;

/** messages.ts only. */
export function installEventStamps(s: EventStamps): void {
  eventStamps = s;
}

const TWO32 = 4294967296;

/** Unix ns from the two halves of an i64 (`hi` signed, `lo` unsigned): the only bigint made of them. */
export function nsOfHalves(hi: number, lo: number): bigint {
  return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
}

/** Read once: `performance.timeOrigin` is an accessor, a runtime call per publish. */
const TIME_ORIGIN = performance.timeOrigin;

/** Wall-clock time in Unix microseconds (a safe integer). */
export function nowMicros(): number {
  return Math.round((TIME_ORIGIN + performance.now()) * 1e3);
}

/**
 * The high half of Unix ns `us * 1000`, for `us` a non-negative safe integer (exact: `us` is split
 * at 2^32 so no product passes 2^53). {@link stampLo} gives the low half.
 */
export function stampHi(us: number): number {
  const a = Math.floor(us / TWO32);
  return a * 1000 + Math.floor(((us - a * TWO32) * 1000) / TWO32);
}

/** The low half of Unix ns `us * 1000` (see {@link stampHi}). */
export function stampLo(us: number): number {
  const b = (us - Math.floor(us / TWO32) * TWO32) * 1000;
  return b - Math.floor(b / TWO32) * TWO32;
}
