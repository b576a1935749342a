// One connection to a Saturn server: TLS, the token handshake (the client proves it knows the
// token with a salted SHA-256 digest, the server proves it back by hashing that digest with the
// token), then registration. After that the session hands every message it reads to `onMessage`
// and its end, once, to `onClose`. Each frame is one TLS record: Saturn's server decodes one
// frame per read and keeps the rest for the next read, so two frames in one record would leave
// it a frame behind until more data came. Node's TLS socket merges writes queued together into
// one record, so a frame is written only after the previous write has completed.

import { createHash, randomBytes } from 'node:crypto';
import { connect, type TLSSocket } from 'node:tls';
import { ErrIncorrect, ErrMalformed, ErrNoConnection, ErrTaken, ErrTimeout, toError, type ErgoError } from 'ergo-ts';
import {
  encodeFrame,
  FrameReader,
  MessageHandshake,
  MessageHandshakeResult,
  type MessageRegister,
  MessageRegisterResult,
  type SaturnMessage,
} from './messages.js';
import type { ResolvedOptions } from './options.js';

/**
 * How long Saturn's server waits for a connection to register before it drops it (its
 * `checkRegistration`, 3 s after it accepted the connection).
 */
export const SATURN_REGISTER_WINDOW = 3000;
/**
 * How much before the server's window the client gives up on a registration itself (the longest
 * it waits is the window less this, whatever `connectTimeout` says): the connection then ends as
 * a timeout of ours, retried (registrar.ts), and the server's drop at the end of its window is
 * never read as a refusal (a close during registration is otherwise the server's ErrTaken).
 */
export const SATURN_REGISTER_MARGIN = 250;

/** Salt length (Ergo's client: 64 random characters). */
const SALT_LENGTH = 64;
const SALT_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** hex(sha256(`${a}:${token}`)): the client's digest (a = salt) and the server's (a = client digest). */
export function tokenDigest(a: string, token: string): string {
  return createHash('sha256').update(`${a}:${token}`).digest('hex');
}

/** A random salt of 64 alphanumeric characters. */
export function randomSalt(): string {
  const bytes = randomBytes(SALT_LENGTH);
  let s = '';
  for (const b of bytes) s += SALT_CHARS[b % SALT_CHARS.length];
  return s;
}

/** A registered session and what the server answered. */
export interface Opened {
  session: Session;
  result: MessageRegisterResult;
}

/** An open, registered connection to a Saturn server. */
export class Session {
  readonly #socket: TLSSocket;
  #closed = false;
  /** Frames waiting for the previous write to complete. */
  readonly #queue: Buffer[] = [];
  #writing = false;
  /** The server's address as Go prints it (`host:port`, IPv6 in brackets); set once connected. */
  remote = '';
  #onMessage: ((m: unknown) => void) | null = null;
  #onClose: ((why: Error) => void) | null = null;
  /** Messages and an end that came before {@link Session.attach}. */
  readonly #early: unknown[] = [];
  #earlyClose: Error | null = null;

  private constructor(socket: TLSSocket) {
    this.#socket = socket;
  }

