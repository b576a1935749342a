// A TCP proxy between a PostgreSQL store and its server that makes one new session end at the worst
// moment for the client, deterministically: the server's FATAL (57P01, its backend terminated) in
// the same read as the ReadyForQuery that ends the session's startup. A primary whose postmaster
// dies does this by itself (its backends end with 57P01 "terminating connection due to unexpected
// postmaster exit" as soon as they wait for input; HAProxy relays the two messages together), as
// a failover test saw once in CI; here it is made to happen on demand. When armed, the next
// connection's startup replies are held at their ReadyForQuery; the backend (its pid from
// BackendKeyData) is terminated through `terminate`, and once its FATAL has arrived both go to the
// client in one write. Used by store.postgres.session_end.test.ts.

import net from 'node:net';

/** One server message's type byte and where it ends in `buf` (undefined: not whole yet). */
function messageAt(buf: Buffer, at: number): { type: string; end: number } | undefined {
  if (buf.length < at + 5) return undefined;
  const end = at + 1 + buf.readInt32BE(at + 1);
  return buf.length < end ? undefined : { type: String.fromCharCode(buf[at]!), end };
}

/** The proxy (see the top of this file). */
export class FatalProxy {
  readonly #server: net.Server;
  readonly #target: { host: string; port: number };
  readonly #terminate: (pid: number) => Promise<void>;
  #armed: (() => void) | undefined;
  readonly #sockets = new Set<net.Socket>();
  /** The sessions open through the proxy: each one's backend pid (once known) and its client's close. */
  readonly #sessions = new Map<net.Socket, { pid?: number; closed: Promise<void> }>();
  port = 0;

  private constructor(target: { host: string; port: number }, terminate: (pid: number) => Promise<void>) {
    this.#target = target;
    this.#terminate = terminate;
    this.#server = net.createServer((c) => this.#pair(c));
  }

  /** Listens on a free port of 127.0.0.1, forwarding to `target`; `terminate` ends a backend by pid. */
  static async start(
    target: { host: string; port: number },
    terminate: (pid: number) => Promise<void>,
  ): Promise<FatalProxy> {
    const p = new FatalProxy(target, terminate);
    await new Promise<void>((resolve) => p.#server.listen(0, '127.0.0.1', resolve));
    p.port = (p.#server.address() as net.AddressInfo).port;
    return p;
  }

  /** `url` (a server's `postgres://...@host:port/db`) through this proxy. */
  through(url: string): string {
    return url.replace(`:${this.#target.port}/`, `:${this.port}/`);
  }

  /** Ends the next new session as the top of this file says; resolves once its FATAL was sent on. */
  arm(): Promise<void> {
    return new Promise<void>((resolve) => (this.#armed = resolve));
  }

  /**
   * Ends every session open through the proxy (its backend terminated) and resolves once the client
   * closed each: the client has read its FATAL by then, so its pool has dropped the idle ones.
   */
  async endAll(): Promise<void> {
    const all = [...this.#sessions.values()];
    await Promise.all(all.map(async (x) => (x.pid === undefined ? undefined : this.#terminate(x.pid))));
    await Promise.all(all.map((x) => x.closed));
  }

  #pair(c: net.Socket): void {
    const u = net.connect(this.#target.port, this.#target.host);
    this.#sockets.add(c).add(u);
    const session: { pid?: number; closed: Promise<void> } = {
      closed: new Promise<void>((resolve) => c.on('close', () => resolve())),
    };
    this.#sessions.set(c, session);
    const kill = (): void => {
      c.destroy();
      u.destroy();
    };
    c.on('data', (chunk) => u.write(chunk));
    // The server's bytes, held while this connection's startup is read (and, armed, until its FATAL).
    let held: Buffer | undefined = Buffer.alloc(0);
    let parsed = 0;
    let pid: number | undefined;
    let fatalAfter: number | undefined; // armed: where the FATAL must start (after the ReadyForQuery)
    let done: (() => void) | undefined;
    u.on('data', (chunk) => {
      if (held === undefined) return void c.write(chunk);
      held = Buffer.concat([held, chunk]);
      for (let m = messageAt(held, parsed); m !== undefined; m = messageAt(held, parsed)) {
        const at = parsed;
        parsed = m.end;
        if (fatalAfter !== undefined) {
          if (m.type !== 'E') continue;
          c.write(held); // the ReadyForQuery and the FATAL in one write
          held = undefined;
          done?.();
          return;
        }
        if (m.type === 'K') session.pid = pid = held.readInt32BE(at + 5);
        if (m.type !== 'Z') continue;
        const armed = this.#armed;
        if (armed === undefined || pid === undefined) {
          c.write(held);
          held = undefined;
          return;
        }
        this.#armed = undefined;
        fatalAfter = parsed;
        done = armed;
        this.#terminate(pid).catch(kill);
        return;
      }
    });
    // The server's close is passed on after what it sent (a destroy would drop an unflushed FATAL).
    c.on('error', () => undefined).on('close', () => {
      this.#sockets.delete(c);
      this.#sessions.delete(c);
      u.destroy();
    });
    u.on('error', () => undefined).on('close', () => (this.#sockets.delete(u), c.end()));
  }

  /** Stops listening and ends every connection. */
  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
