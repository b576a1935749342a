// One tab at the gateway: its node name, grant and limits, the socket it is on now (none while it
// is away), the bytes waiting for it, and its reconnect window. The session outlives a socket: a
// tab that comes back with its resume secret within the window gets the same name, and what was
// queued for it is written first; past the window the session ends and every node that spoke
// with the tab hears that the tab's node is down (their links and monitors fire `noconnection`).

import { nextTick } from 'node:process';

import type { Atom, Log, MessageEvent, PID } from 'ergo-ts';
import {
  BATCH_MAX_BYTES,
  BATCH_MAX_FRAMES,
  Ctl,
  encodeEventFrameBrief,
  encodeFrame,
  errorToWire,
  encodeFrameBrief,
  ownBytes,
  ErrTabBytesLimit,
  ErrTabQueueFull,
  ErrTabRateLimit,
  writeFrames,
  type Frame,
} from './frame.js';
import type { FanOutQueue, FanOutWaiter, InboundTab } from './slices.js';
import { TabLink } from './tab_link.js';
import { TokenBucket, type TabLimits, type TabPolicy } from './grant.js';
import { TabWatchers } from './watchers.js';
import { SLICE_HEAD_BYTES } from './wire.js';
import { SharedEvent, writeWhole } from './shared_frame.js';

/**
 * Bytes above a tab's queuedBytes that refusals of its own frames may take (a refusal is about a
 * hundred bytes): a tab past both is ended (frame.ts: CLOSE_QUEUE_FULL).
 */
export const REFUSAL_ROOM_BYTES = 16 << 10;

/** An Event frame's bytes but its two names': the array's head, the op, the names' tags and lengths. */
const EVENT_HEAD_BYTES = SLICE_HEAD_BYTES + 9 + 3 + 3;

/** The SharedEvent of the engine's fan-out under way (one publish's links reuse it: same tail). */
let lastShared: SharedEvent | null = null;

/** Plain frames of a tab refused in a row for one reason, not written yet (TabSession.refusePlain). */
interface RefusedRun {
  readonly e: Error;
  readonly peer: string;
  readonly what: string;
  n: number;
}

/** The socket a session writes to (a `ws` WebSocket satisfies it). */
export interface TabSocket {
  readonly bufferedAmount: number;
  /** 1 while open (the WebSocket constant OPEN). */
  readonly readyState: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  /** Destroys the socket now: no close handshake, what it has not sent is dropped. */
  terminate(): void;
}

/**
 * How long a socket closed for a full queue, its close frame taken by the kernel, has to answer
 * it before it is destroyed (`ws` waits 30 s).
 */
export const QUEUE_FULL_CLOSE_GRACE_MS = 1_000;

/** A full queue's socket watched (slow consumers): what it had taken as the count started, its timer. */
interface StallWatch {
  readonly socket: TabSocket;
  readonly taken: number;
  readonly timer: ReturnType<typeof setTimeout>;
}

/** Facts about a tab, as `gateway.tabs()` lists them. */
export interface TabInfo {
  /** The tab's node name. */
  readonly node: string;
  /** The grant's label ('' without one). */
  readonly label: string;
  /** True while a socket is attached; false while the tab is away (within its window). */
  readonly connected: boolean;
  /** Frames received from the tab and written (or queued) for it. */
  readonly messagesIn: number;
  readonly messagesOut: number;
  /** Bytes received from the tab, and bytes waiting for it now. */
  readonly bytesIn: number;
  readonly queuedBytes: number;
  /** Bytes of the frames written (or queued) for the tab. */
  readonly bytesOut: number;
  /** While the tab is away: when its socket went (ms since the epoch); 0 while connected. */
  readonly awaySince: number;
  /** Frames the gateway refused (limits, grant, malformed). */
  readonly refused: number;
  /** Nodes other than the gateway that exchanged frames with the tab. */
  readonly peers: readonly string[];
}

// --- writes at the end of the task (frame.ts: batches) ----------------------------------------

/** Something with frames to write at the end of the task. */
interface Flushable {
  flush(): void;
}

