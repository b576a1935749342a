// The tab frame: what crosses a tab's WebSocket, and what the gateway and the other server nodes
// pass to each other inside an ordinary ENP message (a binary payload to the relay process). One
// frame is one EDF value (wire.ts: EDF as ergo-ts peers write it, on Uint8Array, so it runs in a
// browser too): an array whose
// head is [op, source node, destination node]. PIDs, refs, aliases and events travel whole (with
// their node), so a frame says for itself where it goes and whom it speaks for, which is what the
// gateway checks before it routes anything a tab sent. Every refusal a tab meets is one of the
// coded errors below (or a core sentinel such as ERR_PROTOCOL_VIOLATION), and an error crosses a
// frame as [code, message].

import { defineError, EdfTag, ErgoError, ErrIncorrect, sentinelByCode } from 'ergo-ts';
import { decodeArrayHead, decodeNamed, encodeArrayPart, encodeBrief, encodeValue, SLICE_HEAD_BYTES } from './wire.js';

export { ErrTabValue } from './wire.js';

// --- errors ------------------------------------------------------------------------------------
/** The application's `admit` callback refused the token (or threw). */
export const ErrTabAdmission = defineError('ERR_TAB_ADMISSION', 'tab not admitted');
/** The tab addressed a name, PID, event or node its grant does not cover. */
export const ErrTabNotGranted = defineError('ERR_TAB_NOT_GRANTED', 'not granted to this tab');
/** The tab spoke for another node (a sender or source that is not its own). */
export const ErrTabPosing = defineError('ERR_TAB_POSING', 'a tab may only speak for its own node');
/** The tab sent more messages per second than its limit allows. */
export const ErrTabRateLimit = defineError('ERR_TAB_RATE_LIMIT', 'tab message rate limit exceeded');
/** The tab sent more bytes per second than its limit allows. */
export const ErrTabBytesLimit = defineError('ERR_TAB_BYTES_LIMIT', 'tab byte rate limit exceeded');
/** What waits for the tab (offline, or a slow socket) would pass its queued-bytes limit. */
export const ErrTabQueueFull = defineError('ERR_TAB_QUEUE_FULL', 'tab queue is full');
/**
 * The close code of a tab's socket when the gateway ends its session for its full queue: even the
 * refusals of the tab's own frames no longer fit it (it sends faster than it reads), or its socket
 * took nothing of it for the gateway's `slowConsumerMs` (it stopped reading). The tab ends with
 * ErrTabQueueFull and does not dial again; the gateway destroys the socket without waiting for
 * the close handshake, so a tab that does not read may see only the connection's end.
 */
export const CLOSE_QUEUE_FULL = 4029;
/**
 * The gateway could not take the tab now: its hello came too late on a busy gateway (the wait
 * counts only the time its event loop was free), or the application's `admit` answered
 * `{ refuse, busy: true }`. Retryable: a joining tab dials again by itself with jittered backoff
 * (its `joinTimeout`), a tab coming back within its window as it does for any lost socket.
 */
export const ErrTabBusy = defineError('ERR_TAB_BUSY', 'tab gateway busy: try again');
/**
 * The close code of a socket refused with ErrTabBusy: RFC 6455's 1013 Try Again Later. A tab also
 * reads 4008 (a gateway of an older build closing a socket whose hello came late) as busy.
 */
export const CLOSE_TAB_BUSY = 1013;
/** A frame the gateway cannot read, or an operation tabs may not use (remote spawn). */
export const ErrTabFrame = defineError('ERR_TAB_FRAME', 'malformed or forbidden tab frame');
/** The tab's session ended (its reconnect window passed, or the gateway stopped). */
export const ErrTabSessionEnded = defineError('ERR_TAB_SESSION_ENDED', 'tab session ended');
/** A call the tab's page had received when it reloaded: the page went before it answered. */
export const ErrTabReloaded = defineError('ERR_TAB_RELOADED', "the tab's page reloaded before it answered");

