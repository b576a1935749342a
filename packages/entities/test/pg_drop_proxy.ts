// A TCP proxy between a PostgreSQL store and its server that drops one connection on purpose, at
// the moment that makes a COMMIT's outcome unknown to the client, deterministically either way:
// - 'before': the client's request carrying a marker (a key name in the statement's parameters)
//   is never forwarded: the connection dies with the request unsent (nothing landed);
// - 'after': the request is forwarded, and the connection dies as the server's first reply comes
//   back (an autocommit statement's reply follows its COMMIT: it landed, the client never hears).
// Used by store.postgres.ambiguous.test.ts and entities.workflows.ambiguous_commit.test.ts.

import net from 'node:net';

/** How a connection is dropped (see the top of this file). */
export type DropMode = 'before' | 'after';

/** The proxy (see the top of this file). */
export class DropProxy {
  readonly #server: net.Server;
  readonly #target: { host: string; port: number };
  #armed: { marker: Buffer; mode: DropMode; dropped: () => void } | undefined;
  readonly #sockets = new Set<net.Socket>();
  /** Every request chunk a client sent through the proxy, in order (dropped ones too). */
  readonly sent: Buffer[] = [];
  port = 0;

  private constructor(target: { host: string; port: number }) {
    this.#target = target;
    this.#server = net.createServer((c) => this.#pair(c));
  }

  /** Listens on a free port of 127.0.0.1, forwarding to `target`. */
  static async start(target: { host: string; port: number }): Promise<DropProxy> {
    const p = new DropProxy(target);
    await new Promise<void>((resolve) => p.#server.listen(0, '127.0.0.1', resolve));
    p.port = (p.#server.address() as net.AddressInfo).port;
    return p;
  }

  /** `url` (a server's `postgres://...@host:port/db`) through this proxy. */
  through(url: string): string {
    return url.replace(`:${this.#target.port}/`, `:${this.port}/`);
  }

  /** Drops the next connection whose request carries `marker`, as `mode` says; resolves once dropped. */
  arm(marker: string, mode: DropMode): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#armed = { marker: Buffer.from(marker), mode, dropped: resolve };
    });
  }

  #pair(c: net.Socket): void {
    const u = net.connect(this.#target.port, this.#target.host);
    this.#sockets.add(c).add(u);
    let dropOnReply: (() => void) | undefined;
    const kill = (): void => {
      c.destroy();
      u.destroy();
    };
    c.on('data', (chunk) => {
      this.sent.push(chunk);
      const a = this.#armed;
      if (a !== undefined && chunk.includes(a.marker)) {
        this.#armed = undefined;
        if (a.mode === 'before') {
          kill();
          a.dropped();
          return;
        }
        dropOnReply = a.dropped;
      }
      u.write(chunk);
    });
    u.on('data', (chunk) => {
      if (dropOnReply !== undefined) {
        kill();
        dropOnReply();
        return;
      }
      c.write(chunk);
    });
    for (const s of [c, u]) {
      s.on('error', () => undefined);
      s.on('close', () => {
        this.#sockets.delete(s);
        kill();
      });
    }
  }

  /** Stops listening and ends every connection. */
  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
