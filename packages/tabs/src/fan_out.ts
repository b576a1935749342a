// A broadcast that yields: one publish to many tabs (an event of the gateway's node the engine fans
// out to every subscribed tab's link, or another node's event the gateway's hub writes to its
// tabs) must not hold the event loop from the first socket to the last, or a tab's call waits
// behind the whole fan-out (seconds at tens of thousands of tabs). A socket write is most of a
// tab's share of a broadcast, so the frames are written in slices: up to `slice` frames go at once
// in a turn of the loop, the rest wait, each in its own tab's session, and leave `slice` sessions
// per turn (setImmediate between slices: the loop reads its sockets and answers calls meanwhile).
//
// Order per tab holds: a session with a frame waiting here writes it before any later frame of its
// own (its own call's reply takes it along at once rather than waiting its turn), and a publish
// that finds frames waiting goes behind them. Only the socket writes wait: what a frame teaches the
// tab's grant, what its watchers record and the queue's limit are done (and counted) as it is
// offered, so a tab's grant and limits read the same whether its frame left now or a turn later.

/** Frames a turn of the event loop writes by default before a broadcast yields (per gateway). */
export const DEFAULT_FAN_OUT_SLICE = 256;

/** A session with fan-out frames waiting (session.ts' TabSession). */
export interface FanOutWaiter {
  /** Writes the frames that wait for this session (none: nothing). */
  releaseFanOut(): void;
}

/**
 * The slices of a gateway's broadcasts: which frames go now, and the sessions whose frames wait,
 * released `slice` per turn of the event loop. One per gateway (its sessions' hooks carry it).
 */
export class FanOutQueue {
  /** Sessions with frames waiting, oldest first; `#head` the next to release. */
  #queue: (FanOutWaiter | undefined)[] = [];
  #head = 0;
  /** Fan-out frames written at once since the last slice. */
  #spent = 0;
  #scheduled = false;
  readonly #drain = (): void => this.#release();

  /** `slice`: frames written per turn of the event loop (≥ 1). */
  constructor(readonly slice: number) {}

  /** Sessions whose frames wait now (for inspection and tests). */
  get waiting(): number {
    return this.#queue.length - this.#head;
  }

  /**
   * True when a fan-out frame may be written now: fewer than `slice` went since the last slice and
   * nothing waits (a later publish goes behind what does). Counts the frame when true.
   */
  now(): boolean {
    if (this.#head < this.#queue.length || this.#spent >= this.slice) return false;
    if (this.#spent++ === 0) this.#schedule(); // the count starts over at the next turn
    return true;
  }

  /** Session `s` has its first frame waiting: it is released in a later slice (once). */
  add(s: FanOutWaiter): void {
    this.#queue.push(s);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.#drain);
  }

  /** One slice: the oldest `slice` waiting sessions write their frames; the rest wait a turn more. */
  #release(): void {
    this.#scheduled = false;
    this.#spent = 0;
    const q = this.#queue;
    const end = Math.min(q.length, this.#head + this.slice);
    while (this.#head < end) {
      const s = q[this.#head]!;
      q[this.#head++] = undefined;
      try {
        s.releaseFanOut();
      } catch {
        // A session's own failure (its socket gone under it) is its own: the others still write.
      }
    }
    if (this.#head < q.length) return this.#schedule();
    q.length = 0;
    this.#head = 0;
  }
}
