// A TCP connection as a meta process (Ergo's meta/tcp_connection.go): reads become MessageTCP to
// the connection's process (raw or chunked), MessageTCP sent to the alias is written to the
// socket. Reading pauses while the process is behind (FlowControl); a handler writing faster
// than the peer reads waits for 'drain' (the meta's mailbox holds further writes, and its
// `mailboxSize` bounds them: a TCP server gives its connections `writeQueueLimit`, a client is
// bounded by the MetaOptions it is spawned with). Created by a TCP server per accepted socket, or
// by createTCPConnection as a client.

import * as net from 'node:net';
import * as tls from 'node:tls';

import type { Atom } from '../gen/atom.js';
import { ErrIncorrect, ErrTimeout, isNormalReason, toError } from '../gen/errors.js';
import type { PID } from '../gen/pid.js';
import type { SendTarget } from '../gen/process.js';
import { NetAddr } from './addr.js';
import { MetaBase } from './base.js';
import { secureContextOptions } from './cert.js';
import { ByteSplitter, DEFAULT_READ_QUEUE_LIMIT, FlowControl, nonNegative, positiveInt } from './reader.js';
import {
  DEFAULT_TCP_READ_BUFFER_SIZE,
  MessageTCP,
  MessageTCPConnect,
  MessageTCPDisconnect,
  type TCPCommonOptions,
  type TCPConnectionOptions,
} from './tcp_types.js';
import { ignorable } from '../gen/ignorable.js';

/** Milliseconds a closing connection may take to flush what it still has to write. */
export const TCP_CLOSE_LINGER_MS = 5000;
/** Default `connectTimeout` of createTCPConnection. */
export const DEFAULT_TCP_CONNECT_TIMEOUT = 5000;

/** Checks the options both sides share; throws ErrIncorrect naming the field. */
export function validateTCPCommon(o: TCPCommonOptions): void {
  positiveInt(o.readBufferSize, 'readBufferSize', DEFAULT_TCP_READ_BUFFER_SIZE);
  nonNegative(o.readQueueLimit, 'readQueueLimit', DEFAULT_READ_QUEUE_LIMIT);
  nonNegative(o.keepAlivePeriod, 'keepAlivePeriod', 0);
  if (o.writeBufferKeepAlive !== undefined) {
    if (!(o.writeBufferKeepAlive instanceof Uint8Array))
      throw ErrIncorrect.with('writeBufferKeepAlive must be a Uint8Array');
    if (
      o.writeBufferKeepAlive.length > 0 &&
      !(positiveInt(o.writeBufferKeepAlivePeriod, 'writeBufferKeepAlivePeriod', 0) > 0)
    ) {
      throw ErrIncorrect.with('writeBufferKeepAlive needs a non-zero writeBufferKeepAlivePeriod');
    }
  }
  // ByteSplitter validates the chunk options.
  new ByteSplitter(1, o.readChunk);
}

function addrOf(address: string | undefined, port: number | undefined): NetAddr {
  return new NetAddr('tcp', address ?? '', port ?? 0);
}

/** The meta behaviour of one TCP connection. */
export class TCPConnection extends MetaBase {
  private readonly splitter: ByteSplitter;
  private readonly readQueueLimit: number;
  private target: SendTarget | null = null;
  private flow: FlowControl | null = null;
  private finish: ((reason: Error | undefined) => void) | null = null;
  private keepAliveTimer: ReturnType<typeof setInterval> | null = null;
  private lastWrite = Date.now();
  private failed = false;
  private corked = false;
  private bytesIn = 0;
  private bytesOut = 0;
  /** Remote and local endpoints (kept: a closed socket forgets them). */
  readonly remoteAddr: NetAddr;
  readonly localAddr: NetAddr;

  private readonly emit = (piece: Buffer): void => {
    if (this.failed) return;
    try {
      this.meta.send(this.target!, new MessageTCP(this.meta.id, piece));
    } catch (e) {
      const err = toError(e);
      this.log.error('unable to send MessageTCP to %s: %s', String(this.target), err.message);
      this.fail(err);
    }
  };

  // Writes of one scheduler batch leave in one go: corked at the first, uncorked after the batch.
  private readonly uncork = (): void => {
    this.corked = false;
    this.socket.uncork();
  };

