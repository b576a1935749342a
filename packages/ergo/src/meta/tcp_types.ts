// TCP meta messages and options (Ergo's meta/tcp_types.go). A connection meta sends
// MessageTCPConnect when it starts, one MessageTCP per read (or per chunk), and
// MessageTCPDisconnect when it ends; a process writes to the socket by sending MessageTCP to the
// connection's alias.

import type { Atom } from '../gen/atom.js';
import type { Alias } from '../gen/ref.js';
import type { NetAddr } from './addr.js';
import type { CertManager } from './cert.js';
import type { ChunkOptions } from './chunk.js';

/** Sent by a connection meta to its process when it starts. */
export class MessageTCPConnect {
  constructor(
    readonly id: Alias,
    readonly remoteAddr: NetAddr,
    readonly localAddr: NetAddr,
  ) {}
}

/** Data read from the socket (to the process), or data to write (to the connection's alias; `id` ignored). */
export class MessageTCP {
  constructor(
    readonly id: Alias | undefined,
    readonly data: Uint8Array,
  ) {}
}

/** Sent by a connection meta to its process when the connection is over. */
export class MessageTCPDisconnect {
  constructor(readonly id: Alias) {}
}

/**
 * Default read buffer size: the largest MessageTCP a raw read produces. 65536 — the most Node
 * reads from a socket at once — where Ergo's is 65535: with 65535 every full read became two
 * messages, the second one byte long (and two writes when echoed).
 */
export const DEFAULT_TCP_READ_BUFFER_SIZE = 65536;

/**
 * Default `writeQueueLimit` of a TCP server: writes (MessageTCP) that may wait in an accepted
 * connection's mailbox while its socket is full. A port extension (Go's are unbounded).
 */
export const DEFAULT_TCP_WRITE_QUEUE_LIMIT = 1024;

/** What both sides of a TCP connection share. */
export interface TCPCommonOptions {
  /**
   * Largest data of one MessageTCP in raw mode (longer reads are cut into pieces); default
   * 65536 (Ergo: 65535). Ignored when `readChunk` is enabled.
   */
  readBufferSize?: number;
  /** Reassemble the stream into frames (one MessageTCP per frame). */
  readChunk?: ChunkOptions;
  /**
   * Back-pressure: reading pauses while the receiving process has this many records (or more)
   * waiting in its mailbox, and resumes when it is down to half. Default 1024; 0 disables it.
   */
  readQueueLimit?: number;
  /** Bytes written when nothing was written for `writeBufferKeepAlivePeriod` ms (needs a period). */
  writeBufferKeepAlive?: Uint8Array;
  writeBufferKeepAlivePeriod?: number;
  /** TCP keep-alive probes after this many ms of idleness (0/undefined = off). */
  keepAlivePeriod?: number;
}

/** Options of `createTCPServer`. */
export interface TCPServerOptions extends TCPCommonOptions {
  /** Interface to listen on (default: all interfaces). */
  host?: string;
  /** Port (0 = any free port; read the bound one back with `server.port` or `server.address()`). */
  port?: number;
  /** Names of the processes connections go to, round-robin; empty = the spawning process. */
  processPool?: (Atom | string)[];
  /** Serve TLS with this manager's certificate (swappable at run time). */
  certManager?: CertManager;
  /** Largest number of simultaneous connections (0 = no limit). Over it, new ones are closed. */
  maxConnections?: number;
  /**
   * Mailbox limit of each accepted connection meta: how many writes (MessageTCP to its alias)
   * may wait while the peer does not read. The connection writes one at a time and waits for
   * the socket's 'drain', so a peer that never reads fills this queue and the next write is
   * refused — the writer's `send` throws ERR_META_MAILBOX_FULL — instead of buffering without
   * bound. Default 1024 (DEFAULT_TCP_WRITE_QUEUE_LIMIT); 0 = unbounded (Ergo's behaviour).
   */
  writeQueueLimit?: number;
}

/** Options of `createTCPConnection`. */
export interface TCPConnectionOptions extends TCPCommonOptions {
  host: string;
  port: number;
  /** Name of the process that gets the connection's messages (default: the spawning process). */
  process?: Atom | string;
  /** Connect with TLS (its certificate is presented as the client certificate). */
  certManager?: CertManager;
  /** Connect with TLS without one (a plain TLS client). */
  tls?: boolean;
  /** Accept any server certificate (self-signed, wrong name). */
  insecureSkipVerify?: boolean;
  /** Trusted CA(s) for the server certificate. */
  ca?: string | Buffer | (string | Buffer)[];
  /** Milliseconds to wait for the connection (default 5000): ErrTimeout after. */
  connectTimeout?: number;
}
