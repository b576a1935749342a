// A TCP proxy that can stop forwarding, for the tests of a member whose store is cut off
// (entities.stop_bounded.test.ts, entities.member_stop.test.ts).

import net from 'node:net';

/**
 * A TCP proxy to a PostgreSQL server that can stop forwarding: every byte either way is held and
 * new connections are accepted but never reach the server (a network cut, as a member cut off
 * from its database sees it). `end` closes what it held and forwards again.
 */
export class CutProxy {
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();
  #cut = false;
  port = 0;

  constructor(readonly target: { host: string; port: number }) {
    this.#server = net.createServer((c) => this.#pair(c));
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.port = (this.#server.address() as net.AddressInfo).port;
  }

  #pair(c: net.Socket): void {
    this.#sockets.add(c);
    c.on('error', () => undefined);
    c.on('close', () => this.#sockets.delete(c));
    if (this.#cut) return; // accepted, never forwarded
    const u = net.connect(this.target.port, this.target.host);
    this.#sockets.add(u);
    u.on('error', () => undefined);
    u.on('close', () => {
      this.#sockets.delete(u);
      c.destroy();
    });
    c.on('close', () => u.destroy());
    c.on('data', (d) => {
      if (!this.#cut) u.write(d);
    });
    u.on('data', (d) => {
      if (!this.#cut) c.write(d);
    });
  }

  cutNow(): void {
    this.#cut = true;
  }

  heal(): void {
    this.#cut = false;
    for (const s of this.#sockets) s.destroy();
  }

  close(): Promise<void> {
    this.heal();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}
