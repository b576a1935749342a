// The Erlang distribution handshake, version 6 (OTP 23+, ERLANG.md §2), both sides, over any
// connected net.Socket. It knows nothing of a node engine: it takes our name, creation, cookie
// and flags, and yields the peer's name, flags and creation plus the socket ready for the
// connection phase (4-byte framed packets) and any bytes the peer already sent past the end.
//
//   initiator (A)                         acceptor (B)
//   send_name      'N' flags creation name  →
//                  ← 's' status               (ok | ok_simultaneous | nok | not_allowed | alive)
//   [alive:        's' true|false          →]
//                  ← 'N' flags challenge creation name
//   challenge_reply 'r' challenge digest    →
//                  ← 'a' digest
//
// Each step waits at most `timeout` ms (OTP's net_setuptime, 7 s by default). Handshake messages
// are framed with a 2-byte length.

import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { HandshakeError } from '../errors.js';
import { SocketReader } from '../io/socket_reader.js';
import { EpmdClient } from '../epmd/client.js';
import { DEFAULT_FLAGS, DFLAG, MANDATORY_OTP25, expandFlags, flagNames } from './flags.js';
import { ignorable } from 'ergo-ts';

/** A status the acceptor answers to a connection attempt. */
export type HandshakeStatus = 'ok' | 'ok_simultaneous' | 'nok' | 'not_allowed' | 'alive';

/** Options shared by both sides. */
export interface HandshakeOptions {
  /** Our full node name, `alive@host`, exactly as the peer will address us. */
  name: string;
  /** The shared secret (Latin-1 text, as Erlang's atom cookies). */
  cookie: string;
  /** Our creation: 32-bit, non-zero, new for each start of the node. */
  creation: number;
  /** Flags we advertise. Default {@link DEFAULT_FLAGS}. */
  flags?: bigint;
  /** Flags the peer must have (after expanding MANDATORY_25_DIGEST). Default OTP 25's mandatory set. */
  requiredFlags?: bigint;
  /** Longest wait for each handshake message, ms. Default 7000 (OTP's net_setuptime). Code `ERR_HANDSHAKE_TIMEOUT`. */
  timeout?: number;
  signal?: AbortSignal;
}

/** Options of the initiating side. */
export interface InitiatorOptions extends HandshakeOptions {
  /** The name we dialled; the peer must present exactly this name. Default: accept any. */
  peer?: string;
  /**
   * Called when the peer answers `alive` (it has a connection with our name already):
   * true replaces that connection, false gives up (`ERR_HANDSHAKE_ALIVE`). Default false.
   */
  onAlive?: () => boolean | Promise<boolean>;
}

/** Options of the accepting side. */
export interface AcceptorOptions extends HandshakeOptions {
  /**
   * Decides the status for a peer that passed the name and flag checks. Default `'ok'`.
   * Answering `alive` asks the peer whether to replace our existing connection with it;
   * `resolveSimultaneous` gives the right answer when we are dialling that peer ourselves.
   */
  accept?: (peer: { name: string; flags: bigint; creation: number }) => HandshakeStatus | Promise<HandshakeStatus>;
}

/** What a completed handshake yields. */
export interface HandshakeResult {
  /** The socket, now in the connection phase (4-byte framed packets). */
  socket: Socket;
  /** Bytes the peer sent past its last handshake message (the start of the connection phase). */
  buffered: Buffer;
  /** The peer's full node name. */
  peerName: string;
  /** The peer's flags as advertised (MANDATORY_25_DIGEST expanded). */
  peerFlags: bigint;
  /** The peer's creation. */
  peerCreation: number;
  /** The effective flags: ours AND the peer's. */
  flags: bigint;
  /** The status of the exchange (`ok`, `ok_simultaneous`, or `alive` when an old connection was replaced). */
  status: HandshakeStatus;
}

