// Starting an entities runtime on a node: made, then started, stopped again when its start fails.
// `startEntities` (entities.ts) starts the runtime with its features through this.

import { ignorable, rejected, toError, type Node } from 'ergo-ts';

import { ErrEntityIncorrect } from '../contract/errors.js';

import type { EntitiesRuntime } from './runtime.js';

/**
 * Makes a runtime with `make` (a bad option throws there: ERR_ENTITY_INCORRECT, an uncoded throw
 * of an option's read too) and starts it: resolves with it once its
 * manager runs and its members are read; a failed start stops it and rejects with the failure.
 * The returned Promise is safe to leave un-awaited.
 */
export function startRuntime<R extends EntitiesRuntime>(node: Node, make: () => R): Promise<R> {
  let rt: R;
  try {
    rt = make();
  } catch (e) {
    // Options that are no object, or a getter or Proxy that throws: refused with the code, as a bad value is.
    const coded = typeof (e as { code?: unknown } | null)?.code === 'string';
    const err = coded ? e : ErrEntityIncorrect.with(`startEntities options could not be read: ${toError(e).message}`);
    return rejected(err, node.log, 'startEntities');
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
