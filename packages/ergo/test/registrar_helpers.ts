// Test helpers for the embedded registrar: a port free for TCP and UDP (never 4499, so tests run
// beside real nodes and each other), a real node as the registrar's NodeRegistrar, a route to an
// acceptor port, and a TCP witness that proves a peer dialled the route it resolved.

import { once } from 'node:events';
import net from 'node:net';
import { startNode, type Node } from '../src/index.js';
import type { NodeRegistrar, RegisterRoutes, Route } from '../src/gen/network.js';

/** A port free for both TCP and UDP, outside the kernel's ephemeral range. */
export { freeTcpUdpPort as freePort } from '@ergo-ts/test-support';

/** A started local node, its NodeRegistrar view, and its log lines (kept, not printed). */
export async function localNode(name: string): Promise<{ node: Node; reg: NodeRegistrar; logs: string[] }> {
  const logs: string[] = [];
  const node = await startNode(name, {
    log: { defaultLogger: { output: { write: (chunk: string) => logs.push(chunk) } } },
  });
  const reg: NodeRegistrar = {
    name: () => node.name,
    log: () => node.log,
    registerEvent: (n, o) => node.registerEvent(n, o),
    unregisterEvent: (n) => node.unregisterEvent(n),
    sendEvent: (n, t, m) => node.sendEvent(n, t, m),
  };
  return { node, reg, logs };
}

/** Registration of one EHS/ENP route on `port`, empty host (as Go registers). */
export function routesOn(port: number): RegisterRoutes {
  const route: Route = {
    host: '',
    port,
    tls: false,
    handshakeVersion: { name: 'EHS', release: 'R1', license: 'MIT' },
    protoVersion: { name: 'ENP', release: 'R1', license: 'MIT' },
  };
  return { routes: [route], applicationRoutes: [], proxies: [] };
}

/** A listener standing in for an acceptor: resolves with the first bytes a dialler sends. */
export class Witness {
  readonly server = net.createServer();
  readonly firstBytes: Promise<Buffer>;
  port = 0;

  private constructor() {
    this.firstBytes = new Promise((resolve) => {
      this.server.on('connection', (s) => {
        s.once('data', (d: Buffer) => {
          resolve(d);
          s.destroy();
        });
        s.on('error', () => {});
      });
    });
  }

  static async start(): Promise<Witness> {
    const w = new Witness();
    w.server.listen(0, '127.0.0.1');
    await once(w.server, 'listening');
    w.port = (w.server.address() as net.AddressInfo).port;
    return w;
  }

  close(): void {
    this.server.close();
  }
}
