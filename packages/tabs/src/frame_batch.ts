// Frames that leave in one WebSocket message. A tab link carries many small frames (a reply per
// call, an echo per message), and each WebSocket message costs its own write on each side (a
// system call in Node, a task in the page) and its own dispatch on the other: frames written
// during one task of the event loop go out together, at its end, as one message. A message that
// starts with FRAME_BATCH holds several frames, each after its u32 length; any other message is
// one frame (its first byte is EDF's tag of an array). Both ends agree first: the tab's hello says
// it reads batches, the gateway's welcome says it takes them (and how big), so a page loaded from
// an older build and a newer gateway still speak one frame per message.
//
// Limits stay per frame: the gateway splits a batch without decoding it and holds each frame to
// the tab's size, rate and byte limits as if it had come alone.

import { ErrTabFrame } from './frame.js';

/** The first byte of a message that holds several frames (no frame starts with it). */
export const FRAME_BATCH = 0x00;

/**
 * Most bytes one batch holds (a frame bigger than what is left goes in the next message; a frame
 * bigger than this goes alone). The peer's own bound, when smaller, wins (the welcome's for a tab).
 */
export const BATCH_MAX_BYTES = 64 << 10;

/** `frames` (of `bytes` bytes in all, two or more) as one batch message. */
export function batchMessage(frames: readonly Uint8Array[], bytes: number): Uint8Array {
  const out = new Uint8Array(1 + 4 * frames.length + bytes);
  const dv = new DataView(out.buffer);
  out[0] = FRAME_BATCH;
  let at = 1;
  for (const f of frames) {
    dv.setUint32(at, f.length);
    out.set(f, at + 4);
    at += 4 + f.length;
  }
  return out;
}

/**
 * The frames of `message`: itself when it is one frame, else the frames of the batch (views of
 * `message`, not copies).
 * @throws ErrTabFrame for a batch whose lengths do not add up to its size, or an empty one.
 */
export function splitFrames(message: Uint8Array): Uint8Array[] {
  if (message.length === 0 || message[0] !== FRAME_BATCH) return [message];
  const dv = new DataView(message.buffer, message.byteOffset, message.byteLength);
  const out: Uint8Array[] = [];
  let at = 1;
  while (at < message.length) {
    if (at + 4 > message.length) throw ErrTabFrame.with(`a batch cut inside a length at byte ${at}`);
    const n = dv.getUint32(at);
    if (n === 0 || at + 4 + n > message.length) throw ErrTabFrame.with(`a batch frame of ${n} bytes at byte ${at}`);
    out.push(message.subarray(at + 4, at + 4 + n));
    at += 4 + n;
  }
  if (out.length === 0) throw ErrTabFrame.with('an empty batch');
  return out;
}

/** Something with frames to write at the end of the task. */
export interface Flushable {
  flush(): void;
}

const RESOLVED: Promise<void> = Promise.resolve();
// Node runs a tick queued from a microtask once every microtask has run, so what the task's
// processes send (they run in microtasks) leaves together; a page has no ticks, and its batch is
// what one microtask drain of its node sends.
const nextTick = (globalThis as { process?: { nextTick?: (fn: () => void) => void } }).process?.nextTick;
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

const afterMicrotasks = nextTick === undefined ? flushAll : (): void => nextTick(flushAll);

/** Runs `w.flush()` at the end of the current task (call once per batch: the writer tracks it). */
export function flushLater(w: Flushable): void {
  dirty.push(w);
  if (scheduled) return;
  scheduled = true;
  void RESOLVED.then(afterMicrotasks);
}

/** Frames waiting for the end of the task, and their size. */
export class PendingFrames {
  frames: Uint8Array[] = [];
  bytes = 0;

  /** Adds `b`; true when it is the first (the owner schedules its flush then). */
  push(b: Uint8Array): boolean {
    this.frames.push(b);
    this.bytes += b.length;
    return this.frames.length === 1;
  }

  /** Takes every waiting frame (the queue is empty after). */
  take(): Uint8Array[] {
    const f = this.frames;
    this.frames = [];
    this.bytes = 0;
    return f;
  }

  /**
   * Writes every waiting frame with `send`: as batches of at most `max` bytes when `batches`,
   * else one message per frame.
   */
  write(send: (m: Uint8Array) => void, batches: boolean, max: number): void {
    const frames = this.take();
    if (!batches || frames.length === 1) {
      for (const f of frames) send(f);
      return;
    }
    let from = 0;
    let size = 0;
    for (let i = 0; i < frames.length; i++) {
      const n = frames[i]!.length;
      if (i > from && size + n + 4 * (i - from + 1) + 1 > max) {
        sendRun(send, frames, from, i, size);
        from = i;
        size = 0;
      }
      size += n;
    }
    sendRun(send, frames, from, frames.length, size);
  }
}

function sendRun(send: (m: Uint8Array) => void, frames: Uint8Array[], from: number, to: number, size: number): void {
  send(to - from === 1 ? frames[from]! : batchMessage(frames.slice(from, to), size));
}
