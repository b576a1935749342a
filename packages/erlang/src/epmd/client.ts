// EPMD client: registers a node (ALIVE2, the registration lives as long as its TCP connection,
// re-registered if EPMD goes away), resolves a name to its port (PORT_PLEASE2) and lists the
// names EPMD knows (NAMES).

import { EventEmitter } from 'node:events';
import { connect, type Socket } from 'node:net';
import { EpmdError } from '../errors.js';
import { SocketReader } from '../io/socket_reader.js';
import {
  ALIVE2_REQ,
  ALIVE2_RESP,
  ALIVE2_X_RESP,
  NAMES_REQ,
  PORT2_RESP,
  PORT_PLEASE2_REQ,
  checkAliveName,
  decodeNodeInfo,
  defaultEpmdPort,
  encodeNodeInfo,
  request,
  type EpmdNodeInfo,
} from './protocol.js';
import { ignorable } from 'ergo-ts';

/** Options of {@link EpmdClient}. */
export interface EpmdClientOptions {
  /** EPMD's host for register/names and the default for portPlease. Default `127.0.0.1`. */
  host?: string;
  /** EPMD's port. Default `ERL_EPMD_PORT` from the environment, else 4369. */
  port?: number;
  /** Time allowed for one request (connect + answer), in ms. Default 5000. Code `ERR_EPMD_TIMEOUT`. */
  timeout?: number;
  /** Largest NAMES / PORT2 answer accepted, in bytes. Default 1 MiB. Code `ERR_EPMD_PROTOCOL`. */
  maxResponseBytes?: number;
}

/** Per-request options. */
export interface EpmdRequestOptions {
  /** Overrides the client's timeout (ms). */
  timeout?: number;
  signal?: AbortSignal;
}

/** Options of {@link EpmdClient.register}. */
export interface EpmdRegisterOptions extends EpmdRequestOptions {
  /** The alive name (no `@host`). */
  name: string;
  /** The node's distribution listener port. */
  port: number;
  /** Announce the node as hidden (72) rather than normal (77). Default false, as OTP. */
  hidden?: boolean;
  /** Versions announced; default 6 / 5 like OTP 25. */
  highestVersion?: number;
  lowestVersion?: number;
  /** Extra bytes (normally none). */
  extra?: Uint8Array;
  /** Delay between re-register attempts after EPMD dropped the registration, ms. Default 1000. */
  retryInterval?: number;
}

/** The names EPMD knows (NAMES_REQ). */
export interface EpmdNames {
  /** EPMD's own port as it reports it. */
  epmdPort: number;
  nodes: { name: string; port: number }[];
}

/** Events of {@link EpmdRegistration}. */
export interface EpmdRegistrationEvents {
  /** The connection to EPMD was lost; the name is unregistered until re-registered. */
  lost: [err: Error];
  /** Registered again after a loss, with EPMD's new creation. */
  registered: [creation: number];
}

/**
 * A live registration. The name stays registered while this object's connection to EPMD is
 * open; if EPMD drops it (EPMD restarted), it re-registers every `retryInterval` ms until
 * {@link close}. Emits `lost` and `registered`.
 */
export class EpmdRegistration extends EventEmitter<EpmdRegistrationEvents> {
  /** EPMD's creation for this registration (32-bit from ALIVE2_X_RESP, 16-bit from ALIVE2_RESP). */
  creation: number;
  #socket: Socket;
  #closed = false;
  #retry: NodeJS.Timeout | undefined;
  readonly #client: EpmdClient;
  readonly #options: EpmdRegisterOptions;

  /** @internal */
  constructor(client: EpmdClient, options: EpmdRegisterOptions, socket: Socket, creation: number) {
    super();
    this.#client = client;
    this.#options = options;
    this.creation = creation;
    this.#socket = socket;
    this.#watch(socket);
  }

  /** True while EPMD holds the name for this registration. */
  get registered(): boolean {
    return !this.#closed && !this.#socket.destroyed;
  }

  #watch(socket: Socket): void {
    socket.on('data', () => {}); // EPMD sends nothing more; keep the stream flowing
    socket.on('error', () => {});
    socket.on('close', () => {
      if (this.#closed || socket !== this.#socket) return;
      this.emit(
        'lost',
        new EpmdError('ERR_EPMD_CONNECT', `registration of ${this.#options.name} lost: EPMD closed the connection`),
      );
      this.#scheduleRetry();
    });
  }

  #scheduleRetry(): void {
    if (this.#closed) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      // the first registration's signal governed that request only, not the retries
      this.#client.alive2({ ...this.#options, signal: undefined }).then(
        ({ socket, creation }) => {
          if (this.#closed) {
            socket.destroy();
            return;
          }
          this.#socket = socket;
          this.creation = creation;
          this.#watch(socket);
          this.emit('registered', creation);
        },
        () => this.#scheduleRetry(),
      );
    }, this.#options.retryInterval ?? 1000);
    this.#retry.unref();
  }

  /** Unregisters (closes the connection). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    const s = this.#socket;
    if (s.destroyed) return;
    await new Promise<void>((resolve) => {
      s.once('close', () => resolve());
      s.destroy();
    });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Talks to one EPMD. Stateless apart from its options; every request opens its own connection. */
