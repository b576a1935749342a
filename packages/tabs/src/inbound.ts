// A flood may not hold the gateway's event loop: `ws` parses every WebSocket message of a socket's
// read (up to 64 KiB: thousands of small frames) in one go, so twenty flooding tabs read in one
// turn of the loop are tens of thousands of frames to refuse before an honest tab's call is read,
// and on a loaded machine that turn takes seconds (the flood's own calls then end ERR_TIMEOUT
// instead of ERR_TAB_RATE_LIMIT). So each tab gets `slice` frames per turn of the loop: its
// frames past them (of one message too: a batch may carry thousands) wait here, its socket paused (the kernel's buffers and TCP's window hold
// the rest: a flooding tab is slowed at its own end, not at the gateway's), and each later turn
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
  readonly socket: PausableSocket;
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
      w = { socket, frames: [], at: 0 };
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
    w.socket.resume();
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
        this.handle(tab, f);
      }
      tab.inboundTurn = this.#turn;
      tab.turnFrames = w.at - from;
      if (w.at < w.frames.length && !tab.ended) continue;
      this.#waiting.delete(tab);
      w.socket.resume();
    }
    if (this.#waiting.size > 0) this.#schedule();
  }
}
