// Route helpers that fixtures in child OS processes can import too (no node:test here, unlike
// helpers.ts): the port a node listens on and a static route to a loopback port.

import type { NetworkRoute, Node } from '../src/index.js';

const V = { name: '', release: '' };

/** The port of a node's first acceptor. */
export function portOf(node: Node): number {
  const i = node.network().acceptors()[0]!.info().interface;
  return Number(i.slice(i.lastIndexOf(':') + 1));
}

/** A static route to host:port (host: 127.0.0.1 unless given). */
export function routeTo(
  port: number,
  extra: Partial<NetworkRoute> = {},
  tls = false,
  host = '127.0.0.1',
): NetworkRoute {
  return { route: { host, port, tls, handshakeVersion: V, protoVersion: V }, ...extra };
}