/** An error as a frame carries it: its code ('' for an error without one) and message. */
export type WireError = [code: string, message: string];

/** `e` for a frame. Never throws. */
export function errorToWire(e: unknown): WireError {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return [typeof code === 'string' ? code : '', e.message];
  }
  return ['', String(e)];
}

/**
 * The error a frame carried: a core sentinel itself when code and text are the sentinel's (so
 * `reason === ErrNoConnection` holds as for ENP), a fresh ErgoError with that code otherwise.
 */
export function errorFromWire(w: unknown): Error {
  if (!Array.isArray(w) || typeof w[0] !== 'string' || typeof w[1] !== 'string')
    return ErrTabFrame.with('an error field that is not [code, message]');
  const [code, message] = w as WireError;
  if (code === '') return new Error(message);
  const s = sentinelByCode(code);
  if (s !== undefined && s.message === message) return s;
  return new ErgoError(code, message);
}

// --- frames ------------------------------------------------------------------------------------

/** Operations of a routed frame ([op, src, dst, ...]). */
export const Op = {
  /** [op, src, dst, reqId, priority, from, to (PID | ProcessID | Alias), message] */
  Send: 1,
  /** [op, src, dst, reqId, priority, from, to, ref, request] */
  Call: 2,
  /** [op, src, dst, reqId, priority, from, to, ref, ok, value | WireError] */
  Response: 3,
  /** [op, src, dst, from, to, reason] */
  Exit: 4,
  /** [op, src, dst, from, event, timestamp, message] */
  Event: 5,
  /** [op, src, dst, reqId, kind, pid, target] (kind: 'link' | 'unlink' | 'monitor' | 'demonitor') */
  Relation: 6,
  /** [op, src, dst, target, reason]: a target that peers of `dst` watch has ended */
  Terminate: 7,
  /** [op, src, dst, reqId, WireError | null, buffered events ([event, timestamp, message][]) | null] */
  Ack: 8,
  /** [op, src, dst, node, reason]: `node` is gone for `dst` (the gateway's notice) */
  NodeDown: 9,
} as const;

/** Operations between a tab and its gateway only (never routed). */
export const Ctl = {
  /**
   * tab → gateway: [op, token, resume secret ('' for a new session), fresh, batches, kept?, shared?].
   * `fresh` true: the tab's node is new (a reloaded page) and asks for its old name. Without
   * `kept` (absent or null) the old session ends first; with `kept` (the PIDs the page puts back,
   * reload.ts) it goes on. `batches` true: the tab reads messages of several frames (frame.ts:
   * batches). `shared` true: the tab reads an Event frame whose destination is '' as its own
   * (shared_frame.ts: one frame per publish for every such tab).
   */
  Hello: 20,
  /**
   * gateway → tab: [op, tab node, gateway node, resume secret, reconnect window ms, frame bytes,
   * incarnation, kept]: `frame bytes` > 0 is the tab's `maxFrameBytes`: its largest frame (the
   * tab refuses a bigger one itself) and its largest message of several frames; incarnation > 0 after a reload that keeps processes (the node takes its old
   * creation, ids from incarnation × 2^32), `kept` the claimed PIDs the gateway accepted,
   * `leave` true: the gateway takes {@link Ctl.Leave} (absent: a gateway of an older build);
   * `shared` true (field 9): the gateway writes the tab shared Event frames (the hello asked).
   */
  Welcome: 21,
  /** gateway → tab: [op, WireError], then the socket closes */
  Refused: 22,
  /**
   * gateway → tab: [op, peer, reqId, WireError, what, caller, ref, count?]: a frame of the tab the
   * gateway refused (caller and Ref: a call's, whose caller fails with the error; else null).
   * `count` (absent: 1): how many plain frames in a row it stands for (a flood's sends past a
   * limit are answered with one Refusal per task, not one per frame).
   */
  Refusal: 23,
  /** tab → gateway: [op, pid, kept (boolean), registered name]: a process kept across a reload, or no more */
  Keep: 24,
  /**
   * tab → gateway: [op]: the tab leaves for good. A WebSocket message of its own ({@link LEAVE_FRAME})
   * and the tab's last: the gateway ends the session after the frames the tab sent before it and
   * closes the connection without a WebSocket close handshake (its close reply and the stream's
   * shutdown cost a gateway several times the session's end), and the tab takes that close as its
   * leave's end. Sent only to a gateway whose welcome said so; to any other the tab closes with
   * 1000 `left`, which every gateway also reads as a leave.
   */
  Leave: 25,
} as const;

