// What the three stores share of `listStates` (an operator's listing of a kind's keys with their
// states, e.g. `entities.workflows.list`): the checks of its arguments, and the key order the
// pages follow — the byte order of the UTF-8 key, which SQLite's BINARY collation and
// PostgreSQL's "C" collation compare by, and which the memory store sorts by with Buffer.compare.

import { ErrEntityIncorrect } from '../contract/errors.js';
import { checkKey } from '../contract/ids.js';
import { MAX_STATES_PAGE, type StatesPage } from '../contract/store.js';

/** Throws ERR_ENTITY_INCORRECT unless `kind` is a non-empty string and `page` a valid page. */
export function checkStatesPage(kind: string, page: StatesPage): void {
  if (typeof kind !== 'string' || kind === '')
    throw ErrEntityIncorrect.with('an entity kind must be a non-empty string');
  if (typeof page !== 'object' || page === null) throw ErrEntityIncorrect.with('listStates: a page { limit, after? }');
  const { limit, after } = page;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_STATES_PAGE)
    throw ErrEntityIncorrect.with(`listStates limit must be an integer in 1..${MAX_STATES_PAGE}, got ${String(limit)}`);
  if (after !== undefined) checkKey(after);
}

/** Compares two keys in the order {@link EntityStore.listStates} pages follow (UTF-8 bytes). */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
