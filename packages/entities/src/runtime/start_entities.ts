// Starting the entities runtime of a node: `startEntities` (and, for the test kit, the same with
// its internal seams). The runtime itself is runtime.ts.

import { ignorable, rejected, type Node } from 'ergo-ts';

import type { EntitiesOptions, EntitiesSeams } from './options.js';
import { Entities } from './runtime.js';

/**
 * Starts the entities runtime on `node`: spawns its manager process (registered as
 * `options.name`, default 'entities') and begins renewing leases and dialling members. Rejects with
 * ERR_ENTITY_INCORRECT for a bad option, ERR_TAKEN when the manager's name is used.
 *
 * @example
 * const store = SqliteStore.open('entities.db');
 * const entities = await startEntities(node, { store, kinds: [Counter] });
 * await entities.send(entity(Counter, 'c1'), { add: 2 });
 * const n = await entities.call(entity(Counter, 'c1'), 'get'); // 2
 */
export function startEntities(node: Node, options: EntitiesOptions): Promise<Entities> {
  return startEntitiesWith(node, options, {});
}

/** @internal {@link startEntities} with the internal seams (the test kit's clock). */
export function startEntitiesWith(node: Node, options: EntitiesOptions, seams: EntitiesSeams): Promise<Entities> {
  let rt: Entities;
  try {
    rt = new Entities(node, options, seams);
  } catch (e) {
    return rejected(e, node.log, 'startEntities');
  }
  return ignorable(
    rt.start().then(
      () => rt,
      async (e: unknown) => {
        await rt.stop();
        throw e;
      },
    ),
    node.log,
    'startEntities',
  );
}