/** A decoded frame: its head checked, the rest read by whoever handles its op. */
export type Frame = unknown[] & { 0: number };

/** Relation kinds a Relation frame carries. */
export type RelationKind = 'link' | 'unlink' | 'monitor' | 'demonitor';

/**
 * Largest frame the decoder accepts from a tab by default (bytes). A bigger one is refused with
 * ERR_TAB_FRAME before it is decoded.
 */
export const DEFAULT_MAX_FRAME_BYTES = 1 << 20;

/** `frame` as bytes. @throws ErrTabValue when a value in it cannot be carried (names its path). */
export function encodeFrame(frame: readonly unknown[]): Uint8Array {
  return encodeValue(frame);
}

/**
 * `frame` as bytes written away at once (wire.ts encodeBrief: a small frame's bytes are a view of
 * a shared slab; copy them to keep them). @throws ErrTabValue as encodeFrame.
 */
export function encodeFrameBrief(frame: readonly unknown[]): Uint8Array {
  return encodeBrief(frame);
}

/** The bytes of a Leave frame ({@link Ctl.Leave}): the same for every tab, sent as a message of its own. */
export const LEAVE_FRAME: Uint8Array = encodeValue([Ctl.Leave]);

/** True when `message` is a Leave frame alone (a length and a few bytes compared: it is looked for in every message). */
export function isLeave(message: Uint8Array): boolean {
  if (message.length !== LEAVE_FRAME.length) return false;
  for (let i = 0; i < message.length; i++) if (message[i] !== LEAVE_FRAME[i]) return false;
  return true;
}

/** Tab frames' index in an EventFanOut's `packets` (ENP's formats take 0 and 1). */
export const TAB_FANOUT_FORMAT = 2;

/** Elements of an Event frame ([op, src, dst, from, event, timestamp, message]). */
const EVENT_FRAME_LENGTH = 7;

/**
 * The part of an Event frame every destination shares: [from, event, timestamp, message], encoded
 * once per publish however many tabs it goes to ({@link eventFrame} puts a head before it).
 * @throws ErrTabValue when the message cannot be carried.
 */
export function encodeEventTail(from: unknown, event: unknown, timestamp: unknown, message: unknown): Uint8Array {
  return encodeArrayPart(0, [from, event, timestamp, message], 3);
}

/** The head of an Event frame from node `src` to node `dst` ([Op.Event, src, dst]). */
export function encodeEventHead(src: string, dst: string): Uint8Array {
  return encodeArrayPart(EVENT_FRAME_LENGTH, [Op.Event, src, dst], 0);
}

/**
 * The Event frame from node `src` to node `dst` with `tail` (encodeEventTail): its head encoded
 * straight before the tail's bytes, one allocation (the same bytes as encodeFrame of the whole).
 */
export function encodeEventFrame(src: string, dst: string, tail: Uint8Array): Uint8Array {
  return encodeArrayPart(EVENT_FRAME_LENGTH, [Op.Event, src, dst], 0, tail);
}

/**
 * encodeEventFrame for bytes written away at once (wire.ts encodeBrief: a small frame's bytes are
 * a view of a shared slab; copy them to keep them). A publish to many tabs allocates no buffer
 * per tab.
 */
export function encodeEventFrameBrief(src: string, dst: string, tail: Uint8Array): Uint8Array {
  return encodeArrayPart(EVENT_FRAME_LENGTH, [Op.Event, src, dst], 0, tail, true);
}

