// The entities side of a cluster-scale node (scale_node.ts; driven by entities_phase.ts): an
// `@ergo-ts/entities` runtime with one kind, a counter whose every call increments it and answers
// the new value and the node that ran it, on the PostgreSQL server every node of the run shares
// (one test host of its own). What the driver learns from the answers: which node serves each key
// now, and whether an acknowledged write was lost (a value that did not grow).
//
// Membership: through etcd the runtime follows the registrar (`members: 'registrar'`), so joining
// and leaving nodes move shards as etcd tells of them. The embedded registrar of each host knows
// only its own node, so there the members are every node name the run may start (a member counts
// only while connected; the runtime dials absent ones every probeIntervalMs).

import {
  Entity,
  PostgresStore,
  SHARD_LEASE_KIND,
  defineEntity,
  entity,
  shardOf,
  startEntities,
  type Entities,
} from '@ergo-ts/entities';
import { defineProtocol, schema, type Node } from 'ergo-ts';

/**
 * Shards keys map to, on every node. The runtime's default (64) is for a few nodes: with 30 nodes
 * a shard is a twentieth of a node's share, and with 110 some nodes would own none, so the keys
 * moved by a join would say more about shard sizes than about placement.
 */
export const SCALE_SHARDS = 1024;
/** PostgreSQL connections each node's store opens at most (the server allows nodes × this + a margin). */
export const SCALE_PG_CONNECTIONS = 4;

const CounterProtocol = defineProtocol('scale-counter', {
  messages: {},
  calls: {
    bump: {
      request: schema.literal('bump'),
      reply: schema.object({ n: schema.integer(), node: schema.string() }),
    },
  },
});

class ScaleCounterEntity extends Entity<typeof CounterProtocol, number> {
  override handleCall(_req: 'bump'): { n: number; node: string } {
    // The reply leaves after the new state is saved (with the activation's fencing token).
    this.state = this.state + 1;
    return { n: this.state, node: this.actor.node.name };
  }
}

/** The phase's one kind; never passivates, so the figures are about placement, not idleness. */
export const ScaleCounter = defineEntity('scounter', {
  protocol: CounterProtocol,
  entity: ScaleCounterEntity,
  initialState: () => 0,
  passivateAfterMs: 0,
});

/** What one node answers for the keys it was asked to call (arrays aligned with the keys). */
export interface EntityCallsAnswer {
  /** The new value per key (null: the call failed). */
  value: (number | null)[];
  /** The node that ran each key ('' for a failed call). */
  node: string[];
  /** Wall-clock ms each answer (or failure) arrived. */
  at: number[];
  /** µs per call that succeeded. */
  lat: number[];
  /** Failed calls by error code. */
  failed: Record<string, number>;
  /** From the first call until the last answer. */
  ms: number;
}

/** What a node's runtime sees (ScaleEntities.view). */
export interface EntityView {
  members: string[];
  shardsOwned: number;
  active: number;
  keys: { key: string; shard: number; leaseOwner: string; here: boolean; routesTo: string }[];
}

const now = (): number => performance.timeOrigin + performance.now();

/** The runtime of one scale node, once started. */
export class ScaleEntities {
  private constructor(
    readonly runtime: Entities,
    readonly store: PostgresStore,
  ) {}

  /**
   * Opens the shared store and starts the runtime on `node`. `members`: every node name the run
   * may start (the embedded registrar), or undefined to follow the registrar (etcd).
   */
  static async start(node: Node, url: string, members: readonly string[] | undefined): Promise<ScaleEntities> {
    const store = await PostgresStore.open(url, { maxConnections: SCALE_PG_CONNECTIONS });
    try {
      const runtime = await startEntities(node, {
        store,
        kinds: [ScaleCounter],
        members: members ?? 'registrar',
        shards: SCALE_SHARDS,
      });
      return new ScaleEntities(runtime, store);
    } catch (e) {
      await store.close();
      throw e;
    }
  }

  /** Calls each of `keys` once (`bump`), `inflight` at a time, each with `timeout` ms. */
  async calls(keys: readonly string[], inflight: number, timeout: number): Promise<EntityCallsAnswer> {
    const value = new Array<number | null>(keys.length).fill(null);
    const nodes = new Array<string>(keys.length).fill('');
    const at = new Array<number>(keys.length).fill(0);
    const lat: number[] = [];
    const failed: Record<string, number> = {};
    let next = 0;
    const t0 = now();
    const worker = async (): Promise<void> => {
      while (next < keys.length) {
        const i = next++;
        const s = now();
        try {
          const r = await this.runtime.call(entity(ScaleCounter, keys[i]!), 'bump', { timeout });
          at[i] = now();
          value[i] = r.n;
          nodes[i] = r.node;
          lat.push((at[i] - s) * 1000);
        } catch (e) {
          at[i] = now();
          const code = String((e as { code?: unknown }).code ?? (e as Error).message);
          failed[code] = (failed[code] ?? 0) + 1;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(inflight, keys.length) }, worker));
    return { value, node: nodes, at, lat, failed, ms: now() - t0 };
  }

  /**
   * What this node's runtime sees (a rebalance that does not settle): its live members, the shards
   * it owns, the keys it runs; for each of `keys`, its shard, who holds that shard's lease, whether
   * it runs here and whom this node routes it to.
   */
  async view(keys: readonly string[] = []): Promise<EntityView> {
    const st = this.runtime.stats();
    const active = new Set(this.runtime.active().map((a) => a.key));
    const probes = await Promise.all(
      keys.map(async (key) => {
        const shard = shardOf(key, SCALE_SHARDS);
        const lease = await this.store.lease({ kind: SHARD_LEASE_KIND, key: String(shard) });
        return {
          key,
          shard,
          leaseOwner: lease?.owner ?? '',
          here: active.has(key),
          routesTo: this.runtime.ownerOf(entity(ScaleCounter, key)),
        };
      }),
    );
    return { members: [...st.members], shardsOwned: st.shardsOwned, active: active.size, keys: probes };
  }

  /** Hands this node's entities off and stops the runtime (the node stays up). */
  async stop(): Promise<void> {
    await this.runtime.stop();
    await this.store.close();
  }
}
