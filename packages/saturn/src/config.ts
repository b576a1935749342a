// The cluster config a Saturn server hands a node: raw items keyed `cluster:node:item`,
// `cluster:*:item`, `node:item` or `*:item` (the server sends only the ones that concern this
// node), looked up from the most specific level down.

/** Where a config update's key says its item lives, or null when the key is not for this node. */
export interface ConfigKey {
  item: string;
  /** 0: `cluster:node:`, 1: `cluster:*:`, 2: `node:`, 3: `*:` (lower wins). */
  level: number;
}

/** The config of one node in one cluster. */
export class NodeConfig {
  readonly #items = new Map<string, unknown>();
  readonly #prefixes: readonly string[];

  constructor(cluster: string, node: string) {
    this.#prefixes = [`${cluster}:${node}:`, `${cluster}:*:`, `${node}:`, '*:'];
  }

  /** Replaces every item (a registration result's config). */
  reset(items: Iterable<[string, unknown]>): void {
    this.#items.clear();
    for (const [k, v] of items) this.#items.set(k, v);
  }

  /** The level and item name of raw key `key` (the first prefix that matches). */
  parse(key: string): ConfigKey | null {
    for (let level = 0; level < this.#prefixes.length; level++) {
      const p = this.#prefixes[level]!;
      if (key.startsWith(p) && key.length > p.length) return { item: key.slice(p.length), level };
    }
    return null;
  }

  /**
   * Stores an update; returns the item whose effective value it changed (the update is for the
   * most specific level that sets it), or null (overridden, or not this node's).
   */
  update(key: string, value: unknown): ConfigKey | null {
    this.#items.set(key, value);
    const k = this.parse(key);
    if (k === null) return null;
    for (let level = 0; level < k.level; level++) if (this.#items.has(this.#prefixes[level]! + k.item)) return null;
    return k;
  }

  /** The value of `item` from the most specific level that sets it. */
  effective(item: string): { found: boolean; value: unknown } {
    for (const p of this.#prefixes) {
      const key = p + item;
      if (this.#items.has(key)) return { found: true, value: this.#items.get(key) };
    }
    return { found: false, value: undefined };
  }
}