  private readonly onData = (data: Buffer): void => {
    this.bytesIn += data.length;
    const err = this.splitter.push(data, this.emit);
    if (err !== undefined) {
      this.log.error('connection %s closed: %s', this.remoteAddr.toString(), err.message);
      this.fail(err);
      return;
    }
    this.flow?.check();
  };

  /** Built by the TCP server (accepted sockets) or createTCPConnection; spawn it with spawnMeta. */
  constructor(
    readonly socket: net.Socket,
    private readonly options: TCPCommonOptions,
    private readonly process: Atom | string | undefined,
  ) {
    super();
    this.splitter = new ByteSplitter(options.readBufferSize ?? DEFAULT_TCP_READ_BUFFER_SIZE, options.readChunk);
    this.readQueueLimit = options.readQueueLimit ?? DEFAULT_READ_QUEUE_LIMIT;
    this.remoteAddr = addrOf(socket.remoteAddress, socket.remotePort);
    this.localAddr = addrOf(socket.localAddress, socket.localPort);
    socket.setNoDelay(true);
    if ((options.keepAlivePeriod ?? 0) > 0) socket.setKeepAlive(true, options.keepAlivePeriod);
    // Errors end in 'close'; without a listener they would be uncaught exceptions.
    socket.on('error', (e: Error) => this.socketError(e));
  }

  private socketError(e: Error): void {
    try {
      this.meta.log.debug('connection %s: %s', this.remoteAddr.toString(), e.message);
    } catch {
      // not spawned yet: the error still ends in 'close'
    }
  }

  private fail(err: Error): void {
    if (this.failed) return;
    this.failed = true;
    this.socket.destroy();
    this.finish?.(err);
  }

  /** Closes the socket of a connection that was never spawned (a spawned one closes as it ends). */
  close(): void {
    this.socket.destroy();
  }

  /** Announces the connection and reads until the socket closes (then the meta ends normally). */
  override start(): Promise<Error | undefined> {
    const meta = this.meta;
    const s = this.socket;
    const target: SendTarget = this.process !== undefined && this.process !== '' ? this.process : meta.parent;
    this.target = target;
    return new Promise<Error | undefined>((resolve) => {
      this.finish = resolve;
      try {
        meta.send(target, new MessageTCPConnect(meta.id, this.remoteAddr, this.localAddr));
      } catch (e) {
        const err = toError(e);
        this.log.error('unable to send MessageTCPConnect to %s: %s', String(target), err.message);
        this.fail(err);
        return;
      }
      this.flow = new FlowControl(meta, s, target, this.readQueueLimit);
      s.on('close', () => resolve(undefined));
      s.on('data', this.onData);
      if (s.destroyed) {
        // Closed before the meta started: hand over what was read, then end.
        for (let c = s.read() as Buffer | null; c !== null; c = s.read() as Buffer | null) this.onData(c);
        resolve(undefined);
        return;
      }
      this.startKeepAlive();
    });
  }

  private startKeepAlive(): void {
    const bytes = this.options.writeBufferKeepAlive;
    const period = this.options.writeBufferKeepAlivePeriod ?? 0;
    if (bytes === undefined || bytes.length === 0 || period <= 0) return;
    this.keepAliveTimer = setInterval(() => {
      if (Date.now() - this.lastWrite < period || this.socket.destroyed) return;
      this.lastWrite = Date.now();
      this.socket.write(bytes);
    }, period);
    this.keepAliveTimer.unref();
  }

  /** MessageTCP sent to the alias: written to the socket (waits for 'drain' when the socket is full). */
  override handleMessage(from: PID, message: unknown): unknown {
    if (!(message instanceof MessageTCP)) {
      this.log.error('unsupported message from %s. ignored', from.toString());
      return undefined;
    }
    const data = message.data;
    if (!(data instanceof Uint8Array)) {
      this.log.error('MessageTCP from %s carries no Uint8Array. ignored', from.toString());
      return undefined;
    }
    const s = this.socket;
    if (s.destroyed || !s.writable) {
      this.log.warning('write of %d bytes to closed connection %s dropped', data.length, this.remoteAddr.toString());
      return undefined;
    }
    this.bytesOut += data.length;
    this.lastWrite = Date.now();
    if (!this.corked) {
      this.corked = true;
      s.cork();
      process.nextTick(this.uncork);
    }
    if (s.write(data)) return undefined;
    // Over the socket's high-water mark (a corked batch, or one large write): flush now. On a
    // fast peer the kernel takes it all at once and nothing is left to wait for — no Promise,
    // no listeners per write; only bytes the kernel refused make the meta wait for 'drain'.
    this.uncork();
    if (s.writableLength === 0) return undefined;
    return new Promise<undefined>((resolve) => {
      const done = (): void => {
        s.off('drain', done);
        s.off('close', done);
        resolve(undefined);
      };
      s.on('drain', done);
      s.on('close', done);
    });
  }