/**
 * The shared Event frame from node `src` with `tail` (encodeEventTail): its destination is '',
 * read by a tab that takes shared frames as its own name (decodeFrame's `self`), so one frame's
 * bytes go to every subscribed tab of a gateway.
 */
export function encodeSharedEventFrame(src: string, tail: Uint8Array): Uint8Array {
  return encodeArrayPart(EVENT_FRAME_LENGTH, [Op.Event, src, ''], 0, tail);
}

/** An Event frame's bytes: its `head` and a `tail` of encodeEventTail (the same as encodeFrame of the whole). */
export function eventFrame(head: Uint8Array, tail: Uint8Array): Uint8Array {
  const b = new Uint8Array(head.length + tail.length);
  b.set(head);
  b.set(tail, head.length);
  return b;
}

/**
 * The frame in `bytes`, its head checked: an array of at least one element whose first is a
 * known op, and for routed ops a source and a destination node name. `self`: the tab's own name,
 * given by a tab whose gateway writes it shared Event frames (a publish's one frame for every
 * tab, whose destination is '': gateway.ts' welcome): such a frame's destination reads as `self`.
 * @throws ErrTabFrame for anything else (an EDF error becomes its cause).
 */
export function decodeFrame(bytes: Uint8Array, self?: string): Frame {
  let v: unknown;
  try {
    v = decodeNamed(bytes, routedOp(bytes) ? 2 : 0);
  } catch (e) {
    throw ErrTabFrame.with('undecodable frame', e);
  }
  if (!Array.isArray(v) || typeof v[0] !== 'number') throw ErrTabFrame.with('a frame is an array led by its op');
  const op = v[0];
  if (op >= Op.Send && op <= Op.NodeDown) {
    if (v[2] === '' && op === Op.Event && self !== undefined) v[2] = self;
    if (typeof v[1] !== 'string' || typeof v[2] !== 'string' || v[1] === '' || v[2] === '')
      throw ErrTabFrame.with(`op ${op}: source and destination must be node names`);
    return v as Frame;
  }
  if (op >= Ctl.Hello && op <= Ctl.Leave) return v as Frame;
  throw ErrTabFrame.with(`unknown op ${op}`);
}

/** Where a frame's op lies as encodeFrame writes it: after the array's head, an int64's tag. */
const OP_AT = SLICE_HEAD_BYTES;

/**
 * True when `bytes` start as encodeFrame writes a routed frame (its op an int64 of Op): its
 * source and destination are then read as node names (one copy of each). Anything else is
 * decoded plainly (a hello's token is never kept).
 */
function routedOp(bytes: Uint8Array): boolean {
  if (bytes.length < OP_AT + 9 || bytes[OP_AT] !== EdfTag.Int64) return false;
  for (let i = OP_AT + 1; i < OP_AT + 8; i++) if (bytes[i] !== 0) return false;
  const op = bytes[OP_AT + 8]!;
  return op >= Op.Send && op <= Op.NodeDown;
}

/**
 * True when `bytes` are a plain Send as encodeFrame writes it: op Send, a source and a destination
 * (short strings) and request id 0, so no one waits for its answer. Read from the bytes alone (no
 * value decoded): a flood's sends past a limit are counted into their run of refusals at the cost
 * of a few byte compares (session.ts: refusePlain).
 */
export function plainSend(bytes: Uint8Array): boolean {
  if (!routedOp(bytes) || bytes[OP_AT + 8] !== Op.Send) return false;
  let p = OP_AT + 9;
  for (let k = 0; k < 2; k++) {
    // A short string: its tag, a big-endian u16 length, the bytes.
    if (p + 3 > bytes.length || bytes[p] !== EdfTag.String) return false;
    p += 3 + ((bytes[p + 1]! << 8) | bytes[p + 2]!);
  }
  if (p + 9 > bytes.length || bytes[p] !== EdfTag.Int64) return false;
  for (let i = p + 1; i <= p + 8; i++) if (bytes[i] !== 0) return false;
  return true;
}

/** Bytes of a refused frame {@link frameHead} reads at most. */
const HEAD_BYTES = 4096;

