// A built-in EPMD server, for hosts without Erlang's own epmd. It answers what nodes need
// (ALIVE2 register, PORT_PLEASE2, NAMES, DUMP) the way epmd does: a registration lives as long
// as its connection, lookups are answered and the connection closed. Administrative requests
// (KILL, STOP) are refused by closing the connection: nothing remote may stop it.

import { EventEmitter } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { randomInt } from 'node:crypto';
import { EpmdError } from '../errors.js';
import {
  ALIVE2_REQ,
  ALIVE2_RESP,
  ALIVE2_X_RESP,
  DUMP_REQ,
  NAMES_REQ,
  PORT2_RESP,
  PORT_PLEASE2_REQ,
  decodeNodeInfo,
  defaultEpmdPort,
  encodeNodeInfo,
  MAX_NAME_BYTES,
  type EpmdNodeInfo,
} from './protocol.js';
import { ignorable } from 'ergo-ts';

/** Options of {@link EpmdServer.start}. */
export interface EpmdServerOptions {
  /** Port to listen on; 0 picks a free one. Default `ERL_EPMD_PORT`, else 4369. */
  port?: number;
  /** Address to bind. Default `127.0.0.1` (epmd itself binds every interface; pass `'0.0.0.0'` for that). */
  host?: string;
  /** Most names registered at once. Default 4096; beyond it ALIVE2 is refused. */
  maxNodes?: number;
  /** Largest request accepted, in bytes (the Length field). Default 1024; larger ones close the connection. */
  maxRequestBytes?: number;
  /** Time a client has to send its whole request, ms. Default 10000. */
  requestTimeout?: number;
}

interface Registration {
  info: EpmdNodeInfo;
  creation: number;
  socket: Socket;
}

/** Events of {@link EpmdServer}. */
export interface EpmdServerEvents {
  /** A node registered. */
  register: [name: string, port: number, creation: number];
  /** A node's registration ended (its connection closed). */
  unregister: [name: string];
}

/** A running EPMD server. Stop it with {@link close}. Emits `register` and `unregister`. */
export class EpmdServer extends EventEmitter<EpmdServerEvents> {
  readonly #server: Server;
  readonly #nodes = new Map<string, Registration>();
  readonly #sockets = new Set<Socket>();
  readonly #options: Required<Omit<EpmdServerOptions, 'port' | 'host'>>;
  #creation = randomInt(1, 0x7fffffff);
  #closed = false;

  private constructor(server: Server, options: EpmdServerOptions) {
    super();
    this.#server = server;
    this.#options = {
      maxNodes: options.maxNodes ?? 4096,
      maxRequestBytes: options.maxRequestBytes ?? 1024,
      requestTimeout: options.requestTimeout ?? 10000,
    };
    server.on('connection', (s) => this.#accept(s));
  }

  /**
   * Starts listening.
   * @throws EpmdError `ERR_EPMD_CONNECT` if the port cannot be bound (e.g. an epmd runs already),
   *   `ERR_EPMD_INCORRECT` for bad options.
   */
  static start(options: EpmdServerOptions = {}): Promise<EpmdServer> {
    return ignorable(EpmdServer.#start(options), undefined, 'epmd server start');
  }

  static async #start(options: EpmdServerOptions = {}): Promise<EpmdServer> {
    const port = options.port ?? defaultEpmdPort();
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new EpmdError('ERR_EPMD_INCORRECT', `port ${port}`);
    const server = createServer();
    const epmd = new EpmdServer(server, options);
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) =>
        reject(new EpmdError('ERR_EPMD_CONNECT', `cannot listen on port ${port}: ${e.message}`, { cause: e })),
      );
      server.listen(port, options.host ?? '127.0.0.1', () => resolve());
    });
    server.on('error', () => {});
    return epmd;
  }

  /** The port the server listens on. */
  get port(): number {
    return (this.#server.address() as { port: number }).port;
  }

  /** The registered nodes. */
  names(): { name: string; port: number }[] {
    return [...this.#nodes.values()].map((r) => ({ name: r.info.name, port: r.info.port }));
  }

  #accept(s: Socket): void {
    if (this.#closed) {
      s.destroy();
      return;
    }
    this.#sockets.add(s);
    s.setNoDelay(true);
    s.on('error', () => {});
    s.on('close', () => {
      this.#sockets.delete(s);
      for (const [name, r] of this.#nodes) {
        if (r.socket !== s) continue;
        this.#nodes.delete(name);
        this.emit('unregister', name);
      }
    });
    const timer = setTimeout(() => s.destroy(), this.#options.requestTimeout);
    timer.unref();
    let buf: Buffer = Buffer.alloc(0);
    let done = false;
    s.on('data', (chunk: Buffer) => {
      if (done) return; // a registered node's connection: EPMD expects nothing more
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      if (buf.length < 2) return;
      const len = buf.readUInt16BE(0);
      if (len === 0 || len > this.#options.maxRequestBytes) {
        s.destroy();
        return;
      }
      if (buf.length < 2 + len) return;
      done = true;
      clearTimeout(timer);
      this.#handle(s, buf.subarray(2, 2 + len));
    });
  }

  #handle(s: Socket, req: Buffer): void {
    switch (req[0]) {
      case ALIVE2_REQ:
        this.#alive2(s, req);
        return;
      case PORT_PLEASE2_REQ: {
        const r = this.#nodes.get(req.toString('utf8', 1));
        s.end(
          r === undefined
            ? Buffer.from([PORT2_RESP, 1])
            : Buffer.concat([Buffer.from([PORT2_RESP, 0]), encodeNodeInfo(r.info)]),
        );
        return;
      }
      case NAMES_REQ:
      case DUMP_REQ: {
        const head = Buffer.alloc(4);
        head.writeUInt32BE(this.port, 0);
        const lines = [...this.#nodes.values()].map((r) =>
          req[0] === NAMES_REQ
            ? `name ${r.info.name} at port ${r.info.port}\n`
            : `active name     <${r.info.name}> at port ${r.info.port}\n`,
        );
        s.end(Buffer.concat([head, Buffer.from(lines.join(''), 'utf8')]));
        return;
      }
      default:
        s.destroy();
    }
  }

  #alive2(s: Socket, req: Buffer): void {
    const info = decodeNodeInfo(req, 1);
    if (
      info === undefined ||
      info.name === '' ||
      Buffer.byteLength(info.name) > MAX_NAME_BYTES ||
      info.name.includes('@')
    ) {
      s.destroy();
      return;
    }
    const extended = info.highestVersion >= 6;
    const answer = (result: number, creation: number): Buffer => {
      const b = Buffer.alloc(extended ? 6 : 4);
      b[0] = extended ? ALIVE2_X_RESP : ALIVE2_RESP;
      b[1] = result;
      if (extended) b.writeUInt32BE(creation, 2);
      else b.writeUInt16BE(creation, 2);
      return b;
    };
    if (this.#nodes.has(info.name) || this.#nodes.size >= this.#options.maxNodes) {
      s.end(answer(1, 0));
      return;
    }
    // 32-bit creations for version 6 nodes; the old 2-bit range (1..3) for version 5 ones
    this.#creation = this.#creation >= 0xfffffffe ? 1 : this.#creation + 1;
    const creation = extended ? this.#creation : (this.#creation % 3) + 1;
    this.#nodes.set(info.name, { info, creation, socket: s });
    s.write(answer(0, creation));
    this.emit('register', info.name, info.port, creation);
  }

  /** Stops listening and drops every connection (registrations included). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#nodes.clear();
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