const RESOLVED: Promise<void> = Promise.resolve();
const dirty: Flushable[] = [];
let scheduled = false;

function flushAll(): void {
  scheduled = false;
  // Index loop: a flush may mark another writer (a refusal it answers), which then goes too.
  for (let i = 0; i < dirty.length; i++) {
    const d = dirty[i]!;
    try {
      d.flush();
    } catch {
      // A writer's own failure is its own (flush records it); the others still write.
    }
  }
  dirty.length = 0;
}

// Node runs a tick queued from a microtask once every microtask has run: what the task's processes
// send (they run in microtasks) leaves together, as ENP links do (ergo-ts/net's link.ts).
const afterMicrotasks = (): void => nextTick(flushAll);

/** Runs `w.flush()` at the end of the current task (call once per batch: the writer tracks it). */
function flushLater(w: Flushable): void {
  dirty.push(w);
  if (scheduled) return;
  scheduled = true;
  void RESOLVED.then(afterMicrotasks);
}

// The tasks of the event loop, counted: a task that writes a frame queues the count's step at its
// end (once per task, however many sockets it writes to).
let task = 0;
let taskEnding = false;
const endTask = (): void => {
  task++;
  taskEnding = false;
};
const afterTask = (): void => nextTick(endTask);

/** The current task's number (and its end queued). */
function thisTask(): number {
  if (!taskEnding) {
    taskEnding = true;
    void RESOLVED.then(afterTask);
  }
  return task;
}

/**
 * The frames of one socket that wait for the end of the task, and their size. The first frame a
 * task writes to the socket goes at once (a lone reply, one publish to many tabs: nothing waits);
 * the task's later frames to it wait here and leave together at its end.
 */
class PendingFrames {
  frames: Uint8Array[] = [];
  bytes = 0;
  /** The task whose first frame went at once (-1: none). */
  #atOnce = -1;
  #scheduled = false;

  /**
   * Frame `b` for the open socket of `owner`: true when the owner writes it now; false when it
   * waits here (the owner's flush is scheduled).
   */
  offer(b: Uint8Array, owner: Flushable): boolean {
    if (this.frames.length === 0) {
      const t = thisTask();
      if (this.#atOnce !== t) {
        this.#atOnce = t;
        return true;
      }
    }
    this.push(b);
    if (!this.#scheduled) {
      this.#scheduled = true;
      flushLater(owner);
    }
    return false;
  }

  /** Adds `b` to what waits (a frame held or queued in order, not offered). */
  push(b: Uint8Array): void {
    this.frames.push(b);
    this.bytes += b.length;
  }

  /** Takes every waiting frame (the queue is empty after). */
  take(): Uint8Array[] {
    const f = this.frames;
    this.frames = [];
    this.bytes = 0;
    this.#scheduled = false;
    return f;
  }

  /**
   * Writes every waiting frame with `send`: as batches of at most `max` bytes, or one message per
   * frame when `max` is 0.
   */
  write(send: (m: Uint8Array) => void, max: number): void {
    writeFrames(this.take(), send, max);
  }
}

const NO_PEERS: ReadonlySet<string> = new Set();

/** What the gateway does for its sessions: one object for all of them (no closures per tab). */
export interface SessionHooks {
  /** The link to tab `s` closed (the engine's node down for the tab's node). */
  linkClosed(s: TabSession, reason: Error): void;
  /** An answer owed to tab `s` did not fit even the refusals' room: the gateway ends the session. */
  answersOverflowed(s: TabSession): void;
  /**
   * The socket of tab `s` took nothing for `slowConsumerMs` once its queue was full (`ms`: how
   * long): the gateway ends the session.
   */
  stalled(s: TabSession, ms: number): void;
  /** The gateway's `slowConsumerMs` (0: no limit). */
  readonly slowConsumerMs: number;
  /** The slices of the gateway's broadcasts (slices.ts). */
  readonly fanOut: FanOutQueue;
}

/**
 * The gateway's link to the tab of one session: its frames go into the session's queue, and an
 * answer the tab's own request is owed (an Ack, the failure of its call or important send) goes as
 * a refusal does, within the room refusals have past the tab's queue, so a tab whose queue is
 * full still hears how its own request went.
 */