/**
 * What a frame refused before it was decoded (past a limit) says of itself, read from its head
 * alone: op, source, destination, request id and, for a call or a response, its sender, caller
 * and Ref (the message, request or reply is never read). The refusal then answers the request it
 * carried, and a refused reply its caller. Null when even the head is no routed frame's.
 */
export function frameHead(bytes: Uint8Array): Frame | null {
  // A head is a few hundred bytes (node names are at most 255 bytes): what lies past this
  // is never read, so a refusal costs the same for a frame of any size.
  if (bytes.length > HEAD_BYTES) bytes = bytes.subarray(0, HEAD_BYTES);
  try {
    // Source and destination as names (one copy each, found by their bytes) when it is laid out
    // as a routed frame, as decodeFrame reads them.
    const names = routedOp(bytes) ? 2 : 0;
    const h = decodeArrayHead(bytes, 4, names);
    if (typeof h[0] !== 'number' || h[0] < Op.Send || h[0] > Op.NodeDown) return null;
    if (typeof h[1] !== 'string' || typeof h[2] !== 'string') return null;
    return (h[0] === Op.Call || h[0] === Op.Response ? decodeArrayHead(bytes, 8, names) : h) as Frame;
  } catch {
    return null;
  }
}

/** The source node of a routed frame. */
export function srcOf(f: Frame): string {
  return f[1] as string;
}

/** The destination node of a routed frame. */
export function dstOf(f: Frame): string {
  return f[2] as string;
}

/** A request id field: a non-negative safe integer (0: no answer wanted). @throws ErrTabFrame */
export function reqIdOf(v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw ErrTabFrame.with('bad request id');
  return v;
}

/** A priority field (0 normal, 1 high, 2 max). @throws ErrTabFrame */
export function priorityOf(v: unknown): number {
  if (v !== 0 && v !== 1 && v !== 2) throw ErrTabFrame.with('bad priority');
  return v;
}

// --- batches ------------------------------------------------------------------------------------
// Frames that leave in one WebSocket message. A tab link carries many small frames (a reply per
// call, an echo per message), and each WebSocket message costs its own write on each side (a
// system call in Node, a task in the page) and its own dispatch on the other: frames written
// together go out as one message (the gateway: what a task writes after its first frame, at the
// task's end; a tab: what its node's processes send in one run of microtasks). A message that
// starts with FRAME_BATCH holds several frames, each after its u32 length; any other message is
// one frame (its first byte is EDF's tag of an array). Both ends agree first: the tab's hello says
// it reads batches, the gateway's welcome says it takes them (and how big), so a page loaded from
// an older build and a newer gateway still speak one frame per message.
//
// Limits stay per frame: the gateway splits a batch without decoding it and holds each frame to
// the tab's size, rate and byte limits as if it had come alone.

/** The first byte of a message that holds several frames (no frame starts with it). */
export const FRAME_BATCH = 0x00;

/**
 * Most bytes one batch holds (a frame bigger than what is left goes in the next message; a frame
 * bigger than this goes alone). The peer's own bound, when smaller, wins (the welcome's for a tab).
 */
export const BATCH_MAX_BYTES = 64 << 10;

/**
 * Most frames a batch holds while the task goes on writing: a batch this long leaves at once, so
 * the peer starts on it meanwhile. Without it a window of messages in flight (64 echoes) travels
 * as one batch each way, and each side waits while the other works through all of it.
 */
export const BATCH_MAX_FRAMES = 16;

/**
 * `b` with a buffer of its own: a view (a brief encoding's slab, a frame of a batch, a socket's
 * chunk) kept while it waits would keep all of its buffer alive; a kept frame keeps only its own
 * bytes (a queue's limit counts the frame).
 */
export function ownBytes(b: Uint8Array): Uint8Array {
  return b.byteLength === b.buffer.byteLength ? b : new Uint8Array(b);
}

