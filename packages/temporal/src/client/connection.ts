// `Connection` and `NativeConnection`: where Temporal's client and worker reach the server, here
// an ergo-ts node and its store. There is no server: a connection names an environment of this
// process (a node, a store, the entities runtime a Worker runs on them, the workflow kinds it
// hosts) under an address; `Connection.connect({ address })` elsewhere in the process finds it
// again (as Temporal's programs connect their client and worker separately). A client's calls go
// through the runtime of the Worker running on the connection, or through an `entities` runtime
// given to `connect` (a member of yours, or a client-only one: `role: 'client'`).

import type { Node } from 'ergo-ts';
import type { AnyWorkflowKind, Entities, EntitiesOptions, EntityStore } from '@ergo-ts/entities';

import { ErrTemporalIncorrect, ErrTemporalNoConnection } from '../common/errors.js';
import { GrpcStatus, ServiceError } from './errors.js';

/** What `Connection.connect` takes. */
export interface ConnectionOptions {
  /**
   * The name the connection is known by in this process (default: the node's name, or the only
   * connection made so far when neither node nor entities is given).
   */
  address?: string;
  /** The ergo-ts node a Worker runs its entities runtime on. */
  node?: Node;
  /** The store the Worker's runtime keeps workflows in (SqliteStore, PostgresStore, MemoryStore). */
  store?: EntityStore;
  /** The options a Worker gives `startEntities` besides the store and the kinds (members, shards...). */
  entitiesOptions?: Partial<Omit<EntitiesOptions, 'store' | 'kinds'>>;
  /** A runtime of your own (its kinds made with `workflowKinds`): clients call through it, a Worker does not start one. */
  entities?: Entities;
  /** The workflow kinds `entities` hosts (needed to start workflows through it by name). */
  kinds?: readonly AnyWorkflowKind[];
  /** Temporal's TLS, metadata and API key: not used (mutual TLS is the node's: docs/deploy.md). */
  tls?: unknown;
  metadata?: unknown;
  apiKey?: string;
  connectTimeout?: unknown;
}

/** One environment of the process: what connections with the same address share. */
class Environment {
  entities: Entities | undefined;
  /** The runtime was given to connect (not started by a Worker). */
  readonly own: boolean;
  readonly kinds = new Map<string, AnyWorkflowKind>();
  /** The workflow type of ids this process started or saw (a handle by id alone needs it). */
  readonly types = new Map<string, string>();
  #waiters: ((e: Entities) => void)[] = [];

  constructor(
    readonly address: string,
    readonly node: Node | undefined,
    readonly store: EntityStore | undefined,
    readonly entitiesOptions: ConnectionOptions['entitiesOptions'],
    entities: Entities | undefined,
  ) {
    this.entities = entities;
    this.own = entities !== undefined;
  }

  /** A Worker's runtime ran here and stopped: calls without a deadline fail at once rather than wait. */
  stopped = false;
  /** The last Worker's runtime, stopped: its client still reads the store (the application's). */
  #stoppedRuntime: Entities | undefined;

  attach(e: Entities | undefined): void {
    if (e === undefined) {
      this.#stoppedRuntime = this.entities;
      this.entities = e;
      this.stopped = true;
      return;
    }
    this.entities = e;
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f(e);
  }

  /**
   * What reads instances from the store while no Worker runs here (after one was shut down; the
   * store outlives it): undefined while a runtime runs (its owners answer) or none ever ran.
   */
  storeReader(): Entities | undefined {
    return this.entities === undefined && this.stopped ? this.#stoppedRuntime : undefined;
  }

  /**
   * The runtime, waiting for one (a Worker starting) at most `ms`; at once a ServiceError
   * (UNAVAILABLE) when `wait` is false and a Worker ran here and stopped (there is no server to
   * take the call meanwhile).
   */
  runtime(ms: number, wait = true): Promise<Entities> {
    if (this.entities !== undefined) return Promise.resolve(this.entities);
    if (!wait && this.stopped)
      return Promise.reject(
        new ServiceError(`no Worker runs on connection ${this.address} (it was shut down)`, {
          cause: { code: GrpcStatus.UNAVAILABLE },
        }),
      );
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.#waiters = this.#waiters.filter((f) => f !== got);
        reject(
          new ServiceError(`no Worker runs on connection ${this.address} (waited ${ms} ms)`, {
            cause: { code: GrpcStatus.DEADLINE_EXCEEDED },
          }),
        );
      }, ms);
      const got = (e: Entities): void => {
        clearTimeout(t);
        resolve(e);
      };
      this.#waiters.push(got);
    });
  }
}

const environments = new Map<string, Environment>();

/** A connection to an ergo-ts environment (Temporal's `Connection`). */
export class Connection {
  /** @internal use {@link Connection.connect}. */
  constructor(
    /** @internal */ readonly env: Environment,
    readonly options: ConnectionOptions,
  ) {}

  /**
   * Connects: with `node` and `store` (or `entities`), makes the environment named `address`
   * (default the node's name); with an `address` only, finds it; with nothing, the only one made
   * so far. Rejects with ERR_TEMPORAL_NO_CONNECTION when there is none to find.
   */
  static async connect(options: ConnectionOptions = {}): Promise<Connection> {
    if (options === null || typeof options !== 'object')
      throw ErrTemporalIncorrect.with('Connection.connect: options must be an object');
    const { node, store, entities } = options;
    if (entities !== undefined || node !== undefined || store !== undefined) {
      const n = node ?? entities?.node;
      if (entities === undefined && (node === undefined || store === undefined))
        throw ErrTemporalIncorrect.with('Connection.connect: give both node and store (or an entities runtime)');
      const address = options.address ?? String(n!.name);
      let env = environments.get(address);
      if (env === undefined || (env.node !== n && env.entities !== entities)) {
        env = new Environment(address, n, store, options.entitiesOptions, entities);
        environments.set(address, env);
      }
      for (const k of options.kinds ?? []) env.kinds.set(k.workflow.name, k);
      return new this(env, options);
    }
    const found =
      options.address !== undefined
        ? environments.get(options.address)
        : environments.size === 1
          ? [...environments.values()][0]
          : undefined;
    if (found === undefined)
      throw ErrTemporalNoConnection.with(
        `no connection ${options.address ?? ''} in this process: Connection.connect({ node, store }) first`,
      );
    return new this(found, options);
  }

  /** The address this connection is known by. */
  get address(): string {
    return this.env.address;
  }

  /** Forgets nothing and stops nothing (the node and the store are the application's): resolves. */
  async close(): Promise<void> {}

  /** Removes the environment named `address` from the process (after its node stopped). */
  static forget(address: string): void {
    environments.delete(address);
  }
}

/** The worker's connection (Temporal's `NativeConnection`): the same environment. */
export class NativeConnection extends Connection {}

export type { Environment };
