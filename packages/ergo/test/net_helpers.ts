// Test helpers for the network suites: quiet nodes with a network on an OS-picked port, and a
// static route from one to the other.

import { strict as assert } from 'node:assert';

import type { NetworkOptions, Node } from '../src/index.js';
import type { EnpConnection } from '../src/net/proto/connection.js';
import type { Heartbeat } from '../src/net/proto/heartbeat.js';
import { nodeName, quietNode, type LogCapture } from './helpers.js';
import { portOf, routeTo } from './route_helpers.js';

export { portOf, routeTo };

/** A quiet node with a network listening on a port the OS picks. */
export function netNode(prefix: string, network: NetworkOptions = {}, capture?: LogCapture): Promise<Node> {
  return quietNode(
    { network: { cookie: 'net-secret', acceptors: [{ port: 0 }], registrar: null, ...network } },
    capture,
    nodeName(prefix),
  );
}

/** Two nodes; `a` has a static route to `b`. Both stop after the test. */
export async function netPair(
  t: { after(fn: () => Promise<void>): void },
  networkA: NetworkOptions = {},
  networkB: NetworkOptions = {},
  captureA?: LogCapture,
  captureB?: LogCapture,
): Promise<{ a: Node; b: Node }> {
  const b = await netNode('b', networkB, captureB);
  const a = await netNode(
    'a',
    { ...networkA, routes: [{ match: b.name.replace(/[.$]/g, '\\$&'), route: routeTo(portOf(b)) }] },
    captureA,
  );
  t.after(async () => {
    await a.stop().catch(() => undefined);
    await b.stop().catch(() => undefined);
  });
  return { a, b };
}

/** `node`'s connection to `peer` (the network's own table: the tests read its counters). */
export function connectionTo(node: Node, peer: string): EnpConnection {
  const c = (node.network() as unknown as { connections: Map<string, EnpConnection> }).connections.get(peer);
  assert.ok(c !== undefined, `${node.name} has no connection to ${peer}`);
  return c;
}

/** The heartbeat of connection `c` (it has one while a peerStallTimeout is set). */
export function heartbeatOf(c: EnpConnection): Heartbeat {
  const h = (c as unknown as { heartbeat: Heartbeat | null }).heartbeat;
  assert.ok(h !== null, 'the connection has a heartbeat');
  return h;
}
