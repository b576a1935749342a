// The PostgreSQL store's batched activations (postgres.ts): the activation reads and lease takes
// asked for in one turn of the event loop go to the server together, one statement for all of
// them, as the writes of a turn do (postgres_batch.ts). A workflow's activation reads its record
// and inbox once (`loadActivation`, under its shard's lease): unbatched, that read was two
// statements in three of a workflow's life at 128 in flight, each a socket write and a pooled
// round trip of its own (issue 94's profile). The batch is only a way of sending:
//
// - `loadActivation`: one SELECT over the keys (unnest), each key's state row and inbox from the
//   same statement's snapshot, as the single query reads one key.
// - `acquireAndLoad` (key leases): the schema's acquire_load_batch, which calls acquire_load once
//   per key — the lease upsert, then the state and inbox on fresh snapshots — in (kind, key) order,
//   the order write_batch and a renewal lock lease rows in, so none of them waits on another in a
//   circle; one commit for all, nothing answered before it.
//
// A batch that fails committed nothing, or its outcome is unknown (the connection was lost): each
// of its requests is then asked alone, exactly as it would have been without the batch (a read is
// read again). Where the store decides a request by asking it again (`lost`: an acquire, asked
// again by the same owner, only raises the token: ambiguous_commit.ts), a lost connection instead
// fails each request to its deciding loop, which asks again through the batch: the acquires a
// failover left in flight go as one statement when the new primary answers, not one by one. One
// request's row that cannot be decoded fails that request alone.

import type { AcquiredLoad, ActivationLoad, EntityId, LeaseRequest } from '../contract/store.js';

/** How one request of a batch was answered: its answer, ask it again alone, or its own failure. */
export type Answer<A> = { readonly a: A } | { readonly alone: true } | { readonly e: unknown };

/** What a batch queue needs from its store. */
export interface TurnRunner<Q, A> {
  /** Runs one request by itself. */
  one(request: Q): Promise<A>;
  /** Runs several requests in one statement: one answer per request, in order (rejects: see the file's comment). */
  many(requests: readonly Q[]): Promise<Answer<A>[]>;
  /** Why nothing can run any more (the store closed), or undefined. */
  closed(): unknown;
  /** Whether a batch's failure `e` goes to each request's caller, who asks again (absent: asked alone here). */
  lost?(e: unknown): boolean;
}

/** A request waiting for its turn's flush. */
interface Queued<Q, A> {
  readonly request: Q;
  readonly resolve: (a: A) => void;
  readonly reject: (e: unknown) => void;
}

/** The most requests one statement carries; more in one turn go in several statements at once. */
export const MAX_TURN_BATCH = 256;

/** @internal The requests of one kind a PostgreSQL store was asked for in a turn (see the file's comment). */
export class TurnBatches<Q, A> {
  readonly #run: TurnRunner<Q, A>;
  #queue: Queued<Q, A>[] = [];

  constructor(run: TurnRunner<Q, A>) {
    this.#run = run;
  }

  /** Queues a request for this turn's flush; resolves with its answer. */
  submit(request: Q): Promise<A> {
    return new Promise<A>((resolve, reject) => {
      this.#queue.push({ request, resolve, reject });
      if (this.#queue.length === 1) setImmediate(() => this.#flush());
    });
  }

  /** Sends what this turn queued: each group of up to {@link MAX_TURN_BATCH} in one statement. */
  #flush(): void {
    const queued = this.#queue;
    this.#queue = [];
    const closed = this.#run.closed();
    for (let i = 0; i < queued.length; i += MAX_TURN_BATCH) {
      const group = queued.slice(i, i + MAX_TURN_BATCH);
      if (closed !== undefined) for (const q of group) q.reject(closed);
      else if (group.length === 1) this.#alone(group[0]!);
      else this.#many(group);
    }
  }

  #alone(q: Queued<Q, A>): void {
    this.#run.one(q.request).then(q.resolve, q.reject);
  }

  #many(group: readonly Queued<Q, A>[]): void {
    this.#run.many(group.map((q) => q.request)).then(
      (answers) =>
        group.forEach((q, i) => {
          const x = answers[i];
          if (x === undefined || 'alone' in x) this.#alone(q);
          else if ('a' in x) q.resolve(x.a);
          else q.reject(x.e);
        }),
      // Nothing committed, or not known: each asked alone, or failed to its caller's deciding loop.
      (e: unknown) => group.forEach((q) => (this.#run.lost?.(e) === true ? q.reject(e) : this.#alone(q))),
    );
  }
}

