// A WebSocket client written byte for byte on a bare TCP socket: what a hostile page (or a broken
// proxy) can do that a WebSocket API cannot. Its frames are masked as a client's must be, several
// of them may leave in one TCP write (so the gateway reads them in one chunk, in one turn), a
// message may be cut short or be text, and the socket may stop reading while it goes on writing
// (backpressure at the gateway). What the gateway sends back is read as the tab frames it holds,
// and its close frame (code, reason) or the TCP end is told apart.

import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

import { Ctl, decodeFrame, encodeFrame, splitFrames, type Frame } from '../src/frame.js';

/** How the socket ended: the gateway's close frame (code, reason), or 1006 when none came before the TCP end. */
export interface RawClose {
  readonly code: number;
  readonly reason: string;
}

const OP_TEXT = 0x1;
const OP_BINARY = 0x2;
const OP_CLOSE = 0x8;

/** One WebSocket frame from a client: FIN set, masked, any opcode (text, binary, close...). */
export function clientFrame(payload: Uint8Array, opcode = OP_BINARY): Buffer {
  const n = payload.length;
  const head = n < 126 ? 2 : n < 65536 ? 4 : 10;
  const out = Buffer.alloc(head + 4 + n);
  out[0] = 0x80 | opcode;
  if (n < 126) out[1] = 0x80 | n;
  else if (n < 65536) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(n, 2);
  } else {
    out[1] = 0x80 | 127;
    out.writeBigUInt64BE(BigInt(n), 2);
  }
  const mask = randomBytes(4);
  mask.copy(out, head);
  for (let i = 0; i < n; i++) out[head + 4 + i] = payload[i]! ^ mask[i & 3]!;
  return out;
}

/** A text message's WebSocket frame (a tab speaks binary only). */
export function textFrame(text: string): Buffer {
  return clientFrame(Buffer.from(text), OP_TEXT);
}

/** A tab frame (encoded, or bytes as they are) as one binary WebSocket frame. */
export function binaryFrame(f: readonly unknown[] | Uint8Array): Buffer {
  return clientFrame(f instanceof Uint8Array ? f : encodeFrame(f));
}

/** A raw WebSocket connection to `url` (ws://host:port/path), upgraded, nothing sent yet. */
export class RawSocket {
  /**
   * Frames from the gateway, in order (undecodable ones as their bytes): a batch's frames each
   * (frame.ts: batches; the gateway writes them only to a hello that asked).
   */
  readonly messages: (Frame | Uint8Array)[] = [];
  /** Binary WebSocket messages read (a batch counts once). */
  binaryMessages = 0;
  /** The gateway's close frame or the TCP end, whichever came first. */
  readonly closed: Promise<RawClose>;
  /** The TCP connection's end (both directions done). */
  readonly ended: Promise<void>;
  #close!: (c: RawClose) => void;
  #wake: (() => void) | null = null;
  #buf: Buffer = Buffer.alloc(0);

  private constructor(readonly socket: Socket) {
    this.closed = new Promise((r) => (this.#close = r));
    this.ended = new Promise((r) => socket.once('close', () => r()));
    socket.on('error', () => undefined); // a reset is an end like any other here
    socket.on('data', (d: Buffer) => this.#read(d));
    socket.once('close', () => {
      this.#close({ code: 1006, reason: '' });
      this.#wake?.();
    });
  }

  /** Dials `url`, upgrades, and resolves once the gateway answered 101. */
  static open(url: string): Promise<RawSocket> {
    const u = new URL(url);
    return new Promise((resolve, reject) => {
      const s = connect(Number(u.port), u.hostname);
      let head = Buffer.alloc(0);
      const onData = (d: Buffer): void => {
        head = Buffer.concat([head, d]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        s.off('data', onData);
        s.off('error', reject);
        const status = head.subarray(0, head.indexOf('\r\n')).toString();
        if (!/^HTTP\/1\.1 101 /.test(status)) return reject(new Error(`raw socket: ${status}`));
        const raw = new RawSocket(s);
        const rest = head.subarray(end + 4);
        if (rest.length > 0) raw.#read(rest);
        resolve(raw);
      };
      s.on('data', onData);
      s.once('error', reject);
      s.once('connect', () =>
        s.write(
          `GET ${u.pathname} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        ),
      );
    });
  }

  /**
   * Dials, says hello with `token`, and resolves with the welcome (its tab node name in `[1]`).
   * `batches`: the hello says it reads messages of several frames.
   */
  static async joined(url: string, token: string, batches = false): Promise<{ raw: RawSocket; welcome: Frame }> {
    const raw = await RawSocket.open(url);
    raw.write(binaryFrame(batches ? [Ctl.Hello, token, '', false, true] : [Ctl.Hello, token, '']));
    const welcome = await raw.next();
    if (welcome[0] !== Ctl.Welcome) throw new Error(`raw socket: no welcome (op ${String(welcome[0])})`);
    return { raw, welcome };
  }

  /** Writes WebSocket frames (clientFrame...) in one TCP write: the gateway reads them together. */
  write(...frames: Buffer[]): void {
    this.socket.write(Buffer.concat(frames));
  }

  /** The next decoded tab frame from the gateway. @throws when the socket ends first. */
  async next(): Promise<Frame> {
    for (;;) {
      const m = this.messages.shift();
      if (m !== undefined) {
        if (m instanceof Uint8Array) throw new Error('raw socket: an undecodable message');
        return m;
      }
      if (this.socket.destroyed || this.socket.readableEnded) throw new Error('raw socket: ended');
      await new Promise<void>((r) => (this.#wake = r));
    }
  }

  /** Stops reading (the kernel's buffers fill, then the gateway's); writing goes on. */
  stopReading(): void {
    this.socket.pause();
  }

  /** Reads again after {@link stopReading}. */
  readAgain(): void {
    this.socket.resume();
  }

  /** Drops the TCP connection with no close frame (a tab gone without a word). */
  destroy(): void {
    this.socket.destroy();
  }

  #read(d: Buffer): void {
    this.#buf = this.#buf.length === 0 ? d : Buffer.concat([this.#buf, d]);
    for (;;) {
      const b = this.#buf;
      if (b.length < 2) return;
      let n = b[1]! & 0x7f;
      let at = 2;
      if (n === 126) {
        if (b.length < 4) return;
        n = b.readUInt16BE(2);
        at = 4;
      } else if (n === 127) {
        if (b.length < 10) return;
        n = Number(b.readBigUInt64BE(2));
        at = 10;
      }
      if (b.length < at + n) return;
      const op = b[0]! & 0x0f;
      const payload = b.subarray(at, at + n);
      this.#buf = b.subarray(at + n);
      if (op === OP_CLOSE) {
        this.#close({ code: n >= 2 ? payload.readUInt16BE(0) : 1005, reason: payload.subarray(2).toString() });
      } else if (op === OP_BINARY) {
        this.binaryMessages++;
        let parts: Uint8Array[];
        try {
          parts = splitFrames(new Uint8Array(payload));
        } catch {
          parts = [new Uint8Array(payload)];
        }
        for (const part of parts) {
          let f: Frame | Uint8Array;
          try {
            f = decodeFrame(part);
          } catch {
            f = part;
          }
          this.messages.push(f);
        }
      }
      this.#wake?.();
    }
  }
}
