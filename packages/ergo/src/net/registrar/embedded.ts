// The embedded registrar client ESRD:R1 (WIRE.md §4), the default `Registrar` of a node. The
// first node on a host serves the registrar (see server.ts); every later node registers over a
// TCP connection it keeps open. When that connection drops (the server node went away) the
// client retries every `retryInterval`: first to become the server itself, then to register
// with whoever did. Go Ergo nodes follow the same rules, so TS and Go nodes on one host share one
// registrar whichever started first.

import { EventEmitter } from 'node:events';
import net from 'node:net';
import type { Atom } from '../../gen/atom.js';
import {
  type ErgoError,
  ErrIncorrect,
  ErrNoConnection,
  ErrNotAllowed,
  ErrTaken,
  ErrTimeout,
  ErrUnsupported,
} from '../../gen/errors.js';
import type {
  ApplicationRoute,
  NodeRegistrar,
  RegisterRoutes,
  Registrar,
  RegistrarInfo,
  Resolver,
} from '../../gen/network.js';
import type { Event } from '../../gen/event.js';
import type { Version } from '../../gen/node.js';
import type { Route as WireRoute } from '../edf/framework.js';
import { type MessageRegisterReply, MessageRegisterRoutes } from './messages.js';
import { DEFAULT_REGISTRAR_PORT, RegistrarCodec, RegistrarPacketType } from './packet.js';
import { EmbeddedResolver, fromWireRoute, splitNodeName, toWireRoute } from './resolver.js';
import { ignorable, rejected } from '../../gen/ignorable.js';
import { RegistrarServer } from './server.js';

/** Options of {@link EmbeddedRegistrar} (Go's `registrar.Options` plus its fixed timings as named limits). */
export interface EmbeddedRegistrarOptions {
  /** Registrar port: TCP on 127.0.0.1 for registrations, UDP on all interfaces for resolving. Default 4499. */
  port?: number;
  /**
   * Never become the server, only register with an existing one (Go's `DisableServer`, ergo-peer's
   * `-registrar-client-only`). Default false. With no server on the host, `register` fails with
   * ERR_NO_CONNECTION.
   */
  disableServer?: boolean;
  /**
   * How long to wait for the register reply, in ms. Default 3 s (Ergo: 1 s, which the serving node
   * of a loaded host can miss, failing a node's start). Expiry: ERR_TIMEOUT. Also the server's read
   * deadline for a register packet.
   */
  registerTimeout?: number;
  /** How long to wait for a UDP resolve reply, in ms (Ergo: 3 s). Expiry: ERR_TIMEOUT. */
  resolveTimeout?: number;
  /** Delay between attempts to become server or re-register after losing the server, in ms (Ergo: 1 s). */
  retryInterval?: number;
}

/** Defaults of {@link EmbeddedRegistrarOptions}. */
export const EMBEDDED_REGISTRAR_DEFAULTS = Object.freeze({
  port: DEFAULT_REGISTRAR_PORT,
  disableServer: false,
  registerTimeout: 3000,
  resolveTimeout: 3000,
  retryInterval: 1000,
});

/**
 * How long the serving node holds a registration of a name whose holder's connection is still
 * open, waiting for it to end, in ms: a node restarted at once after kill -9 can register before
 * its old process is torn down and its connection closed. Under Go's 1 s register-reply deadline.
 */
const TAKEN_WAIT = 500;

/** The registrar's own version (what Go reports as `ESRD:R1`). */
export const EMBEDDED_REGISTRAR_VERSION: Version = Object.freeze({ name: 'ESRD', release: 'R1', license: 'MIT' });

/** Role of this node towards the host's registrar. */
export type RegistrarRole = 'none' | 'server' | 'client';

/**
 * Events of {@link EmbeddedRegistrar} (an EventEmitter):
 * - `role` (role: 'server' | 'client') — registered: serving the port, or registered with the
 *   server over TCP. Emitted on the first registration and again after every takeover/re-register.
 * - `lost` () — the connection to the server closed; retries follow every `retryInterval`.
 * - `registered` (node) / `unregistered` (node) — while serving: a client node came or went.
 */
export interface EmbeddedRegistrarEvents {
  role: [role: 'server' | 'client'];
  lost: [];
  registered: [node: string];
  unregistered: [node: string];
}

function positiveInt(name: string, v: number | undefined, dflt: number, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < 1 || v > max)
    throw ErrIncorrect.with(`registrar option ${name} must be an integer in 1..${max}, got ${String(v)}`);
  return v;
}

