// A PostgreSQL operation whose connection died after its statement may have reached the server
// (a failover, a restart, pg_terminate_backend, a cut while the reply was on its way) has an
// unknown outcome: its transaction may have committed — and after a failover, may have landed on
// the new primary — or not. The store (postgres.ts) never takes such a failure as failed if it
// landed, nor as done if it did not: it decides, by repeating the operation on a fresh connection
// until the server answers (within `outcomeWindowMs`), where each operation is safe to repeat:
//
// - a write is conditional on its fencing token and expected version, so of several attempts at
//   most one lands, whenever the first one's transaction ends; a repeat refused by the version
//   check (or by the processed id's key) is read back: the key's state at the version the write
//   makes, with its token, snapshot, events and processed id — ours when they all match
//   ({@link landedWrite}), a real conflict otherwise;
// - taking a lease again by the same owner only raises its token (a token never goes backwards);
// - an enqueue is keyed by its message id ('duplicate' when the first attempt landed: the host
//   then adopts the message from the inbox).
//
// What stays undecided when the server cannot be reached for the whole window rejects with
// ERR_ENTITY_STORE_OUTCOME_UNKNOWN; the activation ends, and the next one decides for good: its
// lease upsert waits for the row lock a write still in flight holds (or fences it with the new
// token), then reads the key. SQLite has no such case (one process, one file): nothing changes there.

import { ErrStoreOutcomeUnknown, ErrStoreSessionLost, ErrStoreUnavailable } from '../contract/errors.js';

/** SQLSTATEs of a session the server ended under a statement (the statement may have committed). */
const ENDED_UNDER = new Set(['57P01', '57P02', '08006', '08003', '08000', '08007']);

/** Socket errors of a connection that died with a request on it. */
const SOCKET_LOST = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ETIMEDOUT', 'ENOTCONN']);

/** Errors of a server not reachable yet (nothing was sent): waited out only while an outcome is open. */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  '57P03',
  '25006',
]);

function codeOf(e: unknown): unknown {
  return typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : '';
}

/**
 * Whether `e` is a lost connection under a request that may have reached the server (its outcome
 * unknown): node-postgres's "Connection terminated", a reset socket, a session the server ended
 * (57P01 administrator command, 57P02 crash, class 08), ERR_ENTITY_STORE_SESSION_LOST.
 */
export function outcomeUnknown(e: unknown): boolean {
  if (ErrStoreSessionLost.is(e)) return true;
  const code = codeOf(e);
  if (typeof code === 'string' && (ENDED_UNDER.has(code) || SOCKET_LOST.has(code))) return true;
  return /connection terminated|connection ended|encountered a connection error|not queryable/i.test(messageOf(e));
}

/**
 * Whether `e` says the server cannot be reached or cannot write yet (refused, starting, a standby
 * answering during a failover, the pool's connect timeout): nothing was done, try again.
 */
export function notReachedYet(e: unknown): boolean {
  const code = codeOf(e);
  if (typeof code === 'string' && UNREACHABLE.has(code)) return true;
  return /timeout exceeded when trying to connect|connection timeout/i.test(messageOf(e));
}

/**
 * The error an operation's caller gets for `e`: the store's one code for a server it cannot reach
 * for now, ERR_ENTITY_STORE_UNAVAILABLE (its `cause` the driver's error), for a lost or refused
 * connection, a server shutting down, crashed or starting, a standby answering, a connection
 * exception (SQLSTATE class 08), the pool's connect timeout; anything else as it is (a refusal,
 * a store error with its own code: a lost session, an undecided outcome, a closed store).
 */
export function storeError(e: unknown, what: string): unknown {
  if (!(e instanceof Error)) return e;
  const code = codeOf(e);
  if (typeof code === 'string' && code.startsWith('ERR_')) return e;
  const unreachable =
    (typeof code === 'string' && /^08[0-9A-Z]{3}$/.test(code)) || outcomeUnknown(e) || notReachedYet(e);
  return unreachable ? ErrStoreUnavailable.with(`${what}: ${e.message}`, e) : e;
}

/** One step of deciding: the operation's answer, or `again` (try once more after a pause). */
export type Decision<T> = { readonly done: T } | { readonly again: unknown };

/**
 * A store's word that its server answered: an operation succeeded. {@link decide} ends its pause
 * at the next answer, so the operations a failover left undecided are sent again as soon as the
 * new primary answers any of the store's operations, not up to a pause (1 s) later: they are the
 * journal writes of the workflows that were in flight, and nothing of them goes on before.
 */
export class ServerAnswers {
  #wake: (() => void) | undefined;
  #next: Promise<void> | undefined;
  /** The pauses under way, by length: one timer each, shared (see {@link elapsed}). */
  readonly #pauses = new Map<number, Promise<void>>();

