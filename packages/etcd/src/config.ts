// The cluster configuration one node sees (Ergo's four levels, highest priority first):
// `services/ergo/config/<cluster>/<node>/<item>`, `…/cluster/<cluster>/config/<node>/<item>`,
// `…/cluster/<cluster>/config/*/<item>`, `services/ergo/config/global/<item>`. The registrar
// loads it once the watch is up and feeds it the watch's config events; this class keeps the
// raw levels and answers the effective value of an item.

import type { Log } from 'ergo-ts';
import type { Etcd3 } from 'etcd3';
import { parseConfigValue, type ClusterPaths } from './codec.js';

/** Where a config key was found: below the cluster's config path or the global one. */
export type ConfigScope = 'cluster' | 'global';

/** An item's effective value: `found` false when no level sets it. */
export interface ConfigValue {
  found: boolean;
  value: unknown;
}

/** The config levels of node `name` in `cluster` (keys relative to their scope's path). */
export class NodeConfig {
  readonly #levels = new Map<string, unknown>();

  constructor(
    readonly cluster: string,
    readonly name: string,
    readonly paths: ClusterPaths,
  ) {}

  /**
   * The item `key` sets for this node, or null: below the cluster's config path `<node>/<item>`
   * or `*\/<item>`; below the global one `global/<item>` or `<cluster>/<node>/<item>`.
   */
  relevant(key: string, scope: ConfigScope): string | null {
    const parts = key.split('/');
    if (parts.some((p) => p === '')) return null;
    if (scope === 'cluster')
      return parts.length === 2 && (parts[0] === this.name || parts[0] === '*') ? parts[1]! : null;
    if (parts.length === 2) return parts[0] === 'global' ? parts[1]! : null;
    return parts.length === 3 && parts[0] === this.cluster && parts[1] === this.name ? parts[2]! : null;
  }

  /** Reads both scopes from etcd and replaces what was known (after the watch is up). */
  async load(c: Etcd3, log: Log): Promise<void> {
    const fresh = new Map<string, unknown>();
    for (const [path, scope] of [
      [this.paths.config, 'cluster'],
      [this.paths.globalConfig, 'global'],
    ] as const) {
      const all = await c.getAll().prefix(path).strings();
      for (const [k, v] of Object.entries(all)) {
        const rest = k.slice(path.length);
        if (this.relevant(rest, scope) === null) {
          if (!isOtherNodeKey(rest)) log.debug('(etcd) config key %s%s skipped', path, rest);
          continue;
        }
        fresh.set(rest, parseConfigValue(v));
      }
    }
    this.#levels.clear();
    for (const [k, v] of fresh) this.#levels.set(k, v);
  }

  /**
   * A watch event of config key `rest` (relative to its scope's path): returns the item and its
   * new effective value when that changed, else null.
   */
  update(
    type: 'put' | 'delete',
    rest: string,
    scope: ConfigScope,
    raw: string,
  ): { item: string; value: unknown } | null {
    const item = this.relevant(rest, scope);
    if (item === null) return null;
    const before = this.effective(item);
    if (type === 'put') this.#levels.set(rest, parseConfigValue(raw));
    else this.#levels.delete(rest);
    const after = this.effective(item);
    if (before.found === after.found && Object.is(before.value, after.value)) return null;
    return { item, value: after.found ? after.value : null };
  }

  /** The value of `item` by priority: cluster/node, node, `*`, global. */
  effective(item: string): ConfigValue {
    for (const k of [`${this.cluster}/${this.name}/${item}`, `${this.name}/${item}`, `*/${item}`, `global/${item}`])
      if (this.#levels.has(k)) return { found: true, value: this.#levels.get(k) };
    return { found: false, value: undefined };
  }
}

/** `<otherNode>/<item>` or `<cluster>/<otherNode>/<item>`: someone else's, skipped silently. */
function isOtherNodeKey(rest: string): boolean {
  const parts = rest.split('/');
  return (parts.length === 2 && parts[0]!.includes('@')) || parts.length === 3;
}