  override handleCall(): unknown {
    return undefined;
  }

  override handleInspect(): Record<string, string> {
    return {
      local: this.localAddr.toString(),
      remote: this.remoteAddr.toString(),
      process: String(this.target ?? ''),
      'bytes in': String(this.bytesIn),
      'bytes out': String(this.bytesOut),
      paused: String(this.flow?.paused ?? false),
      pauses: String(this.flow?.pauses ?? 0),
      buffered: String(this.splitter.buffered),
    };
  }

  /** Tells the process (MessageTCPDisconnect) and closes the socket, flushing pending writes. */
  override terminate(reason: Error): void {
    this.flow?.stop();
    if (this.keepAliveTimer !== null) clearInterval(this.keepAliveTimer);
    this.keepAliveTimer = null;
    const s = this.socket;
    s.off('data', this.onData);
    if (this.target !== null) {
      try {
        this.meta.send(this.target, new MessageTCPDisconnect(this.meta.id));
      } catch (e) {
        this.log.debug('unable to send MessageTCPDisconnect to %s: %s', String(this.target), toError(e).message);
      }
    }
    if (!s.destroyed) {
      if (s.writableLength > 0) {
        s.end();
        setTimeout(() => s.destroy(), TCP_CLOSE_LINGER_MS).unref();
      } else s.destroy();
    }
    if (!isNormalReason(reason)) this.log.error('terminated abnormally: %s', reason.message);
  }
}

/**
 * Dials a TCP (or TLS) server and returns the connection's meta behaviour: spawn it with
 * `spawnMeta`, then it behaves like a server-side connection (MessageTCPConnect first; its
 * messages go to `options.process` or the spawning process). Rejects with ErrIncorrect for bad
 * options, ErrTimeout after `connectTimeout`, or the socket's error (ECONNREFUSED...).
 */
export function createTCPConnection(options: TCPConnectionOptions): Promise<TCPConnection> {
  // Safe to leave un-awaited (docs/actors.md, Returned Promises are safe to ignore).
  return ignorable(dialTCP(options), undefined, 'createTCPConnection');
}

function dialTCP(options: TCPConnectionOptions): Promise<TCPConnection> {
  try {
    if (options === null || typeof options !== 'object') throw ErrIncorrect.with('createTCPConnection needs options');
    if (typeof options.host !== 'string' || options.host === '')
      throw ErrIncorrect.with('createTCPConnection needs a host');
    if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535)
      throw ErrIncorrect.with(`port ${String(options.port)}`);
    validateTCPCommon(options);
  } catch (e) {
    return Promise.reject(e);
  }
  const timeout = options.connectTimeout ?? DEFAULT_TCP_CONNECT_TIMEOUT;
  const secure = options.certManager !== undefined || options.tls === true;
  return new Promise<TCPConnection>((resolve, reject) => {
    const socket = secure
      ? tls.connect({
          host: options.host,
          port: options.port,
          rejectUnauthorized: options.insecureSkipVerify !== true,
          ca: options.ca,
          ...(options.certManager !== undefined ? secureContextOptions(options.certManager.certificate()) : {}),
          ...(net.isIP(options.host) === 0 ? { servername: options.host } : {}),
        })
      : net.connect({ host: options.host, port: options.port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(ErrTimeout.with(`connect to ${options.host}:${options.port}`));
    }, timeout);
    const failed = (e: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(e);
    };
    socket.once('error', failed);
    socket.once(secure ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      socket.off('error', failed);
      resolve(new TCPConnection(socket, options, options.process));
    });
  });
}
