// Pending calls of a node. A reply goes straight to its pending entry (never through the
// caller's mailbox).
//
// The table is chained through its entries and keyed by the ref's id[0] (a per-node sequence, so
// calls in flight spread over the buckets: lib/chained_table.ts): adding and removing a call
// allocates nothing, where a Map that empties after every reply shrinks and regrows.
//
// Timeouts live in one structure: a doubly linked list per distinct timeout value (entries in
// insertion order) and a single timer for the earliest deadline, so a million calls a second
// cost no timer each. Most calls do not read the clock either: the first call of an event-loop
// turn reads it and times out that reading + its timeout; the calls after it join the open
// *epoch*, which closes (reading the clock again) after EPOCH_CALLS calls or at the end of the
// turn (a setImmediate), and they time out at that closing reading + their timeout: never early,
// late by at most the rest of the turn they were made in. The clock reading that opened the
// epoch is the wall-clock base of its refs' deadlines (one-second resolution).
//
// The timer is ref'd only while calls are pending: a pending call keeps the process alive until
// it settles or times out (otherwise an awaited call could be left unsettled when nothing else
// is running), an idle registry never does (until its epoch closes the setImmediate keeps the
// process alive). It is un-ref'd one event-loop turn after the registry empties (a
// setImmediate), not at once: calls in a row toggle nothing.
// Deadlines use the monotonic clock (performance.now()): a wall-clock jump neither fires nor
// delays them; only the deadline stored in the call's ref is wall-clock time.
//
// Calls that expire together are failed in slices, one slice per event-loop turn (a
// setImmediate between them, so I/O and timers run): a slice ends after EXPIRE_SLICE_MS or
// EXPIRE_SLICE calls, whichever comes first, so a million timeouts falling due at once never
// stall the loop for more than one slice and the callers' continuations it wakes. The time
// bound is what keeps them on time under load: with a fixed 1,024 calls per turn, a turn that
// also ran a busy process' 8 ms drain failed 1,024 calls per ~9 ms, fewer than a million calls
// made in two seconds fall due, and the last ones failed seconds late.
//
// Each call is also on two intrusive lists, its owner's (the waiting process) and its holder's
// (the local target holding the request): ending a process fails its calls by walking its own
// lists, never the whole table (4,000 callers × 100 calls used to scan 400,000 entries each). A
// remote call's holder is its node's list: a node down (a browser tab ending, to its gateway)
// fails the calls waiting on it by walking that list, not every call pending.

import type { Atom } from '../gen/atom.js';
import { ErgoError, ErrTimeout } from '../gen/errors.js';
import type { Log } from '../gen/log.js';
import type { PID } from '../gen/pid.js';
import type { Ref } from '../gen/ref.js';
import { ChainedTable } from '../lib/chained_table.js';
import { macrotask, refTimer, unrefTimer } from '../lib/host.js';

/** Who waits for a call: a process (or null for the node itself). */
export interface CallOwner {
  /** Called when one of this owner's calls settles (to leave WaitResponse). */
  callSettled(): void;
  /** Head of the owner's pending calls (kept by the registry). */
  ownCalls: PendingCall | null;
  /** Where the failure of a call nobody awaited is logged (at debug). */
  readonly log: Log;
}

/** Who holds a call's request: the local target process (for a remote call, its node's list). */
export interface CallHolder {
  /**
   * Head of the calls whose requests it holds (kept by the registry); null when it holds none
   * (the list is the count too: no counter field, one slot less on every process).
   */
  heldCalls: PendingCall | null;
}

/** What a monitored call (CallOptions.monitor) is watched by (call_monitor.ts). */
export interface CallWatcher {
  /** `c` settled: stop watching its callee for it. */
  release(c: PendingCall): void;
}

