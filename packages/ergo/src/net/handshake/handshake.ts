// The EHS:R1 handshake over one socket (WIRE.md §2.2–2.7): the full handshake of a connection's
// first TCP link, the Join of its extra pool links, and the acceptor that answers both. Each read
// waits at most `timeout` (3 s by default; Ergo: 1 s); any failed check closes the socket without a word to the
// peer, as Ergo does, and rejects with a WireError naming the step. On success the socket is
// paused with the listeners removed, and the bytes that followed the last frame are returned as
// `tail`: the ENP link takes the socket from there (push the tail, then resume).

import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Version } from '../../gen/node.js';
import type { EdfRegistry } from '../edf/registry.js';
import { NetworkFlags, WireVersion } from '../edf/framework.js';
import { WireError, type WireErrorCode } from '../error.js';
import {
  helloCertDigest,
  helloDigest,
  helloReplyDigest,
  introduceDigest,
  joinAcceptCertDigest,
  joinAcceptDigest,
  joinDigest,
  makeConnectionID,
  makeSalt,
  sameDigest,
  tlsFingerprint,
} from './digest.js';
import { HandshakeCodec, type HandshakeMessage } from './frame.js';
import { MessageAccept, MessageHello, MessageIntroduce, MessageJoin } from './messages.js';

/**
 * Default per-read handshake timeout in milliseconds (NetworkOptions.handshakeTimeout). Ergo's is
 * 1 s; a host starting or connecting many nodes at once ran past that (issue 49: 100 nodes on
 * 2 cores), so ergo-ts waits 3 s — Go Ergo's own dial timeout — for each of the peer's messages.
 */
export const DEFAULT_HANDSHAKE_TIMEOUT = 3000;
/**
 * How many handshake timeouts a late step may take in all: an initiator that is told of a late
 * step (`late`) keeps waiting on its socket this long, and an acceptor waits this long for the
 * initiator's Introduce and final Accept. A socket whose TCP connect succeeded reaches a node
 * that is there but slow (a starved host, many nodes connecting at once): its work on the
 * handshake is better waited for than thrown away and done again on a fresh socket.
 */
export const HANDSHAKE_PATIENCE = 3;
/** Ergo's default pool size (TCP links per connection) offered by an acceptor. */
export const DEFAULT_POOL_SIZE = 3;

/** What this node announces and checks in a handshake. */
export interface HandshakeOptions {
  /** This node's name (`name@host`). */
  node: string;
  /** The shared secret. */
  cookie: string;
  /** This node's creation (Unix seconds at start): the incarnation of its PIDs/Refs/Aliases. */
  creation: number;
  /** Application version announced in Introduce (default empty). */
  version?: Version;
  /** Network flags announced (default Go's 0x67). */
  flags?: NetworkFlags;
  /**
   * Announce the ergo-ts JS-value extension (bit 56 of the flags, ignored by Go). Default true
   * (unless `flags.jsValues` is false); false makes ergo-ts peers send this node exactly what
   * they send a Go node.
   */
  jsValues?: boolean;
  /** This node's incoming packet limit announced to the peer (0 = none, the default). */
  maxMessageSize?: number;
  /** Atom cache this node announces (id → atom; default none: always inline). */
  atomCache?: Map<number, string> | null;
  /** Type cache this node announces (id → type name; default none). */
  regCache?: Map<number, string> | null;
  /** Error cache this node announces (id → error; default none). */
  errCache?: Map<number, Error | null> | null;
  /** Acceptor: links per connection offered to the initiator (default 3). */
  poolSize?: number;
  /**
   * Acceptor: links per connection offered instead of `poolSize` to an initiator that announces
   * `ergoPool` when this side announces it too (default `poolSize`).
   */
  ergoPoolSize?: number;
  /** Per-read timeout in ms (default {@link DEFAULT_HANDSHAKE_TIMEOUT}, 3000; Ergo: 1000). `ERR_HANDSHAKE_TIMEOUT` when it passes. */
  timeout?: number;
  /**
   * Initiator: called once when a step passes `timeout`. With it, the step goes on waiting on
   * the same socket, up to `patience` in all (then
   * `ERR_HANDSHAKE_TIMEOUT`), so the dialler can try another socket meanwhile and keep whichever
   * completes first. Without it, a late step fails at `timeout`.
   */
  late?: (step: string) => void;
  /**
   * How long a patient step waits in all, in ms (an acceptor's every step, an initiator's once
   * it was late): default {@link HANDSHAKE_PATIENCE} × `timeout`. The network passes the time
   * its own dials give a peer (dialTimeout plus the handshake attempts).
   */
  patience?: number;
  /**
   * Initiator with `late`: the moment (`Date.now()` ms) until which a late step waits, instead
   * of its start plus `patience` (the dial's own end: every attempt of it ends by then).
   */
  lateUntil?: number;
  /** Ends the handshake: the socket is destroyed and the handshake rejects with the reason. */
  signal?: AbortSignal;
  /** Largest handshake frame accepted (default 65535, Ergo's). */
  maxFrame?: number;
  /** Registry of the framework types (default: the default registry). */
  registry?: EdfRegistry;
  /**
   * Acceptor: called with the peer's name once its Introduce is verified, before this side's
   * Accept goes out. Throwing refuses the connection: the socket closes without a reply and the
   * handshake rejects with the thrown error (a WireError `ERR_HANDSHAKE_REFUSED` by convention;
   * the initiator then fails with the same code). The network uses it for crossing dials; it
   * may answer later (a promise), holding the Accept back meanwhile. `flags`: the peer's.
   */
  admit?: (peer: string, flags: NetworkFlags) => void | Promise<void>;
  /**
   * Initiator: called just before this side's Introduce goes out (the acceptor may register the
   * connection once it has read it). Throwing gives the dial up there: the socket closes and the
   * handshake rejects with the thrown error. The network uses it for crossing dials.
   */
  beforeIntroduce?: () => void;
  /**
   * Acceptor: called with a Join's node and connection id once its digest is verified, before
   * this side's Accept goes out. Throwing refuses the link as {@link admit} does: an initiator
   * whose connection this node does not have (any more) learns it from the handshake, instead of
   * a link that completes and is closed at once (which it would re-dial again and again).
   */
  admitJoin?: (peer: string, connectionID: string) => void;
  /**
   * Initiator on TLS: do not check the acceptor's certificate digest (Go's
   * `DisableTLSFingerprint`). Default false: a TLS acceptor must prove the cookie for its certificate.
   */
  disableTLSFingerprint?: boolean;
}

