// startNode: the entry point. Builds the engine, starts its services and the applications given
// in the options, and hands back the root handle (the engine itself stays private).

import type { Atom } from '../gen/atom.js';
import type { Node, NodeOptions } from '../gen/node.js';
import { ErrIncorrect } from '../gen/errors.js';
import { NodeImpl, validateNodeName } from './node.js';

const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Starts a node named `name` (`name@host`) and resolves with its root handle: the `Node` that
 * acts for the node itself (its stop() waits for every process). Rejects with ErrIncorrect for a
 * malformed name or options, or with the error of an application in `options.applications` that
 * failed to load or start (the node is stopped by force first). The node runs until
 * `stop()`/`stopForce()` (or a signal, with `handleSignals`).
 */
export async function startNode(name: Atom | string, options: NodeOptions = {}): Promise<Node> {
  const n = validateNodeName(name);
  const st = options.shutdownTimeout;
  if (st !== undefined && !(Number.isInteger(st) && st > 0 && st <= MAX_TIMER_MS)) {
    throw ErrIncorrect.with(`shutdownTimeout ${String(st)} (milliseconds, a positive integer)`);
  }
  const kg = options.killGraceMs;
  if (kg !== undefined && !(Number.isInteger(kg) && kg >= 0 && kg <= MAX_TIMER_MS)) {
    throw ErrIncorrect.with(`killGraceMs ${String(kg)} (milliseconds, an integer ≥ 0)`);
  }
  const node = new NodeImpl(n, options);
  node.startServices();
  const root = node.root;
  try {
    for (const app of options.applications ?? []) {
      const name = await root.applicationLoad(app);
      await root.applicationStart(name);
    }
  } catch (e) {
    await root.stopForce().catch(() => undefined);
    throw e;
  }
  return root;
}