/** One pending call. */
export class PendingCall {
  resolve!: (value: unknown) => void;
  reject!: (err: unknown) => void;
  readonly promise: Promise<unknown>;
  /** ref.id[0]: the table key. */
  readonly key: number;
  /** The next entry of the same table bucket. */
  chain: PendingCall | null = null;
  /** True while the call is in the table (registered and not settled). */
  live = false;
  prev: PendingCall | null = null;
  next: PendingCall | null = null;
  list: TimeoutList | null = null;
  /** The epoch the call was made in: it expires at epoch.at + timeout. */
  epoch: Epoch | null = null;
  signal: AbortSignal | null = null;
  onAbort: (() => void) | null = null;
  /** Milliseconds the caller waits (0 = no limit), for the timeout error. */
  timeout = 0;
  /** Set while the call monitors its callee (CallOptions.monitor). */
  watch: CallWatcher | null = null;
  /** Neighbours in the owner's list of calls. */
  ownPrev: PendingCall | null = null;
  ownNext: PendingCall | null = null;
  /** Neighbours in the holder's list of calls. */
  heldPrev: PendingCall | null = null;
  heldNext: PendingCall | null = null;

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
    this.key = ref.id[0];
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

/** Calls made between two clock readings (see the file comment). */
const EPOCH_CALLS = 64;

/** Most expired calls failed per event-loop turn (see the file comment). */
export const EXPIRE_SLICE = 16384;
/** Milliseconds one slice of expiries may take (see the file comment). */
export const EXPIRE_SLICE_MS = 8;
/** Expiries between two clock readings within a slice. */
const EXPIRE_CLOCK_EVERY = 256;

function linkHeld(h: CallHolder, c: PendingCall): void {
  const head = h.heldCalls;
  c.heldPrev = null;
  c.heldNext = head;
  if (head !== null) head.heldPrev = c;
  h.heldCalls = c;
}

function unlinkHeld(h: CallHolder, c: PendingCall): void {
  if (c.heldPrev !== null) c.heldPrev.heldNext = c.heldNext;
  else h.heldCalls = c.heldNext;
  if (c.heldNext !== null) c.heldNext.heldPrev = c.heldPrev;
  c.heldPrev = c.heldNext = null;
}

/** A run of calls that share their clock readings. */
class Epoch {
  /** performance.now() when the epoch closed; Infinity while it is open. */
  at = Infinity;
  /** The shortest timeout of its calls. */
  minTimeout = Infinity;
  constructor(
    /** Date.now() when it opened: the base of its refs' deadlines. */
    readonly wall: number,
  ) {}
}

/**
 * The pending calls waiting on one remote node, newest first: a remote call's holder (no local
 * process holds its request), so it is on this list by the holder's links and no field more.
 * Kept while the node is known (calls in a row to a peer touch no Map), dropped when it goes down
 * (failNode).
 */
class NodeCalls implements CallHolder {
  heldCalls: PendingCall | null = null;
  constructor(readonly node: Atom) {}
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

/** Registry of pending calls keyed by ref id[0] (unique per node incarnation). */
export class CallRegistry {
  /** The pending calls by ref.id[0] (lib/chained_table.ts). */
  private readonly table = new ChainedTable<PendingCall>();
  private readonly lists = new Map<number, TimeoutList>();
  /** The calls waiting on each remote node that has had one since it was last down. */
  private readonly byNode = new Map<Atom, NodeCalls>();
  /** The node list used last (calls in a row go to one peer: this skips the Map lookup). */
  private lastNode: NodeCalls | null = null;
  /** The list used last (most calls use one timeout: this skips the Map lookup). */
  private lastList: TimeoutList | null = null;
  /** The epoch later calls of this turn join (open: its `at` is Infinity). */
  private open: Epoch | null = null;
  private openCalls = 0;
  /** The epoch `wallClock` chose for the call `create` registers next. */
  private next: Epoch | null = null;
  /**
   * One setImmediate per turn does both end-of-turn jobs, closing the open epoch and the idle
   * check: a remote call in a row opens an epoch and empties the registry in every turn, and two
   * immediates per call were measurable on the network call path.
   */
  private turnEndQueued = false;
  private readonly onTurnEnd = (): void => {
    this.turnEndQueued = false;
    const e = this.open;
    if (e !== null) {
      this.open = null;
      this.close(e, performance.now());
    }
    if (this.table.size === 0 && this.timer !== null && this.timerRefd) {
      unrefTimer(this.timer);
      this.timerRefd = false;
    }
  };
  private queueTurnEnd(): void {
    if (this.turnEndQueued) return;
    this.turnEndQueued = true;
    macrotask(this.onTurnEnd);
  }
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** The timer's deadline; -Infinity while a slice of expiries is queued (see expire). */
  private timerAt = Infinity;
  /** Whether `timer` is ref'd (tracked here: ref()/unref() are not free). */
  private timerRefd = false;
  private readonly onTimer = (): void => this.expire();

