// Engine internals for the project's own tests and engine seams. Not exported from the package
// (its `exports` map has no path to it): user code works with the public `Node` handle only.
// Tests import it from the build output (`../src/node/internals.js` next to the compiled tests).

import type { Node } from '../gen/node.js';
import { NodeHandle } from './handle.js';
import type { NodeImpl } from './node.js';
import type { ProcessImpl } from './process.js';
import type { TargetHost } from './targets.js';

/**
 * The engine behind a node handle (a root or a process handle). Throws a TypeError for anything
 * else: only handles made by startNode / `process.node` have one.
 */
export function engineOf(node: Node): NodeImpl {
  if (!(node instanceof NodeHandle)) throw new TypeError('not a node handle');
  return NodeHandle.engineOf(node);
}

/** The process a handle acts for (null for the root handle startNode returns). */
export function callerOf(node: Node): ProcessImpl | null {
  if (!(node instanceof NodeHandle)) throw new TypeError('not a node handle');
  return NodeHandle.callerOf(node);
}

/** The keyed relation hosts (names, aliases, events, nodes with watchers) of a node. */
export function keyedHostsOf(node: NodeImpl): TargetHost[] {
  // Tests check every host's relation counts.
  return node.targets.allKeyed();
}

export type { NodeImpl } from './node.js';
export type { ProcessImpl } from './process.js';
export type { StopHook } from './shutdown.js';
export {
  checkSpawnOptions,
  localSpawnRequest,
  spawnLocal,
  spawnProcess,
  type LocalSpawn,
  type SpawnRequest,
} from './spawn.js';
export { DEFAULT_KILL_GRACE } from './node.js';
