// spawnReserved: a process put back under the PID an earlier incarnation of its node gave it. A
// node started with `NodeOptions.incarnation` takes that incarnation's creation and hands out ids
// from `firstID` on, so the ids below stay free of new spawns; this spawn alone takes one of them
// (a tab's kept process recreated after a page reload keeps its PID, and the links and monitors
// others hold on that PID keep meaning it). Everything else is an ordinary local spawn.

import type { Atom } from '../gen/atom.js';
import { ErrIncorrect, ErrTaken } from '../gen/errors.js';
import { rejected } from '../gen/ignorable.js';
import type { Node } from '../gen/node.js';
import type { ProcessOptions } from '../gen/options.js';
import type { PID } from '../gen/pid.js';
import type { InitArgs, ProcessBehavior, ProcessFactory } from '../gen/process.js';
import type { CheckHandlers, ProtocolOf } from '../gen/protocol.js';
import { NodeHandle } from './handle.js';
import type { NodeImpl } from './node.js';
import { spawnLocal } from './spawn.js';

/** The lowest id a spawn hands out (Ergo's first process is `<…0.1001>`). */
const FIRST_ID = 1001;

/**
 * Spawns `factory` on `node` (the node itself is its parent) under PID id `id` of the node's
 * creation, registered under `name` unless it is ''. `id` must be a reserved id of a node
 * started with {@link NodeOptions.incarnation}: from 1001 to below its `firstID`, held by no
 * process. Safe to leave un-awaited (a failure is logged at debug). Rejects with ErrIncorrect
 * (a node without an incarnation, an id outside the reserved range, a bad option or factory),
 * ErrTaken (the id or the name is in use), ErrNodeTerminated, or init's error — as `spawn`.
 */
export function spawnReserved<B extends ProcessBehavior>(
  node: Node,
  id: number,
  name: Atom | string,
  factory: ProcessFactory<B> & NoInfer<CheckHandlers<B>>,
  options?: ProcessOptions,
  ...args: InitArgs<B>
): Promise<PID<ProtocolOf<B>>> {
  let n: NodeImpl;
  try {
    if (!(node instanceof NodeHandle)) throw ErrIncorrect.with('spawnReserved needs a node handle (from startNode)');
    n = NodeHandle.engineOf(node);
    n.checkRunning();
    const first = n.options.incarnation?.firstID;
    if (first === undefined) throw ErrIncorrect.with('spawnReserved: the node has no incarnation (no reserved ids)');
    if (!Number.isSafeInteger(id) || id < FIRST_ID || id >= first)
      throw ErrIncorrect.with(`spawnReserved: id ${String(id)} is not reserved (${FIRST_ID} .. ${first - 1})`);
    if (n.processes.has(id) || n.initing.has(id)) throw ErrTaken.with(`PID id ${id}`);
    if (typeof name !== 'string') throw ErrIncorrect.with('spawnReserved: name must be a string');
  } catch (e) {
    return rejected(e, node instanceof NodeHandle ? node.log : undefined, 'spawnReserved');
  }
  return spawnLocal(n, { factory, options, args, register: name, id }, node.log, 'spawnReserved') as Promise<
    PID<ProtocolOf<B>>
  >;
}