class SessionLink extends TabLink {
  constructor(
    gateway: Atom,
    private readonly session: TabSession,
    private readonly hooks: SessionHooks,
  ) {
    super(gateway, session.name);
  }

  protected override post(frame: unknown[], bytes?: Uint8Array): void {
    this.session.deliverFrame(frame, bytes);
  }

  protected override ended(reason: Error): void {
    this.hooks.linkClosed(this.session, reason);
  }

  // A view of the codec's slab: the session copies it only if it keeps it (#write).
  protected override eventBytes(tail: Uint8Array): Uint8Array {
    return encodeEventFrameBrief(this.local, this.peer, tail);
  }

  // One publish to many tabs: written in the gateway's slices (slices.ts), one SharedEvent for all.
  protected override fanOutEvent(from: PID, m: MessageEvent, tail: Uint8Array): void {
    if (this.closed) return super.fanOutEvent(from, m, tail); // throws as any send on a closed link
    let ev = lastShared;
    if (ev === null || ev.tail !== tail || ev.from !== from || ev.src !== this.local)
      lastShared = ev = new SharedEvent(this.local, from, tail);
    this.session.deliverFanOut(ev);
    this.messagesOut++;
  }

  override answer(frame: unknown[]): void {
    if (this.closed) return super.answer(frame);
    if (!this.session.deliverAnswer(frame)) this.hooks.answersOverflowed(this.session);
    this.messagesOut++;
  }
}

/** The gateway-side state of one tab. */
export class TabSession implements Flushable, FanOutWaiter, InboundTab {
  socket: TabSocket | null = null;
  /**
   * Publishes waiting for their slice (slices.ts), and the size of their frames; null: none. One
   * alone (a broadcast's usual share of a tab) waits without an array of its own.
   */
  #fanOut: SharedEvent | SharedEvent[] | null = null;
  #fanOutBytes = 0;
  /** The gateway's hooks (its broadcast slices, slow consumers): one object for every session. */
  readonly #hooks: SessionHooks;
  /**
   * Frames for the socket, written together at the end of the task (frame.ts: batches); made at
   * the first frame for the tab (an idle tab has none).
   */
  #pending: PendingFrames | null = null;
  /** The socket's tab reads messages of several frames (its hello said so). */
  #batches = false;
  /** The socket's tab reads shared Event frames (its hello said so; shared_frame.ts). */
  #shared = false;
  /** Frames kept while the tab is away (made at the first), and their size. */
  #held: Uint8Array[] | null = null;
  #heldBytes = 0;
  #window: ReturnType<typeof setTimeout> | null = null;
  /** The count of a full queue's socket taking nothing (slow consumers), while one runs. */
  #stall: StallWatch | null = null;
  readonly #messages: TokenBucket;
  readonly #bytes: TokenBucket;
  /**
   * Nodes (other than the gateway) that exchanged frames with the tab, made at the first (most
   * tabs speak only with the gateway; an empty Set costs ~0.16 KiB a tab). Add with {@link addPeer}.
   */
  #peers: Set<string> | null = null;
  /** The gateway's link to the tab (the engine's Connection for its node). */
  readonly conn: TabLink;
  /** Relations, calls and kept processes of the tab, for a page reload (reload.ts). */
  readonly watchers: TabWatchers;
  ended = false;
  messagesIn = 0;
  messagesOut = 0;
  bytesIn = 0;
  bytesOut = 0;
  refused = 0;
  /** When the socket went (ms since the epoch), 0 while attached. */
  awaySince = 0;
  /** The gateway's inbound slices (slices.ts): the turn of `turnFrames`, and frames handled in it. */
  inboundTurn = 0;
  turnFrames = 0;
  /** Refusals counted by code since the last log line of each (RefusalLog); null: none. */
  refusalCounts: Map<string, number> | null = null;
  /**
   * Plain frames refused in a row and not written yet: one Refusal frame with their count goes at
   * the end of the task, or before any other frame for the tab (its frames keep their order).
   */
  #run: RefusedRun | null = null;