  /** Logs a failed call (the node sets it: at debug, on the caller's logger). */
  onFailed: ((c: PendingCall, err: unknown) => void) | null = null;

  /** Number of pending calls. */
  get size(): number {
    return this.table.size;
  }

  /**
   * The wall clock (ms) a new call's Ref deadline counts from: when the open epoch began. Opens
   * an epoch (reading the clock) when none is open or the open one is full; call it right before
   * `create`.
   */
  wallClock(): number {
    const e = this.open;
    if (e !== null && ++this.openCalls < EPOCH_CALLS) {
      this.next = e;
      return e.wall;
    }
    return this.openEpoch().wall;
  }

  /**
   * Reads the clock: closes the open epoch (if any) and opens the next one. Returns the epoch of
   * the call that reads it, already closed at this reading (that call's deadline is exact).
   */
  private openEpoch(): Epoch {
    const now = performance.now();
    const prev = this.open;
    if (prev !== null) this.close(prev, now);
    const wall = Date.now();
    const first = new Epoch(wall);
    first.at = now;
    this.open = new Epoch(wall);
    this.openCalls = 0;
    this.next = first;
    this.queueTurnEnd();
    return first;
  }

  /** Ends epoch `e` at reading `now`: its calls' deadlines are known from here on. */
  private close(e: Epoch, now: number): void {
    e.at = now;
    const first = now + e.minTimeout;
    if (first < this.timerAt && this.table.size > 0) this.arm(first);
  }

  /**
   * Registers a call to `target` (on `node`, null = local) that times out `timeoutMs` (0 = never)
   * after the epoch `wallClock` chose for it closes (call `wallClock` right before).
   */
  create(
    ref: Ref,
    caller: PID,
    owner: CallOwner | null,
    holder: CallHolder | null,
    timeoutMs: number,
    target: unknown,
    node: Atom | null,
  ): PendingCall {
    if (node !== null && holder === null) holder = this.nodeCalls(node);
    const c = new PendingCall(ref, caller, owner, holder, target, node);
    this.table.add(c);
    c.live = true;
    if (holder !== null) linkHeld(holder, c);
    if (owner !== null) {
      const head = owner.ownCalls;
      c.ownNext = head;
      if (head !== null) head.ownPrev = c;
      owner.ownCalls = c;
    }
    let e = this.next;
    this.next = null;
    if (timeoutMs > 0) {
      c.timeout = timeoutMs;
      let list = this.lastList;
      if (list === null || list.timeout !== timeoutMs) {
        let l = this.lists.get(timeoutMs);
        if (l === undefined) {
          l = new TimeoutList(timeoutMs);
          this.lists.set(timeoutMs, l);
        }
        this.lastList = list = l;
      }
      if (e === null) {
        this.wallClock();
        e = this.next!;
        this.next = null;
      }
      c.epoch = e;
      list.append(c);
      if (e.at === Infinity) {
        if (timeoutMs < e.minTimeout) e.minTimeout = timeoutMs;
      } else if (e.at + timeoutMs < this.timerAt) {
        this.arm(e.at + timeoutMs);
      }
    }
    if (this.timer !== null && !this.timerRefd) {
      refTimer(this.timer);
      this.timerRefd = true;
    }
    return c;
  }

  /** The list of the calls waiting on remote node `node` (made at its first call). */
  private nodeCalls(node: Atom): NodeCalls {
    let l = this.lastNode;
    if (l !== null && l.node === node) return l;
    l = this.byNode.get(node) ?? null;
    if (l === null) this.byNode.set(node, (l = new NodeCalls(node)));
    return (this.lastNode = l);
  }

