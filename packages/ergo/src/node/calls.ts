// Pending calls of a node. A reply goes straight to its pending entry (never through the
// caller's mailbox). Timeouts live in one structure: a doubly linked list per distinct timeout
// value (deadlines in a list are in insertion order) and a single timer for the earliest, so a
// million calls a second cost no timer each. The timer is ref'd only while calls are pending: a
// pending call keeps the process alive until it settles or times out (otherwise an awaited call
// could be left unsettled when nothing else is running), an idle registry never does. It is
// un-ref'd one event-loop turn after the registry empties (a setImmediate), not at once: calls in
// a row (each created right after the previous one settled) then toggle nothing.
// Deadlines use the monotonic clock (performance.now()): a wall-clock jump neither fires nor
// delays them; only the deadline stored in the call's ref is wall-clock time.

import type { Atom } from '../gen/atom.js';
import { ErrTimeout } from '../gen/errors.js';
import type { PID } from '../gen/pid.js';
import type { Ref } from '../gen/ref.js';

/** Who waits for a call: a process (or null for the node itself). */
export interface CallOwner {
  /** Called when one of this owner's calls settles (to leave WaitResponse). */
  callSettled(): void;
}

/** Who holds a call's request: the local target process. */
export interface CallHolder {
  held: number;
}

/** One pending call. */
export class PendingCall {
  resolve!: (value: unknown) => void;
  reject!: (err: unknown) => void;
  readonly promise: Promise<unknown>;
  prev: PendingCall | null = null;
  next: PendingCall | null = null;
  list: TimeoutList | null = null;
  deadline = 0;
  signal: AbortSignal | null = null;
  onAbort: (() => void) | null = null;
  /** Milliseconds the caller waits (0 = no limit), for the timeout error. */
  timeout = 0;

  constructor(
    readonly ref: Ref,
    readonly caller: PID,
    readonly owner: CallOwner | null,
    public holder: CallHolder | null,
    /** Whom the request went to (for the timeout error). */
    readonly target: unknown,
    /** The remote node the request went to, or null for a local target. */
    readonly node: Atom | null,
  ) {
    this.promise = new Promise<unknown>(captureResolvers);
    this.resolve = capturedResolve!;
    this.reject = capturedReject!;
    capturedResolve = capturedReject = null;
  }
}

// One shared executor instead of a closure per call: the Promise constructor calls it
// synchronously, and the constructor above picks the functions up right away.
let capturedResolve: ((value: unknown) => void) | null = null;
let capturedReject: ((err: unknown) => void) | null = null;
function captureResolvers(res: (value: unknown) => void, rej: (err: unknown) => void): void {
  capturedResolve = res;
  capturedReject = rej;
}

class TimeoutList {
  head: PendingCall | null = null;
  tail: PendingCall | null = null;
  constructor(readonly timeout: number) {}

  append(c: PendingCall): void {
    c.list = this;
    c.prev = this.tail;
    c.next = null;
    if (this.tail !== null) this.tail.next = c;
    else this.head = c;
    this.tail = c;
  }

  remove(c: PendingCall): void {
    if (c.prev !== null) c.prev.next = c.next;
    else this.head = c.next;
    if (c.next !== null) c.next.prev = c.prev;
    else this.tail = c.prev;
    c.prev = c.next = null;
    c.list = null;
  }
}

/** Calls between two re-reads of the wall clock's offset (see CallRegistry.wallClock). */
const WALL_SYNC_EVERY = 1024;

/** Registry of pending calls keyed by ref id[0] (unique per node incarnation). */
export class CallRegistry {
  private readonly byId = new Map<number, PendingCall>();
  private readonly lists = new Map<number, TimeoutList>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private timerAt = Infinity;
  /** Whether `timer` is ref'd (tracked here: ref()/unref() are not free). */
  private timerRefd = false;
  private idleCheckQueued = false;
  private readonly onTimer = (): void => this.expire();
  private readonly onIdleCheck = (): void => {
    this.idleCheckQueued = false;
    if (this.byId.size === 0 && this.timer !== null && this.timerRefd) {
      this.timer.unref();
      this.timerRefd = false;
    }
  };
  /** Date.now() − performance.now(), refreshed every WALL_SYNC_EVERY reads (see `wallClock`). */
  private wallOffset = Date.now() - performance.now();
  private wallReads = 0;

  /** Number of pending calls. */
  get size(): number {
    return this.byId.size;
  }