const SEND_NAME = 0x4e; // 'N'
const OLD_SEND_NAME = 0x6e; // 'n' (version 5)
const STATUS = 0x73; // 's'
const CHALLENGE_REPLY = 0x72; // 'r'
const CHALLENGE_ACK = 0x61; // 'a'
const MAX_HANDSHAKE_MESSAGE = 1024;

/** MD5(cookie ++ unsigned decimal challenge): the digest both sides prove the cookie with. */
export function cookieDigest(cookie: string, challenge: number): Buffer {
  return createHash('md5')
    .update(Buffer.from(cookie, 'latin1'))
    .update(String(challenge >>> 0))
    .digest();
}

/**
 * Which status an acceptor answers when it is itself dialling the same peer (a simultaneous
 * connect), by OTP's rule: names compared as atoms; if ours sorts after the peer's, our own
 * attempt wins (`nok`), otherwise we give ours up (`ok_simultaneous`).
 */
export function resolveSimultaneous(ourName: string, peerName: string): 'nok' | 'ok_simultaneous' {
  return compareCodePoints(ourName, peerName) > 0 ? 'nok' : 'ok_simultaneous';
}

function compareCodePoints(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/** Validated common options. */
interface Checked {
  name: Buffer;
  cookie: string;
  creation: number;
  flags: bigint;
  required: bigint;
  timeout: number;
  signal: AbortSignal | undefined;
}

function check(o: HandshakeOptions): Checked {
  const bad = (m: string): never => {
    throw new HandshakeError('ERR_HANDSHAKE_INCORRECT', m);
  };
  if (!isNodeName(o.name)) bad(`node name ${JSON.stringify(o.name)} is not alive@host`);
  if (typeof o.cookie !== 'string' || /[^\u0000-\u00ff]/.test(o.cookie)) bad('cookie must be Latin-1 text');
  if (!Number.isInteger(o.creation) || o.creation < 1 || o.creation > 0xffffffff)
    bad(`creation ${o.creation} must be a non-zero 32-bit integer`);
  const flags = o.flags ?? DEFAULT_FLAGS;
  if (flags < 0n || flags > 0xffffffffffffffffn) bad('flags must fit 64 bits');
  const timeout = o.timeout ?? 7000;
  if (!(timeout > 0)) bad(`timeout ${timeout}`);
  return {
    name: Buffer.from(o.name, 'utf8'),
    cookie: o.cookie,
    creation: o.creation,
    flags,
    required: o.requiredFlags ?? MANDATORY_OTP25,
    timeout,
    signal: o.signal,
  };
}

function checkOrClose(socket: Socket, o: HandshakeOptions): Checked {
  try {
    return check(o);
  } catch (e) {
    socket.destroy();
    throw e;
  }
}

/** Longest node name: a node name is an atom, and Erlang caps atoms at 255 characters. */
export const MAX_NODE_NAME_CHARS = 255;

/** `alive@host`, both parts non-empty, at most {@link MAX_NODE_NAME_CHARS} characters. */
export function isNodeName(s: unknown): s is string {
  if (typeof s !== 'string') return false;
  const parts = s.split('@');
  return parts.length === 2 && parts[0] !== '' && parts[1] !== '' && [...s].length <= MAX_NODE_NAME_CHARS;
}

/** One side's run over the socket: framed reads/writes with per-step timeouts. */
class Exchange {
  state = 'start';
  readonly reader: SocketReader;
  #timer: NodeJS.Timeout | undefined;
  readonly #onAbort: () => void;

  constructor(
    readonly socket: Socket,
    readonly c: Checked,
  ) {
    this.reader = new SocketReader(
      socket,
      () => new HandshakeError('ERR_HANDSHAKE_CLOSED', `peer closed the connection (state ${this.state})`),
      (e) =>
        new HandshakeError('ERR_HANDSHAKE_CLOSED', `socket error in state ${this.state}: ${e.message}`, { cause: e }),
    );
    this.#onAbort = () =>
      this.reader.fail(
        new HandshakeError('ERR_HANDSHAKE_ABORTED', `aborted in state ${this.state}`, { cause: c.signal?.reason }),
      );
    if (c.signal?.aborted) this.#onAbort();
    else c.signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  /** Reads one 2-byte-framed handshake message. */
  async recv(state: string): Promise<Buffer> {
    this.state = state;
    this.#timer = setTimeout(
      () =>
        this.reader.fail(
          new HandshakeError('ERR_HANDSHAKE_TIMEOUT', `no message within ${this.c.timeout} ms in state ${state}`),
        ),
      this.c.timeout,
    );
    try {
      const len = (await this.reader.read(2)).readUInt16BE(0);
      if (len === 0 || len > MAX_HANDSHAKE_MESSAGE)
        throw new HandshakeError('ERR_HANDSHAKE_PROTOCOL', `handshake message of ${len} bytes in state ${state}`);
      return await this.reader.read(len);
    } finally {
      clearTimeout(this.#timer);
    }
  }

  send(body: Buffer): void {
    const out = Buffer.allocUnsafe(2 + body.length);
    out.writeUInt16BE(body.length, 0);
    body.copy(out, 2);
    this.socket.write(out);
  }

  sendStatus(status: string): void {
    this.send(Buffer.concat([Buffer.from([STATUS]), Buffer.from(status, 'latin1')]));
  }

  /** Ends the run: detaches the reader (returning buffered bytes) and the abort listener. */
  finish(): Buffer {
    this.c.signal?.removeEventListener('abort', this.#onAbort);
    return this.reader.detach();
  }

  /** Ends a failed run: a status just written is flushed, then the socket is closed. */
  abort(): void {
    this.finish();
    const s = this.socket;
    s.on('error', () => {});
    s.end();
    setTimeout(() => s.destroy(), 1000).unref();
  }
}

function challengeNumber(): number {
  return randomBytes(4).readUInt32BE(0);
}

function parseName(
  b: Buffer,
  withChallenge: boolean,
  state: string,
): { flags: bigint; challenge: number; creation: number; name: string } {
  const fixed = withChallenge ? 19 : 15;
  if (b[0] === OLD_SEND_NAME)
    throw new HandshakeError(
      'ERR_HANDSHAKE_PROTOCOL',
      `peer uses handshake version 5 ('n') in state ${state}; only version 6 is spoken`,
    );
  if (b[0] !== SEND_NAME || b.length < fixed)
    throw new HandshakeError(
      'ERR_HANDSHAKE_PROTOCOL',
      `expected an 'N' message in state ${state}, got tag ${b[0]} (${b.length} bytes)`,
    );
  const flags = b.readBigUInt64BE(1);
  let o = 9;
  const challenge = withChallenge ? b.readUInt32BE(o) : 0;
  if (withChallenge) o += 4;
  const creation = b.readUInt32BE(o);
  const nlen = b.readUInt16BE(o + 4);
  if (b.length !== o + 6 + nlen)
    throw new HandshakeError(
      'ERR_HANDSHAKE_PROTOCOL',
      `'N' message name length ${nlen} does not match its size in state ${state}`,
    );
  return { flags, challenge, creation, name: b.toString('utf8', o + 6) };
}

function missingFlags(c: Checked, peerFlags: bigint): bigint {
  return c.required & ~expandFlags(peerFlags);
}

/**
 * Runs the initiating side over a connected socket.
 * @throws HandshakeError: `ERR_HANDSHAKE_NOK` (the peer's own attempt wins: wait for its
 *   connection), `ERR_HANDSHAKE_NOT_ALLOWED`, `ERR_HANDSHAKE_ALIVE`, `ERR_HANDSHAKE_NAME` (the peer
 *   is not `peer`), `ERR_HANDSHAKE_FLAGS`, `ERR_HANDSHAKE_COOKIE` (the peer's digest is wrong, or it
 *   closed after our reply: OTP's answer to a wrong cookie), `ERR_HANDSHAKE_TIMEOUT`,
 *   `ERR_HANDSHAKE_CLOSED`, `ERR_HANDSHAKE_ABORTED`, `ERR_HANDSHAKE_PROTOCOL`,
 *   `ERR_HANDSHAKE_INCORRECT`. The socket is closed on failure. On success the socket has no
 *   listeners left: the caller attaches its own (an 'error' listener first).
 */
export function initiateHandshake(socket: Socket, options: InitiatorOptions): Promise<HandshakeResult> {
  // Safe to leave un-awaited (docs/actors.md, Returned Promises are safe to ignore).
  return ignorable(initiateHandshakeAsync(socket, options), undefined, 'initiateHandshake');
}

async function initiateHandshakeAsync(socket: Socket, options: InitiatorOptions): Promise<HandshakeResult> {
  const c = checkOrClose(socket, options);
  const x = new Exchange(socket, c);
  try {
    // send_name
    const name = Buffer.allocUnsafe(15 + c.name.length);
    name[0] = SEND_NAME;
    name.writeBigUInt64BE(c.flags, 1);
    name.writeUInt32BE(c.creation, 9);
    name.writeUInt16BE(c.name.length, 13);
    c.name.copy(name, 15);
    x.send(name);

    // recv_status
    const st = await x.recv('recv_status');
    if (st[0] !== STATUS) throw new HandshakeError('ERR_HANDSHAKE_PROTOCOL', `expected a status, got tag ${st[0]}`);
    const status = st.toString('latin1', 1);
    let result: HandshakeStatus;
    switch (status) {
      case 'ok':
      case 'ok_simultaneous':
        result = status;
        break;
      case 'nok':
        throw new HandshakeError(
          'ERR_HANDSHAKE_NOK',
          `${options.peer ?? 'peer'} is connecting to us at the same time and its attempt wins`,
        );
      case 'not_allowed':
        throw new HandshakeError(
          'ERR_HANDSHAKE_NOT_ALLOWED',
          `${options.peer ?? 'peer'} does not allow us (name refused, or a flag it requires is missing from ${flagNames(c.flags).join('|')})`,
        );
      case 'alive': {
        const replace = options.onAlive === undefined ? false : await options.onAlive();
        x.sendStatus(replace ? 'true' : 'false');
        if (!replace)
          throw new HandshakeError(
            'ERR_HANDSHAKE_ALIVE',
            `${options.peer ?? 'peer'} has a connection with ${options.name} already`,
          );
        result = 'alive';
        break;
      }
      default:
        throw new HandshakeError('ERR_HANDSHAKE_PROTOCOL', `unknown status ${JSON.stringify(status.slice(0, 40))}`);
    }

    // recv_challenge
    const ch = parseName(await x.recv('recv_challenge'), true, 'recv_challenge');
    if (!isNodeName(ch.name as unknown)) {
      throw new HandshakeError(
        'ERR_HANDSHAKE_NAME',
        `the peer's name is not alive@host of at most ${MAX_NODE_NAME_CHARS} characters (${JSON.stringify(ch.name.slice(0, 60))})`,
      );
    }
    if (options.peer !== undefined && ch.name !== options.peer) {
      throw new HandshakeError('ERR_HANDSHAKE_NAME', `dialled ${options.peer} but the peer is ${ch.name}`);
    }
    const missing = missingFlags(c, ch.flags);
    if (missing !== 0n)
      throw new HandshakeError(
        'ERR_HANDSHAKE_FLAGS',
        `${ch.name} lacks required flags ${flagNames(missing).join('|')}`,
      );

    // send_challenge_reply
    const ours = challengeNumber();
    const reply = Buffer.allocUnsafe(21);
    reply[0] = CHALLENGE_REPLY;
    reply.writeUInt32BE(ours, 1);
    cookieDigest(c.cookie, ch.challenge).copy(reply, 5);
    x.send(reply);

    // recv_challenge_ack
    let ack: Buffer;
    try {
      ack = await x.recv('recv_challenge_ack');
    } catch (e) {
      if (e instanceof HandshakeError && e.code === 'ERR_HANDSHAKE_CLOSED') {
        throw new HandshakeError(
          'ERR_HANDSHAKE_COOKIE',
          `${ch.name} closed the connection after our challenge reply: it does not accept our cookie`,
          { cause: e },
        );
      }
      throw e;
    }
    if (ack[0] !== CHALLENGE_ACK || ack.length !== 17)
      throw new HandshakeError(
        'ERR_HANDSHAKE_PROTOCOL',
        `expected a challenge ack, got tag ${ack[0]} (${ack.length} bytes)`,
      );
    if (!ack.subarray(1).equals(cookieDigest(c.cookie, ours))) {
      throw new HandshakeError(
        'ERR_HANDSHAKE_COOKIE',
        `${ch.name} answered our challenge with a wrong digest: its cookie differs from ours`,
      );
    }
    const peerFlags = expandFlags(ch.flags);
    return {
      socket,
      buffered: x.finish(),
      peerName: ch.name,
      peerFlags,
      peerCreation: ch.creation,
      flags: c.flags & peerFlags,
      status: result,
    };
  } catch (e) {
    x.abort();
    throw e;
  }
}

/**
 * Runs the accepting side over a socket a listener accepted.
 * @throws HandshakeError: `ERR_HANDSHAKE_FLAGS` (the peer lacks a required flag; it was told
 *   `not_allowed`), `ERR_HANDSHAKE_NOT_ALLOWED` / `ERR_HANDSHAKE_NOK` (what `accept` decided),
 *   `ERR_HANDSHAKE_ALIVE` (we answered `alive` and the peer chose to keep our old connection),
 *   `ERR_HANDSHAKE_COOKIE` (wrong digest: the socket is closed without an ack, as OTP does),
 *   `ERR_HANDSHAKE_TIMEOUT`, `ERR_HANDSHAKE_CLOSED`, `ERR_HANDSHAKE_ABORTED`,
 *   `ERR_HANDSHAKE_PROTOCOL`, `ERR_HANDSHAKE_NAME`, `ERR_HANDSHAKE_INCORRECT`. The socket is
 *   closed on failure. On success the socket has no listeners left.
 */
export function acceptHandshake(socket: Socket, options: AcceptorOptions): Promise<HandshakeResult> {
  // Safe to leave un-awaited (docs/actors.md, Returned Promises are safe to ignore).
  return ignorable(acceptHandshakeAsync(socket, options), undefined, 'acceptHandshake');
}

async function acceptHandshakeAsync(socket: Socket, options: AcceptorOptions): Promise<HandshakeResult> {
  const c = checkOrClose(socket, options);
  const x = new Exchange(socket, c);
  try {
    // recv_name
    const peer = parseName(await x.recv('recv_name'), false, 'recv_name');
    if ((peer.flags & DFLAG.NAME_ME) !== 0n || !isNodeName(peer.name)) {
      x.sendStatus('not_allowed');
      throw new HandshakeError(
        'ERR_HANDSHAKE_NAME',
        `peer asks for a dynamic name or sent a bad one (${JSON.stringify(peer.name.slice(0, 60))})`,
      );
    }
    const missing = missingFlags(c, peer.flags);
    if (missing !== 0n) {
      x.sendStatus('not_allowed');
      throw new HandshakeError(
        'ERR_HANDSHAKE_FLAGS',
        `${peer.name} lacks required flags ${flagNames(missing).join('|')}`,
      );
    }
    const peerFlags = expandFlags(peer.flags);
    const status =
      options.accept === undefined
        ? 'ok'
        : await options.accept({ name: peer.name, flags: peerFlags, creation: peer.creation });

    // send_status
    x.sendStatus(status);
    if (status === 'not_allowed') throw new HandshakeError('ERR_HANDSHAKE_NOT_ALLOWED', `${peer.name} refused`);
    if (status === 'nok')
      throw new HandshakeError('ERR_HANDSHAKE_NOK', `${peer.name} told to wait for our own connection`);
    if (status === 'alive') {
      const answer = await x.recv('recv_status');
      const replace = answer.toString('latin1');
      if (replace === 'sfalse')
        throw new HandshakeError('ERR_HANDSHAKE_ALIVE', `${peer.name} keeps its existing connection`);
      if (replace !== 'strue')
        throw new HandshakeError(
          'ERR_HANDSHAKE_PROTOCOL',
          `expected 's' true|false after 'alive', got ${JSON.stringify(replace.slice(0, 20))}`,
        );
    }

    // send_challenge
    const ours = challengeNumber();
    const ch = Buffer.allocUnsafe(19 + c.name.length);
    ch[0] = SEND_NAME;
    ch.writeBigUInt64BE(c.flags, 1);
    ch.writeUInt32BE(ours, 9);
    ch.writeUInt32BE(c.creation, 13);
    ch.writeUInt16BE(c.name.length, 17);
    c.name.copy(ch, 19);
    x.send(ch);

    // recv_challenge_reply
    const reply = await x.recv('recv_challenge_reply');
    if (reply[0] !== CHALLENGE_REPLY || reply.length !== 21)
      throw new HandshakeError(
        'ERR_HANDSHAKE_PROTOCOL',
        `expected a challenge reply, got tag ${reply[0]} (${reply.length} bytes)`,
      );
    if (!reply.subarray(5).equals(cookieDigest(c.cookie, ours))) {
      throw new HandshakeError(
        'ERR_HANDSHAKE_COOKIE',
        `connection attempt from ${peer.name} rejected: invalid challenge reply (cookie differs)`,
      );
    }

    // send_challenge_ack
    const ack = Buffer.allocUnsafe(17);
    ack[0] = CHALLENGE_ACK;
    cookieDigest(c.cookie, reply.readUInt32BE(1)).copy(ack, 1);
    x.send(ack);
    return {
      socket,
      buffered: x.finish(),
      peerName: peer.name,
      peerFlags,
      peerCreation: peer.creation,
      flags: c.flags & peerFlags,
      status,
    };
  } catch (e) {
    x.abort();
    throw e;
  }
}

/** Options of {@link connectNode}. */
export interface ConnectNodeOptions extends Omit<InitiatorOptions, 'peer'> {
  /** EPMD client used to resolve the peer (its port is used on the peer's host). Default `new EpmdClient()`. */
  epmd?: EpmdClient;
}

/**
 * Resolves `peer` (`alive@host`) through EPMD, connects and runs the initiating handshake,
 * requiring the peer to present exactly the name `peer`.
 * @throws EpmdError when the peer cannot be resolved; HandshakeError as {@link initiateHandshake},
 *   `ERR_HANDSHAKE_CLOSED` if the TCP connection fails.
 */
export function connectNode(peer: string, options: ConnectNodeOptions): Promise<HandshakeResult> {
  // Safe to leave un-awaited (docs/actors.md, Returned Promises are safe to ignore).
  return ignorable(connectNodeAsync(peer, options), undefined, 'connectNode');
}

async function connectNodeAsync(peer: string, options: ConnectNodeOptions): Promise<HandshakeResult> {
  const epmd = options.epmd ?? new EpmdClient();
  const timeout = options.timeout ?? 7000;
  const { host, port } = await epmd.resolve(peer, { timeout, ...(options.signal ? { signal: options.signal } : {}) });
  const socket = connect({ host, port });
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new HandshakeError(
          'ERR_HANDSHAKE_TIMEOUT',
          `TCP connect to ${peer} (${host}:${port}) took longer than ${timeout} ms`,
        ),
      );
    }, timeout);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.once('error', (e) => {
      clearTimeout(timer);
      reject(
        new HandshakeError('ERR_HANDSHAKE_CLOSED', `cannot connect to ${peer} (${host}:${port}): ${e.message}`, {
          cause: e,
        }),
      );
    });
  });
  return initiateHandshake(socket, { ...options, peer });
}