  /** The pending call for `ref`, if any (checks the full ref, not only id[0]). */
  get(ref: Ref): PendingCall | undefined {
    const id = ref.id;
    const key = id[0];
    // A hand-made ref may hold anything: it matches no call (as a Map lookup would not).
    if (typeof key !== 'number') return undefined;
    for (let c = this.table.first(key); c !== null; c = c.chain) {
      if (c.key !== key) continue;
      const r = c.ref;
      if (r === ref) return c;
      const rid = r.id;
      if (rid[1] === id[1] && rid[2] === id[2] && r.node === ref.node && r.creation === ref.creation) return c;
    }
    return undefined;
  }

  /** Settles `c` with a value or an error and forgets it. False if it was already settled. */
  settle(c: PendingCall, ok: boolean, value: unknown): boolean {
    if (!c.live) return false;
    this.table.remove(c);
    c.live = false;
    if (this.table.size === 0 && this.timerRefd) this.queueTurnEnd();
    if (c.list !== null) c.list.remove(c);
    const h = c.holder;
    if (h !== null) {
      unlinkHeld(h, c);
      c.holder = null;
    }
    if (c.signal !== null && c.onAbort !== null) c.signal.removeEventListener('abort', c.onAbort);
    const w = c.watch;
    if (w !== null) {
      c.watch = null;
      w.release(c);
    }
    const o = c.owner;
    if (o !== null) {
      if (c.ownPrev !== null) c.ownPrev.ownNext = c.ownNext;
      else o.ownCalls = c.ownNext;
      if (c.ownNext !== null) c.ownNext.ownPrev = c.ownPrev;
      c.ownPrev = c.ownNext = null;
      o.callSettled();
    }
    if (ok) c.resolve(value);
    else {
      // Every Promise the framework returns is safe to ignore (ignorable.ts): marked handled
      // here, at rejection time, so calls that succeed pay nothing. An awaiting caller still
      // gets the rejection.
      c.promise.then(undefined, (e: unknown) => this.onFailed?.(c, e));
      c.reject(value);
    }
    return true;
  }

  /** The pending calls, oldest first (diagnostics and tests). */
  pending(): PendingCall[] {
    return this.table.entries().sort((x, y) => x.key - y.key);
  }

  /** Settles with an error every call for which `pick` returns an error, oldest first. */
  failWhere(pick: (c: PendingCall) => Error | undefined): void {
    const hit: [PendingCall, Error][] = [];
    for (const c of this.table.entries()) {
      const err = pick(c);
      if (err !== undefined) hit.push([c, err]);
    }
    if (hit.length > 1) hit.sort((x, y) => x[0].key - y[0].key);
    for (const [c, err] of hit) this.settle(c, false, err);
  }

  /** Moves a forwarded request's call to its new holder. */
  transfer(c: PendingCall, to: CallHolder): void {
    const h = c.holder;
    // A remote call's holder is its node's list: a request that came back here is not its holder.
    if (!c.live || h === null || h === to || c.node !== null) return;
    unlinkHeld(h, c);
    c.holder = to;
    linkHeld(to, c);
  }

  /** Fails every call `owner` waits for with `err`, oldest first (its own list, not the table). */
  failOwnedBy(owner: CallOwner, err: Error): void {
    const hit: PendingCall[] = [];
    for (let c = owner.ownCalls; c !== null; c = c.ownNext) hit.push(c);
    // The list is newest first: calls are pushed at its head.
    for (let i = hit.length - 1; i >= 0; i--) this.settle(hit[i]!, false, err);
  }

  /**
   * Fails every call whose request `holder` holds and for which `pick` returns an error, oldest
   * first (its own list, not the table).
   */
  failHeldBy(holder: CallHolder, pick: (c: PendingCall) => Error | undefined): void {
    const hit: [PendingCall, Error][] = [];
    for (let c = holder.heldCalls; c !== null; c = c.heldNext) {
      const err = pick(c);
      if (err !== undefined) hit.push([c, err]);
    }
    // Transfers break the list's age order: sort.
    if (hit.length > 1) hit.sort((x, y) => x[0].key - y[0].key);
    for (const [c, err] of hit) this.settle(c, false, err);
  }

