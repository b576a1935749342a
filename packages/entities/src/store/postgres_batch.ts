// The PostgreSQL store's group commit (postgres.ts): the writes asked for in one turn of the event
// loop go to the server together — one statement (the schema's write_batch function), one round
// trip, one commit and so one WAL flush for all of them, as the SQLite store's batch does
// (sqlite.ts) — and each write is still fenced, checked and refused alone inside it (a
// subtransaction per write), so a refused write never fails its neighbours. A write alone in its
// turn goes as before, by itself (write_key). Nothing is answered before its commit: durability
// is that of a single write.
//
// A write whose earlier attempt's outcome is unknown (a lost connection: a failover) is sent again
// by its caller's deciding loop (ambiguous_commit.ts) through this queue too, marked `unsure`: the
// hundred writes a failover left in flight go again as one statement when the new primary answers,
// not as a hundred single statements holding every pooled connection while new work waits. An
// unsure write refused by the version check or its processed id's key is then read back alone.

import type { WriteRequest } from '../contract/store.js';
import type { PreparedWrite } from './sql_store.js';

/** One write's parameters, as the schema's write_key function takes them ({@link writeArgs}). */
export interface WriteArgs {
  /** The key written. */
  readonly k: string;
  readonly ky: string;
  /** The fencing lease (the key's own, or its shard's). */
  readonly fk: string;
  readonly fky: string;
  /** The fencing token and the expected version. */
  readonly tok: number;
  readonly exp: number;
  /** The events (encoded), their types and schema versions. */
  readonly evs: readonly string[];
  readonly types: readonly string[];
  readonly svs: readonly number[];
  /** Each tag as (its event's 1-based index, the tag). */
  readonly tev: readonly number[];
  readonly tnm: readonly string[];
  /** The snapshot (encoded), or null to keep the stored one. */
  readonly snap: string | null;
  /** Whether the request gave `events` (a state write counts a version, `events: []` keeps it). */
  readonly given: boolean;
  /** The processed message id, or null. */
  readonly done: string | null;
  /** The reminder changes made with the write, or undefined. */
  readonly rems: object | undefined;
  /** The key's state index row (postgres_index.ts), or undefined. */
  readonly idx: object | undefined;
}

/** How one write of a batch ended, as write_batch answers: its new version, or the SQLSTATE that refused it. */
export type BatchOutcome = { readonly v: number | string } | { readonly c: string; readonly m: string };

/** A write waiting for its turn's flush. */
interface Queued {
  readonly args: WriteArgs;
  /** An earlier attempt's outcome was unknown: a refusal may mean it landed. */
  readonly unsure: boolean;
  readonly resolve: (version: number) => void;
  readonly reject: (e: unknown) => void;
}

/** What the queue needs from its store. */
export interface BatchRunner {
  /**
   * Runs one write by itself; resolves with its version, rejects with its refusal. `unsure`: an
   * earlier attempt of it lost its connection, its outcome unknown (a refusal is then read back).
   */
  one(args: WriteArgs, unsure: boolean): Promise<number>;
  /** Runs several writes in one statement: one outcome per write, in order (rejects: none committed, or not known). */
  many(args: readonly WriteArgs[]): Promise<BatchOutcome[]>;
  /** The error of a write refused inside a batch (its SQLSTATE and message), as `one` would reject. */
  refusal(args: WriteArgs, code: string, message: string): unknown;
  /**
   * An unsure write refused inside a batch by the version check or its processed id's key
   * (`refused`, from {@link refusal}): its version when an earlier attempt landed (read back), else
   * rejects with `refused`.
   */
  readBack(args: WriteArgs, refused: unknown): Promise<number>;
  /** Why nothing can run any more (the store closed), or undefined. */
  closed(): unknown;
}

/** The refusals that may mean an unsure write's earlier attempt landed: the version check, the processed id's key. */
const READ_BACK = new Set(['EE002', '23505']);

/** The most writes one statement carries; more in one turn go in several statements at once. */
export const MAX_BATCH = 256;