/**
 * The embedded registrar (`ESRD:R1`). Lifecycle: construct (validates options, opens nothing) →
 * `register(node, routes)` once (binds or connects; the node must not start if it rejects) →
 * `resolver().resolve(...)` any time (also before `register`) → `terminate()` (idempotent;
 * releases the port or closes the registration, so another node takes over).
 */
export class EmbeddedRegistrar extends EventEmitter<EmbeddedRegistrarEvents> implements Registrar {
  readonly #port: number;
  readonly #disableServer: boolean;
  readonly #registerTimeout: number;
  readonly #retryInterval: number;
  readonly #codec = new RegistrarCodec();
  readonly #resolver: EmbeddedResolver;
  #node: NodeRegistrar | null = null;
  #name = '';
  #host = '';
  #routes: WireRoute[] = [];
  #server: RegistrarServer | null = null;
  #conn: net.Socket | null = null;
  #retryTimer: NodeJS.Timeout | null = null;
  #terminated = false;

  /** @throws ErgoError ERR_INCORRECT for an option out of range (port 1..65535, times ≥ 1 ms). */
  constructor(options: EmbeddedRegistrarOptions = {}) {
    super();
    const d = EMBEDDED_REGISTRAR_DEFAULTS;
    this.#port = positiveInt('port', options.port, d.port, 65535);
    this.#disableServer = options.disableServer ?? d.disableServer;
    this.#registerTimeout = positiveInt('registerTimeout', options.registerTimeout, d.registerTimeout);
    this.#retryInterval = positiveInt('retryInterval', options.retryInterval, d.retryInterval);
    const resolveTimeout = positiveInt('resolveTimeout', options.resolveTimeout, d.resolveTimeout);
    this.#resolver = new EmbeddedResolver({
      port: this.#port,
      resolveTimeout,
      local: (host, node) =>
        this.#server !== null && host === this.#host
          ? (this.#server.lookup(node)?.map(fromWireRoute) ?? null)
          : undefined,
    });
  }

  /** The registrar port. */
  port(): number {
    return this.#port;
  }

  /** 'server' while this node serves the port, 'client' while registered with another node, else 'none'. */
  role(): RegistrarRole {
    if (this.#server !== null) return 'server';
    if (this.#conn !== null) return 'client';
    return 'none';
  }

  /**
   * Registers `node` with `routes.routes` (one per acceptor). Becomes the server if the port is
   * free (unless `disableServer`), else registers as a client. With no routes (hidden mode) it
   * does neither, as Go: the node only resolves others.
   * @throws ErgoError ERR_TAKEN (the name is registered on this host: the node must not start),
   *   ERR_TIMEOUT (no register reply within `registerTimeout`: something else holds the port),
   *   ERR_NO_CONNECTION (no server and not allowed or able to become one), ERR_INCORRECT (bad
   *   node name or route port), ERR_NOT_ALLOWED (registered already, or terminated).
   */
  register(node: NodeRegistrar, routes: RegisterRoutes): Promise<void> {
    return ignorable(this.#register(node, routes), node.log(), 'embedded registrar register');
  }

  async #register(node: NodeRegistrar, routes: RegisterRoutes): Promise<void> {
    if (this.#terminated) throw ErrNotAllowed.with('registrar is terminated');
    if (this.#node !== null) throw ErrNotAllowed.with(`registrar already registered ${this.#name}`);
    const name = node.name();
    const { host } = splitNodeName(name);
    for (const r of routes.routes) {
      if (!Number.isInteger(r.port) || r.port < 1 || r.port > 65535)
        throw ErrIncorrect.with(`route port must be 1..65535, got ${String(r.port)}`);
    }
    this.#node = node;
    this.#name = name;
    this.#host = host;
    this.#routes = routes.routes.map(toWireRoute);
    // No routes (hidden mode, no acceptor): nobody could reach the node, so it neither serves
    // nor registers — as Go, whose registrar refuses such a registration (ErrIncorrect).
    // Resolving still works (UDP to the registrar of each host); role() stays 'none'.
    if (this.#routes.length === 0) return;
    try {
      await this.#establish(true);
    } catch (err) {
      this.#node = null;
      throw err;
    }
  }

  /**
   * True: a dial asks this registrar again, within its window, after a resolve it did not answer
   * in time. It runs on the peer's own host, as busy as the peer's handshake would be (a host
   * starting many nodes at once), so a late answer is load, not an outage (Registrar.resolveRetryable).
   */
  readonly resolveRetryable = true;

  /** The resolver (UDP to `host:port`; from memory for this host while serving). */
  resolver(): Resolver {
    return this.#resolver;
  }

  /** @throws ErgoError ERR_UNSUPPORTED always (as Go's embedded registrar). */
  registerProxy(_to: Atom): Promise<void> {
    return rejected(
      ErrUnsupported.with('the embedded registrar does not register proxies'),
      undefined,
      'embedded registrar',
    );
  }
  /** @throws ErgoError ERR_UNSUPPORTED always. */
  unregisterProxy(_to: Atom): Promise<void> {
    return rejected(
      ErrUnsupported.with('the embedded registrar does not register proxies'),
      undefined,
      'embedded registrar',
    );
  }
  /** @throws ErgoError ERR_UNSUPPORTED always. */
  registerApplicationRoute(_route: ApplicationRoute): Promise<void> {
    return rejected(
      ErrUnsupported.with('the embedded registrar does not register application routes'),
      undefined,
      'embedded registrar',
    );
  }
  /** @throws ErgoError ERR_UNSUPPORTED always. */
  unregisterApplicationRoute(_name: Atom): Promise<void> {
    return rejected(
      ErrUnsupported.with('the embedded registrar does not register application routes'),
      undefined,
      'embedded registrar',
    );
  }

  /**
   * Nodes registered on this host. Only the server knows them.
   * @throws ErgoError ERR_UNSUPPORTED while this node is a client (or not registered).
   */
  nodes(): Promise<Atom[]> {
    if (this.#server === null)
      return rejected(
        ErrUnsupported.with('only the node serving the embedded registrar knows its nodes'),
        undefined,
        'embedded registrar',
      );
    return Promise.resolve(this.#server.nodes() as Atom[]);
  }

  /** @throws ErgoError ERR_UNSUPPORTED always (no cluster configuration in the embedded registrar). */
  configItem(_item: string): Promise<unknown> {
    return rejected(
      ErrUnsupported.with('the embedded registrar has no configuration'),
      undefined,
      'embedded registrar',
    );
  }
  /** @throws ErgoError ERR_UNSUPPORTED always. */
  config(..._items: string[]): Promise<Map<string, unknown>> {
    return rejected(
      ErrUnsupported.with('the embedded registrar has no configuration'),
      undefined,
      'embedded registrar',
    );
  }

  /** @throws ErgoError ERR_UNSUPPORTED always (Go's embedded registrar has no event either). */
  event(): Event {
    throw ErrUnsupported.with('the embedded registrar has no event');
  }

  /** Facts about the registrar; `embeddedServer` is true while this node serves the port. */
  info(): RegistrarInfo {
    return {
      server: `127.0.0.1:${this.#port}`,
      embeddedServer: this.#server !== null,
      version: this.version(),
      supportConfig: false,
      supportEvent: false,
      supportRegisterProxy: false,
      supportRegisterApplication: false,
    };
  }

  version(): Version {
    return { ...EMBEDDED_REGISTRAR_VERSION };
  }

  /** Releases the port (serving) or closes the registration (client) and stops retrying. Idempotent. */
  terminate(): void {
    if (this.#terminated) return;
    this.#terminated = true;
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    this.#server?.close();
    this.#server = null;
    const c = this.#conn;
    this.#conn = null;
    c?.destroy();
  }

  /** Serve or register. On the first registration a refused connect (lost bind race) is retried briefly. */
  async #establish(first: boolean): Promise<void> {
    const attempts = first ? 3 : 1;
    for (let i = 1; ; i++) {
      if (!this.#disableServer) {
        const server = await RegistrarServer.bind(
          this.#port,
          {
            registered: (n) => this.emit('registered', n),
            unregistered: (n) => this.emit('unregistered', n),
            waiting: (n) =>
              this.#node
                ?.log()
                .info('registrar: %s registers while its previous connection is open: waiting for it to end', n),
            problem: (text) => this.#node?.log().warning('%s', text),
          },
          { registerReadTimeout: this.#registerTimeout, takenWait: Math.min(TAKEN_WAIT, this.#registerTimeout) },
        ).catch((err: NodeJS.ErrnoException) => {
          throw ErrNoConnection.with(
            `cannot serve the registrar on port ${this.#port}: ${err.code ?? err.message}`,
            err,
          );
        });
        if (server !== null) {
          if (this.#terminated) {
            server.close();
            throw ErrNotAllowed.with('registrar is terminated');
          }
          server.registerSelf(this.#name, this.#routes);
          this.#server = server;
          this.emit('role', 'server');
          return;
        }
      }
      try {
        await this.#connect();
        return;
      } catch (err) {
        const refused = ErrNoConnection.is(err);
        if (!refused || i >= attempts) throw err;
      }
      await new Promise((r) => setTimeout(r, 20 * i));
    }
  }

  /** Registers over a fresh TCP connection and keeps it. */
  #connect(): Promise<void> {
    const port = this.#port;
    const timeout = this.#registerTimeout;
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host: '127.0.0.1', noDelay: true });
      let done = false;
      const fail = (err: ErgoError): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        socket.destroy();
        reject(err);
      };
      const timer = setTimeout(
        () =>
          fail(
            ErrTimeout.with(
              `no register reply from the registrar on 127.0.0.1:${port} within ${timeout} ms (is another program using that port?)`,
            ),
          ),
        timeout,
      );
      socket.once('error', (err: NodeJS.ErrnoException) =>
        fail(ErrNoConnection.with(`registrar on 127.0.0.1:${port}: ${err.code ?? err.message}`, err)),
      );
      socket.once('close', () =>
        fail(ErrNoConnection.with(`registrar on 127.0.0.1:${port} closed the connection before replying`)),
      );
      socket.once('connect', () => {
        try {
          socket.write(this.#codec.encode(new MessageRegisterRoutes({ node: this.#name, routes: this.#routes })));
        } catch (err) {
          fail(ErrIncorrect.with(`cannot encode the registration: ${(err as Error).message}`, err));
        }
      });
      socket.once('data', (chunk: Buffer) => {
        let reply: MessageRegisterReply;
        try {
          reply = this.#codec.decode(chunk, RegistrarPacketType.RegisterReply) as MessageRegisterReply;
        } catch (err) {
          fail(ErrNoConnection.with(`registrar on 127.0.0.1:${port} sent a bad reply: ${(err as Error).message}`, err));
          return;
        }
        if (reply.error !== null) {
          if (ErrTaken.is(reply.error))
            fail(ErrTaken.with(`node name ${this.#name} is already registered on this host`));
          else if (ErrIncorrect.is(reply.error))
            fail(ErrIncorrect.with(`registrar on 127.0.0.1:${port} refused ${this.#name}: no routes`, reply.error));
          else
            fail(
              ErrNoConnection.with(
                `registrar on 127.0.0.1:${port} refused ${this.#name}: ${reply.error.message}`,
                reply.error,
              ),
            );
          return;
        }
        if (done) return;
        done = true;
        clearTimeout(timer);
        socket.removeAllListeners();
        if (this.#terminated) {
          socket.destroy();
          reject(ErrNotAllowed.with('registrar is terminated'));
          return;
        }
        socket.on('error', () => {
          // 'close' follows and starts the takeover
        });
        socket.on('data', (extra: Buffer) =>
          this.#node?.log().warning('registrar: ignored %d bytes from the server', extra.length),
        );
        socket.on('close', () => this.#lost(socket));
        this.#conn = socket;
        this.emit('role', 'client');
        resolve();
      });
    });
  }

  #lost(socket: net.Socket): void {
    if (this.#conn !== socket) return;
    this.#conn = null;
    if (this.#terminated) return;
    this.#node
      ?.log()
      .warning(
        'registrar: lost the connection to the registrar server on port %d; retrying every %d ms',
        this.#port,
        this.#retryInterval,
      );
    this.emit('lost');
    this.#scheduleRetry();
  }

  #scheduleRetry(): void {
    if (this.#terminated || this.#retryTimer !== null) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      if (this.#terminated) return;
      this.#establish(false).catch((err: unknown) => {
        if (this.#terminated) return;
        this.#node?.log().warning('registrar: cannot register %s yet: %s', this.#name, (err as Error).message);
        this.#scheduleRetry();
      });
    }, this.#retryInterval);
  }
}

/** The embedded registrar (Go's `registrar.Create(registrar.Options{...})`). @see EmbeddedRegistrar */
export function createEmbeddedRegistrar(options: EmbeddedRegistrarOptions = {}): EmbeddedRegistrar {
  return new EmbeddedRegistrar(options);
}
