// The identities every part of the entities package names things by: an entity's id (kind and
// key) with its checks, and the registered process name of the host of one activation. Contract
// only: no store, runtime or kind logic.

import { ErrEntityIncorrect } from './errors.js';

/** Longest key, in UTF-8 bytes (a kind and a key make a process name, an atom of ≤ 255 bytes). */
export const MAX_KEY_BYTES = 200;

/** Throws ERR_ENTITY_INCORRECT unless `key` is a non-empty string of at most {@link MAX_KEY_BYTES} UTF-8 bytes. */
export function checkKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key === '' || Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES)
    throw ErrEntityIncorrect.with(`an entity key must be a string of 1..${MAX_KEY_BYTES} UTF-8 bytes`);
}

/** Identifies one entity: its kind (the name given to `defineEntity`) and its key. */
export interface EntityId {
  /** The kind's name. */
  readonly kind: string;
  /** The entity's key. */
  readonly key: string;
}

/** Throws ERR_ENTITY_INCORRECT unless `id` has a non-empty kind and a valid key. */
export function checkId(id: EntityId): void {
  if (typeof id.kind !== 'string' || id.kind === '')
    throw ErrEntityIncorrect.with('an entity kind must be a non-empty string');
  checkKey(id.key);
}

/** The process name of the host of (kind, key). */
export function hostName(kind: string, key: string): string {
  return `~entity/${kind}/${key}`;
}
