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
// A slice also ends once `sliceMs` of wall time has passed in it (the clock read every
// CLOCK_EVERY frames), whatever its count (issue 93): 256 frames are ~5 ms of a gateway's CPU on
// loopback (the kernel does the reader's TCP work in the writer's call), and on a host with more
// busy processes than cores the OS runs each a few ms in turn, so a slice of 256 spanned several
// of the gateway's OS slices (tens of ms of wall time) while a tab's call waited to be read. A
// slice bounded by time ends within the OS slice it began in, and the loop reads the call in it.
//
// Order per tab holds: a session with a frame waiting here writes it before any later frame of its
// own (its own call's reply takes it along at once rather than waiting its turn), and a publish
// that finds frames waiting goes behind them. A waiting frame is a reference to its publish (one
// SharedEvent for every tab, session.ts), encoded when its slice writes it, so the publish's own
// turn does little per tab; its size counts against the tab's queue limit as it is offered, and
// the tab's grant learns the publisher as the frame is written (the tab cannot name it before).

/** Frames a turn of the event loop writes by default before a broadcast yields (per gateway). */
export const DEFAULT_FAN_OUT_SLICE = 256;
/**
 * Milliseconds of wall time a turn of the event loop writes a broadcast for by default before it
 * yields, if its `DEFAULT_FAN_OUT_SLICE` frames are not written sooner (per gateway).
 */