  /**
   * Connects, proves the token both ways and registers `message`. Rejects with ErrNoConnection
   * (unreachable, TLS refused, the server hung up: a wrong token ends the connection without a
   * word), ErrTimeout (no answer within `connectTimeout`, at most the server's window less
   * {@link SATURN_REGISTER_MARGIN}), ErrMalformed (a wrong server digest or
   * an unexpected message), ErrTaken (the name is registered in this cluster) or the server's
   * error.
   */
  static open(o: ResolvedOptions, message: MessageRegister): Promise<Opened> {
    return new Promise<Opened>((resolve, reject) => {
      const reader = new FrameReader();
      let step: 'tls' | 'handshake' | 'register' | 'done' = 'tls';
      let handshake: MessageHandshake | null = null;
      const socket = connect({
        host: o.host,
        port: o.port,
        servername: o.servername ?? (isIP(o.host) ? undefined : o.host),
        rejectUnauthorized: !o.insecureSkipVerify,
        ca: o.ca,
      });
      const session = new Session(socket);
      const where = `saturn ${o.host}:${o.port}`;
      const fail = (e: ErgoError): void => {
        if (step === 'done') return;
        step = 'done';
        clearTimeout(timer);
        socket.destroy();
        reject(e);
      };
      const deadline = Math.min(o.connectTimeout, SATURN_REGISTER_WINDOW - SATURN_REGISTER_MARGIN);
      const timer = setTimeout(
        () => fail(ErrTimeout.with(`${where}: no ${step === 'tls' ? 'TLS' : step} within ${deadline} ms`)),
        deadline,
      );
      socket.setKeepAlive(true, o.keepAlive);
      socket.setNoDelay(true);
      socket.once('secureConnect', () => {
        if (step !== 'tls') return;
        step = 'handshake';
        const host = socket.remoteAddress ?? o.host;
        session.remote = `${host.includes(':') ? `[${host}]` : host}:${socket.remotePort ?? o.port}`;
        const salt = randomSalt();
        handshake = new MessageHandshake({ salt, digest: tokenDigest(salt, o.token) });
        socket.write(encodeFrame(handshake));
      });
      const early = (why: Error): void =>
        fail(
          ErrNoConnection.with(
            `${where}: ${step === 'tls' ? why.message : `closed during ${step} (${why.message})`}`,
            why,
          ),
        );
      socket.on('error', early);
      socket.on('close', () => {
        // After a good handshake Saturn closes the connection during registration only to refuse
        // it: its ErrTaken reply is often overtaken by the close (it ends the connection at once).
        // (Its drop at the end of its window does not come first: the client gives up before.)
        if (step === 'register')
          fail(
            ErrTaken.with(
              `${where}: the server closed the connection instead of registering node ${message.node} in cluster ${JSON.stringify(message.cluster)} (the name is taken)`,
            ),
          );
        else early(new Error(step === 'handshake' ? 'wrong token?' : 'connection closed'));
      });
      socket.on('data', (chunk: Buffer) => {
        if (step === 'done') return session.#read(reader, chunk);
        let messages: unknown[];
        try {
          messages = reader.push(chunk);
        } catch (e) {
          return fail(ErrMalformed.with(`${where}: ${toError(e).message}`, e));
        }
        for (const m of messages) {
          if (step === 'handshake') {
            if (!(m instanceof MessageHandshakeResult))
              return fail(ErrMalformed.with(`${where}: expected a handshake result, got ${describe(m)}`));
            if (m.digest !== tokenDigest(handshake!.digest, o.token))
              return fail(
                ErrMalformed.with(`${where}: the server's handshake digest is wrong (it does not know the token)`),
              );
            step = 'register';
            socket.write(encodeFrame(message));
          } else if (step === 'register') {
            if (!(m instanceof MessageRegisterResult))
              return fail(ErrMalformed.with(`${where}: expected a registration result, got ${describe(m)}`));
            if (m.error !== null) {
              const e = m.error;
              const detail = `${where}: node ${message.node} in cluster ${JSON.stringify(message.cluster)}`;
              return fail(ErrTaken.is(e) ? ErrTaken.with(detail, e) : ErrIncorrect.with(`${detail}: ${e.message}`, e));
            }
            step = 'done';
            clearTimeout(timer);
            socket.removeListener('error', early);
            socket.removeAllListeners('close');
            socket.on('error', (e) => session.#close(e));
            socket.on('close', () => session.#close(new Error('connection closed by the server')));
            resolve({ session, result: m });
          } else session.#deliver(m); // frames that came with the registration result
        }
      });
    });
  }

  #read(reader: FrameReader, chunk: Buffer): void {
    if (this.#closed) return;
    let messages: unknown[];
    try {
      messages = reader.push(chunk);
    } catch (e) {
      this.#close(toError(e));
      return;
    }
    for (const m of messages) {
      if (this.#closed) return;
      this.#deliver(m);
    }
  }

  #deliver(m: unknown): void {
    if (this.#onMessage === null) this.#early.push(m);
    else this.#onMessage(m);
  }

  /** Starts handing messages (first those that came before) to `onMessage`, and the end to `onClose`. */
  attach(onMessage: (m: unknown) => void, onClose: (why: Error) => void): void {
    this.#onMessage = onMessage;
    this.#onClose = onClose;
    for (const m of this.#early.splice(0)) onMessage(m);
    if (this.#earlyClose !== null) onClose(this.#earlyClose);
  }

  /**
   * Sends one message (one frame, one write).
   * @throws ErgoError ERR_NO_CONNECTION when the session has ended, ERR_TOO_LARGE for a frame over 64 KiB.
   */
  send(m: SaturnMessage): void {
    if (this.#closed) throw ErrNoConnection.with('saturn session ended');
    this.#queue.push(encodeFrame(m));
    this.#pump();
  }

  #pump(): void {
    if (this.#writing || this.#closed) return;
    const frame = this.#queue.shift();
    if (frame === undefined) return;
    this.#writing = true;
    this.#socket.write(frame, () => {
      this.#writing = false;
      this.#pump();
    });
  }

  /** Whether the session has ended. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Ends the session (no `onClose`). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.destroy();
  }

  #close(why: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.destroy();
    if (this.#onClose === null) this.#earlyClose = why;
    else this.#onClose(why);
  }
}

function describe(m: unknown): string {
  return m !== null && typeof m === 'object' ? m.constructor.name : typeof m;
}

function isIP(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}