  /**
   * The wall clock (ms) for the deadline a call's Ref carries, from a monotonic reading `now` the
   * caller already took: one clock read per call instead of two. The offset is re-read from
   * Date.now() every WALL_SYNC_EVERY calls, so a wall-clock step shows within that many calls
   * (the Ref deadline has a one-second resolution).
   */
  wallClock(now: number): number {
    if (++this.wallReads >= WALL_SYNC_EVERY) {
      this.wallReads = 0;
      this.wallOffset = Date.now() - now;
    }
    return now + this.wallOffset;
  }

  /**
   * Registers a call to `target` (on `node`, null = local) that times out after `timeoutMs` (0 =
   * never); `now` is a performance.now() reading taken for this call (read here when omitted).
   */
  create(ref: Ref, caller: PID, owner: CallOwner | null, holder: CallHolder | null, timeoutMs: number, target: unknown, node: Atom | null, now = performance.now()): PendingCall {
    const c = new PendingCall(ref, caller, owner, holder, target, node);
    this.byId.set(ref.id[0], c);
    if (holder !== null) holder.held++;
    if (timeoutMs > 0) {
      c.timeout = timeoutMs;
      let list = this.lists.get(timeoutMs);
      if (list === undefined) {
        list = new TimeoutList(timeoutMs);
        this.lists.set(timeoutMs, list);
      }
      c.deadline = now + timeoutMs;
      list.append(c);
      if (c.deadline < this.timerAt) this.arm(c.deadline);
    }
    if (this.timer !== null && !this.timerRefd) {
      this.timer.ref();
      this.timerRefd = true;
    }
    return c;
  }

  /** The pending call for `ref`, if any (checks the full ref, not only id[0]). */
  get(ref: Ref): PendingCall | undefined {
    const c = this.byId.get(ref.id[0]);
    if (c === undefined) return undefined;
    const r = c.ref;
    return r.id[1] === ref.id[1] && r.id[2] === ref.id[2] && r.node === ref.node && r.creation === ref.creation
      ? c
      : undefined;
  }

  /** Settles `c` with a value or an error and forgets it. False if it was already settled. */
  settle(c: PendingCall, ok: boolean, value: unknown): boolean {
    if (this.byId.get(c.ref.id[0]) !== c) return false;
    this.byId.delete(c.ref.id[0]);
    if (this.byId.size === 0 && this.timerRefd && !this.idleCheckQueued) {
      this.idleCheckQueued = true;
      setImmediate(this.onIdleCheck);
    }
    if (c.list !== null) c.list.remove(c);
    if (c.holder !== null) {
      c.holder.held--;
      c.holder = null;
    }
    if (c.signal !== null && c.onAbort !== null) c.signal.removeEventListener('abort', c.onAbort);
    if (c.owner !== null) c.owner.callSettled();
    if (ok) c.resolve(value);
    else c.reject(value);
    return true;
  }

  /** Settles with an error every call for which `pick` returns an error. */
  failWhere(pick: (c: PendingCall) => Error | undefined): void {
    const hit: [PendingCall, Error][] = [];
    for (const c of this.byId.values()) {
      const err = pick(c);
      if (err !== undefined) hit.push([c, err]);
    }
    for (const [c, err] of hit) this.settle(c, false, err);
  }

  private arm(at: number): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timerAt = at;
    // +1: setTimeout may fire a fraction of a millisecond early against performance.now().
    this.timer = setTimeout(this.onTimer, Math.max(0, Math.ceil(at - performance.now()) + 1));
    this.timerRefd = this.byId.size > 0;
    if (!this.timerRefd) this.timer.unref();
  }

  private expire(): void {
    this.timer = null;
    this.timerRefd = false;
    this.timerAt = Infinity;
    const now = performance.now();
    let next = Infinity;
    for (const list of this.lists.values()) {
      let c = list.head;
      while (c !== null && c.deadline <= now) {
        const n = c.next;
        this.settle(c, false, callTimeoutError(c));
        c = n;
      }
      if (c !== null && c.deadline < next) next = c.deadline;
      if (list.head === null) this.lists.delete(list.timeout);
    }
    if (next !== Infinity) this.arm(next);
  }

  /** Fails every call that waits for a reply from `node` (its connection is gone). */
  failNode(node: Atom, err: Error): void {
    this.failWhere((c) => (c.node === node ? err : undefined));
  }

  /** Rejects everything (node stopping). */
  failAll(err: Error): void {
    this.failWhere(() => err);
  }
}

/**
 * The error of a call that got no reply in time. It names the target and the timeout, and says
 * the usual cause: a `handleCall` that returns `undefined` means "I will reply later".
 */
export function callTimeoutError(c: PendingCall): Error {
  return ErrTimeout.with(
    `call to ${String(c.target)} got no reply within ${c.timeout} ms (a handleCall that returns undefined replies later with sendResponse: a missing return?)`,
  );
}
