// How a store's close is bounded. A graceful close waits for what the store has under way (the
// PostgreSQL pool's end waits for every connection checked out, and a query on a connection cut
// off from its server never answers), so a member whose store does not answer could never end.
// `close({ timeout, signal })` cuts what is still open when either comes first: the store's
// connections are destroyed at once, nothing more is waited for, and the close resolves. A write
// cut this way may or may not have landed; its fencing token keeps a late one harmless (the next
// owner's token refuses it, and the key's next activation reads what landed).

import { ErrEntityIncorrect } from './errors.js';

/** Options of {@link EntityStore.close}: when to stop waiting and cut what is still open. */
export interface StoreCloseOptions {
  /**
   * How long the close may wait for the store's work under way, in ms (an integer ≥ 0); then its
   * connections are cut and the close resolves. Default: no bound (the graceful close).
   */
  readonly timeout?: number;
  /** Aborted: the close cuts what is still open at once and resolves (as at its timeout). */
  readonly signal?: AbortSignal;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Checks `options` of a store's close: ERR_ENTITY_INCORRECT for a value that is not an object, a
 * timeout that is not an integer in 0..2^31-1, or a signal that is not an AbortSignal.
 */
export function checkCloseOptions(options: StoreCloseOptions | undefined): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object')
    throw ErrEntityIncorrect.with(`store close options must be an object, got ${String(options)}`);
  const { timeout, signal } = options;
  if (timeout !== undefined && !(Number.isInteger(timeout) && timeout >= 0 && timeout <= MAX_TIMER_MS))
    throw ErrEntityIncorrect.with(`store close timeout must be an integer in 0..2^31-1 (ms), got ${String(timeout)}`);
  if (signal !== undefined && !(signal instanceof AbortSignal))
    throw ErrEntityIncorrect.with('store close signal must be an AbortSignal');
}

/**
 * Waits for `closing` (a store's graceful close) until `options` say stop: then runs `cut` (which
 * destroys what is still open, synchronously) and resolves without waiting for `closing` any
 * longer. Resolves with whether it cut. `closing` must never reject (the store's own close
 * swallows its errors). The timer is not unref'd: an awaited close reaches its bound even when
 * nothing else keeps the process alive.
 */
export function closeWithin(closing: Promise<void>, options: StoreCloseOptions, cut: () => void): Promise<boolean> {
  const { timeout, signal } = options;
  if (timeout === undefined && signal === undefined) return closing.then(() => false);
  return new Promise<boolean>((resolve) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let settled = false;
    const end = (didCut: boolean): void => {
      if (settled) return;
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (didCut) cut();
      resolve(didCut);
    };
    const onAbort = (): void => end(true);
    if (signal?.aborted === true) return end(true);
    signal?.addEventListener('abort', onAbort, { once: true });
    if (timeout !== undefined) timer = setTimeout(() => end(true), timeout);
    void closing.then(() => end(false));
  });
}
