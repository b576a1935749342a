// The seam through which a capability built on the entities runtime plugs into it, so the runtime
// names none of them: a feature is given the runtime's public face and its options when the
// runtime is made, and answers with the requests it serves through the manager process, what it
// starts and stops with the runtime, and the figures it adds to `stats()`. The workflow layer is
// one (workflow/operator/feature.ts); the composition that gives a runtime its features is
// entities.ts, above both. Nothing here imports a feature.

import type { Node } from 'ergo-ts';

import type { EntitiesClock } from '../contract/clock.js';
import type { EntityStore } from '../contract/store.js';
import type { EntitiesStats } from '../inspect/stats.js';
import type { EntitiesClient, EntityKind } from '../kinds/entity.js';

/**
 * What a feature is given of the runtime it is part of (the runtime object itself: a feature may
 * key what it keeps per runtime by it). Every method is safe to call from anywhere on the node.
 */
export interface FeatureHost extends EntitiesClient {
  readonly node: Node;
  /** The store every activation of the runtime writes to (the caller's; never closed here). */
  readonly store: EntityStore;
  /** The runtime's lease owner string (`<node name>#<random>`): unique per start. */
  readonly owner: string;
  /** How long a lease lasts unless renewed, in ms. */
  readonly leaseTtlMs: number;
  /** 'member' (hosts kinds, owns shards) or 'client' (owns nothing, routes to the members). */
  readonly role: 'member' | 'client';
  /** The clock of the runtime's own timing: the wall clock, or the test kit's. */
  readonly clock: EntitiesClock;
  /** The manager process's registered name (the same on every member). */
  readonly managerName: string;
  /** The kind `name` this runtime hosts (or addresses, on a client), or undefined. */
  kind(name: string): EntityKind<any, any> | undefined;
  /** Every kind this runtime hosts (or addresses, on a client). */
  kinds(): EntityKind<any, any>[];
  /** The live members: this node and the members it is connected to, sorted. */
  members(): string[];
  /** The runtime's figures now (cheap: no store access). */
  stats(): EntitiesStats;
  /** True once the runtime's stop began: a feature's sweepers and retries end. */
  stopping(): boolean;
  /** Logs a warning on the node's log. */
  log(format: string, ...args: unknown[]): void;
}

/** How a request a manager answers reaches the other members' managers (same registered name). */
export interface ManagerCluster {
  /** This node's name. */
  readonly self: string;
  /** Whether this node is a member (a client-only node runs no activation). */
  readonly member: boolean;
  /** The live members by this node's view. */
  members(): readonly string[];
  /** Asks `node`'s entities manager `request`: its answer. */
  ask(node: string, request: unknown): Promise<unknown>;
}

/**
 * Requests of one shape that a feature answers through the manager process (a call to the
 * manager's registered name from another member, the Observer or the MCP server). `answer`'s value
 * is the call's reply (an operator's request answers JSON text: contract/operation_answer.ts); a
 * rejection is the caller's error. Answered when settled: the manager goes on meanwhile.
 */
export interface FeatureRequests {
  /** Whether `request` is one of these (cheap: the manager asks each feature in turn). */
  matches(request: unknown): boolean;
  answer(request: unknown, cluster: ManagerCluster): Promise<unknown>;
}

/** What a feature attached to one runtime does with it: each part optional. */
export interface AttachedFeature {
  /** The requests it answers through the manager. */
  readonly requests?: readonly FeatureRequests[];
  /** Called once the runtime started (its manager runs, its members are read). */
  start?(): void;
  /** Called as the runtime stops, after its activations handed off. */
  stop?(): void;
  /**
   * Whether this member is too busy to take new work of `kind` (a call made with `shed: true` to a
   * key not active here): how long the caller should wait before asking again, in ms, or
   * undefined to take it. Called per such activation: cheap, no store access.
   */
  overloaded?(kind: string): number | undefined;
  /**
   * Room for new work of `kind` for `key` (asked after {@link overloaded}, for the same calls): undefined
   * to take it now, a number to refuse it (the caller's retry-after, ms), or a promise of either:
   * the feature holds the activation in its line for up to `waitMs` (what is left of the caller's
   * timeout) until it has room. Never rejects. `leftMs`, when known: what is left of the caller's
   * own time; room kept for the work past it is kept for no one.
   */
  admit?(kind: string, key: string, waitMs: number, leftMs?: number): Promise<number | undefined> | number | undefined;
  /** Its part of `stats()`, merged over the runtime's own figures. */
  stats?(now: number): Partial<EntitiesStats>;
}

/**
 * A capability plugged into the entities runtime (see the top of this file). `attach` runs in the
 * runtime's constructor, once per runtime: a bad option throws there (the start rejects with it).
 * `O` is the runtime's options type, the feature's own fields included.
 */
export interface EntitiesFeature<O = unknown> {
  /** The feature's name (logs, errors). */
  readonly name: string;
  attach(host: FeatureHost, options: O): AttachedFeature;
}
