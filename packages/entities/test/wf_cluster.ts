// A cluster of entities runtimes in this one OS process, for the workflow tests that move
// instances between members (entities.workflows.result_moves.test.ts, .recovery.test.ts): nodes
// on loopback with an embedded registrar, every runtime on one in-memory database (each node its
// own MemoryStore opened on it, as processes sharing a database). A member is stopped (it drains:
// its activations hand off) and started again under its name with other kinds: a rolling deploy.

import diagnostics from 'node:diagnostics_channel';

import { startNode, type Node } from 'ergo-ts';
import { createEmbeddedRegistrar } from 'ergo-ts/net';
import { eventually, freeTcpUdpPort } from '@ergo-ts/test-support';

import {
  ENTITIES_CHANNEL,
  ENTITIES_DEFAULTS,
  MemoryStore,
  ownerOfShard,
  shardOf,
  startEntities,
  type Entities,
  type EntityEvent,
} from '../src/index.js';

/** One node of the cluster and its runtime. */
export interface Member {
  readonly name: string;
  readonly node: Node;
  readonly entities: Entities;
  /** Stops the runtime (it drains), then the node. */
  stop(): Promise<void>;
}

/** The cluster: its members' names, and the data every store shares. */
export class Cluster {
  readonly #registrar: number;
  readonly #data = new MemoryStore();
  readonly #running = new Set<Member>();
  readonly #events: EntityEvent[] = [];
  readonly #waiters = new Set<() => void>();
  readonly #listen = (e: unknown): void => {
    this.#events.push(e as EntityEvent);
    for (const w of [...this.#waiters]) w();
  };

  private constructor(
    registrar: number,
    /** The members' names (every runtime's `members`). */
    readonly names: readonly string[],
  ) {
    this.#registrar = registrar;
    diagnostics.subscribe(ENTITIES_CHANNEL, this.#listen);
  }

  /** A cluster whose members are named `<tag><m><pid>@localhost` for each of `members`. */
  static async make(tag: string, members: readonly string[]): Promise<Cluster> {
    return new Cluster(
      await freeTcpUdpPort(),
      members.map((m) => `${tag}${m}${process.pid}@localhost`),
    );
  }

  /** Starts node `name` (a member's, or another for a client) with a runtime hosting `kinds`. */
  async start(name: string, kinds: readonly unknown[], role: 'member' | 'client' = 'member'): Promise<Member> {
    const store = this.#data.reopen();
    const node = await startNode(name, {
      log: { level: 'error' },
      network: {
        cookie: 'wf-cluster',
        acceptors: [{ host: '127.0.0.1', port: 0 }],
        registrar: createEmbeddedRegistrar({ port: this.#registrar, retryInterval: 100 }),
      },
    });
    const entities = await startEntities(node, {
      store,
      kinds: kinds as never,
      members: [...this.names],
      probeIntervalMs: 100,
      ...(role === 'client' ? { role } : {}),
    });
    const m: Member = {
      name,
      node,
      entities,
      stop: async () => {
        this.#running.delete(m);
        await entities.stop();
        await node.stop();
        await store.close();
      },
    };
    this.#running.add(m);
    return m;
  }

  /** Resolves once every runtime of `members` counts exactly the members `live` (by name). */
  async see(members: readonly Member[], live: readonly string[]): Promise<void> {
    const want = [...live].sort().join(',');
    for (const m of members)
      await eventually(() => [...m.entities.members()].sort().join(',') === want, `${m.name} sees ${want}`, {
        timeoutMs: 30_000,
      });
  }

  /** Resolves with the first event (past or future) `pick` accepts. */
  event(pick: (e: EntityEvent) => boolean): Promise<EntityEvent> {
    return new Promise((resolve) => {
      const look = (): boolean => {
        const e = this.#events.find(pick);
        if (e === undefined) return false;
        this.#waiters.delete(check);
        resolve(e);
        return true;
      };
      const check = (): void => void look();
      if (!look()) this.#waiters.add(check);
    });
  }

  /** A key of `prefix` whose shard member `owner` owns among `among`. */
  keyOwnedBy(owner: string, among: readonly string[], prefix: string): string {
    for (let i = 0; ; i++) {
      const key = `${prefix}${i}`;
      if (ownerOfShard(shardOf(key, ENTITIES_DEFAULTS.shards), [...among]) === owner) return key;
    }
  }

  /** Stops every member still running. */
  async stop(): Promise<void> {
    for (const m of [...this.#running]) await m.stop();
    diagnostics.unsubscribe(ENTITIES_CHANNEL, this.#listen);
  }
}