/** What a completed handshake established. */
export interface HandshakeResult {
  /** True for a Join (an extra pool link of an existing connection). */
  join: boolean;
  /** The connection id (initiator: from Accept; acceptor: its own; join: the one the initiator named). */
  connectionID: string;
  /** The peer's node name. */
  peer: string;
  /** The peer's creation (0 on a join). */
  peerCreation: number | bigint;
  /** The peer's application version (empty on a join). */
  peerVersion: Version;
  /** The peer's flags (all false on a join). */
  peerFlags: NetworkFlags;
  /** The peer's incoming limit (0 = none). */
  peerMaxMessageSize: number;
  /** Links of the connection (initiator: Accept.PoolSize; acceptor: its own). */
  poolSize: number;
  /** Addresses to dial extra links to (initiator of a full handshake only). */
  poolDSN: string[];
  /** The peer's announced caches: decode with these. */
  peerAtomCache: Map<number, string>;
  peerRegCache: Map<number, string>;
  peerErrCache: Map<number, Error>;
  /** Bytes received after the last handshake frame: the start of ENP. */
  tail: Uint8Array;
}

function fail(code: WireErrorCode, message: string): WireError {
  return new WireError(code, message);
}

function toNumber(v: number | bigint): number {
  return typeof v === 'bigint' ? Number(v) : v;
}

