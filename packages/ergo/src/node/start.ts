// startNode: the entry point.

import type { Atom } from '../gen/atom.js';
import type { Node, NodeOptions } from '../gen/node.js';
import { ErrIncorrect } from '../gen/errors.js';
import { NodeImpl, validateNodeName } from './node.js';

/**
 * Starts a node named `name` (`name@host`). Rejects with ErrIncorrect for a malformed name or
 * options. The node runs until `stop()`/`stopForce()` (or a signal, with `handleSignals`).
 */
export async function startNode(name: Atom | string, options: NodeOptions = {}): Promise<Node> {
  const n = validateNodeName(name);
  const st = options.shutdownTimeout;
  if (st !== undefined && !(Number.isInteger(st) && st > 0 && st <= 2 ** 31 - 1)) {
    throw ErrIncorrect.with(`shutdownTimeout ${String(st)} (milliseconds, a positive integer)`);
  }
  const node = new NodeImpl(n, options);
  node.startServices();
  try {
    for (const app of options.applications ?? []) {
      const name = await node.applicationLoad(app);
      await node.applicationStart(name);
    }
  } catch (e) {
    await node.stopForce().catch(() => undefined);
    throw e;
  }
  return node;
}
