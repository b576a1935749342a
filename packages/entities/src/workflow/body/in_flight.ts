// Effects still running in this process, by idempotency key (issue 71, item 4). A run that ends
// (its activation ended: a failed journal write, a lost lease, a move back to this node) cannot
// stop a step function or an outbox handler already called: it goes on. When the instance's next
// run here — a moment later, on the same node — reaches the same operation, it does not call the
// function a second time beside the first (the same effect twice, milliseconds apart, on a process
// that was neither killed nor paused): it waits for that call to settle and takes its value, or
// calls the function itself once the first threw. Keyed by the operation's idempotency key, which
// names one operation of one instance; only calls of other runs are waited for (a retry of the
// same run after a timeout must not wait on the attempt it gave up on).

/** How a call that was registered settled: its value, or that it threw. */
type Settled = { readonly ok: true; readonly value: unknown } | { readonly ok: false };

interface Running {
  /** The run that made the call (any object identifying it). */
  readonly owner: object;
  readonly settled: Promise<Settled>;
}

const running = new Map<string, Running>();
/** Calls waiting for another run's call of their operation to settle. */
let waiting = 0;

/**
 * Calls `call` for the operation `key` on behalf of run `owner`, unless another run's call of the
 * same operation is still running in this process: then waits for that one, resolves with its
 * value if it returned, or calls `call` once it threw. The returned Promise is `call`'s (or the
 * adopted value); it is never left unhandled here.
 */
export function callOnce<T>(key: string, owner: object, call: () => T | Promise<T>): Promise<T> {
  const prior = running.get(key);
  const result: Promise<T> =
    prior === undefined || prior.owner === owner
      ? Promise.resolve().then(call)
      : waitFor(prior.settled).then((s) => (s.ok ? (s.value as T) : call()));
  const settled = result.then(
    (value): Settled => ({ ok: true, value }),
    (): Settled => ({ ok: false }),
  );
  const entry: Running = { owner, settled };
  running.set(key, entry);
  void settled.then(() => {
    if (running.get(key) === entry) running.delete(key);
  });
  return result;
}

function waitFor(settled: Promise<Settled>): Promise<Settled> {
  waiting++;
  return settled.finally(() => waiting--);
}

/** How many calls are registered, and how many of them wait for another run's (tests, inspection). */
export function inFlight(): { readonly running: number; readonly waiting: number } {
  return { running: running.size, waiting };
}
