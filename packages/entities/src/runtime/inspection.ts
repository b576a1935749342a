// The public inspection of an entities runtime: what `inspectEntities`, `inspectEntity` and
// `shardTable` answer for an {@link Entities}. The work is inspect/inspector.ts's, on the small
// seam the runtime implements (inspect/ never imports the runtime); these take the runtime itself,
// as users hold it.

import {
  INSPECT_DEFAULTS,
  entityInspection,
  nodeInspection,
  nodeShardTable,
  type EntitiesInspection,
  type EntityInspection,
  type ShardTable,
} from '../inspect/inspector.js';
import type { EntitiesRuntime } from './runtime.js';

/** This node's shard table: the shards it owns and its active entities per shard and kind. */
export function shardTable(rt: EntitiesRuntime): ShardTable {
  return nodeShardTable(rt);
}

/**
 * The entities of `rt`'s node: members, shard table, active entities per kind and the first
 * `limit` of them (most recently active first). Cheap: no store access, nothing leaves the node.
 */
export function inspectEntities(rt: EntitiesRuntime, limit: number = INSPECT_DEFAULTS.entities): EntitiesInspection {
  return nodeInspection(rt, limit);
}

/**
 * One entity active on `rt`'s node, with its state rendered by {@link renderState} (null when the
 * node hides states: RuntimeOptions.inspectState false); undefined when it is not active here.
 */
export function inspectEntity(rt: EntitiesRuntime, kind: string, key: string): EntityInspection | undefined {
  return entityInspection(rt, kind, key);
}