export class EpmdClient {
  readonly host: string;
  readonly port: number;
  readonly timeout: number;
  readonly maxResponseBytes: number;

  /** @throws EpmdError `ERR_EPMD_INCORRECT` for an out-of-range port or timeout. */
  constructor(options: EpmdClientOptions = {}) {
    this.host = options.host ?? '127.0.0.1';
    this.port = options.port ?? defaultEpmdPort();
    this.timeout = options.timeout ?? 5000;
    this.maxResponseBytes = options.maxResponseBytes ?? 1024 * 1024;
    if (!Number.isInteger(this.port) || this.port < 1 || this.port > 65535)
      throw new EpmdError('ERR_EPMD_INCORRECT', `port ${this.port}`);
    if (!(this.timeout > 0)) throw new EpmdError('ERR_EPMD_INCORRECT', `timeout ${this.timeout}`);
  }

  /**
   * Registers `name` → `port` (ALIVE2) and keeps the registration open.
   * @throws EpmdError `ERR_EPMD_TAKEN` (name registered already), `ERR_EPMD_CONNECT`,
   *   `ERR_EPMD_TIMEOUT`, `ERR_EPMD_ABORTED`, `ERR_EPMD_PROTOCOL`, `ERR_EPMD_INCORRECT`.
   */
  register(options: EpmdRegisterOptions): Promise<EpmdRegistration> {
    return ignorable(this.#register(options), undefined, 'epmd register');
  }

  async #register(options: EpmdRegisterOptions): Promise<EpmdRegistration> {
    const { socket, creation } = await this.alive2(options);
    return new EpmdRegistration(this, options, socket, creation);
  }

