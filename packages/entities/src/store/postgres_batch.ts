// The PostgreSQL store's group commit (postgres.ts): the writes asked for in one turn of the event
// loop go to the server together — one statement (the schema's write_batch function), one round
// trip, one commit and so one WAL flush for all of them, as the SQLite store's batch does
// (sqlite.ts) — and each write is still fenced, checked and refused alone inside it (a
// subtransaction per write), so a refused write never fails its neighbours. A write alone in its
// turn goes as before, by itself (write_key). Nothing is answered before its commit: durability
// is that of a single write.

/** One write's parameters, as the schema's write_key function takes them (postgres.ts builds them). */
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
  readonly resolve: (version: number) => void;
  readonly reject: (e: unknown) => void;
}

/** What the queue needs from its store. */
export interface BatchRunner {
  /**
   * Runs one write by itself; resolves with its version, rejects with its refusal. `unsure`: an
   * earlier attempt of it (a batch's) lost its connection, its outcome unknown (ambiguous_commit.ts).
   */
  one(args: WriteArgs, unsure: boolean): Promise<number>;
  /** Whether a batch's failure left its outcome unknown (the connection was lost under it). */
  unknown(e: unknown): boolean;
  /** Runs several writes in one statement: one outcome per write, in order (rejects: none committed). */
  many(args: readonly WriteArgs[]): Promise<BatchOutcome[]>;
  /** The error of a write refused inside a batch (its SQLSTATE and message), as `one` would reject. */
  refusal(args: WriteArgs, code: string, message: string): unknown;
  /** Why nothing can run any more (the store closed), or undefined. */
  closed(): unknown;
}

/** The most writes one statement carries; more in one turn go in several statements at once. */
export const MAX_BATCH = 256;

/** @internal The group-commit queue of one PostgreSQL store (see the file's comment). */
export class WriteBatches {
  readonly #run: BatchRunner;
  #queue: Queued[] = [];

  constructor(run: BatchRunner) {
    this.#run = run;
  }

  /** Queues a write for this turn's flush; resolves with its version once committed. */
  submit(args: WriteArgs): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.#queue.push({ args, resolve, reject });
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
      else if (group.length === 1) this.#run.one(group[0]!.args, false).then(group[0]!.resolve, group[0]!.reject);
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
          else q.reject(this.#run.refusal(q.args, o.c, o.m));
        });
      },
      (e: unknown) => {
        // The connection was lost under the statement: it may have committed. Each write is decided
        // alone (sent again, read back when refused): a write lands at most once.
        if (this.#run.unknown(e)) for (const q of group) this.#run.one(q.args, true).then(q.resolve, q.reject);
        // The statement itself failed otherwise: nothing was committed.
        else for (const q of group) q.reject(e);
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