export const DEFAULT_FAN_OUT_SLICE_MS = 1;
/** Frames between two clock readings of a slice (a reading costs ~0.1 µs, a frame's write ~20). */
const CLOCK_EVERY = 8;

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
  /** When the frames written at once began (performance.now()). */
  #began = 0;
  #scheduled = false;
  readonly #drain = (): void => this.#release();

  /**
   * `slice`: frames written per turn of the event loop (≥ 1); `sliceMs`: wall time a turn writes
   * for (> 0; Infinity: no bound), read every CLOCK_EVERY frames, so a turn writes at least
   * min(`slice`, CLOCK_EVERY) frames.
   */
  constructor(
    readonly slice: number,
    readonly sliceMs = DEFAULT_FAN_OUT_SLICE_MS,
  ) {}

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
    if (this.#spent === 0) {
      this.#began = performance.now();
      this.#schedule(); // the count starts over at the next turn
    } else if (this.#spent % CLOCK_EVERY === 0 && performance.now() - this.#began >= this.sliceMs) {
      this.#spent = this.slice; // the turn's time is spent: the rest wait for the next
      return false;
    }
    this.#spent++;
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

  /**
   * One slice: the oldest `slice` waiting sessions write their frames, or fewer once `sliceMs` has
   * passed; the rest wait a turn more.
   */
  #release(): void {
    this.#scheduled = false;
    this.#spent = 0;
    const q = this.#queue;
    const end = Math.min(q.length, this.#head + this.slice);
    const began = performance.now();
    for (let n = 1; this.#head < end; n++) {
      const s = q[this.#head]!;
      q[this.#head++] = undefined;
      try {
        s.releaseFanOut();
      } catch {
        // A session's own failure (its socket gone under it) is its own: the others still write.
      }
      if (n % CLOCK_EVERY === 0 && performance.now() - began >= this.sliceMs) break;
    }
    if (this.#head < q.length) return this.#schedule();
    q.length = 0;
    this.#head = 0;
  }
}

// --- in: a flood, or a storm, yields -----------------------------------------------------------
// `ws` parses every WebSocket message of a socket's read (up to 64 KiB: thousands of small frames)
// in one go, so twenty flooding tabs read in one turn of the loop are tens of thousands of frames
// to refuse before an honest tab's call is read, and on a loaded machine that turn takes seconds
// (the flood's own calls then end ERR_TIMEOUT instead of ERR_TAB_RATE_LIMIT). So each tab gets
// `slice` frames per turn of the loop: its frames past them (of one message too: a batch may carry
// thousands) wait here with its socket paused (the kernel's buffers and TCP's window hold the
// rest: a flooding tab is slowed at its own end, not at the gateway's), and each later turn
// handles `slice` frames more of the waiting tabs in turn, with setImmediate between turns: the
// loop reads the other sockets, honest tabs' calls among them, between slices. A tab within its
// slice is handled as its message is read, as before; its frames keep their order either way.
//
// A storm of many tabs at once is cut the same way (issue 93): 14,000 tabs that each subscribe
// once are 14,000 sockets read in one poll phase of the loop (libuv takes up to 48 × 1,024 ready
// sockets before it runs a timer), and a frame handled as its socket is read made that phase
// seconds long on a loaded host, the gateway's link to its server node read in turn behind every
// tab: the server declared the gateway stalled. So all tabs together get `turn` frames per turn:
// past them a tab's frames wait as above (its socket paused once a slice's worth waits), and
// each turn's setImmediate handles `turn` more of the waiting tabs, round robin (`slice` each),
// oldest first. The poll phase then only reads and queues, and the timers (the node link's
// heartbeat) and the link's reads run between slices.
//
// A tab's end is cut the same way: 12,500 tabs leaving at once ended 12,500 sessions in one phase
// of the loop (each: the engine's node down for the tab, the hub's unsubscribe, its peers told;
// ~20 µs a session, the sockets' own close in `ws` and the kernel costing far more). A tab's end
// (`end`) waits behind the frames it sent before it (handled, no longer dropped) and counts as
// one of the turn's `turn`: a turn ends at most `turn` sessions, the rest in later turns. A tab's
// Leave closes its socket in that turn too: the Leaves read in one poll phase closed every socket
// at once, and libuv runs every closed handle's callback (`ws`'s teardown of each) in the same
// iteration's close phase, one stretch of the loop.
//
// An end that closes a socket (`end(tab, fn, true)`: a Leave's) never runs in the poll phase
// that read it. A socket's close is the kernel's work on the spot (on loopback, the peer's
// receive of the FIN too) and it wakes the peer's process, which the OS may run first: a profile
// of 14,000 Leaves on a loaded host had the 512 closes the turn's room allowed in the poll phase
// that read the Leaves at ~290 µs of wall time each, two thirds of that stretch, the longest of
// the storm. (Turns of ends bounded in wall time as well, 1 ms, were tried: on a host whose
// cores were all busy the gateway, preempted in most turns, ended ~20 sessions per 250 ms for the
// storm's first 3 s, and the last of 10,000 ended after 12–13 s.)

/** Frames of one tab handled per turn of the gateway's event loop by default. */
export const DEFAULT_INBOUND_SLICE = 64;
/** Frames of all tabs together handled per turn of the gateway's event loop by default. */
export const DEFAULT_INBOUND_TURN = 512;

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

interface Waiting<T> {
  readonly tab: T;
  /** Its sockets (a second one: the tab came back on a new socket meanwhile). */
  readonly sockets: PausableSocket[];
  /** They are paused: a slice's worth of frames or more waits (fewer, as a storm leaves: read on). */
  paused: boolean;
  readonly frames: (Uint8Array | undefined)[];
  at: number;
  /** The tab's end, once its frames are handled (null: none asked). */
  end: (() => void) | null;
}

/**
 * The per-turn slices of what tabs send: `handle(tab, frame)` handles one frame (and never
 * throws: a refusal is its own answer). One per gateway.
 */
export class InboundSlices<T extends InboundTab> {
  /** Tabs with frames waiting. */
  readonly #waiting = new Map<T, Waiting<T>>();
  /** The same, in the order the turns go round them (`#head` the next; a dropped tab's entry is skipped). */
  #order: (Waiting<T> | undefined)[] = [];
  #head = 0;
  /** The current turn (a tab's count from another turn starts over). */
  #turn = 1;
  /** Frames of all tabs handled in the current turn. */
  #spent = 0;
  #scheduled = false;
  readonly #next = (): void => this.#turnEnds();

  /**
   * `slice`: frames a tab may have handled per turn (≥ 1); `turn`: frames all tabs together may
   * have handled per turn (≥ 1).
   */
  constructor(
    readonly slice: number,
    private readonly handle: (tab: T, frame: Uint8Array) => void,
    readonly turn = DEFAULT_INBOUND_TURN,
  ) {}

  /** Tabs with frames waiting now (for inspection and tests). */
  get waiting(): number {
    return this.#waiting.size;
  }

  /**
   * The frames of one message of `tab`, read from `socket`: handled now within the tab's slice and
   * the turn's; the rest wait for later turns (a batch of thousands of frames too), its socket paused.
   */
  offer(tab: T, socket: PausableSocket, frames: readonly Uint8Array[]): void {
    let w = this.#waiting.get(tab);
    this.#schedule(); // the turn's end starts the counts over (and a waiting tab's slice is on its way)
    if (w !== undefined) {
      if (!w.sockets.includes(socket)) {
        w.sockets.push(socket);
        if (w.paused) socket.pause();
      }
    }
    if (w === undefined) {
      if (tab.inboundTurn !== this.#turn) {
        tab.inboundTurn = this.#turn;
        tab.turnFrames = 0;
      }
      const n = Math.min(frames.length, this.slice - tab.turnFrames, this.turn - this.#spent);
      let i = 0;
      for (; i < n && !tab.ended; i++) this.handle(tab, frames[i]!);
      tab.turnFrames += i;
      this.#spent += i;
      if (i === frames.length || tab.ended) return;
      w = { tab, sockets: [socket], frames: [], at: 0, paused: false, end: null };
      this.#waiting.set(tab, w);
      this.#order.push(w);
      frames = frames.slice(i);
    }
    for (const f of frames) w.frames.push(f);
    // A tab that sends faster than its slices is held at its own end; one frame waiting its turn
    // in a storm is not worth a pause and a resume.
    if (!w.paused && w.frames.length - w.at >= this.slice) {
      w.paused = true;
      for (const s of w.sockets) s.pause();
    }
  }

  /**
   * `tab`'s socket closed for good: `end` (what ends its session) runs after the frames it sent
   * before, now when none wait and the turn has room, else in a later turn (one of its `turn`).
   * `later`: never now, always in a turn (an end that closes the socket itself: a Leave read in a
   * poll phase with thousands of others). `end` must not throw (one that does is dropped: the
   * turns go on).
   */
  end(tab: T, end: () => void, later = false): void {
    this.#schedule();
    const w = this.#waiting.get(tab);
    if (w !== undefined) {
      const before = w.end;
      w.end = before === null ? end : () => (before(), end());
      return;
    }
    if (!later && this.#spent < this.turn) {
      this.#spent++;
      return end();
    }
    const ending: Waiting<T> = { tab, sockets: [], frames: [], at: 0, paused: false, end };
    this.#waiting.set(tab, ending);
    this.#order.push(ending);
  }

  /** Forgets `tab`'s waiting frames (its session ended). */
  drop(tab: T): void {
    const w = this.#waiting.get(tab);
    if (w === undefined) return;
    this.#waiting.delete(tab);
    if (w.paused) for (const s of w.sockets) s.resume();
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.#next);
  }

  /**
   * A turn ended: every count starts over, and the waiting tabs have their slices handled, oldest
   * first, until the turn's frames are spent; a tab with frames left goes round again.
   */
  #turnEnds(): void {
    this.#scheduled = false;
    this.#turn++;
    this.#spent = 0;
    const order = this.#order;
    // The tabs waiting now, each once this turn (one put back goes behind them).
    const end = order.length;
    while (this.#head < end && this.#spent < this.turn) {
      const w = order[this.#head]!;
      order[this.#head++] = undefined;
      const tab = w.tab;
      if (this.#waiting.get(tab) !== w) continue; // dropped
      const stop = Math.min(w.frames.length, w.at + this.slice, w.at + this.turn - this.#spent);
      const from = w.at;
      while (w.at < stop && !tab.ended) {
        const f = w.frames[w.at]!;
        w.frames[w.at++] = undefined;
        try {
          this.handle(tab, f);
        } catch {
          // `handle` answers its own failures; one that escaped must not stop the turns (a
          // waiting tab's socket would stay paused): the frame is dropped, the rest go on.
        }
      }
      this.#spent += w.at - from;
      tab.inboundTurn = this.#turn;
      tab.turnFrames = w.at - from;
      if (w.at < w.frames.length && !tab.ended) {
        order.push(w);
        continue;
      }
      if (w.end !== null && this.#spent >= this.turn) {
        order.push(w); // its end in a turn with room
        continue;
      }
      this.#waiting.delete(tab);
      if (w.paused) for (const s of w.sockets) s.resume();
      if (w.end === null) continue;
      this.#spent++;
      try {
        w.end();
      } catch {
        // An end that threw is its own failure: the other tabs' turns go on.
      }
    }
    if (this.#head === order.length) {
      order.length = 0;
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > order.length) {
      this.#order = order.slice(this.#head);
      this.#head = 0;
    }
    if (this.#waiting.size > 0) this.#schedule();
  }
}