  /**
   * Resolves after `ms`, together with every other pause of that length begun meanwhile (one timer):
   * the operations one lost connection failed together (a batch's writes, a failover's whole
   * flight) try again in one turn of the event loop, so they go again as one statement
   * (postgres_batch.ts), not split over the turns their own timers happened to end in.
   */
  elapsed(ms: number): Promise<void> {
    let p = this.#pauses.get(ms);
    if (p === undefined) {
      p = new Promise<void>((resolve) =>
        setTimeout(() => {
          this.#pauses.delete(ms);
          resolve();
        }, ms),
      );
      this.#pauses.set(ms, p);
    }
    return p;
  }

  /** An operation of the store succeeded: every pause waiting for it ends. */
  answered(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    this.#next = undefined;
    wake?.();
  }

  /** Resolves at the next {@link answered}. */
  next(): Promise<void> {
    this.#next ??= new Promise<void>((resolve) => (this.#wake = resolve));
    return this.#next;
  }
}

/**
 * Waits `ms` (`answers`' shared pause of that length, when given), or less when `answer` resolves
 * first (then it resolves true). A timer of its own is cleared when the answer came.
 */
async function pause(
  ms: number,
  answer: Promise<void> | undefined,
  answers: ServerAnswers | undefined,
): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const elapsed =
    answers === undefined
      ? new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)))
      : answers.elapsed(ms).then(() => false);
  try {
    return await (answer === undefined ? elapsed : Promise.race([elapsed, answer.then(() => true)]));
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs `attempt(unsure)` until it decides: `unsure` is true once an earlier attempt's outcome was
 * unknown (the attempt then reads back what a refusal means). An attempt that fails with a lost
 * connection, or — once unsure — with a server not reached yet, is run again after a pause
 * (20 ms doubling to 1 s) until `windowMs` has passed; then it rejects with
 * ERR_ENTITY_STORE_OUTCOME_UNKNOWN (its cause the last failure). `closed()` stops it early.
 * Any other failure rejects at once, as the operation's own. With `answers`, a pause ends as soon
 * as another of the store's operations succeeded since the attempt began (the server is back) —
 * every other pause at most: a server that answers others but keeps failing this one costs no
 * more than twice the tries. With `answers`, the pauses of one length end together (one turn).
 */
export async function decide<T>(
  what: string,
  windowMs: number,
  closed: () => unknown,
  attempt: (unsure: boolean) => Promise<T>,
  answers?: ServerAnswers,
): Promise<T> {
  let unsure = false;
  let woken = false;
  const until = performance.now() + windowMs;
  for (let wait = 20; ; wait = Math.min(wait * 2, 1000)) {
    // Taken before the attempt: an answer that comes while it fails counts.
    const answer = woken ? undefined : answers?.next();
    try {
      return await attempt(unsure);
    } catch (e) {
      if (!outcomeUnknown(e) && !(unsure && notReachedYet(e))) throw e;
      unsure = true;
      const stop = closed();
      if (stop !== undefined) throw stop;
      if (performance.now() + wait > until)
        throw ErrStoreOutcomeUnknown.with(`${what}: the connection was lost and the server was not reached again`, e);
      woken = await pause(wait, answer, answers);
    }
  }
}

/** What a read-back found of a key after a write with an unknown outcome (postgres.ts reads it). */
export interface WriteReadBack {
  /** The fencing lease's token now (null: no row). */
  readonly token: string | null;
  /** The state row (nulls: none). */
  readonly version: string | null;
  readonly snapshot: string | null;
  readonly snapshotVersion: string | null;
  /** The version the processed id was recorded at (null: not recorded, or none asked). */
  readonly doneVersion: string | null;
  /** The events stored after the expected version up to the write's new one, in order. */
  readonly events: readonly string[] | null;
  /** The server is a standby (it cannot tell what the primary holds). */
  readonly standby: boolean;
}

/** The write a read-back checks: as {@link WriteArgs} of postgres_batch.ts. */
export interface WriteShape {
  readonly tok: number;
  readonly exp: number;
  readonly evs: readonly string[];
  readonly snap: string | null;
  readonly given: boolean;
  readonly done: string | null;
}

/** The version a write makes when it lands (planWrite's rule). */
export function versionAfter(w: WriteShape): number {
  if (w.evs.length > 0) return w.exp + w.evs.length;
  return w.given ? w.exp : w.exp + 1;
}

/**
 * Whether the key holds exactly what `w` writes, at the version it makes, under its token: then an
 * earlier attempt of `w` landed (the token fences every other writer, and this activation writes
 * one change at a time). Undefined on a standby: not decided.
 */
export function landedWrite(w: WriteShape, r: WriteReadBack): boolean | undefined {
  if (r.standby) return undefined;
  const v = versionAfter(w);
  if (r.token === null || Number(r.token) !== w.tok) return false;
  if (r.version === null || Number(r.version) !== v) return false;
  if (w.snap !== null && (r.snapshot !== w.snap || Number(r.snapshotVersion) !== v)) return false;
  if (w.done !== null && (r.doneVersion === null || Number(r.doneVersion) !== v)) return false;
  const evs = r.events ?? [];
  return evs.length === w.evs.length && evs.every((e, i) => e === w.evs[i]);
}