/** One key's row of acquire_load (`o_i`: its 1-based index in a batch's requests, acquire_load_batch). */
export interface AcquireRow {
  readonly o_i?: number;
  readonly o_token: string | null;
  readonly o_holder: string | null;
  readonly o_expires: string | null;
  readonly o_version: string | null;
  readonly o_snapshot: string | null;
  readonly o_ids: string[] | null;
  readonly o_messages: string[] | null;
}

/** One key's row of an activation read (`o`: its 1-based index in a batch's keys). */
export interface LoadRow {
  readonly o?: string;
  readonly snapshot_version: string | null;
  readonly snapshot: string | null;
  readonly ids: string[] | null;
  readonly messages: string[] | null;
}

/** Makes an {@link ActivationLoad} from a state row's columns (null: none) and the inbox's arrays. */
export type LoadOf = (
  version: string | null,
  snapshot: string | null,
  ids: string[] | null,
  messages: string[] | null,
) => ActivationLoad;

/** The query reading one key's state and inbox (`$1`, `$2`): one statement, one snapshot. */
export function loadOneSql(state: string, inbox: string): string {
  return `SELECT s.snapshot_version, s.snapshot, i.ids, i.messages
    FROM (SELECT 1) one LEFT JOIN ${state} s ON s.kind = $1 AND s.key = $2
    LEFT JOIN LATERAL (SELECT array_agg(x.id ORDER BY x.seq) AS ids, array_agg(x.message ORDER BY x.seq) AS messages
      FROM ${inbox} x WHERE x.kind = $1 AND x.key = $2) i ON true`;
}

/** The same for the keys of `$1` (kinds) and `$2` (keys): a row per key, `o` its 1-based index. */
export function loadManySql(state: string, inbox: string): string {
  return `SELECT u.o, s.snapshot_version, s.snapshot, i.ids, i.messages
    FROM unnest($1::text[], $2::text[]) WITH ORDINALITY u(k, ky, o)
    LEFT JOIN ${state} s ON s.kind = u.k AND s.key = u.ky
    LEFT JOIN LATERAL (SELECT array_agg(x.id ORDER BY x.seq) AS ids, array_agg(x.message ORDER BY x.seq) AS messages
      FROM ${inbox} x WHERE x.kind = u.k AND x.key = u.ky) i ON true`;
}

/** The answers of a batched read's rows, in the order of its `n` keys (a key without a row: asked alone). */
export function loadAnswers(rows: readonly LoadRow[], n: number, load: LoadOf): Answer<ActivationLoad>[] {
  const out: Answer<ActivationLoad>[] = Array.from({ length: n }, () => ({ alone: true }) as const);
  for (const row of rows) {
    const i = Number(row.o) - 1;
    if (!(i >= 0 && i < n)) continue;
    try {
      out[i] = { a: load(row.snapshot_version, row.snapshot, row.ids, row.messages) };
    } catch (e) {
      out[i] = { e }; // its row did not decode: this request's failure alone
    }
  }
  return out;
}

/** A batched read's arguments for `ids`: their kinds and their keys. */
export function loadManyArgs(ids: readonly EntityId[]): unknown[] {
  return [ids.map((x) => x.kind), ids.map((x) => x.key)];
}

/** acquire_load_batch's arguments for `requests`: one array per parameter, a request's values at its index. */
export function acquireBatchArgs(requests: readonly LeaseRequest[]): unknown[] {
  return [
    requests.map((q) => q.kind),
    requests.map((q) => q.key),
    requests.map((q) => q.owner),
    requests.map((q) => q.ttlMs),
    requests.map((q) => q.takeOverFrom ?? null),
  ];
}

/**
 * The answer of one key's row (acquire_load's, or a batch's); undefined when the lease row was
 * deleted between the function's statements (a refusal naming no holder): asked again.
 */
export function acquiredOf(row: AcquireRow, load: LoadOf): AcquiredLoad | undefined {
  if (row.o_token === null) {
    if (row.o_holder === null) return undefined;
    return { lease: { acquired: false, holder: row.o_holder, expiresAt: Number(row.o_expires) } };
  }
  return {
    lease: { acquired: true, token: Number(row.o_token) },
    load: load(row.o_version, row.o_snapshot, row.o_ids, row.o_messages),
  };
}

/** The answers of acquire_load_batch's rows, in the order of its `n` requests. */
export function acquireAnswers(rows: readonly AcquireRow[], n: number, load: LoadOf): Answer<AcquiredLoad>[] {
  const out: Answer<AcquiredLoad>[] = Array.from({ length: n }, () => ({ alone: true }) as const);
  for (const row of rows) {
    const i = Number(row.o_i) - 1;
    if (!(i >= 0 && i < n)) continue;
    try {
      const a = acquiredOf(row, load);
      if (a !== undefined) out[i] = { a };
    } catch (e) {
      out[i] = { e };
    }
  }
  return out;
}
