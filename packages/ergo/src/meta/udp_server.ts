// A UDP server as a meta process (Ergo's meta/udp_server.go): createUDPServer binds at once,
// spawnMeta starts delivering — each datagram becomes MessageUDP{id, addr, data} to `process` (or
// the parent); a process replies by sending MessageUDP with the peer's address to the server's
// alias. UDP has no flow control to pause: while the receiving process has `readQueueLimit`
// records waiting, datagrams are dropped (as a kernel drops them for a slow reader), counted and
// logged — never queued without bound.

import * as dgram from 'node:dgram';
import { isIP } from 'node:net';

import type { Atom } from '../gen/atom.js';
import { ErrIncorrect, isNormalReason, toError } from '../gen/errors.js';
import type { PID } from '../gen/pid.js';
import type { SendTarget } from '../gen/process.js';
import type { Alias } from '../gen/ref.js';
import { NetAddr } from './addr.js';
import { MetaBase } from './base.js';
import { DEFAULT_READ_QUEUE_LIMIT, nonNegative, positiveInt } from './reader.js';
import { ignorable } from '../gen/ignorable.js';

/** A datagram: received (server → process) or to send (process → server alias, `id` ignored). */
export class MessageUDP {
  constructor(
    readonly id: Alias | undefined,
    readonly addr: NetAddr,
    readonly data: Uint8Array,
  ) {}
}

/** Default `bufferSize`: the largest datagram delivered (Ergo's 65000). */
export const DEFAULT_UDP_BUFFER_SIZE = 65000;

/** Options of `createUDPServer`. */
export interface UDPServerOptions {
  /** Address to bind (default: all IPv4 interfaces; an IPv6 address binds udp6). */
  host?: string;
  /** Port (0 = any; read it back with `server.address()`). */
  port?: number;
  /** Name of the process that gets the datagrams (default: the spawning process). */
  process?: Atom | string;
  /** Largest datagram delivered; bigger ones are dropped, logged and counted. Default 65000. */
  bufferSize?: number;
  /** Datagrams are dropped while the process has this many records waiting. Default 1024; 0 = never. */
  readQueueLimit?: number;
}

/** The meta behaviour of a bound UDP socket. */
export class UDPServer extends MetaBase {
  private target: SendTarget | null = null;
  private started = false;
  private closed = false;
  private bytesIn = 0;
  private bytesOut = 0;
  private droppedTooLarge = 0;
  private droppedBusy = 0;
  private droppedEarly = 0;
  private sendErrors = 0;
  private busy = false;
  private finish: ((reason: Error | undefined) => void) | null = null;
  private readonly bufferSize: number;
  private readonly readQueueLimit: number;
  private readonly onMessage = (msg: Buffer, rinfo: dgram.RemoteInfo): void => {
    if (!this.started) {
      // Bound but not spawned yet: nobody to deliver to (UDP cannot hold them back).
      this.droppedEarly++;
      return;
    }
    const meta = this.meta;
    const target = this.target!;
    if (msg.length > this.bufferSize) {
      this.droppedTooLarge++;
      this.log.warning(
        'datagram of %d bytes from %s:%d dropped: over bufferSize %d',
        msg.length,
        rinfo.address,
        rinfo.port,
        this.bufferSize,
      );
      return;
    }
    if (this.readQueueLimit > 0) {
      const depth = meta.backlog(target);
      if (depth >= this.readQueueLimit) {
        this.droppedBusy++;
        if (!this.busy) this.log.warning('%s is behind (%d waiting): dropping datagrams', String(target), depth);
        this.busy = true;
        return;
      }
      this.busy = false;
    }
    this.bytesIn += msg.length;
    try {
      meta.send(target, new MessageUDP(meta.id, new NetAddr('udp', rinfo.address, rinfo.port, rinfo.family), msg));
    } catch (e) {
      this.log.error('unable to send MessageUDP to %s: %s', String(target), toError(e).message);
    }
  };

  /** Use createUDPServer (it binds first). */
  constructor(
    readonly socket: dgram.Socket,
    private readonly process: Atom | string | undefined,
    options: UDPServerOptions,
  ) {
    super();
    this.bufferSize = options.bufferSize ?? DEFAULT_UDP_BUFFER_SIZE;
    this.readQueueLimit = options.readQueueLimit ?? DEFAULT_READ_QUEUE_LIMIT;
    socket.on('message', this.onMessage);
    socket.on('error', (e: Error) => {
      try {
        this.meta.log.error('udp socket error: %s', e.message);
      } catch {
        // not spawned yet
      }
      this.close();
      this.finish?.(e);
    });
  }

