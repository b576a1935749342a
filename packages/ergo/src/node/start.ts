// startNode, Node's entry point: a node with the ENP network stack (net/network), the EDF codec
// (`simulateRemote`, typed protocols' Go types) and the system application. The engine itself
// (start_engine.ts) imports none of them: the browser entry starts it without them.

import type { Atom } from '../gen/atom.js';
import type { Node, NodeOptions } from '../gen/node.js';
import { ignorable } from '../gen/ignorable.js';
import { createSystemApp } from '../app/system/app.js';
import { roundTrip } from '../net/edf/codec.js';
import { NetworkImpl } from '../net/network/network.js';
import { flushLinksNow } from '../net/proto/link.js';
// Installs the EDF registrar of typed protocols' Go types (gen cannot import the codec).
import '../net/protocol_types.js';
import { nodeVersionError } from './node_version.js';
import { setFlushPoint } from './scheduler.js';
import { startEngine, type PlatformParts } from './start_engine.js';

// What a busy node sent to other nodes leaves at the scheduler's flush points (scheduler.ts).
setFlushPoint(flushLinksNow);

const NODE_PARTS: PlatformParts = {
  network: (env, options) => new NetworkImpl(env, options),
  roundTrip: (value) => roundTrip(value),
  systemApp: createSystemApp,
};

/**
 * Starts a node named `name` (`name@host`) and resolves with its root handle: the `Node` that
 * acts for the node itself (its stop() waits for every process). Rejects with ErrNodeVersion on
 * a Node.js older than 22, ErrIncorrect for a malformed name or options, or with the error of an
 * application in `options.applications` that failed to load or start (the node is stopped by
 * force first). The node runs until `stop()`/`stopForce()` (or a signal, with `handleSignals`).
 */
export function startNode(name: Atom | string, options: NodeOptions = {}): Promise<Node> {
  // Safe to leave un-awaited (docs/actors.md, Returned Promises are safe to ignore).
  return ignorable(startNodeAsync(name, options), undefined, 'startNode');
}

function startNodeAsync(name: Atom | string, options: NodeOptions): Promise<Node> {
  const tooOld = nodeVersionError();
  if (tooOld !== undefined) return Promise.reject(tooOld);
  return startEngine(name, options, NODE_PARTS);
}