  private arm(at: number): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timerAt = at;
    // +1: setTimeout may fire a fraction of a millisecond early against performance.now().
    this.timer = setTimeout(this.onTimer, Math.max(0, Math.ceil(at - performance.now()) + 1));
    this.timerRefd = this.table.size > 0;
    if (!this.timerRefd) unrefTimer(this.timer);
  }

  private expire(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.timerRefd = false;
    this.timerAt = Infinity;
    const now = performance.now();
    let next = Infinity;
    let budget = EXPIRE_SLICE;
    for (const list of this.lists.values()) {
      const t = list.timeout;
      let c = list.head;
      // An open epoch's `at` is Infinity: its calls wait for its close, which arms the timer.
      while (c !== null && c.epoch!.at + t <= now) {
        if (
          budget-- === 0 ||
          ((budget & (EXPIRE_CLOCK_EVERY - 1)) === 0 && performance.now() - now > EXPIRE_SLICE_MS)
        ) {
          // The rest next turn: -Infinity keeps `create` and `close` from arming a timer meanwhile.
          this.timerAt = -Infinity;
          macrotask(this.onTimer);
          return;
        }
        const n = c.next;
        this.settle(c, false, callTimeoutError(c));
        c = n;
      }
      if (c !== null && c.epoch!.at + t < next) next = c.epoch!.at + t;
      if (list.head === null) {
        this.lists.delete(t);
        if (this.lastList === list) this.lastList = null;
      }
    }
    if (next !== Infinity) this.arm(next);
  }

  /**
   * Fails every call that waits for a reply from `node` (its connection is gone), oldest first:
   * the node's own list, not the table. `err` may be a function making the error: it runs only
   * when a call waits (an error's stack trace costs tens of µs, and most nodes that go down, a
   * gateway's tabs leaving by the thousand, have none).
   */
  failNode(node: Atom, err: Error | (() => Error)): void {
    const l = this.byNode.get(node);
    if (l === undefined) return;
    // The node's list goes with it: a tab that ended is never called again.
    this.byNode.delete(node);
    if (this.lastNode === l) this.lastNode = null;
    if (l.heldCalls === null) return;
    if (typeof err === 'function') err = err();
    const hit: PendingCall[] = [];
    for (let c: PendingCall | null = l.heldCalls; c !== null; c = c.heldNext) hit.push(c);
    // The list is newest first; the keys say the age (as failWhere sorts them).
    if (hit.length > 1) hit.sort((x, y) => x.key - y.key);
    for (const c of hit) this.settle(c, false, err);
  }

  /** Calls waiting for a reply from `node` (diagnostics and tests). */
  pendingOn(node: Atom): number {
    let n = 0;
    for (let c = this.byNode.get(node)?.heldCalls ?? null; c !== null; c = c.heldNext) n++;
    return n;
  }

  /** Remote nodes kept in the index: called since they were last down (diagnostics and tests). */
  get nodesIndexed(): number {
    return this.byNode.size;
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
  // No stack: it would show only the registry's timer (expire → settle), never the caller's code,
  // and capturing it was most of what a million timeouts falling due at once cost.
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new CallTimeoutError(c.target, c.timeout);
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/**
 * ErrTimeout of one call, its text built when read. The expired call's promise lives in the old
 * generation: whatever it is rejected with survives the next scavenges (until a full GC), so a
 * million timeouts falling due together promoted a message string each (about half a GB) and
 * made every scavenge meanwhile slow. This error is one small object that points at the target.
 */
class CallTimeoutError extends ErgoError {
  readonly #target: unknown;
  readonly #timeout: number;
  constructor(target: unknown, timeout: number) {
    // No message: an own `message` would shadow the prototype's getter.
    super(ErrTimeout.code, undefined as unknown as string);
    this.#target = target;
    this.#timeout = timeout;
  }
  /** The text (see the message getter below). */
  text(): string {
    return `${ErrTimeout.message}: call to ${String(this.#target)} got no reply within ${this.#timeout} ms (a handleCall that returns undefined replies later with sendResponse: a missing return?)`;
  }
}
// A getter where Error has a data property (TypeScript refuses an accessor override of it).
Object.defineProperty(CallTimeoutError.prototype, 'message', {
  get(this: CallTimeoutError): string {
    return this.text();
  },
  configurable: true,
});
