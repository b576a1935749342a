// How the entities package names a failure in its logs: an error's stable code. Contract-level so
// the leases, the membership, the projections and the host log failures alike without importing
// one another.

/** An error's stable code (or its name when it has none), for logs. */
export function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' || typeof code === 'number') return String(code);
  return err instanceof Error ? err.name : typeof err;
}

/**
 * The string codes along `err`'s `cause` chain (at most `depth` links), outermost first: a runtime
 * error that wraps the store's, a node error that wraps a remote one. Never throws, whatever `err`
 * is (a getter that throws ends the walk).
 */
export function codesAlong(err: unknown, depth = 8): string[] {
  const codes: string[] = [];
  try {
    for (let e = err, n = 0; e instanceof Error && n < depth; e = e.cause, n++) {
      const code = (e as { code?: unknown }).code;
      if (typeof code === 'string') codes.push(code);
    }
  } catch {
    // A throwing getter on a thrown value: the codes read so far.
  }
  return codes;
}

/** True when one of `codes` is along `err`'s `cause` chain ({@link codesAlong}). */
export function hasCodeAlong(err: unknown, codes: ReadonlySet<string>): boolean {
  return codesAlong(err).some((c) => codes.has(c));
}

/** Codes of a store that cannot be reached for now (a failover, a cut). */
export const STORE_UNREACHABLE_CODES: ReadonlySet<string> = new Set([
  'ERR_ENTITY_STORE_UNAVAILABLE',
  'ERR_ENTITY_STORE_SESSION_LOST',
  'ERR_ENTITY_STORE_OUTCOME_UNKNOWN',
]);

/**
 * True when `err` says the store could not be reached for now, along its `cause` chain: not the
 * key's failure, so a retry waits for the store, not on a backoff that outlasts its outage.
 */
export function storeUnreachable(err: unknown): boolean {
  return hasCodeAlong(err, STORE_UNREACHABLE_CODES);
}
