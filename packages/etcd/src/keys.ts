// What the registrar makes of the keys it finds under its cluster's node path: which of them name
// a node it can use (a node name, a value that decodes to routes), which it complains about (once
// per key, not once per watch event or per `nodes()` call), and what to do about its own key
// (keep it, create it, take it back, or leave it to another live registration).

import type { Atom, Log, Route } from 'ergo-ts';
import type { IKeyValue } from 'etcd3';
import { decodeRoutes } from './codec.js';

/** Longest node name (an atom: 255 bytes, as Ergo's). */
const MAX_NAME = 255;

/** A node name a key may carry: `name@host`, no `/`, at most 255 bytes. */
export function isNodeName(name: string): boolean {
  return name.includes('@') && !name.includes('/') && Buffer.byteLength(name) <= MAX_NAME;
}

/**
 * The keys under the node path the registrar cannot use, each reported once (at warning level)
 * until it is deleted or holds a node again. Bounded by the keys etcd holds: a key leaves the set
 * when it is deleted or fixed.
 */
export class BadKeys {
  readonly #reported = new Set<string>();

  constructor(readonly log: () => Log) {}

  /** Reports `key` (once) as unusable because of `why`. */
  report(key: string, why: string): void {
    if (this.#reported.has(key)) return;
    this.#reported.add(key);
    this.log().warning('(etcd) ignoring %s: %s (logged once for this key)', key, why);
  }

  /** `key` was deleted or holds a usable value again: a later fault is reported anew. */
  forget(key: string): void {
    this.#reported.delete(key);
  }

  /** Keys reported and not forgotten (for tests and inspection). */
  size(): number {
    return this.#reported.size;
  }
}

/**
 * The node a key of the node path names, when both its name and its value are usable; else
 * null, reported once through `bad`. `prefix` is the node path (`…/routes/nodes/`).
 */
export function usableNode(prefix: string, key: string, value: string | Buffer, bad: BadKeys): Atom | null {
  return nodeRoutes(prefix, key, value, bad)?.name ?? null;
}

/** As {@link usableNode}, with the routes the value decodes to. */
export function nodeRoutes(
  prefix: string,
  key: string,
  value: string | Buffer,
  bad: BadKeys,
): { name: Atom; routes: Route[] } | null {
  const name = key.slice(prefix.length);
  if (!isNodeName(name)) {
    bad.report(key, name === '' ? 'no node name' : `${JSON.stringify(name)} is not a node name`);
    return null;
  }
  let routes: Route[];
  try {
    routes = decodeRoutes(value);
  } catch (e) {
    bad.report(key, `its value is not base64 of EDF []gen.Route (${(e as Error).message})`);
    return null;
  }
  bad.forget(key);
  return { name: name as Atom, routes };
}

/**
 * What to do with the registrar's own node key, found as `kv` (undefined: absent):
 * - `ok`: it holds our value on our current lease;
 * - `create`: absent — create it (if still absent);
 * - `take`: leaseless, on a lease of ours (current or the one being replaced), or on our lease
 *   with another value — put ours on our lease (if it has not changed since it was read);
 * - `foreign`: on another live lease — another registration holds the name; it is not taken
 *   over (two nodes retaking one name from each other would never settle), the key is taken
 *   when that lease ends and etcd deletes it.
 */
export function ownKeyAction(
  kv: IKeyValue | undefined,
  value: string,
  ours: readonly string[],
): 'ok' | 'create' | 'take' | 'foreign' {
  if (kv === undefined) return 'create';
  const lease = kv.lease === '' ? '0' : kv.lease;
  if (lease === ours[0] && kv.value.toString() === value) return 'ok';
  if (lease === '0' || ours.includes(lease)) return 'take';
  return 'foreign';
}