/**
 * Writes `frames` with `send`: as batches of at most `max` bytes (a bigger frame alone), or one
 * message per frame when `max` is 0 (a peer that takes no batches).
 */
export function writeFrames(frames: readonly Uint8Array[], send: (m: Uint8Array) => void, max: number): void {
  // The common case (one frame in the turn: a call, a reply) goes as it is.
  if (frames.length === 1) return send(frames[0]!);
  let run: Uint8Array[] = [];
  let size = 1;
  for (const f of frames) {
    if (run.length > 0 && size + 4 + f.length > max) {
      send(pack(run, size));
      run = [];
      size = 1;
    }
    run.push(f);
    size += 4 + f.length;
  }
  if (run.length > 0) send(pack(run, size));
}

/** `run` as one message: its frame alone, or a batch of `size` bytes (marker, lengths, frames). */
function pack(run: readonly Uint8Array[], size: number): Uint8Array {
  if (run.length === 1) return run[0]!;
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  let at = 1; // out[0] is FRAME_BATCH (0)
  for (const f of run) {
    dv.setUint32(at, f.length);
    out.set(f, at + 4);
    at += 4 + f.length;
  }
  return out;
}

/**
 * The frames of `message`: itself when it is one frame, else the frames of the batch (views of
 * `message`, not copies).
 * @throws ErrTabFrame for a batch whose lengths do not add up to its size (or an empty one).
 */
export function splitFrames(message: Uint8Array): Uint8Array[] {
  if (message[0] !== FRAME_BATCH || message.length === 0) return [message];
  const dv = new DataView(message.buffer, message.byteOffset, message.byteLength);
  const out: Uint8Array[] = [];
  let at = 1;
  do {
    const n = at + 4 <= message.length ? dv.getUint32(at) : 0;
    if (n === 0 || at + 4 + n > message.length) throw ErrTabFrame.with(`a batch that breaks at byte ${at}`);
    out.push(message.subarray(at + 4, at + 4 + n));
    at += 4 + n;
  } while (at < message.length);
  return out;
}

/** The registered name of the relay process on the gateway and on every server node with tab routes. */
export const TAB_RELAY = 'tabs_relay';

/** What stops a relay (a local message: the relay ends with reason normal). */
export const RELAY_STOP: unique symbol = Symbol('tabs_relay stop');

// --- tab node names -------------------------------------------------------------------------------

/** Characters of a tab id: a base-36 serial of 8 and a hex tail of 6 (see the gateway). */
export const TAB_ID_LENGTH = 14;

// The id has a fixed length, so the name parses whatever '-' or '_' the gateway's alive part has.
const TAB_ID = /^[0-9a-z]{14}$/;
const TAB_NAME = /^tab-([0-9a-z]{14})-([^@]+@.+)$/;

/**
 * The node name of tab `id` under gateway node `gateway`: `tab-<id>-<gateway alive>@<gateway
 * host>` (gateway `gw@example.com`, tab `tab-00000k3x9f2a1c-gw@example.com`). The name carries its
 * route: any node that sees a tab PID knows which gateway node reaches it, without a registrar.
 * No dot in the alive part: Erlang/OTP refuses such a node name (it would not dial the tab).
 * @throws ErrIncorrect when `id` is not {@link TAB_ID_LENGTH} characters of `[0-9a-z]` or
 *   `gateway` is not `alive@host`.
 */
export function tabNodeName(id: string, gateway: string): string {
  const at = gateway.indexOf('@');
  if (!TAB_ID.test(id)) throw ErrIncorrect.with(`a tab id is ${TAB_ID_LENGTH} characters of [0-9a-z], not ${id}`);
  if (at <= 0 || at === gateway.length - 1)
    throw ErrIncorrect.with(`a gateway node name is alive@host, not ${gateway}`);
  return `tab-${id}-${gateway}`;
}

/** The gateway node that reaches tab node `name`, or undefined when `name` is not a tab's. */
export function gatewayOfTab(name: string): string | undefined {
  const m = TAB_NAME.exec(name);
  return m === null ? undefined : m[2];
}
