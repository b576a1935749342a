// The gateway's event loop in slices: one tab, or one broadcast, may not hold it. A Node gateway
// does everything on one thread, so a turn of its loop that writes a broadcast to tens of thousands
// of sockets, or handles the tens of thousands of frames a flood brought in one read, keeps every
// other tab's call unread until it ends (seconds on a loaded machine). Both are cut into slices
// here, with setImmediate between them, so the loop reads its sockets between slices:
//   - out (FanOutQueue): a publish to many tabs writes `fanOutSlice` frames per turn;
//   - in (InboundSlices): a tab's frames are handled `inboundSlice` per turn, its socket paused
//     past them.
// Each keeps a tab's frames in their order.

// --- out: a broadcast yields -----------------------------------------------------------------
// One publish to many tabs (an event of the gateway's node the engine fans out to every
// subscribed tab's link, or another node's event the gateway's hub writes to its tabs) must not
// hold the event loop from the first socket to the last, or a tab's call waits behind the whole
// fan-out (seconds at tens of thousands of tabs). A socket write is most of a tab's share of a
// broadcast, so the frames are written in slices: up to `slice` frames go at once in a turn of the
// loop, the rest wait, each in its own tab's session, and leave `slice` sessions per turn.
//
// Order per tab holds: a session with a frame waiting here writes it before any later frame of its
// own (its own call's reply takes it along at once rather than waiting its turn), and a publish
// that finds frames waiting goes behind them. A waiting frame is a reference to its publish (one
// SharedEvent for every tab, session.ts), encoded when its slice writes it, so the publish's own
// turn does little per tab; its size counts against the tab's queue limit as it is offered, and
// the tab's grant learns the publisher as the frame is written (the tab cannot name it before).

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

// --- in: a flood yields -----------------------------------------------------------------------
// `ws` parses every WebSocket message of a socket's read (up to 64 KiB: thousands of small frames)
// in one go, so twenty flooding tabs read in one turn of the loop are tens of thousands of frames
// to refuse before an honest tab's call is read, and on a loaded machine that turn takes seconds
// (the flood's own calls then end ERR_TIMEOUT instead of ERR_TAB_RATE_LIMIT). So each tab gets
// `slice` frames per turn of the loop: its frames past them (of one message too: a batch may carry
// thousands) wait here with its socket paused (the kernel's buffers and TCP's window hold the
// rest: a flooding tab is slowed at its own end, not at the gateway's), and each later turn
// handles `slice` frames more of every waiting tab in turn, with setImmediate between turns: the
// loop reads the other sockets, honest tabs' calls among them, between slices. A tab within its
// slice is handled as its message is read, as before; its frames keep their order either way.

/** Frames of one tab handled per turn of the gateway's event loop by default. */
export const DEFAULT_INBOUND_SLICE = 64;

/** What a tab's socket offers the slices (a `ws` WebSocket has it). */
export interface PausableSocket {
  pause(): void;
  resume(): void;
}

/** A tab's part in the slices (session.ts' TabSession carries it: two numbers a tab). */
export interface InboundTab {
  /** The turn its `turnFrames` count (InboundSlices' numbering). */
  inboundTurn: number;
  /** Frames handled in that turn. */
  turnFrames: number;
  readonly ended: boolean;
}

interface Waiting {
  /** The sockets paused for it (a second one: the tab came back on a new socket meanwhile). */
  readonly sockets: PausableSocket[];
  readonly frames: (Uint8Array | undefined)[];
  at: number;
}

/**
 * The per-turn slices of what tabs send: `handle(tab, frame)` handles one frame (and never
 * throws: a refusal is its own answer). One per gateway.
 */
export class InboundSlices<T extends InboundTab> {
  /** Tabs with frames waiting, in the order they began to wait (the turns go round them). */
  readonly #waiting = new Map<T, Waiting>();
  /** The current turn (a tab's count from another turn starts over). */
  #turn = 1;
  #scheduled = false;
  readonly #next = (): void => this.#turnEnds();

  /** `slice`: frames a tab may have handled per turn (≥ 1). */
  constructor(
    readonly slice: number,
    private readonly handle: (tab: T, frame: Uint8Array) => void,
  ) {}

  /** Tabs with frames waiting now (for inspection and tests). */
  get waiting(): number {
    return this.#waiting.size;
  }

  /**
   * The frames of one message of `tab`, read from `socket`: handled now within the tab's slice;
   * the rest wait for later turns (a batch of thousands of frames too), its socket paused.
   */
  offer(tab: T, socket: PausableSocket, frames: readonly Uint8Array[]): void {
    let w = this.#waiting.get(tab);
    if (w !== undefined) {
      if (!w.sockets.includes(socket)) {
        w.sockets.push(socket);
        socket.pause();
      }
      this.#schedule(); // the waiting tab's next slice is always on its way
    }
    if (w === undefined) {
      if (tab.inboundTurn !== this.#turn) {
        tab.inboundTurn = this.#turn;
        tab.turnFrames = 0;
      }
      const n = Math.min(frames.length, this.slice - tab.turnFrames);
      let i = 0;
      for (; i < n && !tab.ended; i++) this.handle(tab, frames[i]!);
      tab.turnFrames += i;
      this.#schedule(); // the turn's end starts every tab's count over
      if (i === frames.length || tab.ended) return;
      w = { sockets: [socket], frames: [], at: 0 };
      this.#waiting.set(tab, w);
      socket.pause();
      frames = frames.slice(i);
    }
    for (const f of frames) w.frames.push(f);
  }

  /** Forgets `tab`'s waiting frames (its session ended). */
  drop(tab: T): void {
    const w = this.#waiting.get(tab);
    if (w === undefined) return;
    this.#waiting.delete(tab);
    for (const s of w.sockets) s.resume();
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.#next);
  }

  /** A turn ended: every tab's count starts over, and each waiting tab has a slice handled. */
  #turnEnds(): void {
    this.#scheduled = false;
    this.#turn++;
    for (const [tab, w] of this.#waiting) {
      const end = Math.min(w.frames.length, w.at + this.slice);
      const from = w.at;
      while (w.at < end && !tab.ended) {
        const f = w.frames[w.at]!;
        w.frames[w.at++] = undefined;
        try {
          this.handle(tab, f);
        } catch {
          // `handle` answers its own failures; one that escaped must not stop the turns (a
          // waiting tab's socket would stay paused): the frame is dropped, the rest go on.
        }
      }
      tab.inboundTurn = this.#turn;
      tab.turnFrames = w.at - from;
      if (w.at < w.frames.length && !tab.ended) continue;
      this.#waiting.delete(tab);
      for (const s of w.sockets) s.resume();
    }
    if (this.#waiting.size > 0) this.#schedule();
  }
}
