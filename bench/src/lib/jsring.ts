// The raw JS ring: the floor under local send. Plain JS objects, each with a FIFO mailbox (a
// growable circular array of sender/message pairs) and a `queued` flag, one run queue, and a drain
// that runs each queued object for a batch of at most BATCH messages — the shape of the
// framework's scheduler (microtask drains on an already resolved promise, yield to the event loop
// with setImmediate after an 8 ms budget, batches of 64) without anything else: no process
// states, no priorities, no PIDs (the sender is the object itself), no sampling of running time,
// no links, no logging. The windowed protocol on top is messaging.ts's, message for message.
//
// `npm run bench` puts it beside "local send 1→1, windowed" as the column "raw JS ring": the
// "vs raw JS ring" ratio there is the share of the raw floor the public API keeps (issue 35:
// goal ≥ 0.8 on Node 24).

/** Records a ring object handles per batch (the framework's ACTOR_BATCH). */
const BATCH = 64;
/** Milliseconds a chain of drains may run before yielding to the event loop (DRAIN_BUDGET_MS). */
const BUDGET_MS = 8;
const RESOLVED: Promise<void> = Promise.resolve();

/** One object of the ring: a mailbox of (from, message) pairs and a handler. */
export abstract class RingObject {
  queued = false;
  /** Mailbox storage: sender at 2i, message at 2i + 1 (a power-of-two circular array). */
  private buf: unknown[] = new Array<unknown>(64);
  private head = 0;
  private size = 0;

  constructor(readonly ring: Ring) {}

  /** Handles one message. */
  abstract handle(from: RingObject, message: unknown): void;

  /** Appends (from, message) to `to`'s mailbox and queues `to` when it was not queued. */
  send(to: RingObject, message: unknown): void {
    to.put(this, message);
    if (!to.queued) this.ring.enqueue(to);
  }

  private put(from: RingObject, message: unknown): void {
    let buf = this.buf;
    if (this.size * 2 === buf.length) buf = this.grow();
    const i = (this.head + this.size * 2) & (buf.length - 1);
    buf[i] = from;
    buf[i + 1] = message;
    this.size++;
  }

  private grow(): unknown[] {
    const old = this.buf;
    const n = old.length;
    const buf = new Array<unknown>(n * 2);
    for (let k = 0; k < n; k++) buf[k] = old[(this.head + k) & (n - 1)];
    this.buf = buf;
    this.head = 0;
    return buf;
  }

  /** Runs one batch; returns true when mail is left. */
  run(): boolean {
    for (let k = 0; k < BATCH && this.size > 0; k++) {
      const buf = this.buf; // a handler sending to itself may have grown it
      const h = this.head;
      const from = buf[h] as RingObject;
      const message = buf[h + 1];
      buf[h] = undefined;
      buf[h + 1] = undefined;
      this.head = (h + 2) & (buf.length - 1);
      this.size--;
      this.handle(from, message);
    }
    return this.size > 0;
  }
}

/** The run queue of a ring (a growable circular array of objects with mail). */
export class Ring {
  private q: (RingObject | undefined)[] = new Array<RingObject | undefined>(64);
  private head = 0;
  private len = 0;
  private scheduled = false;
  private sliceStart = 0;
  private readonly drainMicro = (): void => this.drain(false);
  private readonly drainMacro = (): void => this.drain(true);

  enqueue(o: RingObject): void {
    o.queued = true;
    let q = this.q;
    if (this.len === q.length) {
      const n = q.length;
      const g = new Array<RingObject | undefined>(n * 2);
      for (let k = 0; k < n; k++) g[k] = q[(this.head + k) & (n - 1)];
      this.q = q = g;
      this.head = 0;
    }
    q[(this.head + this.len) & (q.length - 1)] = o;
    this.len++;
    if (!this.scheduled) {
      this.scheduled = true;
      void RESOLVED.then(this.drainMicro);
    }
  }

  private drain(macro: boolean): void {
    const now = performance.now();
    if (macro || now - this.sliceStart > BUDGET_MS * 2) this.sliceStart = now;
    let runs = 0;
    while (this.len > 0) {
      const q = this.q;
      const o = q[this.head]!;
      q[this.head] = undefined;
      this.head = (this.head + 1) & (q.length - 1);
      this.len--;
      o.queued = false;
      if (o.run()) this.enqueue(o);
      // A budget check every 64 batches, as the framework's scheduler (MAX_UNTIMED).
      if ((++runs & 63) === 0 && performance.now() - this.sliceStart > BUDGET_MS) {
        setImmediate(this.drainMacro);
        return;
      }
    }
    this.scheduled = false;
  }
}

/** Counts messages, acks every `every`, calls `done` at `total` (messaging.ts's Receiver). */
class RingReceiver extends RingObject {
  n = 0;
  constructor(
    ring: Ring,
    readonly total: number,
    readonly every: number,
    readonly done: () => void,
  ) {
    super(ring);
  }
  handle(from: RingObject, _message: unknown): void {
    const n = ++this.n;
    if (n === this.total) this.done();
    else if (n % this.every === 0) this.send(from, 'ack');
  }
}

/** On "go" sends `window` chunks, then one chunk per ack (messaging.ts's Sender). */
class RingSender extends RingObject {
  sent = 0;
  constructor(
    ring: Ring,
    readonly to: RingObject,
    readonly total: number,
    readonly chunk: number,
    readonly window: number,
  ) {
    super(ring);
  }
  handle(_from: RingObject, message: unknown): void {
    if (message === 'go') for (let w = 0; w < this.window; w++) this.burst();
    else this.burst();
  }
  private burst(): void {
    const to = this.to;
    const end = Math.min(this.sent + this.chunk, this.total);
    for (let i = this.sent; i < end; i++) this.send(to, i);
    this.sent = end;
  }
}

/** The outside world's handle for the "go" message. */
class Outside extends RingObject {
  handle(): void {}
}

/**
 * One windowed round on a fresh ring: `total` messages in chunks of `chunk`, at most `window`
 * chunks in flight; resolves with the milliseconds from "go" to the receiver's last count.
 */
export function ringWindowedRound(total: number, chunk: number, window: number, now: () => number): Promise<number> {
  const ring = new Ring();
  return new Promise((resolve) => {
    let t0 = 0;
    const r = new RingReceiver(ring, total, chunk, () => resolve(now() - t0));
    const s = new RingSender(ring, r, total, chunk, window);
    t0 = now();
    new Outside(ring).send(s, 'go');
  });
}