/** @internal The group-commit queue of one PostgreSQL store (see the file's comment). */
export class WriteBatches {
  readonly #run: BatchRunner;
  #queue: Queued[] = [];

  constructor(run: BatchRunner) {
    this.#run = run;
  }

  /**
   * Queues a write for this turn's flush; resolves with its version once committed. One attempt:
   * a lost connection rejects with the driver's error, for the caller to decide (`unsure` then).
   */
  submit(args: WriteArgs, unsure = false): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.#queue.push({ args, unsure, resolve, reject });
      if (this.#queue.length === 1) setImmediate(() => this.#flush());
    });
  }

  /** Sends what this turn queued: each group of up to {@link MAX_BATCH} in one statement. */
  #flush(): void {
    const queued = this.#queue;
    this.#queue = [];
    const closed = this.#run.closed();
    for (let i = 0; i < queued.length; i += MAX_BATCH) {
      const group = queued.slice(i, i + MAX_BATCH);
      if (closed !== undefined) for (const q of group) q.reject(closed);
      else if (group.length === 1)
        this.#run.one(group[0]!.args, group[0]!.unsure).then(group[0]!.resolve, group[0]!.reject);
      else this.#many(group);
    }
  }

  #many(group: readonly Queued[]): void {
    this.#run.many(group.map((q) => q.args)).then(
      (outcomes) => {
        group.forEach((q, i) => {
          const o = outcomes[i];
          if (o === undefined) q.reject(new Error('write_batch answered fewer outcomes than writes'));
          else if ('v' in o) q.resolve(Number(o.v));
          else if (q.unsure && READ_BACK.has(o.c))
            this.#run.readBack(q.args, this.#run.refusal(q.args, o.c, o.m)).then(q.resolve, q.reject);
          else q.reject(this.#run.refusal(q.args, o.c, o.m));
        });
      },
      // Nothing committed, or (the connection lost under the statement) not known: each write's
      // caller decides, sending it again here (a write lands at most once: ambiguous_commit.ts).
      (e: unknown) => {
        for (const q of group) q.reject(e);
      },
    );
  }
}

/**
 * One write of a batch as write_batch reads it: a write with no events (every state write: a
 * workflow's commits) leaves out its five empty arrays, which the function then reads as empty
 * without converting them (five calls of `jtext` per write were a tenth of the server's time).
 */
export function batchEntry(a: WriteArgs): object {
  if (a.evs.length > 0) return a;
  const { evs: _e, types: _t, svs: _s, tev: _v, tnm: _n, ...rest } = a;
  return rest;
}

/** The parameters of `request`, checked and encoded as `w` (sql_store.ts's prepareWrite). */
export function writeArgs(request: WriteRequest, w: PreparedWrite): WriteArgs {
  // Each tag as (its event's 1-based index, the tag): two flat arrays the function joins.
  const tev: number[] = [];
  const tnm: string[] = [];
  w.meta.forEach((m, i) => {
    for (const tag of m.tags) {
      tev.push(i + 1);
      tnm.push(tag);
    }
  });
  const rems =
    w.reminders === undefined
      ? undefined
      : {
          cancel: w.reminders.cancel,
          put: w.reminders.put.map((r) => ({
            name: r.name,
            shard: r.shard,
            due_at: r.dueAt,
            every_ms: r.everyMs,
            cron: r.cron,
            location: r.location,
            payload: r.payload,
            gen: r.gen,
          })),
        };
  return {
    k: request.kind,
    ky: request.key,
    fk: w.fence.kind,
    fky: w.fence.key,
    tok: request.token,
    exp: request.expectedVersion,
    evs: w.events,
    types: w.meta.map((m) => m.type),
    svs: w.meta.map((m) => m.schemaVersion),
    tev,
    tnm,
    snap: w.snapshot ?? null,
    given: request.events !== undefined,
    done: request.processed ?? null,
    rems,
    idx: request.index,
  };
}
