// Liveness claims: the store's word that a lease holder's process is gone. A member's leases are
// taken over before they expire only on that word (or on its member lease having ended in the
// store), never on a closed connection alone: a member that was paused (a GC stall, a frozen VM,
// SIGSTOP) sees its peers' connections closed when it resumes, and those peers are alive.
//
// A claim is held by a session the store ties to the claiming process: PostgreSQL's session-level
// advisory lock on a connection of its own, a SQLite lock file's exclusive lock (an fcntl lock the
// kernel drops when the process ends). A process killed (kill -9) loses it at once; a paused one
// keeps it (its socket stays open, its lock stays held), so a pause is never read as a death.

/** A liveness claim held by this process (see the top of this file). */
export interface LivenessClaim {
  /**
   * Settles (never rejects) when the claim is lost while the process lives on: the store's session
   * ended (a PostgreSQL restart, a dropped connection). The holder must then treat its leases as
   * possibly taken (another member may have read the claim as gone) and claim again.
   */
  readonly lost: Promise<void>;
  /** Gives the claim up (the runtime stops). Idempotent; never rejects. */
  release(): Promise<void>;
}

/**
 * The optional liveness capability of an {@link EntityStore} (PostgresStore and SqliteStore have
 * it). Owners are lease owner strings (`<node>#<random>`): one per runtime instance.
 */
export interface LivenessStore {
  /**
   * Claims `owner`'s liveness for as long as this process lives and the claim's session stays
   * open. One claim per owner; rejects with the store's error when the session cannot be opened.
   */
  claimLiveness(owner: string): Promise<LivenessClaim>;
  /**
   * Whether `owner`'s claim is released: true only when a claim was made and is no longer held (its
   * process ended or its session closed); false while it is held, and when no claim of `owner`
   * is known (no evidence either way).
   */
  livenessReleased(owner: string): Promise<boolean>;
}

/** Whether `store` has the liveness capability. */
export function hasLiveness<S extends object>(store: S): store is S & LivenessStore {
  const s = store as Partial<LivenessStore>;
  return typeof s.claimLiveness === 'function' && typeof s.livenessReleased === 'function';
}
