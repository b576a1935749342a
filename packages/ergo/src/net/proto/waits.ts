// The requests of one ENP connection that wait for the peer's answer: important-delivery acks,
// the ack of an important response, link/monitor/event requests, remote spawn and application
// start. One table per connection, swept for deadlines by one timer that runs only while the
// table is not empty. A request whose deadline passes rejects with ErrTimeout: its outcome is
// unknown (the peer may have acted on it).

import { ErrIncorrect, ErrTimeout, toError } from '../../gen/errors.js';
import type { MessageEvent } from '../../gen/messages.js';
import { DEFAULT_REQUEST_TIMEOUT } from '../../gen/options.js';
import type { Ref } from '../../gen/ref.js';
import type { WireID3 } from './packet.js';

/** How often the table of requests waiting for the peer is checked for deadlines. */
export const REQUEST_SWEEP_MS = 250;

interface Waiting {
  resolve(value: unknown): void;
  reject(err: Error): void;
  deadline: number;
  /** A control request's ref: its answer must carry this very ref (the key holds its sequence only). */
  ref?: Ref;
  /** Checks (and may convert) the answer before the wait resolves with it; throws to reject. */
  check?: (value: unknown) => unknown;
}

/** Key of the ack of an important send (its message id). */
export function ackKey(id: number | bigint): string {
  return `a${String(id)}`;
}

/**
 * Key of the answer to a control request: the sequence number of the request's ref, unique for
 * this node's incarnation (the whole ref is checked on arrival). A number, not `Ref.key` nor a
 * string made of it: building and hashing a string for every request and every decoded answer
 * was a tenth of a remote monitor's cost on the watcher's side. Other waits use string keys.
 */
export function controlKey(ref: Ref): number {
  const k = ref.id[0];
  return typeof k === 'number' ? k : Number(k);
}

/** Key of the ack of an important response (the caller's ref id). */
export function responseAckKey(id: WireID3): string {
  return `r${String(id[0])}.${String(id[1])}.${String(id[2])}`;
}

/** True when an answer's ref is the request's (same node, incarnation and ids). */
function sameRef(a: Ref, b: Ref): boolean {
  return (
    a.id[0] === b.id[0] && a.id[1] === b.id[1] && a.id[2] === b.id[2] && a.node === b.node && a.creation === b.creation
  );
}

/** The list of events a link/monitor-event request was answered with. */
export function eventList(v: unknown): MessageEvent[] {
  if (v === null || v === undefined) return [];
  if (Array.isArray(v)) return v as MessageEvent[];
  throw ErrIncorrect.with('event subscription answered with something other than a list of events');
}

/**
 * The waiting requests of one connection. Lifecycle: created with the connection;
 * {@link RequestTable.rejectAll} when it ends (the sweeper stops with the last entry).
 */
export class RequestTable {
  readonly #waiting = new Map<string | number, Waiting>();
  #sweeper: ReturnType<typeof setInterval> | null = null;

  /** `peer`: named in the timeout's message. */
  constructor(private readonly peer: string) {}

  /** Requests waiting now. */
  get size(): number {
    return this.#waiting.size;
  }

  /** Registers a wait for the peer's answer; the promise settles on it or on the deadline. */
  wait<T>(
    key: string | number,
    timeout = DEFAULT_REQUEST_TIMEOUT,
    ref?: Ref,
    check?: (value: unknown) => T,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const w: Waiting = { resolve: resolve as (v: unknown) => void, reject, deadline: Date.now() + timeout };
      if (ref !== undefined) w.ref = ref;
      // In the table, not a `then` on the promise: no derived Promise and microtask per answer.
      if (check !== undefined) w.check = check;
      this.#waiting.set(key, w);
      if (this.#sweeper === null) {
        this.#sweeper = setInterval(() => this.#sweep(), REQUEST_SWEEP_MS);
        this.#sweeper.unref();
      }
    });
  }

  /** Settles the wait `key` (false when nothing waits under it). */
  settle(key: string | number, err: Error | null, value?: unknown): boolean {
    const w = this.#waiting.get(key);
    if (w === undefined) return false;
    this.#waiting.delete(key);
    if (err !== null) w.reject(err);
    else if (w.check === undefined) w.resolve(value);
    else {
      let v: unknown;
      try {
        v = w.check(value);
      } catch (e) {
        w.reject(toError(e));
        return true;
      }
      w.resolve(v);
    }
    return true;
  }

  /** Settles the control request answered with `ref` (an answer with another ref is ignored). */
  settleControl(ref: Ref, err: Error | null, value: unknown): void {
    const key = controlKey(ref);
    const w = this.#waiting.get(key);
    if (w !== undefined && w.ref !== undefined && sameRef(w.ref, ref)) this.settle(key, err, value);
  }

  /**
   * Settles the control request answered by a control batch entry (control_batch.ts) carrying
   * the ids of its ref: the ref is this node's own, so its node and creation need no check.
   */
  settleBatched(ids: WireID3, value: unknown): void {
    const key = typeof ids[0] === 'number' ? ids[0] : Number(ids[0]);
    const w = this.#waiting.get(key);
    if (w === undefined || w.ref === undefined) return;
    const r = w.ref.id;
    if (Number(r[0]) === Number(ids[0]) && Number(r[1]) === Number(ids[1]) && Number(r[2]) === Number(ids[2]))
      this.settle(key, null, value);
  }

  /** Drops a wait without settling it (its packet could not be encoded). */
  forget(key: string | number): void {
    this.#waiting.delete(key);
  }

  /** Rejects every wait with `err` and stops the sweeper (the connection ended). */
  rejectAll(err: Error): void {
    if (this.#sweeper !== null) clearInterval(this.#sweeper);
    this.#sweeper = null;
    const all = [...this.#waiting.values()];
    this.#waiting.clear();
    for (const w of all) w.reject(err);
  }

  #sweep(): void {
    const now = Date.now();
    for (const [k, w] of this.#waiting) {
      if (w.deadline <= now) {
        this.#waiting.delete(k);
        // The outcome is unknown: the peer may have acted on the request (see the docs).
        w.reject(ErrTimeout.with(`no answer from ${this.peer} (outcome unknown)`));
      }
    }
    if (this.#waiting.size === 0 && this.#sweeper !== null) {
      clearInterval(this.#sweeper);
      this.#sweeper = null;
    }
  }
}
