// How the entities package names a failure in its logs: an error's stable code. Contract-level so
// the leases, the membership, the projections and the host log failures alike without importing
// one another.

/** An error's stable code (or its name when it has none), for logs. */
export function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' || typeof code === 'number') return String(code);
  return err instanceof Error ? err.name : typeof err;
}