  /** `hooks`: the gateway's, one object for every session. */
  constructor(
    readonly name: Atom,
    readonly secret: string,
    readonly policy: TabPolicy,
    readonly limits: TabLimits,
    gateway: Atom,
    private readonly log: Log,
    hooks: SessionHooks,
  ) {
    this.#messages = new TokenBucket(limits.messagesPerSecond);
    this.#bytes = new TokenBucket(limits.bytesPerSecond);
    this.conn = new SessionLink(gateway, this, hooks);
    this.#hooks = hooks;
    this.watchers = new TabWatchers(name);
  }

  /** Nodes (other than the gateway) that exchanged frames with the tab. */
  get peers(): ReadonlySet<string> {
    return this.#peers ?? NO_PEERS;
  }
  /** Notes that node `node` exchanged frames with the tab. */
  addPeer(node: string): void {
    (this.#peers ??= new Set()).add(node);
  }
  /** Forgets node `node`; false when it was not among them. */
  deletePeer(node: string): boolean {
    return this.#peers?.delete(node) ?? false;
  }

  /**
   * Counts an inbound frame of `size` bytes against the tab's rates: null when it is within them,
   * else the refusal's sentinel (ErrTabRateLimit, ErrTabBytesLimit; nothing is counted then).
   * Returned, not thrown, and never a new Error: a flood is refused at the cost of a token
   * bucket's arithmetic per frame, not of an error's stack trace.
   */
  admitInbound(size: number): Error | null {
    if (!this.#messages.take(1)) return ErrTabRateLimit;
    if (!this.#bytes.take(size)) {
      this.#messages.refund(1); // refused: it counts against neither limit
      return ErrTabBytesLimit;
    }
    this.messagesIn++;
    this.bytesIn += size;
    return null;
  }

  /** Bytes waiting for the tab now (the socket's buffer, the task's batch, what is held while it is away). */
  get queuedBytes(): number {
    return (this.socket?.bufferedAmount ?? 0) + (this.#pending?.bytes ?? 0) + this.#heldBytes + this.#fanOutBytes;
  }

  /**
   * The Event frame of one publish to many tabs (`ev`, shared by them all): written now when the
   * gateway's slice has room and nothing of this tab's waits, else it waits for a later slice
   * (slices.ts) as a reference, encoded when written. Counted against the queue now either way;
   * the grant learns the publisher as the frame is written (the tab cannot name it before), and
   * an Event frame gives the watchers nothing to record.
   * @throws ErrTabQueueFull as {@link deliver}.
   */
  deliverFanOut(ev: SharedEvent): void {
    const size = EVENT_HEAD_BYTES + ev.src.length + this.name.length + ev.tail.length;
    if (!this.#fits(size)) throw this.#full();
    const waiting = this.#fanOut;
    if (waiting === null && this.#hooks.fanOut.now()) return this.#writeEvent(ev);
    if (waiting === null) {
      this.#fanOut = ev;
      this.#hooks.fanOut.add(this);
    } else if (Array.isArray(waiting)) waiting.push(ev);
    else this.#fanOut = [waiting, ev];
    this.#fanOutBytes += size;
  }

  /**
   * `ev`'s frame for this tab: a tab that reads shared frames gets the publish's one frame, the
   * same bytes as every such tab (shared_frame.ts), any other its own, encoded into the codec's
   * slab (#write copies what it keeps).
   */
  #writeEvent(ev: SharedEvent): void {
    this.policy.handOut(ev.from);
    if (this.#shared) this.#write(ev.payload(), true, ev);
    else this.#write(encodeEventFrameBrief(ev.src, this.name, ev.tail));
  }

  /** Writes the broadcast frames that wait for this tab (its slice came, or a later frame of its own). */
  releaseFanOut(): void {
    const evs = this.#fanOut;
    if (evs === null) return;
    this.#fanOut = null;
    this.#fanOutBytes = 0;
    if (this.ended) return;
    if (!Array.isArray(evs)) return this.#writeEvent(evs);
    for (const ev of evs) this.#writeEvent(ev);
  }

  /**
   * A frame for the tab from the gateway's own node (`bytes`: encoded already): what it hands out
   * is learnt, then queued.
   */
  deliverFrame(frame: unknown[], bytes?: Uint8Array): void {
    this.policy.learn(frame as never);
    // Encoded into the codec's shared slab: #write copies it only if it is kept (a brief encoding
    // costs half a fresh buffer's, and most frames go to the socket at once).
    this.deliver(bytes ?? encodeFrameBrief(frame));
    this.watchers.toTab(frame as Frame);
  }

  /**
   * Writes (or holds, while the tab is away) encoded frame `bytes`.
   * @throws ErrTabQueueFull when it would pass the tab's queued-bytes limit (nothing is kept).
   */
  deliver(bytes: Uint8Array): void {
    if (!this.#fits(bytes.length)) throw this.#full();
    this.#write(bytes);
  }

  /**
   * True when `n` more bytes fit the tab's queue. The task's batch (PendingFrames) is counted
   * until it is written: when it is what passes the limit, it is written now, and what the socket
   * takes of it no longer counts; the frames after it make the task's next batch. So a task's
   * sends meet the limit when the socket holds them, not when the batch does, and the batch's
   * bytes and the socket's unsent ones together stay within the limit.
   */
  #fits(n: number): boolean {
    const limit = this.limits.queuedBytes;
    if (this.queuedBytes + n <= limit) return true;
    const p = this.#pending;
    if (p === null || p.frames.length === 0 || this.socket === null || this.socket.readyState !== 1) return false;
    this.flush();
    return this.queuedBytes + n <= limit;
  }

  /** The refusal of a frame for the tab's full queue; with a socket up, the slow consumer's count starts. */
  #full(): Error {
    this.#watchStall();
    return ErrTabQueueFull.with(`${this.limits.queuedBytes} bytes for ${this.name}`);
  }

  /**
   * Starts the count of a full queue's socket (hooks.slowConsumerMs; not while one runs, nor while
   * the tab is away: its window judges it then). What the socket took is the bytes written to it
   * less what waits: it grows only as the socket takes bytes (a frame written adds to both).
   */
  #watchStall(): void {
    const ms = this.#hooks.slowConsumerMs;
    const socket = this.socket;
    if (ms === 0 || this.#stall !== null || socket === null || this.ended) return;
    const timer = setTimeout(() => this.#judgeStall(), ms);
    timer.unref?.();
    this.#stall = { socket, taken: this.#taken(), timer };
  }

  /** The count ended: a socket that took nothing is a stalled consumer (the gateway ends it). */
  #judgeStall(): void {
    const w = this.#stall;
    this.#stall = null;
    if (w === null || this.ended || this.socket !== w.socket) return;
    const took = this.#taken() - w.taken;
    const ms = this.#hooks.slowConsumerMs;
    // A slow reader (debug: one line per full queue of a reading tab would crowd the log).
    if (took > 0)
      return this.log.debug('tab %s: queue full; its socket took %d bytes in %d ms: kept', this.name, took, ms);
    this.#hooks.stalled(this, ms);
  }

  /**
   * Bytes the socket took (what was written to it less what waits in it and in the task's batch):
   * a frame written adds to both sides, so only the socket taking bytes makes it grow (a
   * broadcast's frames waiting for their slice are left out: their size is an estimate).
   */
  #taken(): number {
    return this.bytesOut - (this.queuedBytes - this.#fanOutBytes);
  }

  #stopStall(): void {
    if (this.#stall === null) return;
    clearTimeout(this.#stall.timer);
    this.#stall = null;
  }

  /**
   * Writes an answer the tab's own request is owed (an Ack, a failure), as a refusal is written:
   * within the queue and the refusals' room; false when past that too ({@link deliverRefusal}).
   */
  deliverAnswer(frame: unknown[]): boolean {
    this.policy.learn(frame as never);
    const within = this.deliverRefusal(encodeFrameBrief(frame));
    this.watchers.toTab(frame as Frame);
    return within;
  }

  /**
   * Writes the refusal of a frame of the tab (encoded `bytes`): within queuedBytes plus a room of
   * {@link REFUSAL_ROOM_BYTES} that only refusals use, so a tab whose queue is full of other frames
   * still hears why its call or send failed. Past that room too it is written all the same, and
   * false says so: the tab sends frames faster than it reads, and its owner ends the session.
   */
  deliverRefusal(bytes: Uint8Array): boolean {
    // Past the queue (within the room or not), a socket that takes nothing is counted as stalled.
    if (this.queuedBytes + bytes.length > this.limits.queuedBytes) this.#watchStall();
    const within = this.queuedBytes + bytes.length <= this.limits.queuedBytes + REFUSAL_ROOM_BYTES;
    this.#write(bytes, false);
    return within;
  }

  /**
   * A plain frame of the tab (no request id, no caller: no one waits for its answer) refused for
   * `e` (a limit's sentinel): counted into the task's one Refusal frame for a run of them
   * ([Ctl.Refusal, peer, 0, e, what, null, null, count], frame.ts; peer: the first frame's
   * destination), so a flood past a limit costs the gateway one frame back per task, not one per
   * refused frame (and its tab one to read). False when the refusals' room is past too
   * ({@link deliverRefusal}).
   */
  refusePlain(e: Error, peer: string, what: string): boolean {
    const r = this.#run;
    if (r !== null && r.e === e && r.peer === peer && r.what === what) {
      r.n++;
      return true;
    }
    if (r !== null) this.#writeRun();
    this.#run = { e, peer, what, n: 1 };
    flushLater(this);
    if (this.queuedBytes > this.limits.queuedBytes) this.#watchStall();
    return this.queuedBytes <= this.limits.queuedBytes + REFUSAL_ROOM_BYTES;
  }

  /**
   * A plain send (frame.ts: plainSend) refused for `e` while a run of sends refused for `e` waits:
   * counted into it (true; its peer stays the first's), with nothing of the frame decoded.
   */
  extendRun(e: Error): boolean {
    const r = this.#run;
    if (r === null || r.e !== e || r.what !== 'send') return false;
    r.n++;
    return true;
  }

  /** The waiting run of refusals as one frame (before anything else goes to the tab). */
  #writeRun(): void {
    const r = this.#run!;
    this.#run = null;
    const f: unknown[] = [Ctl.Refusal, r.peer, 0, errorToWire(r.e), r.what, null, null];
    if (r.n > 1) f.push(r.n);
    this.#write(encodeFrame(f), false);
  }

  /**
   * `shared`: `bytes` are that publish's shared frame (shared_frame.ts). `early`: a batch of BATCH_MAX_FRAMES leaves before the task ends (a window of replies in
   * flight: the tab starts on them). Refusals wait for the task's end whatever their number: a
   * message of many frames the gateway refuses is answered at once, counted against the queue
   * and the refusals' room, so a tab that sends them faster than it reads is ended.
   */
  #write(bytes: Uint8Array, early = true, shared?: SharedEvent): void {
    // What waits (refusals counted, a broadcast's slice) goes first: the tab's frames keep their order.
    if (this.#run !== null) this.#writeRun();
    if (this.#fanOut !== null) this.releaseFanOut();
    this.messagesOut++;
    this.bytesOut += bytes.length;
    // A socket that is closing gets nothing more: held, the frame waits for the tab's return.
    if (this.socket !== null && this.socket.readyState === 1) {
      const pending = (this.#pending ??= new PendingFrames());
      // A view (a brief encoding's slab, a frame of a tab's batch) goes to an idle socket as it
      // is: the kernel takes it at once. One the socket would keep (bytes still waiting) or held
      // while the tab is away is copied first (ownBytes); the task's batch keeps it until its end.
      // A shared frame that goes now goes whole, past `ws`, when `ws` has nothing of the socket waiting.
      if (!pending.offer(bytes, this)) {
        if (pending.bytes >= BATCH_MAX_BYTES || (early && pending.frames.length >= BATCH_MAX_FRAMES)) this.flush();
      } else if (shared === undefined || !writeWhole(this.socket, shared.whole()))
        this.socket.send(this.socket.bufferedAmount === 0 ? bytes : ownBytes(bytes));
    } else {
      this.#hold();
      bytes = ownBytes(bytes);
      (this.#held ??= []).push(bytes);
      this.#heldBytes += bytes.length;
    }
  }

  /** Writes the task's frames (flushLater calls it at the end of the task). */
  flush(): void {
    if (this.#run !== null) this.#writeRun();
    const s = this.socket;
    const pending = this.#pending;
    if (pending === null || pending.frames.length === 0) return;
    if (s === null || s.readyState !== 1) return this.#hold();
    pending.write((m) => s.send(s.bufferedAmount === 0 ? m : ownBytes(m)), this.#batches ? BATCH_MAX_BYTES : 0);
  }

  /** The task's frames join those held while the tab is away (in order: they are older). */
  #hold(): void {
    if (this.#pending === null) return;
    const taken = this.#pending.take();
    if (taken.length === 0) return;
    const held = (this.#held ??= []);
    for (const b of taken) {
      held.push(ownBytes(b));
      this.#heldBytes += b.length;
    }
  }

  /**
   * A socket (new, or the tab back within its window): held frames go first. `batches`: its tab
   * reads messages of several frames; `shared`: it reads shared Event frames (shared_frame.ts).
   */
  attach(socket: TabSocket, batches = false, shared = false): void {
    if (this.#window !== null) clearTimeout(this.#window);
    this.#window = null;
    this.#stopStall();
    this.socket = socket;
    this.awaySince = 0;
    this.#batches = batches;
    this.#shared = shared;
    const held = this.#held;
    this.#held = null;
    this.#heldBytes = 0;
    if (held === null || held.length === 0) return;
    const pending = (this.#pending ??= new PendingFrames());
    const later = pending.take();
    for (const b of held) pending.push(b);
    for (const b of later) pending.push(b);
    this.flush();
  }

  /** The socket closed: the tab has `windowMs` to come back, then `expire` runs. */
  detach(socket: TabSocket, windowMs: number, expire: () => void): void {
    if (this.socket !== socket || this.ended) return;
    this.socket = null;
    this.#stopStall();
    this.watchers.socketGone();
    this.awaySince = Date.now();
    this.#window = setTimeout(expire, windowMs);
    this.#window.unref?.();
    this.log.info('tab %s away: %d ms to come back', this.name, windowMs);
  }

  /**
   * Ends the session (idempotent): no more window, socket closed, held frames dropped. `abandon`
   * (a queue full: the tab does not read): the socket is not left to the close handshake, which
   * `ws` waits 30 s for with its unsent bytes; it is destroyed at once when bytes still wait in
   * it (the close frame behind them would never reach the tab), else once the tab had
   * {@link QUEUE_FULL_CLOSE_GRACE_MS} to answer the close frame the kernel took.
   */
  end(code: number, reason: string, abandon = false): void {
    if (this.ended) return;
    this.ended = true;
    if (this.#window !== null) clearTimeout(this.#window);
    this.#window = null;
    this.#stopStall();
    // What the task wrote to a live socket still goes, before the close (as when written at once).
    this.flush();
    this.#pending?.take();
    this.#fanOut = null;
    this.#fanOutBytes = 0;
    this.#held = null;
    this.#heldBytes = 0;
    const s = this.socket;
    this.socket = null;
    if (s === null) return;
    s.close(code, reason);
    if (!abandon) return;
    if (s.bufferedAmount > 0) return s.terminate();
    setTimeout(() => s.terminate(), QUEUE_FULL_CLOSE_GRACE_MS).unref?.();
  }

  info(label: string): TabInfo {
    return {
      node: this.name,
      label,
      connected: this.socket !== null,
      messagesIn: this.messagesIn,
      messagesOut: this.messagesOut,
      bytesIn: this.bytesIn,
      queuedBytes: this.queuedBytes,
      bytesOut: this.bytesOut,
      awaySince: this.awaySince,
      refused: this.refused,
      peers: [...this.peers],
    };
  }
}