/** One socket's frame I/O during the handshake; removes itself when done. */
class FrameIO {
  readonly codec: HandshakeCodec;
  readonly #socket: Socket;
  readonly #timeout: number;
  readonly #late: ((step: string) => void) | undefined;
  readonly #patience: number;
  readonly #lateUntil: number | undefined;
  #waiter: ((err: Error | undefined) => void) | undefined;
  #error: Error | undefined;
  readonly #onData = (chunk: Buffer): void => {
    this.codec.push(chunk);
    this.#wake(undefined);
  };
  readonly #onEnd = (): void =>
    this.#broken(fail('ERR_HANDSHAKE_CLOSED', 'peer closed the connection during the handshake'));
  readonly #onError = (err: Error): void =>
    this.#broken(
      new WireError('ERR_HANDSHAKE_CLOSED', `socket error during the handshake: ${err.message}`, { cause: err }),
    );

  constructor(socket: Socket, options: HandshakeOptions) {
    this.#socket = socket;
    this.#timeout = options.timeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
    this.#late = options.late;
    this.#lateUntil = options.lateUntil;
    this.#patience = Math.max(this.#timeout, options.patience ?? this.#timeout * HANDSHAKE_PATIENCE);
    this.codec = new HandshakeCodec({ registry: options.registry, maxFrame: options.maxFrame });
    socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    socket.on('close', this.#onEnd);
    socket.on('error', this.#onError);
  }

  /** True once the peer closed (or the socket failed). */
  get closed(): boolean {
    return this.#error !== undefined;
  }

  /**
   * The peer gave up on a step of this side's that it waited for too long: the initiator's
   * dialler is told as of a late step of the peer's (`late`), so it may start another attempt.
   */
  peerGaveUp(step: string): void {
    this.#late?.(`${step} (the peer stopped waiting for ours)`);
  }

  /** Fails the step being waited for (and every later one) with `err`. */
  abort(err: Error): void {
    this.#broken(err);
  }

  #broken(err: Error): void {
    this.#error ??= err;
    this.#wake(err);
  }

  #wake(err: Error | undefined): void {
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.(err);
  }

  send(message: HandshakeMessage): void {
    this.#socket.write(this.codec.encode(message));
  }

  /**
   * The next message, within the timeout; `patient`: within the patience (an acceptor's waits).
   * An initiator given `late` is told when the timeout passes and waits on, as patiently.
   */
  async read(step: string, patient = false): Promise<HandshakeMessage> {
    const start = Date.now();
    let deadline = start + (patient ? this.#patience : this.#timeout);
    let told = patient;
    for (;;) {
      const m = this.codec.next();
      if (m !== undefined) return m;
      if (this.#error !== undefined) throw this.#error;
      let left = deadline - Date.now();
      if (left <= 0 && !told && this.#late !== undefined) {
        told = true;
        this.#late(step);
        deadline = this.#lateUntil ?? start + this.#patience;
        left = deadline - Date.now();
      }
      if (left <= 0) throw fail('ERR_HANDSHAKE_TIMEOUT', `no ${step} within ${this.#timeout} ms`);
      await new Promise<void>((resolve, reject) => {
        let late: NodeJS.Immediate | undefined;
        const timer = setTimeout(() => {
          // An event loop that stalled (a loaded machine) runs due timers before it reads its
          // sockets: let one poll phase deliver what has already arrived before going on.
          late = setImmediate(() => {
            if (this.#waiter !== waiter) return;
            this.#waiter = undefined;
            resolve();
          });
        }, left);
        const waiter = (err: Error | undefined): void => {
          clearTimeout(timer);
          if (late !== undefined) clearImmediate(late);
          if (err !== undefined) reject(err);
          else resolve();
        };
        this.#waiter = waiter;
      });
    }
  }

  /** Detaches from the socket (paused, so no byte is lost before ENP takes it). */
  detach(): Uint8Array {
    const s = this.#socket;
    s.pause();
    s.off('data', this.#onData);
    s.off('end', this.#onEnd);
    s.off('close', this.#onEnd);
    s.off('error', this.#onError);
    return this.codec.tail();
  }
}

async function run<T>(socket: Socket, options: HandshakeOptions, steps: (io: FrameIO) => Promise<T>): Promise<T> {
  validate(options);
  const io = new FrameIO(socket, options);
  const signal = options.signal;
  const onAbort = (): void =>
    io.abort(
      signal?.reason instanceof Error ? signal.reason : fail('ERR_HANDSHAKE_CLOSED', 'the handshake was given up'),
    );
  if (signal?.aborted === true) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await steps(io);
  } catch (err) {
    io.detach();
    socket.destroy();
    if (err instanceof WireError) throw err;
    throw new WireError('ERR_HANDSHAKE_MESSAGE', `handshake failed: ${(err as Error)?.message ?? String(err)}`, {
      cause: err,
    });
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

function validate(o: HandshakeOptions): void {
  if (o === null || typeof o !== 'object')
    throw new WireError('ERR_HANDSHAKE_MESSAGE', 'handshake options must be an object');
  if (typeof o.node !== 'string' || !/^[^@]+@[^@]+$/.test(o.node))
    throw new WireError(
      'ERR_HANDSHAKE_NAME',
      `node name must be name@host, got ${JSON.stringify(String(o.node).slice(0, 64))}`,
    );
  if (typeof o.cookie !== 'string') throw new WireError('ERR_HANDSHAKE_DIGEST', 'cookie must be a string');
  const t = o.timeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
  if (!Number.isFinite(t) || t <= 0 || t > 2 ** 31 - 1)
    throw new WireError('ERR_HANDSHAKE_TIMEOUT', `timeout must be 1..2147483647 ms, got ${String(t)}`);
}

function introduce(o: HandshakeOptions, digest: string): MessageIntroduce {
  return new MessageIntroduce({
    node: o.node,
    version: new WireVersion(o.version),
    flags: announced(o),
    creation: o.creation,
    maxMessageSize: o.maxMessageSize ?? 0,
    atomCache: o.atomCache?.size ? o.atomCache : null,
    regCache: o.regCache?.size ? o.regCache : null,
    errCache: o.errCache?.size ? o.errCache : null,
    digest,
  });
}

/**
 * The flags this side announces: the configured ones plus the ergo-ts JS-values, event-batch,
 * control-batch, link-count and heartbeat-frame bits, each on unless the options or the flags say false.
 */
function announced(o: HandshakeOptions): NetworkFlags {
  const f = new NetworkFlags(o.flags ?? NetworkFlags.defaults());
  f.jsValues = o.jsValues !== false && o.flags?.jsValues !== false;
  f.eventBatch = o.flags?.eventBatch !== false;
  f.controlBatch = o.flags?.controlBatch !== false;
  f.ergoPool = o.flags?.ergoPool !== false;
  f.ergoFrames = o.flags?.ergoFrames !== false;
  return f;
}

function peerErrors(m: Map<number, Error | null> | null): Map<number, Error> {
  const out = new Map<number, Error>();
  if (m !== null) for (const [k, v] of m) if (v !== null) out.set(k, v);
  return out;
}

/** A TLS socket (node:tls is not loaded to ask `instanceof`: a node without TLS never needs it). */
function isTls(socket: Socket): socket is TLSSocket {
  return (socket as Partial<TLSSocket>).encrypted === true;
}

function localFingerprint(socket: Socket): Uint8Array | undefined {
  if (!isTls(socket)) return undefined;
  const cert = socket.getX509Certificate();
  return cert === undefined ? undefined : tlsFingerprint(cert.raw);
}

function remoteFingerprint(socket: Socket): Uint8Array | undefined {
  if (!isTls(socket)) return undefined;
  const cert = socket.getPeerX509Certificate();
  return cert === undefined ? undefined : tlsFingerprint(cert.raw);
}

function expect<T>(m: HandshakeMessage, cls: new () => T, step: string): T {
  if (!(m instanceof cls))
    throw fail('ERR_HANDSHAKE_MESSAGE', `expected ${cls.name} at ${step}, got ${m.constructor.name}`);
  return m;
}

/**
 * Initiator, first link of a connection (steps 1–6 of WIRE §2.2).
 * @param expectedPeer the node the caller wants to reach; the acceptor's Introduce must name it.
 * @throws WireError (the socket is destroyed): `ERR_HANDSHAKE_DIGEST` (the acceptor does not know
 *   the cookie), `ERR_HANDSHAKE_CERT`, `ERR_HANDSHAKE_NAME`, `ERR_HANDSHAKE_TIMEOUT`,
 *   `ERR_HANDSHAKE_CLOSED` (e.g. the acceptor refused our cookie and closed), `ERR_HANDSHAKE_REFUSED`
 *   (the acceptor closed after our Introduce: it refused this connection by name), `ERR_HANDSHAKE_MESSAGE`,
 *   `ERR_HANDSHAKE_FRAME`, `ERR_HANDSHAKE_TOO_LARGE`.
 */
export function startHandshake(
  socket: Socket,
  options: HandshakeOptions,
  expectedPeer?: string,
): Promise<HandshakeResult> {
  return run(socket, options, async (io) => {
    const cookie = options.cookie;
    const sI = makeSalt();
    const dI = helloDigest(sI, cookie);
    io.send(new MessageHello({ salt: sI, digest: dI }));
    const hello = expect(await io.read('Hello'), MessageHello, 'hello');
    if (!sameDigest(hello.digest, helloReplyDigest(hello.salt, dI, cookie)))
      throw fail('ERR_HANDSHAKE_DIGEST', 'incorrect digest from the acceptor (stage hello): cookies differ');
    const fp = remoteFingerprint(socket);
    if (fp !== undefined && options.disableTLSFingerprint !== true) {
      if (!sameDigest(hello.digestCert, helloCertDigest(hello.salt, sI, cookie, fp))) {
        throw fail('ERR_HANDSHAKE_CERT', "the acceptor's cookie digest is not bound to its TLS certificate");
      }
    }
    options.beforeIntroduce?.();
    io.send(introduce(options, introduceDigest(hello.salt, cookie)));
    const accept = expect(await readAccept(io, expectedPeer), MessageAccept, 'accept');
    const intro = expect(await io.read('Introduce'), MessageIntroduce, 'introduce');
    if (intro.node === options.node) throw fail('ERR_HANDSHAKE_NAME', `the peer has our own name ${options.node}`);
    if (expectedPeer !== undefined && intro.node !== expectedPeer)
      throw fail('ERR_HANDSHAKE_NAME', `dialed ${expectedPeer} but ${intro.node} answered`);
    // The acceptor gave this handshake up after sending its Accept (its patience ran out before
    // this side read it): completing it would register a connection the peer has closed. Its
    // Hello proved the cookie and it sent its Accept, so it refused nothing: this side's last
    // step was late for it (a Go node waits 1 s for it; a starved loop reads later than that),
    // and the dial may try again as for a step of the peer's that was late (establish.ts).
    if (io.closed) {
      io.peerGaveUp('final Accept');
      throw fail('ERR_HANDSHAKE_CLOSED', 'peer closed the connection during the handshake');
    }
    io.send(new MessageAccept());
    const tail = io.detach();
    return {
      join: false,
      connectionID: accept.id,
      peer: intro.node,
      peerCreation: intro.creation,
      peerVersion: intro.version,
      peerFlags: intro.flags,
      peerMaxMessageSize: toNumber(intro.maxMessageSize),
      poolSize: toNumber(accept.poolSize),
      poolDSN: accept.poolDSN ?? [],
      peerAtomCache: intro.atomCache ?? new Map(),
      peerRegCache: intro.regCache ?? new Map(),
      peerErrCache: peerErrors(intro.errCache),
      tail,
    };
  });
}

/**
 * The acceptor's Accept after our Introduce. The acceptor has checked our cookie already (its
 * Hello proved it knows it, and ours): closing the socket now means it refused us by name — it
 * dials us too and its connection is kept, or it has one with us (ERR_HANDSHAKE_REFUSED).
 */
async function readAccept(io: FrameIO, peer: string | undefined): Promise<HandshakeMessage> {
  try {
    return await io.read('Accept');
  } catch (e) {
    if (!(e instanceof WireError) || e.code !== 'ERR_HANDSHAKE_CLOSED') throw e;
    throw new WireError(
      'ERR_HANDSHAKE_REFUSED',
      `${peer ?? 'the acceptor'} closed the connection after our Introduce (it refused it: it dials us too, or is connected to us)`,
      { cause: e },
    );
  }
}

/**
 * The acceptor's Accept of our Join. The main handshake proved the cookie already: closing the
 * socket now means the acceptor has no such connection with us (ERR_HANDSHAKE_REFUSED).
 */
async function readJoinAccept(io: FrameIO, peer: string): Promise<HandshakeMessage> {
  try {
    return await io.read('Accept');
  } catch (e) {
    if (!(e instanceof WireError) || e.code !== 'ERR_HANDSHAKE_CLOSED') throw e;
    throw new WireError('ERR_HANDSHAKE_REFUSED', `${peer} closed the link after our Join (it has no such connection)`, {
      cause: e,
    });
  }
}

/**
 * Initiator, an extra pool link of the connection `connectionID` (WIRE §2.3).
 * @throws WireError as {@link startHandshake}.
 */
export function joinHandshake(
  socket: Socket,
  options: HandshakeOptions,
  connectionID: string,
  peer: string,
): Promise<HandshakeResult> {
  return run(socket, options, async (io) => {
    const cookie = options.cookie;
    const sJ = makeSalt();
    const dJ = joinDigest(connectionID, sJ, cookie);
    io.send(new MessageJoin({ node: options.node, connectionID, salt: sJ, digest: dJ }));
    const accept = expect(await readJoinAccept(io, peer), MessageAccept, 'join');
    if (!sameDigest(accept.digest, joinAcceptDigest(dJ, cookie)))
      throw fail('ERR_HANDSHAKE_DIGEST', 'incorrect digest from the acceptor (stage join): cookies differ');
    const fp = remoteFingerprint(socket);
    if (fp !== undefined && options.disableTLSFingerprint !== true) {
      if (!sameDigest(accept.digestCert, joinAcceptCertDigest(dJ, sJ, cookie, fp)))
        throw fail('ERR_HANDSHAKE_CERT', "the acceptor's join digest is not bound to its TLS certificate");
    }
    return joinResult(connectionID, peer, toNumber(accept.poolSize), io.detach());
  });
}

function joinResult(connectionID: string, peer: string, poolSize: number, tail: Uint8Array): HandshakeResult {
  return {
    join: true,
    connectionID,
    peer,
    peerCreation: 0,
    peerVersion: new WireVersion(),
    peerFlags: new NetworkFlags(),
    peerMaxMessageSize: 0,
    poolSize,
    poolDSN: [],
    peerAtomCache: new Map(),
    peerRegCache: new Map(),
    peerErrCache: new Map(),
    tail,
  };
}

/**
 * Acceptor: answers a full handshake or a Join on an accepted socket. For a Join the result has
 * `join: true` and the connection id the initiator named: the caller attaches the link only if
 * it has that connection with that peer, else closes the socket (Ergo's rule).
 * @throws WireError as {@link startHandshake}; a wrong cookie is `ERR_HANDSHAKE_DIGEST` and the
 *   socket is closed without a reply.
 */
export function acceptHandshake(socket: Socket, options: HandshakeOptions): Promise<HandshakeResult> {
  return run(socket, options, async (io) => {
    const cookie = options.cookie;
    const first = await io.read('Hello or Join', true);
    const fp = localFingerprint(socket);
    if (first instanceof MessageJoin) {
      if (!sameDigest(first.digest, joinDigest(first.connectionID, first.salt, cookie)))
        throw fail('ERR_HANDSHAKE_DIGEST', 'incorrect digest (accept stage join): cookies differ');
      if (first.node === options.node) throw fail('ERR_HANDSHAKE_NAME', `the peer has our own name ${options.node}`);
      options.admitJoin?.(first.node, first.connectionID);
      const reply = new MessageAccept({ digest: joinAcceptDigest(first.digest, cookie) });
      if (fp !== undefined) reply.digestCert = joinAcceptCertDigest(first.digest, first.salt, cookie, fp);
      io.send(reply);
      return joinResult(first.connectionID, first.node, 0, io.detach());
    }
    const hello = expect(first, MessageHello, 'hello');
    if (!sameDigest(hello.digest, helloDigest(hello.salt, cookie)))
      throw fail('ERR_HANDSHAKE_DIGEST', "incorrect digest (accept stage 'hello'): cookies differ");
    const sA = makeSalt();
    const reply = new MessageHello({ salt: sA, digest: helloReplyDigest(sA, hello.digest, cookie) });
    if (fp !== undefined) reply.digestCert = helloCertDigest(sA, hello.salt, cookie, fp);
    io.send(reply);
    const intro = expect(await io.read('Introduce', true), MessageIntroduce, 'introduce');
    if (!sameDigest(intro.digest, introduceDigest(sA, cookie)))
      throw fail('ERR_HANDSHAKE_DIGEST', "incorrect digest (accept stage 'introduce'): cookies differ");
    if (intro.node === options.node) throw fail('ERR_HANDSHAKE_NAME', `the peer has our own name ${options.node}`);
    await options.admit?.(intro.node, intro.flags);
    const id = makeConnectionID();
    // Two ergo-ts nodes agree on the acceptor's ergo-ts link count; Go initiators get Ergo's pool.
    const ergoPeer = intro.flags.ergoPool === true && options.flags?.ergoPool !== false;
    const poolSize = (ergoPeer ? options.ergoPoolSize : undefined) ?? options.poolSize ?? DEFAULT_POOL_SIZE;
    const dsn =
      socket.localAddress !== undefined && socket.localPort !== undefined
        ? [dsnOf(socket.localAddress, socket.localPort)]
        : [];
    io.send(new MessageAccept({ id, poolSize, poolDSN: dsn }));
    io.send(introduce(options, ''));
    // Patient: the initiator uses the connection as soon as it reads our Accept.
    expect(await io.read('final Accept', true), MessageAccept, 'final accept');
    return {
      join: false,
      connectionID: id,
      peer: intro.node,
      peerCreation: intro.creation,
      peerVersion: intro.version,
      peerFlags: intro.flags,
      peerMaxMessageSize: toNumber(intro.maxMessageSize),
      poolSize,
      poolDSN: [],
      peerAtomCache: intro.atomCache ?? new Map(),
      peerRegCache: intro.regCache ?? new Map(),
      peerErrCache: peerErrors(intro.errCache),
      tail: io.detach(),
    };
  });
}

/** `host:port`, IPv6 hosts in brackets (Go's net.JoinHostPort). */
function dsnOf(address: string, port: number): string {
  const host = address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
