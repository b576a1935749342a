// A tab frame written to its socket as one whole WebSocket frame, header and payload in one
// buffer, by one write of the TCP socket under the `ws` WebSocket (issue 93). `ws.send` builds an
// options object or two per message, allocates the frame's header apart, and corks the socket to
// write header and payload as a writev pair; at a broadcast to tens of thousands of tabs that is a
// share of the gateway's turn per tab for bytes the gateway can lay out itself (a server's frame
// is unmasked: a 2-, 4- or 10-byte header before the payload, RFC 6455 §5.2).
//
// It is safe only where `ws` has nothing of its own under way: its Sender idle (not compressing
// a message or reading a Blob: those wait in its queue and are written later, and a frame
// written meanwhile would overtake them), no fragmented message begun, no permessage-deflate
// (which the gateway does not offer: a frame the gateway writes is never compressed), the socket
// open and writable. Anywhere else the frame goes through `ws.send` as before. These are `ws`
// internals (8.x): where a later `ws` has other ones, the checks fail and `ws.send` is used.

import type { Socket } from 'node:net';

import { ownBytes } from './frame.js';

/** What of a `ws` WebSocket's internals the direct write reads (ws 8.x; absent elsewhere). */
interface WsInternals {
  readonly _isServer?: boolean;
  readonly _extensions?: Record<string, unknown>;
  readonly _socket?: Socket | null;
  readonly _sender?: {
    /** 0: DEFAULT, nothing under way (1: deflating, 2: reading a Blob). */
    readonly _state: number;
    readonly _queue: readonly unknown[];
    /** False while a fragmented message is half sent. */
    readonly _firstFragment: boolean;
  } | null;
}

/** The socket a frame is written to: a `ws` WebSocket, or anything with `send`. */
export interface FrameSocket {
  readonly bufferedAmount: number;
  /** 1 while open (the WebSocket constant OPEN). */
  readonly readyState: number;
  send(data: Uint8Array): void;
}

/** Frames written whole to the TCP socket, and those `ws.send` took (for inspection and tests). */
export const directWrites = { whole: 0, viaWs: 0 };

/**
 * The TCP socket under `ws` when a whole frame may be written to it now (see the module's
 * comment), else null.
 */
function rawSocket(ws: FrameSocket): Socket | null {
  const w = ws as FrameSocket & WsInternals;
  const sender = w._sender;
  const socket = w._socket;
  if (
    w._isServer !== true ||
    ws.readyState !== 1 ||
    sender == null ||
    socket == null ||
    sender._state !== 0 ||
    sender._queue.length !== 0 ||
    !sender._firstFragment ||
    !socket.writable
  )
    return null;
  const ext = w._extensions;
  if (ext !== undefined && Object.keys(ext).length > 0) return null;
  return socket;
}

/**
 * One unmasked binary WebSocket frame (FIN set) carrying `payload`, header and payload in one
 * new buffer (the caller's bytes may be a view of a shared slab: the frame keeps a copy).
 */
export function wholeFrame(payload: Uint8Array): Buffer {
  const n = payload.length;
  const head = n < 126 ? 2 : n < 65536 ? 4 : 10;
  const b = Buffer.allocUnsafe(head + n);
  b[0] = 0x82;
  if (head === 2) b[1] = n;
  else if (head === 4) {
    b[1] = 126;
    b.writeUInt16BE(n, 2);
  } else {
    b[1] = 127;
    b.writeUInt32BE(Math.floor(n / 2 ** 32), 2);
    b.writeUInt32BE(n >>> 0, 6);
  }
  b.set(payload, head);
  return b;
}

/**
 * Writes `payload` to `ws` as one binary message: straight to its TCP socket as one whole frame
 * when `ws` has nothing under way, else by `ws.send` (`payload` as it is to an idle socket, which
 * the kernel takes at once, else a copy: it may be a view of a shared slab, frame.ts ownBytes).
 * The caller checks the socket is open.
 * @throws whatever `ws.send` throws (the direct write reports a socket's failure as `ws` does:
 * by the socket's error and close events).
 */
export function sendWhole(ws: FrameSocket, payload: Uint8Array): void {
  const socket = rawSocket(ws);
  if (socket === null) {
    directWrites.viaWs++;
    return ws.send(ws.bufferedAmount === 0 ? payload : ownBytes(payload));
  }
  directWrites.whole++;
  socket.write(wholeFrame(payload));
}
