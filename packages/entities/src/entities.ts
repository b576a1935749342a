// The entities runtime as users start it: the runtime (runtime/) with the features plugged into it
// — the workflow layer (workflow/operator/feature.ts) — and the options of both. The one place
// that names both sides: runtime/ knows no feature, and a feature knows the runtime only by its
// seam (runtime/feature.ts).

import type { Node } from 'ergo-ts';

import type { EntitiesSeams, RuntimeOptions } from './runtime/options.js';
import { EntitiesRuntime } from './runtime/runtime.js';
import { startRuntime } from './runtime/start_entities.js';
import type { WorkflowClient } from './workflow/client/client.js';
import { workflowFeature, workflowsOf, type WorkflowFeatureOptions } from './workflow/operator/feature.js';

/** Options of {@link startEntities}: the runtime's own and the workflow layer's. */
export interface EntitiesOptions extends RuntimeOptions, WorkflowFeatureOptions {}

/**
 * The entities runtime of one node (from {@link startEntities}), workflows included. Its methods
 * are safe to call from anywhere on the node, inside actors included (they use the node's own
 * call, not the caller's process); every Promise it returns is safe to leave un-awaited.
 */
export class Entities extends EntitiesRuntime {
  /** @internal use {@link startEntities}. */
  constructor(node: Node, options: EntitiesOptions, seams: EntitiesSeams = {}) {
    super(node, options, { ...seams, features: [workflowFeature, ...(seams.features ?? [])] });
  }

  /** Starts and drives durable workflows (`defineWorkflow` kinds) on this runtime's cluster. */
  get workflows(): WorkflowClient {
    return workflowsOf(this);
  }
}

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
  return startRuntime(node, () => new Entities(node, options, seams));
}
