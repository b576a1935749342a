// The one test for "a handler gave a promise" that the engine (node/) and the behaviours (act/,
// app/) share: both decide by it whether a callback's result suspends its process. Two copies
// once differed (the behaviours' ignored a function with a `then`, the engine's took it), so an
// actor's call reply and its init answered the same value differently.

/**
 * True when `v` is a thenable as Promises/A+ and `await` define it: an object or a function with
 * a callable `then`. Reads `then` once; never calls it.
 */
export function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (
    v !== null &&
    (typeof v === 'object' || typeof v === 'function') &&
    typeof (v as { then?: unknown }).then === 'function'
  );
}