  /** @internal One ALIVE2 exchange; resolves with the still-open socket. */
  alive2(options: EpmdRegisterOptions): Promise<{ socket: Socket; creation: number }> {
    return ignorable(this.#alive2(options), undefined, 'epmd alive2');
  }

  async #alive2(options: EpmdRegisterOptions): Promise<{ socket: Socket; creation: number }> {
    const { name, port } = options;
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      throw new EpmdError('ERR_EPMD_INCORRECT', `listener port ${port}`);
    const body = encodeNodeInfo({
      name,
      port,
      nodeType: options.hidden === true ? 72 : 77,
      protocol: 0,
      highestVersion: options.highestVersion ?? 6,
      lowestVersion: options.lowestVersion ?? 5,
      extra: options.extra ?? new Uint8Array(0),
    });
    return this.#exchange(this.host, request(ALIVE2_REQ, body), options, true, async (reader, socket) => {
      const head = await reader.read(2);
      const result = head[1]!;
      let creation: number;
      if (head[0] === ALIVE2_X_RESP) creation = (await reader.read(4)).readUInt32BE(0);
      else if (head[0] === ALIVE2_RESP) creation = (await reader.read(2)).readUInt16BE(0);
      else throw new EpmdError('ERR_EPMD_PROTOCOL', `unexpected ALIVE2 answer tag ${head[0]}`);
      if (result !== 0)
        throw new EpmdError('ERR_EPMD_TAKEN', `EPMD refused to register ${name} (result ${result}): the name is taken`);
      return { socket, creation };
    });
  }

  /**
   * Looks up an alive name (PORT_PLEASE2) on `host` (default: the client's host).
   * @returns the node's description, or undefined if EPMD does not know the name.
   * @throws EpmdError `ERR_EPMD_CONNECT`, `ERR_EPMD_TIMEOUT`, `ERR_EPMD_ABORTED`, `ERR_EPMD_PROTOCOL`,
   *   `ERR_EPMD_INCORRECT`.
   */
  portPlease(name: string, options: EpmdRequestOptions & { host?: string } = {}): Promise<EpmdNodeInfo | undefined> {
    return ignorable(this.#portPlease(name, options), undefined, 'epmd portPlease');
  }

  async #portPlease(
    name: string,
    options: EpmdRequestOptions & { host?: string } = {},
  ): Promise<EpmdNodeInfo | undefined> {
    const req = request(PORT_PLEASE2_REQ, checkAliveName(name));
    return this.#exchange(options.host ?? this.host, req, options, false, async (reader) => {
      const b = await reader.readToEnd(
        this.maxResponseBytes,
        () => new EpmdError('ERR_EPMD_PROTOCOL', 'PORT2 answer too long'),
      );
      if (b.length < 2 || b[0] !== PORT2_RESP)
        throw new EpmdError('ERR_EPMD_PROTOCOL', `bad PORT2 answer (${b.subarray(0, 16).toString('hex')})`);
      if (b[1] !== 0) return undefined;
      const info = decodeNodeInfo(b, 2);
      if (info === undefined) throw new EpmdError('ERR_EPMD_PROTOCOL', 'malformed PORT2 answer');
      return info;
    });
  }

  /**
   * Resolves a full node name `alive@host`: asks the EPMD on `host` (at this client's port).
   * @returns host, port and the announced versions.
   * @throws EpmdError `ERR_EPMD_INCORRECT` (not exactly one `@`), `ERR_EPMD_NOT_FOUND` (EPMD
   *   does not know the name), `ERR_EPMD_PROTOCOL` (the node does not speak version 6), or a
   *   request error.
   */
  resolve(node: string, options: EpmdRequestOptions = {}): Promise<{ host: string; port: number; info: EpmdNodeInfo }> {
    return ignorable(this.#resolve(node, options), undefined, 'epmd resolve');
  }

  async #resolve(
    node: string,
    options: EpmdRequestOptions = {},
  ): Promise<{ host: string; port: number; info: EpmdNodeInfo }> {
    const parts = node.split('@');
    if (parts.length !== 2 || parts[0] === '' || parts[1] === '')
      throw new EpmdError('ERR_EPMD_INCORRECT', `node name ${JSON.stringify(node)} is not alive@host`);
    const host = parts[1]!;
    const info = await this.portPlease(parts[0]!, { ...options, host });
    if (info === undefined) throw new EpmdError('ERR_EPMD_NOT_FOUND', `${node} is not registered with EPMD on ${host}`);
    if (info.highestVersion < 6 || info.lowestVersion > 6) {
      throw new EpmdError(
        'ERR_EPMD_PROTOCOL',
        `${node} speaks handshake versions ${info.lowestVersion}..${info.highestVersion}, not 6`,
      );
    }
    return { host, port: info.port, info };
  }

  /**
   * Lists the registered names (NAMES).
   * @throws EpmdError `ERR_EPMD_CONNECT`, `ERR_EPMD_TIMEOUT`, `ERR_EPMD_ABORTED`, `ERR_EPMD_PROTOCOL`.
   */
  names(options: EpmdRequestOptions = {}): Promise<EpmdNames> {
    return ignorable(this.#names(options), undefined, 'epmd names');
  }

  async #names(options: EpmdRequestOptions = {}): Promise<EpmdNames> {
    return this.#exchange(this.host, request(NAMES_REQ), options, false, async (reader) => {
      const b = await reader.readToEnd(
        this.maxResponseBytes,
        () => new EpmdError('ERR_EPMD_PROTOCOL', 'NAMES answer too long'),
      );
      if (b.length < 4) throw new EpmdError('ERR_EPMD_PROTOCOL', 'NAMES answer shorter than its port field');
      const nodes: { name: string; port: number }[] = [];
      for (const line of b.toString('utf8', 4).split('\n')) {
        if (line === '') continue;
        const m = /^name (.+) at port (\d+)$/.exec(line);
        if (m === null) throw new EpmdError('ERR_EPMD_PROTOCOL', `NAMES line ${JSON.stringify(line)}`);
        nodes.push({ name: m[1]!, port: Number(m[2]) });
      }
      return { epmdPort: b.readUInt32BE(0), nodes };
    });
  }

  /** Connects, writes `req`, runs `answer` under the timeout/signal; closes unless `keep` and it succeeded. */
  async #exchange<R>(
    host: string,
    req: Buffer,
    options: EpmdRequestOptions,
    keepOpen: boolean,
    answer: (reader: SocketReader, socket: Socket) => Promise<R>,
  ): Promise<R> {
    const timeout = options.timeout ?? this.timeout;
    const signal = options.signal;
    if (signal?.aborted) throw new EpmdError('ERR_EPMD_ABORTED', 'aborted', { cause: signal.reason });
    const socket = connect({ host, port: this.port });
    socket.setNoDelay(true);
    const where = `${host}:${this.port}`;
    const reader = new SocketReader(
      socket,
      () => new EpmdError('ERR_EPMD_CONNECT', `EPMD at ${where} closed the connection early`),
      (e) => new EpmdError('ERR_EPMD_CONNECT', `cannot reach EPMD at ${where}: ${e.message}`, { cause: e }),
    );
    const timer = setTimeout(
      () => reader.fail(new EpmdError('ERR_EPMD_TIMEOUT', `no answer from EPMD at ${where} within ${timeout} ms`)),
      timeout,
    );
    const onAbort = (): void => reader.fail(new EpmdError('ERR_EPMD_ABORTED', 'aborted', { cause: signal?.reason }));
    signal?.addEventListener('abort', onAbort, { once: true });
    let keep = false;
    try {
      socket.write(req);
      const r = await answer(reader, socket);
      keep = keepOpen;
      return r;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (keep) socket.on('error', () => {}); // the registration watches 'close'
      reader.detach();
      if (!keep) socket.destroy();
    }
  }
}
