// Static routes of the bench's nodes: every node it dials listens on loopback, found by port.

import type { NetworkRoute, Node } from 'ergo-ts';

const NO_VERSION = { name: '', release: '' };

/** A static route to 127.0.0.1:`port` (plain TCP, any handshake and protocol version). */
export function loopbackRoute(port: number): NetworkRoute {
  return { route: { host: '127.0.0.1', port, tls: false, handshakeVersion: NO_VERSION, protoVersion: NO_VERSION } };
}

/** The port of `node`'s first acceptor. */
export function acceptorPort(node: Node): number {
  const i = node.network().acceptors()[0]!.info().interface;
  return Number(i.slice(i.lastIndexOf(':') + 1));
}
