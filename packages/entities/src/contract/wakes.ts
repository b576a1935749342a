// Wakes: a best-effort signal between the members that share a store, so a member waiting for
// something another member frees (a workflow queue's slot) learns of it at once instead of on its
// next poll. A wake carries only a topic; it may be lost (a connection cut, a member not yet
// listening), arrive twice, or reach a member that has nothing waiting: its receivers ask the store
// again and keep polling, so correctness never rests on a wake. PostgreSQL carries them with
// LISTEN/NOTIFY (every member, every host); SQLite and the memory store within the process only.

/** The wakes of a store (see the top of this file). */
export interface StoreWakes {
  /**
   * Wakes every listener of this store's wakes — on every member, this one included — with
   * `topic`. Fire and forget: never throws, never rejects.
   */
  wake(topic: string): void;
  /**
   * Calls `fn` with each topic woken from now on, until the returned function is called. `fn` is
   * called outside any store operation; what it throws is dropped.
   */
  listen(fn: (topic: string) => void): () => void;
}

/** The optional wakes capability of an {@link EntityStore} (the three stores of this package have it). */
export interface WakingStore {
  readonly wakes?: StoreWakes;
}

/** Wakes within this process: one per store (the memory store) or per database file (SQLite). */
export class LocalWakes implements StoreWakes {
  readonly #listeners = new Set<(topic: string) => void>();

  wake(topic: string): void {
    // After the current turn, as a notification from a server would be: the waker's own state settles first.
    queueMicrotask(() => {
      for (const fn of [...this.#listeners]) {
        try {
          fn(topic);
        } catch {
          // A listener's failure is its own: the others are still told.
        }
      }
    });
  }

  listen(fn: (topic: string) => void): () => void {
    const own = (topic: string): void => fn(topic);
    this.#listeners.add(own);
    return () => void this.#listeners.delete(own);
  }
}

const byFile = new Map<string, LocalWakes>();

/** The in-process wakes of the SQLite database file `path` (every store opened on it in this process shares them). */
export function fileWakes(path: string): LocalWakes {
  let w = byFile.get(path);
  if (w === undefined) byFile.set(path, (w = new LocalWakes()));
  return w;
}
