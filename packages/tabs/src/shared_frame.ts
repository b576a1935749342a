// One publish to many tabs, and the one frame every tab of a gateway can get for it (issue 93).
//
// A tab's Event frame names the tab (its destination), so it was encoded once per tab, and each
// went out through `ws.send`: an options object and a header built per socket, the header and the
// payload written as a corked pair (a `writev`). A tab whose hello says it takes shared Event
// frames (hello field 6, confirmed by the welcome's field 9) reads an Event frame whose
// destination is '' as its own (frame.ts: decodeFrame's `self`), so one publish is one payload
// for all of them, and one whole WebSocket frame (header and payload, unmasked, as a server
// writes) that the gateway writes as it is, the same bytes to every socket: one `socket.write`
// of one buffer each, nothing built per tab. A tab of an older build says nothing and gets its
// own frame, as before.
//
// Writing past `ws` is safe only while `ws` itself has nothing of that socket waiting to be
// written (its Sender's queue, a compression or a Blob under way), or the frame would overtake
// them; `writeWhole` checks that on `ws` 8's own fields and writes nothing otherwise (the caller
// then sends the payload through `ws.send`). The `ws` version the package takes is pinned in its
// package.json, and tabs.shared_event.test.ts checks these fields on it.

import type { PID } from 'ergo-ts';

import { encodeSharedEventFrame } from './frame.js';

/**
 * One publish to many tabs, one object for all of them: a tab's Event frame is its head (`src`,
 * the tab's name) before `tail` (frame.ts encodeEventTail), encoded as the frame is written, so a
 * tab whose frame waits for its slice costs the publish's synchronous turn a reference, not an
 * encoding (slices.ts). For the tabs that take shared frames, {@link payload} and
 * {@link whole} are made once, at the first such tab.
 */
export class SharedEvent {
  #payload: Uint8Array | null = null;
  #whole: Uint8Array | null = null;

  constructor(
    readonly src: string,
    /** The publisher as the tab sees it (its grant learns it as the frame is written). */
    readonly from: PID,
    readonly tail: Uint8Array,
  ) {}

  /** The shared Event frame's bytes (destination ''), one buffer of its own for every tab. */
  payload(): Uint8Array {
    return (this.#payload ??= encodeSharedEventFrame(this.src, this.tail));
  }

  /** {@link payload} as one whole unmasked binary WebSocket frame (header and payload). */
  whole(): Uint8Array {
    return (this.#whole ??= wholeFrame(this.payload()));
  }
}

/** Opcode 2 (binary) with FIN set: a whole binary message in one frame. */
const FIN_BINARY = 0x82;

/** `payload` as one unmasked binary WebSocket frame (RFC 6455 §5.2: a server's frames are unmasked). */
export function wholeFrame(payload: Uint8Array): Uint8Array {
  const n = payload.length;
  const head = n < 126 ? 2 : n < 65536 ? 4 : 10;
  const b = new Uint8Array(head + n);
  b[0] = FIN_BINARY;
  if (head === 2) b[1] = n;
  else if (head === 4) {
    b[1] = 126;
    b[2] = n >>> 8;
    b[3] = n & 0xff;
  } else {
    b[1] = 127;
    // A length past 2^32 is no tab frame's (maxFrameBytes): the high half stays 0.
    new DataView(b.buffer).setUint32(6, n);
  }
  b.set(payload, head);
  return b;
}

/** The fields of a `ws` 8 WebSocket that {@link writeWhole} reads (none of them public API). */
interface WsInternals {
  readonly readyState: number;
  readonly _socket?: { write(chunk: Uint8Array): boolean } | null;
  readonly _sender?: { readonly _state?: number; readonly _queue?: readonly unknown[] } | null;
  readonly _extensions?: Readonly<Record<string, unknown>> | null;
}

/** `ws` 8's Sender state with nothing under way (its DEFAULT). */
const SENDER_IDLE = 0;

/**
 * Writes `frame` (a whole WebSocket frame: {@link wholeFrame}) straight to the TCP socket under
 * `socket`, a `ws` 8 WebSocket, when `ws` has nothing of it waiting to be written and sends
 * uncompressed: true; false, writing nothing, otherwise (or on anything that is not such a
 * WebSocket), and the caller sends the payload through `ws`. What the TCP socket buffers counts
 * in the WebSocket's `bufferedAmount` as `ws.send`'s bytes do.
 */
export function writeWhole(socket: unknown, frame: Uint8Array): boolean {
  const ws = socket as WsInternals;
  if (ws.readyState !== 1) return false;
  const raw = ws._socket;
  const sender = ws._sender;
  if (raw == null || sender == null || sender._state !== SENDER_IDLE || sender._queue?.length !== 0) return false;
  // A negotiated permessage-deflate compresses what `ws.send` writes (the gateway's server never offers it).
  if (ws._extensions == null || Object.keys(ws._extensions).length > 0) return false;
  raw.write(frame);
  return true;
}