  /** The bound address (the real port when created with port 0). */
  address(): NetAddr {
    const a = this.socket.address();
    return new NetAddr('udp', a.address, a.port, a.family);
  }

  /** Closes the socket of a server that was never spawned (a spawned one closes as it ends). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close();
  }

  /** Delivers datagrams until the socket closes. */
  override start(): Promise<Error | undefined> {
    this.target = this.process !== undefined && this.process !== '' ? this.process : this.meta.parent;
    this.started = true;
    return new Promise<Error | undefined>((resolve) => {
      if (this.closed) {
        resolve(undefined);
        return;
      }
      this.finish = resolve;
      this.socket.once('close', () => resolve(undefined));
    });
  }

  /**
   * MessageUDP sent to the alias: sent to its `addr`. A datagram that cannot be sent (bad port or
   * address, network error) is logged as a warning and dropped; the server goes on.
   */
  override handleMessage(from: PID, message: unknown): unknown {
    if (
      !(message instanceof MessageUDP) ||
      !(message.data instanceof Uint8Array) ||
      !(message.addr instanceof NetAddr)
    ) {
      this.log.error('unsupported message from %s. ignored', from.toString());
      return undefined;
    }
    if (this.closed) return undefined;
    const { data, addr } = message;
    // A bad destination (port 0, out of range) makes dgram throw at once where other failures
    // come to the callback: both are the same thing here, one datagram not sent, logged.
    try {
      this.socket.send(data, addr.port, addr.address, (err) => {
        if (!err) return;
        this.sendErrors++;
        this.log.warning('send to %s failed: %s', addr.toString(), err.message);
      });
    } catch (e) {
      this.sendErrors++;
      this.log.warning('send to %s failed: %s', addr.toString(), toError(e).message);
      return undefined;
    }
    this.bytesOut += data.length;
    return undefined;
  }

  override handleCall(): unknown {
    return undefined;
  }

  override handleInspect(): Record<string, string> {
    return {
      listener: this.address().toString(),
      process: String(this.target ?? ''),
      'bytes in': String(this.bytesIn),
      'bytes out': String(this.bytesOut),
      'dropped too large': String(this.droppedTooLarge),
      'dropped busy': String(this.droppedBusy),
      'dropped before start': String(this.droppedEarly),
      'send errors': String(this.sendErrors),
    };
  }

  override terminate(reason: Error): void {
    this.close();
    if (!isNormalReason(reason)) this.log.error('terminated abnormally: %s', reason.message);
  }
}

/** Binds a UDP socket and returns the server's meta behaviour. Rejects with ErrIncorrect or the bind error. */
export function createUDPServer(options: UDPServerOptions = {}): Promise<UDPServer> {
  // Safe to leave un-awaited (docs/actors.md, Returned Promises are safe to ignore).
  return ignorable(bindUDP(options), undefined, 'createUDPServer');
}

function bindUDP(options: UDPServerOptions = {}): Promise<UDPServer> {
  let socket: dgram.Socket;
  try {
    if (options === null || typeof options !== 'object') throw ErrIncorrect.with('createUDPServer needs options');
    const port = options.port ?? 0;
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw ErrIncorrect.with(`port ${String(port)}`);
    positiveInt(options.bufferSize, 'bufferSize', DEFAULT_UDP_BUFFER_SIZE);
    nonNegative(options.readQueueLimit, 'readQueueLimit', DEFAULT_READ_QUEUE_LIMIT);
    socket = dgram.createSocket(options.host !== undefined && isIP(options.host) === 6 ? 'udp6' : 'udp4');
  } catch (e) {
    return Promise.reject(e);
  }
  return new Promise<UDPServer>((resolve, reject) => {
    const failed = (e: Error): void => {
      socket.close();
      reject(e);
    };
    socket.once('error', failed);
    socket.bind({ address: options.host === '' ? undefined : options.host, port: options.port ?? 0 }, () => {
      socket.off('error', failed);
      resolve(new UDPServer(socket, options.process, options));
    });
  });
}
