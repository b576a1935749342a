// The proof tier: a few tests are proofs at scale (a 20-node cluster, 100 randomized fault rounds).
// CI runs them at a smaller size that still takes every path and can still fail; the full size
// runs under `npm run test:proofs` (scripts/run-tests.mjs --proofs sets ERGO_TEST_PROOFS=1), before
// a change to what such a test proves. One reader of the variable, so every test agrees on it.

/** The environment variable that asks for the full size: `1` (anything else: the CI size). */
export const PROOFS_ENV = 'ERGO_TEST_PROOFS';

/** True when the run asked for the proofs at full size (`ERGO_TEST_PROOFS=1`). */
export function fullProofs(): boolean {
  return process.env[PROOFS_ENV] === '1';
}

/**
 * The size a proof test runs at: `full` under `npm run test:proofs`, `ci` otherwise. Both must
 * exercise the same paths; `ci` is only fewer of the same (nodes, rounds, events).
 *
 * @example
 * ```ts
 * const NODES = proofSize({ ci: 10, full: 20 });
 * ```
 */
export function proofSize<T>(sizes: { ci: T; full: T }): T {
  return fullProofs() ? sizes.full : sizes.ci;
}
